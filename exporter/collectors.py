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
from openclaw_schema import names as c


class ExporterCollector(Collector):
    """The exporter's own health, read from the live runtime (the probe metrics are
    pre-rendered text: exporter/exposition.py)."""

    def __init__(self, get_status: Callable[[], dict]) -> None:
        self._get_status = get_status

    def collect(self) -> Iterable[Metric]:
        status = self._get_status()
        info = InfoMetricFamily(c.EXPORTER_BUILD_INFO.removesuffix("_info"), c.EXPORTER_BUILD_INFO.help)
        info.add_metric([], {c.LABEL_VERSION: __version__, c.LABEL_PYTHON_VERSION: platform.python_version()})
        yield info
        yield GaugeMetricFamily(c.EXPORTER_RELOAD_SUCCESS, c.EXPORTER_RELOAD_SUCCESS.help,
                                value=1.0 if status["reload_ok"] else 0.0)
        yield GaugeMetricFamily(c.EXPORTER_RELOAD_TIMESTAMP, c.EXPORTER_RELOAD_TIMESTAMP.help,
                                value=status["reload_time"])
        yield GaugeMetricFamily(c.EXPORTER_PROBES_IN_FLIGHT, c.EXPORTER_PROBES_IN_FLIGHT.help, value=status["in_flight"])
        yield GaugeMetricFamily(c.EXPORTER_TARGETS, c.EXPORTER_TARGETS.help, value=status["targets"])
        shard = status["shard"]
        info = InfoMetricFamily(c.EXPORTER_SHARD_INFO.removesuffix("_info"), c.EXPORTER_SHARD_INFO.help)
        info.add_metric([], {c.LABEL_ORDINAL: str(shard.ordinal), c.LABEL_REPLICAS: str(shard.replicas),
                             c.LABEL_REPLICATION: str(shard.replication)})
        yield info
        yield GaugeMetricFamily(c.EXPORTER_SHARD_TARGETS, c.EXPORTER_SHARD_TARGETS.help, value=status["owned_targets"])
