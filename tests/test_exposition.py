"""The pre-rendered probe exposition is valid Prometheus text: the client parser and the
real promtool read it, hostile label values stay escaped, and a series renders once per probe."""

from __future__ import annotations

import subprocess
import time

from exporter import conventions as c
from exporter.exposition import render_state
from exporter.probes.base import FAST_BUCKETS, Gauge, ProbeOutcome
from exporter.state import ProbeState
from exporterhelpers import parse_samples, value
from services import require

HOSTILE = 'plugin "x"\\ \nreload'


def outcome(result: str = "success", pod: str = "", **phases: float) -> ProbeOutcome:
    return ProbeOutcome(target="gw", module="readiness", result=result, message="", phases=phases or {"total": 0.012},
                        started=time.time(), gateway_pod=pod,
                        gauges=[Gauge(c.GATEWAY_READINESS_FAILING, "failing", ((c.LABEL_SUBSYSTEM, HOSTILE),), 1.0)])


def sample_state() -> ProbeState:
    state = ProbeState({("readiness", "total"): (0.25,)})
    state.record(outcome(connect=0.001, total=0.012), FAST_BUCKETS)
    state.record(outcome("refused"), FAST_BUCKETS)
    state.record(outcome(pod="gw-0", total=0.02), FAST_BUCKETS)
    state.skip("gw", "readiness", FAST_BUCKETS)
    return state


def test_text_parses_with_escaped_labels_and_pod_series():
    samples = parse_samples(render_state(sample_state()))
    assert value(samples, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="refused") == 1
    assert value(samples, c.PROBE_SUCCESS, target="gw", module="readiness") == 0
    assert value(samples, c.PROBE_SUCCESS, target="gw", module="readiness", gateway_pod="gw-0") == 1
    # Never `pod`: the Prometheus Operator sets that target label on every series it scrapes.
    assert all(dict(labels).get("pod") is None for (_, labels) in samples)
    assert value(samples, c.PROBE_SKIPPED_TOTAL, target="gw", module="readiness") == 1
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="total") == 1
    assert value(samples, c.PROBE_DURATION + "_bucket", target="gw", module="readiness", phase="total", le="+Inf") == 1
    assert value(samples, c.PROBE_LATENCY_GOOD_TOTAL, target="gw", module="readiness", phase="total", threshold_seconds="0.25") == 1
    assert value(samples, c.GATEWAY_READINESS_FAILING, target="gw", subsystem=HOSTILE) == 1


def test_promtool_accepts_the_text():
    text = render_state(sample_state())
    proc = subprocess.run([require("promtool"), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    # The only remark allowed is promtool's lint about `quantile` on a gauge: the sliding-window
    # percentiles are gauges by design (a summary has no `window`), named so by the spec.
    remarks = set((proc.stdout + proc.stderr).splitlines()) - {""}
    assert remarks <= {f'{c.PROBE_LATENCY} non-summary metrics should not have "quantile" label'}, remarks
    assert "error" not in (proc.stdout + proc.stderr).lower()


def test_each_family_header_appears_once_and_cache_is_reused():
    state = sample_state()
    text = render_state(state)
    headers = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(headers) == len(set(headers))
    series = state.series[("gw", "readiness", "")]
    cached = series.cache
    assert cached is not None and render_state(state) == text and series.cache is cached
