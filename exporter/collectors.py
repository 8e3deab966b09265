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
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
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
    """The common probe metrics plus each module's own gauges."""
    success = GaugeMetricFamily(c.PROBE_SUCCESS, "Whether the last probe succeeded (1) or failed (0).", labels=[T, M])
    attempts = CounterMetricFamily(c.PROBE_ATTEMPTS, "Probes run, by result (success or a failure reason).", labels=[T, M, c.LABEL_RESULT])
    timeouts = CounterMetricFamily(c.PROBE_TIMEOUTS, "Probes that timed out, by the phase they were in.", labels=[T, M, P])
    skipped = CounterMetricFamily(c.PROBE_SKIPPED, "Ticks skipped because the previous probe of the pair was still running.", labels=[T, M])
    last_run = GaugeMetricFamily(c.PROBE_LAST_TIMESTAMP, "Unix time the last probe finished.", labels=[T, M])
    duration = HistogramMetricFamily(c.PROBE_DURATION, "Duration of successful probes by phase.", labels=[T, M, P])
    latency = GaugeMetricFamily(c.PROBE_LATENCY, "Exact percentiles of successful probe durations over sliding windows.",
                                labels=[T, M, P, c.LABEL_WINDOW, c.LABEL_QUANTILE])
    good = CounterMetricFamily(c.PROBE_LATENCY_GOOD, "Successful probes whose phase took at most the SLO threshold.",
                               labels=[T, M, P, c.LABEL_THRESHOLD])
    gauges: dict[str, Metric] = {}
    for series in state.series.values():
        tm = [series.target, series.module]
        if series.last is not None:
            success.add_metric(tm, 1.0 if series.last.success else 0.0)
            last_run.add_metric(tm, series.last_time)
        for result, n in sorted(series.attempts.items()):
            attempts.add_metric(tm + [result], n)
        for phase, n in sorted(series.timeouts.items()):
            timeouts.add_metric(tm + [phase], n)
        skipped.add_metric(tm, series.skipped)
        for phase, hist in sorted(series.histograms.items()):
            duration.add_metric(tm + [phase], hist.cumulative(), hist.total)
        for phase, window in sorted(series.windows.items()):
            for (name, q), value in window.cached.items():
                latency.add_metric(tm + [phase, name, repr(q)], value)
        for (phase, threshold), n in sorted(series.latency_good.items()):
            good.add_metric(tm + [phase, threshold_label(threshold)], n)
        for g in series.gauges:
            fam = gauges.get(g.name)
            label_names = [T] + [k for k, _ in g.labels]
            if fam is None:
                family = CounterMetricFamily if g.kind == "counter" else GaugeMetricFamily
                fam = gauges[g.name] = family(g.name, g.help, labels=label_names)
            fam.add_metric([series.target] + [v for _, v in g.labels], g.value)
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
