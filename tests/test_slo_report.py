"""`slo report` against a real Prometheus holding 30 days of backfilled probe counters.

The data is built minute by minute here, so the error budget each SLO has left is known
before Prometheus is asked; the report must agree to 0.1 % of the budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest

from openclaw_schema import names
from slo import cli, report, spec
from slohelpers import run
from support.daemons import prometheus, running
from ports import free_port
from support.tools import require

DAY_MIN = 24 * 60
WINDOW_MIN = 30 * DAY_MIN
HISTORY_MIN = WINDOW_MIN + 120  # a little data older than the window, which must not count
OFFSET = 1_000_000  # counters far from zero: no zero-start extrapolation in rate()


def _minutes(start: int, length: int) -> range:
    """Minutes counted back from the query time (minute 0 = the last one)."""
    return range(start, start + length)


def build_history() -> dict[str, list[int]]:
    """Per-minute increments of every series, index 0 = oldest minute."""
    outage = set(_minutes(10 * DAY_MIN, 24)) | set(_minutes(30, 3))  # 27 bad minutes, 3 in the last hour
    auth = set(_minutes(20 * DAY_MIN, 60))  # probe token broken for an hour: neither good nor bad
    slow = set(_minutes(5 * DAY_MIN, 864))  # half the handshakes slow: 864 bad of 2 a minute
    model_down = set(_minutes(15 * DAY_MIN, 216))  # 0.5 % of the model probes fail
    too_old = set(_minutes(WINDOW_MIN + 30, 60))  # failures before the window: ignored
    ws_success, ws_refused, ws_auth, ws_good, ready, model_ok, model_bad = ([] for _ in range(7))
    for index in range(HISTORY_MIN):
        age = HISTORY_MIN - 1 - index
        bad = age in outage or age in too_old
        ws_refused.append(2 if bad else 0)
        ws_auth.append(2 if age in auth else 0)
        ok = 0 if bad or age in auth else 2
        ws_success.append(ok)
        ws_good.append(ok // 2 if age in slow else ok)
        ready.append(2)
        model_ok.append(0 if age in model_down else 1)
        model_bad.append(1 if age in model_down else 0)
    return {
        f'{names.PROBE_ATTEMPTS_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="websocket",result="success"}}': ws_success,
        f'{names.PROBE_ATTEMPTS_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="websocket",result="refused"}}': ws_refused,
        f'{names.PROBE_ATTEMPTS_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="websocket",result="auth_failed"}}': ws_auth,
        f'{names.PROBE_LATENCY_GOOD_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="websocket",phase="handshake",threshold_seconds="0.25"}}': ws_good,
        f'{names.PROBE_ATTEMPTS_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="readiness",result="success"}}': ready,
        f'{names.PROBE_ATTEMPTS_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="model",result="success"}}': model_ok,
        f'{names.PROBE_ATTEMPTS_TOTAL}{{job="openclaw-slo-exporter",target="gw",module="model",result="model_not_found"}}': model_bad,
    }


def expected_remaining(history: dict[str, list[int]]) -> dict[str, float]:
    """The budget left, computed from the increments inside the 30-day window."""
    last = lambda key: sum(v for k, v in history.items() if key in k for v in v[-WINDOW_MIN:])  # noqa: E731
    ws_bad, ws_ok = last('result="refused"'), last('module="websocket",result="success"')
    slow = ws_ok - last(names.PROBE_LATENCY_GOOD_TOTAL)
    model_bad, model_total = last('result="model_not_found"'), last('module="model"')
    return {
        "websocket-availability": 1 - (ws_bad / (ws_bad + ws_ok)) / 0.001,
        "readiness-availability": 1.0,
        "websocket-handshake-latency": 1 - (slow / ws_ok) / 0.01,
        "model-catalog-availability": 1 - (model_bad / model_total) / 0.01,
    }


def write_openmetrics(path: Path, history: dict[str, list[int]], end: int) -> None:
    start = end - (HISTORY_MIN - 1) * 60
    with path.open("w") as out:
        for family in (names.PROBE_ATTEMPTS, names.PROBE_LATENCY_GOOD):
            out.write(f"# TYPE {family} counter\n")
            for series, increments in history.items():
                if not series.startswith(family + "_total{"):
                    continue
                value = OFFSET
                for index, step in enumerate(increments):
                    value += step
                    out.write(f"{series} {value} {start + index * 60}\n")
        out.write("# EOF\n")


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory) -> Iterator[tuple[str, int, dict[str, list[int]]]]:
    promtool = require("promtool")
    tmp = tmp_path_factory.mktemp("prom")
    end = (int(time.time()) // 60) * 60 - 3600  # an hour back: clear of the head block
    history = build_history()
    write_openmetrics(tmp / "data.om", history, end)
    # Few large blocks: the default 2h blocks make backfilling 30 days take ~40 s.
    done = run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=744h",
                str(tmp / "data.om"), str(tmp / "data")])
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(prometheus(tmp, port, tmp / "prometheus.yml", "--storage.tsdb.retention.time=60d", data=tmp / "data")):
        yield url, end, history


def with_model_slo() -> str:
    """The shipped spec with its opt-in model SLO enabled (as a user with a model probe has it)."""
    text = resources.files("slo").joinpath("specs/openclaw-gateway.yml").read_text(encoding="utf-8")
    assert "    enabled: false\n" in text
    return text.replace("    enabled: false\n", "    enabled: true\n")


@pytest.mark.prometheus
def test_remaining_budget_matches_the_backfilled_data(backfilled):
    url, end, history = backfilled
    expected = expected_remaining(history)
    assert expected["websocket-availability"] == pytest.approx(1 - 54 / 86280 / 0.001)  # 2 probes/min, 1h of auth_failed excluded
    client = report.PrometheusClient(url)
    try:
        reports = {r.slo: r for r in report.build_report(spec.load_text(with_model_slo(), "x"), client, float(end))}
    finally:
        client.close()
    for name, remaining in expected.items():
        # To 0.1 % of the expected value (and of the budget).
        assert reports[name].remaining_ratio == pytest.approx(remaining, rel=1e-3), (name, reports[name])
    ws = reports["websocket-availability"]
    assert ws.budget_minutes == 43.2
    assert ws.consumed_minutes == pytest.approx((1 - expected["websocket-availability"]) * 43.2, rel=1e-3)
    # Last hour: 6 bad of 120 probes, a 5 % error ratio, 50 times the budget rate.
    assert ws.burn_rates["1h"] == pytest.approx(50.0, rel=1e-3)
    assert ws.exhaustion_seconds == pytest.approx(ws.remaining_ratio * 30 * 86400 / ws.burn_rates["1h"], rel=1e-9)
    ready = reports["readiness-availability"]
    assert (ready.sli, ready.remaining_ratio, ready.exhaustion_seconds) == (1.0, 1.0, None)


@pytest.mark.prometheus
def test_cli_report_prints_a_table_and_json(backfilled, capsys, tmp_path):
    url, end, history = backfilled
    assert cli.main(["report", "--prometheus.url", url, "--time", str(end)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:7] == ["SLO", "OBJECTIVE", "WINDOW", "SLI", "BUDGET", "CONSUMED", "REMAINING"]
    assert table[1].startswith("websocket-availability") and "43.2m" in table[1]
    assert cli.main(["report", "--prometheus.url", url, "--time", str(end), "--json"]) == 0
    data = {d["slo"]: d for d in json.loads(capsys.readouterr().out)}
    assert set(data) == {s.name for s in spec.load().slos}
    (tmp_path / "spec.yml").write_text(with_model_slo())
    assert cli.main(["report", "--prometheus.url", url, "--time", str(end), "--json", "--spec", str(tmp_path / "spec.yml")]) == 0
    data = {d["slo"]: d for d in json.loads(capsys.readouterr().out)}
    assert data["model-catalog-availability"]["remaining_ratio"] == pytest.approx(
        expected_remaining(history)["model-catalog-availability"], abs=0.001
    )


@pytest.mark.prometheus
def test_calendar_month_window_uses_the_month_so_far(backfilled, capsys):
    url, end, _ = backfilled
    assert cli.main(["report", "--prometheus.url", url, "--time", str(end), "--window", "calendar-month", "--json"]) == 0
    data = {d["slo"]: d for d in json.loads(capsys.readouterr().out)}
    ws = data["websocket-availability"]
    assert ws["window"] == "calendar-month"
    assert ws["period_seconds"] in {d * 86400 for d in (28, 29, 30, 31)}
    assert 0 < ws["window_seconds"] <= ws["period_seconds"]


def test_unreachable_prometheus_is_one_readable_error(capsys):
    port = free_port()
    assert cli.main(["report", "--prometheus.url", f"http://127.0.0.1:{port}"]) == 1
    assert capsys.readouterr().err.startswith("report failed:")


def test_client_reads_numbers_nan_and_empty_results():
    import respx

    with respx.mock(base_url="http://prom.test") as mock:
        route = mock.get("/api/v1/query")
        client = report.PrometheusClient("http://prom.test/")
        route.return_value = httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.25"]}]}})
        assert client.query("x", 1.0) == 0.25
        assert route.calls.last.request.url.params["time"] == "1.000"
        route.return_value = httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "NaN"]}]}})
        assert client.query("x", 1.0) is None  # 0/0: no traffic
        route.return_value = httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})
        assert client.query("x", 1.0) is None
        route.return_value = httpx.Response(400, json={"status": "error", "error": "parse error"})
        with pytest.raises(httpx.HTTPStatusError):
            client.query("x", 1.0)
        client.close()


def test_rolling_window_override_changes_the_budget_period():
    class Fixed:
        def query(self, expr: str, at: float) -> float | None:
            return 0.0005

    (r,) = report.build_report(spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: ws\n  objective: 0.999\n  sli: {kind: availability, module: websocket}\n", "x"),
        Fixed(), 0.0, "7d")
    assert (r.window, r.period_seconds, r.budget_minutes, r.remaining_ratio) == ("7d", 7 * 86400, 10.08, 0.5)
    assert r.burn_rates["1h"] == 0.5
    assert r.exhaustion_seconds == 0.5 * 7 * 86400 / 0.5


def test_an_slo_without_events_reports_no_data_not_a_full_budget():
    class Empty:
        def query(self, expr: str, at: float) -> float | None:
            return None  # what PrometheusClient returns for NaN (0/0) or an empty vector

    (r,) = report.build_report(spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: ws\n  objective: 0.999\n  sli: {kind: availability, module: websocket}\n", "x"),
        Empty(), 0.0)
    assert (r.sli, r.remaining_ratio, r.consumed_ratio, r.consumed_minutes, r.exhaustion_seconds) == (None, None, None, None, None)
    row = report.to_table([r]).splitlines()[1]
    assert "no data" in row and "100" not in row
    assert json.loads(report.to_json([r]))[0]["remaining_ratio"] is None


def test_calendar_month_budget_is_the_whole_months():
    from datetime import datetime, timezone

    class AtBudgetRate:
        def __init__(self):
            self.exprs: list[str] = []

        def query(self, expr: str, at: float) -> float | None:
            self.exprs.append(expr)
            return 0.001

    mid_november = datetime(2026, 11, 16, tzinfo=timezone.utc).timestamp()
    prom = AtBudgetRate()
    (r,) = report.build_report(spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: ws\n  objective: 0.999\n  sli: {kind: availability, module: websocket}\n", "x"),
        prom, mid_november, report.CALENDAR_MONTH)
    assert "[1296000s]" in prom.exprs[0]  # 15 days of November so far
    assert (r.window_seconds, r.period_seconds, r.budget_minutes) == (15 * 86400, 30 * 86400, 43.2)
    # Erring at exactly the budget rate for half the month spends half the month's budget.
    assert r.consumed_ratio == pytest.approx(0.5)
    assert r.consumed_minutes == pytest.approx(21.6)
