"""The pre-rendered probe exposition is valid Prometheus text: the client parser and the
real promtool read it, hostile label values stay escaped, and a series renders once per probe."""

from __future__ import annotations

import struct
import subprocess
import time

from openclaw_schema import names as c
from exporter.exposition import render_state
from exporter.probes.base import FAST_BUCKETS, Gauge, ProbeOutcome
from exporter.state import ProbeState
from exporterhelpers import parse_samples, value
from support.tools import require

HOSTILE = 'plugin "x"\\ \nreload'


def outcome(result: str = "success", pod: str = "", **phases: float) -> ProbeOutcome:
    return ProbeOutcome(target="gw", module="readiness", result=result, message="", phases=phases or {"total": 0.012},
                        started=time.time(), gateway_pod=pod,
                        gauges=[Gauge(c.GATEWAY_READINESS_FAILING, "failing", ((c.LABEL_SUBSYSTEM, HOSTILE),), 1.0)])


def sample_state() -> ProbeState:
    state = ProbeState({("readiness", "total"): (0.25,)})
    state.set_detail({("gw", "readiness")})
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
    # The percentiles are a summary family (with a `window` label): promtool has no remark at all.
    assert f"# TYPE {c.PROBE_LATENCY} summary" in text
    assert (proc.stdout + proc.stderr).strip() == ""
    assert "error" not in (proc.stdout + proc.stderr).lower()


def test_each_family_header_appears_once_and_cache_is_reused():
    state = sample_state()
    text = render_state(state)
    headers = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(headers) == len(set(headers))
    series = state.series[("gw", "readiness", "")]
    cached = series.cache
    assert cached is not None and render_state(state) == text and series.cache is cached


def f32(value: float) -> float:
    """A sample as the percentile window stores it (float32)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def test_recording_renders_nothing_and_sorts_nothing_until_read():
    """A probe only marks its series stale: the scrape renders it once, percentiles are
    computed when read (detail) and cached until the next sample."""
    state = sample_state()
    render_state(state)
    series = state.series[("gw", "readiness", "")]
    state.record(outcome(total=0.03), FAST_BUCKETS)
    assert series.cache is None and series.windows["total"]._cached is None
    text = render_state(state)
    assert series.cache is not None and series.windows["total"]._cached is not None
    assert value(parse_samples(text), c.PROBE_LATENCY, target="gw", module="readiness", phase="total",
                 window="1m", quantile="0.5") == f32(0.012) + (f32(0.03) - f32(0.012)) * 0.5  # exact median of the two as stored


def test_detail_off_keeps_only_the_total_phase():
    state = ProbeState()
    state.record(outcome(connect=0.001, first_byte=0.01, total=0.012), FAST_BUCKETS)
    samples = parse_samples(render_state(state))
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="total") == 1
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="connect") is None
    assert not any(name == c.PROBE_LATENCY for name, _ in samples)
    # Turning detail on keeps the total data and adds the phases from the next probe on.
    state.set_detail({("gw", "readiness")})
    state.record(outcome(connect=0.002, total=0.02), FAST_BUCKETS)
    samples = parse_samples(render_state(state))
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="total") == 2
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="connect") == 1
    state.set_detail(set())
    samples = parse_samples(render_state(state))
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="connect") is None
    assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="total") == 2


def test_a_large_family_is_handed_out_in_bounded_pieces_that_parse_whole():
    # At 1,000 targets the duration family is ~1.7 MB: written whole, it sat in memory three
    # times over (joined, encoded, buffered) and RSS kept each scrape's peak.
    from dataclasses import replace

    from exporter.exposition import PIECE_CHARS, iter_families

    state = ProbeState({})
    for i in range(1000):
        state.record(replace(outcome(total=0.01 + i / 1e5), target=f"gw-{i:04d}", gauges=[]), FAST_BUCKETS)
    pieces = list(iter_families(state))
    longest_series = max(len(s.cache.get(c.PROBE_DURATION, "")) for s in state.series.values())
    assert max(len(p) for p in pieces) < PIECE_CHARS + longest_series + 1000
    assert sum(1 for p in pieces if p.startswith(f"# HELP {c.PROBE_DURATION} ")) == 1
    assert sum(1 for p in pieces if c.PROBE_DURATION in p) > 10  # really split
    samples = parse_samples("".join(pieces))
    assert value(samples, c.PROBE_DURATION + "_count", target="gw-0999", module="readiness", phase="total") == 1
    assert len([k for k in samples if k[0] == c.PROBE_DURATION + "_bucket"]) == 1000 * (len(FAST_BUCKETS) + 1)


def test_a_rendered_series_is_its_text_and_little_more():
    """A series keeps its lines as one string with its family boundaries (the names shared
    between series): ~290 B besides the text here, where a dict of per-family strings was ~850 B."""
    import gc
    import tracemalloc

    from exporter.exposition import render, render_series

    states = [sample_state() for _ in range(100)]
    for state in states:  # series with module gauges and detail on, and per-pod series
        for series in state.series.values():
            series.gauges = [Gauge("openclaw_gateway_b_info", "b", (("v", "1"),), 1.0),
                             Gauge("openclaw_gateway_a_seconds", "a", (), 0.5), *series.gauges]
    everything = [s for state in states for s in state.series.values()]
    for series in everything:  # what a first render caches in the series (the percentiles)
        render(series)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [render(s) for s in everything]
        overhead = (tracemalloc.get_traced_memory()[0] - before - sum(len(r.text) for r in kept)) / len(kept)
    finally:
        tracemalloc.stop()
    assert overhead < 400, overhead
    for series, rendered in zip(everything, kept):
        by_family = render_series(series)
        assert {name: rendered[name] for name in rendered.families} == by_family
        assert rendered.get("no_such_family") is None and rendered.get(c.PROBE_SUCCESS) == by_family.get(c.PROBE_SUCCESS)
        # Common families first in exposition order, then the module families by name.
        assert list(rendered.families).index("openclaw_gateway_a_seconds") < list(rendered.families).index("openclaw_gateway_b_info")
    assert len({id(r.families) for r in kept}) <= 4  # a handful of layouts, shared
    samples = parse_samples(render_state(states[0]))
    assert value(samples, "openclaw_gateway_a_seconds", target="gw") == 0.5
    assert value(samples, "openclaw_gateway_b_info", target="gw", v="1") == 1
    assert value(samples, c.GATEWAY_READINESS_FAILING, target="gw", subsystem=HOSTILE) == 1
