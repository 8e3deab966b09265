"""The exporter's self-metrics collector (memory only: no I/O, no awaits).

Sample exposition::

    openclaw_exporter_build_info{python_version="3.11.7",version="0.1.0"} 1.0
    openclaw_exporter_config_last_reload_successful 1.0
    openclaw_exporter_shard_info{ordinal="1",replicas="3",replication="2"} 1.0
    openclaw_exporter_shard_targets 667.0
"""

from __future__ import annotations

import platform
from typing import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__
from exporter import conventions as c


class ExporterCollector(Collector):
    """The exporter's own health, read from the live runtime (the probe metrics are
    pre-rendered text: exporter/exposition.py)."""

    def __init__(self, get_status: Callable[[], dict]) -> None:
        self._get_status = get_status

    def collect(self) -> Iterable[Metric]:
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
        shard = status["shard"]
        info = InfoMetricFamily(c.EXPORTER_SHARD_INFO.removesuffix("_info"),
                                "This replica's shard: its ordinal, the replica count and how many replicas probe each target.")
        info.add_metric([], {c.LABEL_ORDINAL: str(shard.ordinal), c.LABEL_REPLICAS: str(shard.replicas),
                             c.LABEL_REPLICATION: str(shard.replication)})
        yield info
        yield GaugeMetricFamily(c.EXPORTER_SHARD_TARGETS, "Targets this replica probes (its shard of the configured targets).",
                                value=status["owned_targets"])
