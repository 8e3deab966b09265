"""Kubernetes watcher: the gateway's pods, their restarts, waits and Warning events.

Data flow: config -> PodWatcher (list/watch threads) -> KubeState -> KubeCollector -> /metrics.
"""

from exporter.kube.collector import KubeCollector
from exporter.kube.config import KubernetesConfig, Selector, parse_kubernetes_config
from exporter.kube.state import KubeSnapshot, KubeState
from exporter.kube.watcher import PodWatcher

__all__ = [
    "KubeCollector", "KubeSnapshot", "KubeState", "KubernetesConfig", "PodWatcher",
    "Selector", "parse_kubernetes_config",
]
