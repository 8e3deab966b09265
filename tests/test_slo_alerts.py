"""What the generated alerts do, replayed by `promtool test rules` against synthetic probes.

The exporter probes every 30s, so a healthy target adds 2 attempts per minute. Scenarios
use the shipped spec (30d windows: page 1h/5m at 14.4x or 6h/30m at 6x, ticket 1d/2h at 3x or
3d/6h at 1x). Annotations are stripped from the copy under test: promtool compares them
verbatim and they are checked by `promtool check rules` already.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from openclaw_schema import names
from slohelpers import RULES_FILE, promtool_test_rules

pytestmark = pytest.mark.prometheus

PAGE = "OpenClawWebsocketAvailabilityBurnRatePage"
TICKET = "OpenClawWebsocketAvailabilityBurnRateTicket"
# The SLO rules keep `target` (slo_group_by): each alert names the gateway that burns.
SLO_LABELS = {"service": "openclaw-gateway", "slo": "websocket-availability", "team": "gateway", "target": "gw"}
PAGED_1H = {**SLO_LABELS, "severity": "critical", "long": "1h", "short": "5m"}
PAGED_6H = {**SLO_LABELS, "severity": "critical", "long": "6h", "short": "30m"}
TICKETED_1D = {**SLO_LABELS, "severity": "warning", "long": "1d", "short": "2h"}
TICKETED_3D = {**SLO_LABELS, "severity": "warning", "long": "3d", "short": "6h"}
PAGED = [{"exp_labels": PAGED_1H}]

# The target labels the Prometheus Operator adds to every series scraped through
# deploy/servicemonitor.yaml: job is the Service's name, pod/namespace/... the exporter's own.
OPERATOR_TARGET = {
    "job": "openclaw-slo-exporter", "namespace": "monitoring", "service": "openclaw-slo-exporter",
    "pod": "openclaw-slo-exporter-5d8c7b9f4-q2w3e", "container": "exporter", "endpoint": "http",
    "instance": "10.1.2.3:9115",
}


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def attempts(result: str, module: str = "websocket", **extra: str) -> str:
    labels = {**OPERATOR_TARGET, "target": "gw", "module": module, "result": result, **extra}
    return f"{names.PROBE_ATTEMPTS_TOTAL}{{{_labels(labels)}}}"


def healthy_others(minutes: int) -> list[dict]:
    """The other modules' probes, healthy, so only the websocket SLO is under test."""
    series = [{"series": attempts("success", m), "values": f"0+2x{minutes}"} for m in ("readiness", "model")]
    good = {**OPERATOR_TARGET, "target": "gw", "module": "websocket", "phase": "handshake", "threshold_seconds": "0.25"}
    series.append({"series": f"{names.PROBE_LATENCY_GOOD_TOTAL}{{{_labels(good)}}}", "values": f"0+2x{minutes}"})
    return series


def failing_from_minute_60(result: str) -> list[dict]:
    """Healthy websocket probes for an hour, then every probe fails with `result` for two more."""
    return [
        {"series": attempts("success"), "values": "0+2x60 120x120"},
        # The exporter pre-creates every known result series at 0 (exporter/state.py).
        {"series": attempts(result), "values": "0x60 2+2x120"},
        *healthy_others(180),
    ]


def promtool_test(
    tmp_path: Path, series: list[dict], checks: list[tuple[str, str, list]], annotations: bool = False, only: str | None = None
) -> None:
    """Run promtool on the committed rules; `only` keeps one SLO's group (long runs stay fast)."""
    rules = yaml.safe_load(RULES_FILE.read_text())
    if only is not None:
        rules["groups"] = [g for g in rules["groups"] if g["name"] == names.RULE_GROUP_SLO.format(slo=only)]
    for group in rules["groups"]:
        for rule in group["rules"]:
            if not annotations:
                rule.pop("annotations", None)
    promtool_test_rules(tmp_path, rules, series, checks)


def test_total_outage_pages_within_two_minutes(tmp_path):
    # Healthy for an hour, then every probe is refused from minute 60 on.
    series = failing_from_minute_60("refused")
    promtool_test(tmp_path, series, [
        ("59m", PAGE, []),
        ("60m", PAGE, []),
        ("62m", PAGE, PAGED),  # the 5m window sees it after two samples
        # One alert per window pair; the 6h/30m pair joins once its 6h window holds the
        # 167 events its minimum-events guard asks for (an install 1h old has ~125).
        ("120m", PAGE, [{"exp_labels": PAGED_1H}, {"exp_labels": PAGED_6H}]),
    ])


def test_errors_at_half_the_budget_rate_fire_nothing(tmp_path):
    # 0.05 % errors (1 in 2000) for three days: burn rate 0.5.
    minutes = 3 * 24 * 60
    series = [
        {"series": attempts("success"), "values": f"0+1999x{minutes}"},
        {"series": attempts("timeout"), "values": f"0+1x{minutes}"},
        *healthy_others(minutes),
    ]
    checks = [(at, alert, []) for at in ("10m", "1h", "6h", "1d", "3d") for alert in (PAGE, TICKET)]
    promtool_test(tmp_path, series, checks, only="websocket-availability")


def test_slow_burn_opens_a_ticket_and_does_not_page(tmp_path):
    # 0.5 % errors: burn rate 5, above the ticket's 3x, below the page's 6x and 14.4x.
    minutes = 8 * 60
    series = [
        {"series": attempts("success"), "values": f"0+199x{minutes}"},
        {"series": attempts("timeout"), "values": f"0+1x{minutes}"},
        *healthy_others(minutes),
    ]
    both = [{"exp_labels": TICKETED_1D}, {"exp_labels": TICKETED_3D}]
    promtool_test(tmp_path, series, [
        ("3h", TICKET, both),
        ("8h", TICKET, both),
        ("3h", PAGE, []),
        ("8h", PAGE, []),
    ])


def test_alerts_resolve_after_recovery(tmp_path):
    # Healthy 8h, a 30 minute outage, then healthy again.
    # The page holds until the 30m short window is clean, the ticket until the 6h one is.
    series = [
        {"series": attempts("success"), "values": "0+2x480 960x30 962+2x600"},
        {"series": attempts("refused"), "values": "0x480 2+2x30 62x600"},
        *healthy_others(1110),
    ]
    promtool_test(tmp_path, series, [
        ("500m", PAGE, [{"exp_labels": PAGED_1H}, {"exp_labels": PAGED_6H}]),
        ("500m", TICKET, [{"exp_labels": TICKETED_1D}, {"exp_labels": TICKETED_3D}]),
        # 10 min after recovery the 5m window is clean, the 30m one still holds the outage.
        ("520m", PAGE, [{"exp_labels": PAGED_6H}]),
        ("545m", PAGE, []),
        ("17h", TICKET, []),
    ])


def test_missing_input_fires_the_absent_alert_but_idle_counters_do_not(tmp_path):
    # websocket probes stop being scraped at minute 30 (exporter down);
    # readiness keeps being scraped but never increases (idle: the probe counter is flat).
    series = [
        {"series": attempts("success"), "values": "0+2x30"},
        {"series": attempts("success", "readiness"), "values": "5x120"},
        {"series": attempts("success", "model"), "values": "0+2x120"},
    ]
    absent = names.ALERT_SLI_ABSENT
    base = {"severity": "warning", "service": "openclaw-gateway", "team": "gateway", "job": "openclaw-slo-exporter"}
    promtool_test(tmp_path, series, [
        # The latency SLI's good counter was never exported: blind from the start.
        ("35m", absent, [{"exp_labels": {**base, "slo": "websocket-handshake-latency", "module": "websocket"}}]),
        # 10m without websocket samples plus 5m `for`: both websocket SLOs are blind.
        ("44m", absent, [{"exp_labels": {**base, "slo": "websocket-handshake-latency", "module": "websocket"}}]),
        ("60m", absent, [
            {"exp_labels": {**base, "slo": "websocket-availability", "module": "websocket"}},
            {"exp_labels": {**base, "slo": "websocket-handshake-latency", "module": "websocket"}},
        ]),
        ("60m", PAGE, []),
    ])


def test_probe_auth_failures_never_page_or_ticket_an_slo(tmp_path):
    # The probe token was rotated at minute 60: every probe answers auth_failed.
    # They alert as OpenClawProbeAuthFailing (tests/test_alert_rules.py), never as an outage.
    series = failing_from_minute_60("auth_failed")
    promtool_test(tmp_path, series, [
        ("65m", PAGE, []),
        ("180m", PAGE, []),
        ("180m", TICKET, []),
    ])


def test_page_tells_the_burn_rate_and_the_remaining_budget(tmp_path):
    # Another gateway, healthy, its budget untouched (100 %): the page quotes gw's own budget.
    # It sorts first, where a lookup by `slo` alone would find it.
    series = failing_from_minute_60("refused") + [
        {"series": attempts("success", target="a-healthy"), "values": "0+2x62"},
        {"series": attempts("refused", target="a-healthy"), "values": "0x62"},
    ]
    # 4 of the hour's 120 probes failed: 3.33 % errors, 33.3x the 0.1 % budget (exact now that
    # the refused series exists at 0 before the outage). An hour of history only: the 30d ratio
    # is that of the data there is, 32x the budget spent.
    description = (
        "WebSocket handshake probes (upgrade, challenge, connect, hello-ok) succeed (objective 99.9% over 30d). "
        "Burn rate 33.33 over 1h, and over 5m too, both above 14.4x (at that rate 2% of the budget goes in 1h). "
        "Error budget remaining over 30d: -3126%."
    )
    promtool_test(tmp_path, series, [("62m", PAGE, [{
        "exp_labels": PAGED_1H,
        "exp_annotations": {
            "summary": "SLO websocket-availability of target gw is burning its error budget 33.3x too fast",
            "description": description,
            "runbook_url": "https://github.com/openclaw/openclaw-slo-exporter/blob/main/docs/runbooks/" + PAGE + ".md",
        },
    }])], annotations=True)


def test_fresh_install_does_not_page_on_its_first_failed_probe(tmp_path):
    # A new install: one probe of two refused in minute 5, healthy otherwise. Its windows hold
    # ~10 events, so that one failure is a 10 % error ratio, 69x the budget: without the
    # minimum-events guard (70 events in the 1h window, 167 in 6h, slo/math.py) it pages.
    series = [
        {"series": attempts("success"), "values": "0+2x4 9+2x55"},
        {"series": attempts("refused"), "values": "0x4 1x55"},
        *healthy_others(60),
    ]
    promtool_test(tmp_path, series, [(at, alert, []) for at in ("6m", "10m", "20m", "30m", "60m") for alert in (PAGE, TICKET)],
                  only="websocket-availability")


def test_fresh_install_with_a_real_outage_pages_once_the_hour_holds_enough_probes(tmp_path):
    # Healthy for 10 minutes, then down. The 1h/5m pair pages as soon as its window holds the
    # 70 events (35 minutes of 30 s probes) that one failure alone could never exceed.
    series = [
        {"series": attempts("success"), "values": "0+2x10 20x50"},
        {"series": attempts("refused"), "values": "0x10 2+2x50"},
        *healthy_others(60),
    ]
    promtool_test(tmp_path, series, [
        ("33m", PAGE, []),
        ("37m", PAGE, PAGED),
    ], only="websocket-availability")


def test_per_pod_series_and_a_second_scrape_job_never_count(tmp_path):
    # The service is healthy. Meanwhile a per-pod probe (gateway_pod) of one bad replica fails,
    # and a second scrape of the exporter (another job: e.g. a stray static config) sees an
    # outage: neither is the SLO's input, so nothing fires.
    series = [
        {"series": attempts("success"), "values": "0+2x120"},
        {"series": attempts("refused"), "values": "0x120"},
        {"series": attempts("refused", gateway_pod="openclaw-gateway-1"), "values": "0+2x120"},
        {"series": attempts("success", gateway_pod="openclaw-gateway-1"), "values": "0x120"},
        {"series": attempts("refused", job="prometheus-static"), "values": "0+200x120"},
        {"series": attempts("success", job="prometheus-static"), "values": "0x120"},
        *healthy_others(120),
    ]
    promtool_test(tmp_path, series, [(at, alert, []) for at in ("40m", "120m") for alert in (PAGE, TICKET)],
                  only="websocket-availability")
