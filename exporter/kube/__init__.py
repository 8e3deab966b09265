"""Kubernetes watcher: the gateway's pods, their restarts, waits and Warning events.

Data flow: config -> PodWatcher (list/watch threads) -> KubeState -> KubeCollector -> /metrics.

The names below are imported on first use (PEP 562): parsing the config reads
exporter.kube.config, and only a config with the watcher on pays for the kubernetes client
(~20 MB and ~0.5 s of imports).
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any

_WHERE = {
    "KubeCollector": "collector", "KubeSnapshot": "state", "KubeState": "state",
    "KubernetesConfig": "config", "Selector": "config", "parse_kubernetes_config": "config",
    "PodWatcher": "watcher",
}

__all__ = sorted(_WHERE)

# The client library is an optional dependency (the `kubernetes` extra; the container image has it).
MISSING_CLIENT = ("kubernetes.enabled: the pod watcher needs the kubernetes client, which is not installed: "
                  "pip install 'openclaw-slo-exporter[kubernetes]'")


def client_missing() -> bool:
    """True when the watcher's client library is not installed (looked up, not imported)."""
    return find_spec("kubernetes") is None


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
