"""Collectors: turn the probe state into metric families at scrape time.

They read memory only (no I/O, no awaits). Sample exposition::

    openclaw_probe_success{module="readiness",target="gateway"} 1.0
    openclaw_probe_attempts_total{module="readiness",result="refused",target="gateway"} 3.0
    openclaw_probe_duration_seconds_bucket{le="0.005",module="readiness",phase="total",target="gateway"} 12.0
    openclaw_probe_latency_seconds{module="websocket",phase="handshake",quantile="0.99",target="gateway",window="5m"} 0.031
"""

from __future__ import annotations

import platform
from typing import Callable, Iterable

from prometheus_client.core import (
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from exporter import __version__
from exporter import conventions as c
from exporter.state import ProbeState
from slo.model import threshold_label

T, M, P = c.LABEL_TARGET, c.LABEL_MODULE, c.LABEL_PHASE


def probe_families(state: ProbeState) -> Iterable[Metric]:
    """The common probe metrics plus each module's own gauges.

    Samples are added with explicit label dicts: series of per-pod probes carry one more
    label (``pod``) than the configured targets' series, which the exposition format allows."""
    success = Metric(c.PROBE_SUCCESS, "Whether the last probe succeeded (1) or failed (0).", "gauge")
    attempts = Metric(c.PROBE_ATTEMPTS, "Probes run, by result (success or a failure reason).", "counter")
    timeouts = Metric(c.PROBE_TIMEOUTS, "Probes that timed out, by the phase they were in.", "counter")
    skipped = Metric(c.PROBE_SKIPPED, "Ticks skipped because the previous probe of the pair was still running.", "counter")
    last_run = Metric(c.PROBE_LAST_TIMESTAMP, "Unix time the last probe finished.", "gauge")
    duration = Metric(c.PROBE_DURATION, "Duration of successful probes by phase.", "histogram")
    latency = Metric(c.PROBE_LATENCY, "Exact percentiles of successful probe durations over sliding windows.", "gauge")
    good = Metric(c.PROBE_LATENCY_GOOD, "Successful probes whose phase took at most the SLO threshold.", "counter")
    gauges: dict[str, Metric] = {}
    for series in state.series.values():
        base = {T: series.target, M: series.module}
        if series.pod:
            base[c.LABEL_POD] = series.pod
        if series.last is not None:
            success.add_sample(c.PROBE_SUCCESS, base, 1.0 if series.last.success else 0.0)
            last_run.add_sample(c.PROBE_LAST_TIMESTAMP, base, series.last_time)
        for result, n in sorted(series.attempts.items()):
            attempts.add_sample(c.PROBE_ATTEMPTS_TOTAL, {**base, c.LABEL_RESULT: result}, n)
        for phase, n in sorted(series.timeouts.items()):
            timeouts.add_sample(c.PROBE_TIMEOUTS_TOTAL, {**base, P: phase}, n)
        skipped.add_sample(c.PROBE_SKIPPED_TOTAL, base, series.skipped)
        for phase, hist in sorted(series.histograms.items()):
            labels = {**base, P: phase}
            for bound, count in hist.cumulative():
                duration.add_sample(c.PROBE_DURATION + "_bucket", {**labels, "le": bound}, count)
            duration.add_sample(c.PROBE_DURATION + "_count", labels, hist.count)
            duration.add_sample(c.PROBE_DURATION + "_sum", labels, hist.total)
        for phase, window in sorted(series.windows.items()):
            for (name, q), value in window.cached.items():
                latency.add_sample(c.PROBE_LATENCY, {**base, P: phase, c.LABEL_WINDOW: name, c.LABEL_QUANTILE: repr(q)}, value)
        for (phase, threshold), n in sorted(series.latency_good.items()):
            good.add_sample(c.PROBE_LATENCY_GOOD_TOTAL, {**base, P: phase, c.LABEL_THRESHOLD: threshold_label(threshold)}, n)
        for g in series.gauges:
            fam = gauges.get(g.name)
            if fam is None:
                fam = gauges[g.name] = Metric(g.name, g.help, "counter" if g.kind == "counter" else "gauge")
            name = g.name + "_total" if g.kind == "counter" and not g.name.endswith("_total") else g.name
            target_labels = {T: series.target, **({c.LABEL_POD: series.pod} if series.pod else {})}
            fam.add_sample(name, {**target_labels, **dict(g.labels)}, g.value)
    yield from (success, attempts, timeouts, skipped, last_run, duration, latency, good)
    yield from gauges.values()


class ExporterCollector(Collector):
    """Probe metrics and the exporter's own health, read from the live runtime."""

    def __init__(self, get_state: Callable[[], ProbeState], get_status: Callable[[], dict]) -> None:
        self._get_state = get_state
        self._get_status = get_status

    def collect(self) -> Iterable[Metric]:
        yield from probe_families(self._get_state())
        status = self._get_status()
        info = InfoMetricFamily(c.EXPORTER_BUILD_INFO.removesuffix("_info"), "Exporter build information.")
        info.add_metric([], {"version": __version__, "python_version": platform.python_version()})
        yield info
        yield GaugeMetricFamily(c.EXPORTER_RELOAD_SUCCESS, "Whether the last configuration reload succeeded.",
                                value=1.0 if status["reload_ok"] else 0.0)
        yield GaugeMetricFamily(c.EXPORTER_RELOAD_TIMESTAMP, "Unix time of the last successful configuration load.",
                                value=status["reload_time"])
        yield GaugeMetricFamily(c.EXPORTER_PROBES_IN_FLIGHT, "Probes running right now.", value=status["in_flight"])
        yield GaugeMetricFamily(c.EXPORTER_TARGETS, "Configured targets.", value=status["targets"])
