"""Input series for `promtool test rules`, shaped as Prometheus stores them on the documented
install path (kube-prometheus / the Prometheus Operator), and taken from the exporter's REAL
exposition where the exporter produces the metric.

Target labels: the Operator adds namespace, service, pod, container, endpoint, job (the
Service name) and instance to every series of a ServiceMonitor target. The exporter's and
kube-state-metrics' ServiceMonitors set `honorLabels: true`, so a series' own label of the same
name wins (a gateway pod's namespace/pod/container stay as the exporter wrote them). cAdvisor is
scraped by the kubelet job with metrics_path="/metrics/cadvisor".
"""

from __future__ import annotations

from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.kube.collector import KubeCollector
from exporter.kube.state import KubeState

EXPORTER_TARGET = {
    "job": "openclaw-slo-exporter", "instance": "10.0.0.7:9879", "service": "openclaw-slo-exporter",
    "endpoint": "http", "namespace": "openclaw", "pod": "openclaw-slo-exporter-6d8f9c7b5-q2w3e",
    "container": "exporter",
}
# The same exporter after its pod was replaced: a new pod name and address.
EXPORTER_TARGET_REPLACED = {**EXPORTER_TARGET, "instance": "10.0.0.9:9879", "pod": "openclaw-slo-exporter-6d8f9c7b5-z8x7c"}
KSM_TARGET = {
    "job": "kube-state-metrics", "instance": "10.0.0.8:8080", "service": "kube-state-metrics",
    "endpoint": "http-metrics",
}
CADVISOR_TARGET = {
    "job": "kubelet", "metrics_path": "/metrics/cadvisor", "instance": "10.0.0.21:10250",
    "service": "kubelet", "endpoint": "https-metrics", "node": "k8s-worker-02",
}


def series(metric: str, labels: dict[str, str], values: str) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{body}}}", "values": values}


def scraped(target: dict[str, str], metric: str, labels: dict[str, str], values: str) -> dict:
    """A series as scraped from `target` with honor_labels: the series' own labels win."""
    return series(metric, {**target, **labels}, values)


def exposition(state: KubeState) -> str:
    """What the exporter's /metrics serves for this watcher state: the real collector, rendered."""
    registry = CollectorRegistry()
    registry.register(KubeCollector(state.snapshot))
    return generate_latest(registry).decode()


def scrapes_to_series(
    scrapes: Iterable[str | None], target: dict[str, str], keep: Callable[[str], bool] = lambda name: True,
) -> list[dict]:
    """promtool input series from one exposition text per sample interval (None: no scrape).

    Each sample gets the target's labels where it has none of its own (honor_labels); a
    series absent from a scrape is "_" (no sample) at that step, as in Prometheus.
    """
    steps: list[dict[tuple, float]] = []
    order: dict[tuple, None] = {}  # every series seen, in first-seen order
    for text in scrapes:
        step: dict[tuple, float] = {}
        for family in text_string_to_metric_families(text or ""):
            for sample in family.samples:
                if not keep(sample.name):
                    continue
                key = (sample.name, tuple(sorted({**target, **sample.labels}.items())))
                order.setdefault(key)
                step[key] = sample.value
        steps.append(step)
    out = []
    for name, labels in order:
        values = " ".join(_value(step.get((name, labels))) for step in steps)
        out.append(series(name, dict(labels), values))
    return out


def _value(v: float | None) -> str:
    if v is None:
        return "_"
    return repr(float(v))
