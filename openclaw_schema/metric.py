"""What a metric declaration is: a name that carries its type, help, labels, unit and source.

A `Metric` is a `str` (the family name), so PromQL builders format it, emitters pass it to
prometheus_client and tests compare it like the plain name it replaced; the declaration
travels with it (`PROBE_SUCCESS.help`), so an emitter never retypes a help text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class MetricType(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"
    INFO = "info"


class Source(StrEnum):
    """Who exposes a metric; `docs/metrics.md` has one section per source."""

    EXPORTER = "openclaw-exporter"
    GATEWAY_PLUGIN = "gateway diagnostics plugin (diagnostics-prometheus)"
    KUBE_STATE_METRICS = "kube-state-metrics"
    CADVISOR = "cAdvisor (kubelet)"
    PROMETHEUS = "Prometheus"


class Metric(str):
    """A metric family name with its declaration; equal to, hashed and formatted as the name."""

    type: MetricType
    help: str
    labels: tuple[str, ...]
    unit: str
    source: Source
    note: str

    def __new__(cls, name: str, type: MetricType, help: str, labels: tuple[str, ...] = (), *,
                unit: str = "", source: Source = Source.EXPORTER, note: str = "") -> Metric:
        self = super().__new__(cls, name)
        for key, value in (("type", type), ("help", help), ("labels", tuple(labels)), ("unit", unit),
                           ("source", source), ("note", note)):
            object.__setattr__(self, key, value)
        return self

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("metric declarations are immutable")

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (multiprocessing, caches) as the plain name
        return (str, (str(self),))

    @property
    def exposed(self) -> str:
        """The sample name in the text format: counters end in `_total`, info metrics in `_info`."""
        if self.type is MetricType.COUNTER and not self.endswith("_total"):
            return self + "_total"
        return str(self)

    @property
    def total(self) -> str:
        """A counter's sample name (`..._total`), for PromQL and tests."""
        if self.type is not MetricType.COUNTER:
            raise TypeError(f"{self} is a {self.type}, not a counter")
        return self.exposed
