"""Every known result series exists at 0 before its first failure, so rate()/increase() see it.

A counter series born at its current value (1 at the first `refused`) needs a second sample
before rate() can see it move: the first failures of a result never seen before would be
invisible to the SLO rules and the alerts. The state pre-creates each prober's `results`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from openclaw_schema import names as c
from exporter.exposition import render_state
from exporter.probes import PROBERS
from exporter.probes.base import ProbeOutcome
from exporter.state import ProbeState
from exporterhelpers import parse_samples, running_exporter, value
from conftest import wait_for
from localservers import fixed, serve
from slohelpers import ROOT, promtool_test_promql

PROBES = ROOT / "exporter" / "probes"
# Which probers can end with the reasons raised or returned in each source file (websocket.py
# raises nothing of its own: its reasons come from gateway_client.py).
SOURCES = {
    "base.py": tuple(PROBERS), "readiness.py": ("readiness",),
    "gateway_client.py": ("websocket", "model", "message"), "model.py": ("model",),
    "model_provider.py": ("model",), "model_checks.py": ("model",), "message.py": ("message",),
    "storage.py": ("storage",),
}
RUNNER = ROOT / "exporter" / "runner.py"
REASON = re.compile(r"^[a-z]+(_[a-z]+)*$")


def _reasons(path: Path) -> set[str]:
    """Result strings a file can produce: ProbeFailure("x", ...), `return "x", message`,
    `result, message = "x", ...` and the values of its *_REASONS / *_UNAVAILABLE tables."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ProbeFailure" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
            elif isinstance(arg, ast.Call) and len(arg.args) == 2 and isinstance(arg.args[1], ast.Constant):
                found.add(arg.args[1].value)  # TABLE.get(key, "default")
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
            first = node.value.elts[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and REASON.match(first.value):
                found.add(first.value)  # return reason, message
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple) and isinstance(node.targets[0], ast.Tuple):
            names = [getattr(e, "id", "") for e in node.targets[0].elts]
            first = node.value.elts[0]
            if names[:1] in (["result"], ["reason"]) and isinstance(first, ast.Constant):
                found.add(first.value)  # result, message = "config_error", ...
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            name = getattr(node.targets[0], "id", "")
            if name.endswith(("_REASONS", "_UNAVAILABLE")):
                found.update(v.value for v in node.value.values if isinstance(v, ast.Constant))
    return found


def test_every_reason_a_prober_can_produce_is_in_its_results():
    assert {"refused", "timeout", "tls", "dns", "closed", "error"} <= _reasons(PROBES / "base.py")
    assert "config_error" in _reasons(RUNNER)
    for name, probers in SOURCES.items():
        reasons = _reasons(PROBES / name) | (_reasons(RUNNER) if name == "base.py" else set())
        assert reasons, name
        for prober in probers:
            missing = reasons - set(PROBERS[prober].results)
            assert not missing, f"{name}: {sorted(missing)} missing from the {prober} prober's results"
    for prober in PROBERS.values():
        assert prober.results[0] == c.Result.SUCCESS and len(set(prober.results)) == len(prober.results)
        # readiness and storage use no credentials: they cannot end as auth_failed/forbidden/pairing_required.
        assert set(c.PROBE_CONFIG_RESULTS) <= set(prober.results) or prober.name in ("readiness", "storage")


def _outcome(result: str, started: float) -> ProbeOutcome:
    return ProbeOutcome(target="gw", module="readiness", result=result, message="", phases={"total": 0.01},
                        started=started)


@pytest.mark.prometheus
def test_first_ever_refused_probe_shows_in_increase(tmp_path):
    # The exporter's own state and exposition, scraped once a minute for 10 minutes: one probe
    # a minute, all successful except minute 5's, refused (the first refused ever).
    readiness = PROBERS["readiness"]
    state = ProbeState()
    state.ensure("gw", "readiness", readiness.buckets, results=readiness.results)  # as app.py does when scheduling
    scrapes: list[dict] = []
    for minute in range(11):
        state.record(_outcome("refused" if minute == 5 else "success", 1e9 + minute * 60), readiness.buckets)
        scrapes.append(parse_samples(render_state(state)))
    series: dict[str, list[str]] = {}
    for minute, samples in enumerate(scrapes):
        for (name, labels), v in samples.items():
            if name != c.PROBE_ATTEMPTS_TOTAL:
                continue
            key = name + "{" + ",".join(f'{k}="{val}"' for k, val in labels) + "}"
            series.setdefault(key, ["_"] * 11)[minute] = repr(v)
    refused = next(k for k in series if 'result="refused"' in k)
    input_series = [{"series": k, "values": " ".join(v)} for k, v in series.items()]
    failures = f'count(increase({c.PROBE_ATTEMPTS_TOTAL}{{result!="{c.Result.SUCCESS}"}}[5m]) > 0)'
    promtool_test_promql(tmp_path, input_series, [
        (failures, "4m", []),
        (failures, "6m", [{"labels": "{}", "value": 1}]),  # the first refused probe counts
        (failures, "9m", [{"labels": "{}", "value": 1}]),
    ])
    assert series[refused][:5] == ["0.0"] * 5  # exported at 0 before the first failure


async def test_the_running_exporter_exports_every_result_at_zero_before_it_happens(tmp_path):
    async with serve(fixed(200, '{"ready":true}')) as gw:
        doc = {"targets": [{"name": "gw", "url": gw, "websocket": {"enabled": False}}]}
        async with running_exporter(doc, tmp_path) as ex:
            async def probed():
                return value(await ex.samples(), c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="success")
            await wait_for(probed, timeout=15)
            samples = await ex.samples()
    attempts = {dict(labels)["result"]: v for (name, labels), v in samples.items() if name == c.PROBE_ATTEMPTS_TOTAL}
    assert set(attempts) == set(PROBERS["readiness"].results)  # 11 series for the readiness module
    assert attempts["refused"] == 0 and attempts["not_ready"] == 0 and attempts["success"] >= 1
