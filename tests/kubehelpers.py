"""Helpers for the Kubernetes watcher tests: fixtures as objects, a watcher on the fake API,
metric reads through a fresh registry, and polling with a deadline (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any, Callable

from kubernetes import client as k8s
from prometheus_client import CollectorRegistry

from exporter.kube.config import KubernetesConfig, Selector
from exporter.kube.state import parse_time
from exporter.kube.watcher import PodWatcher

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kube"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def with_container(pod: dict, **changes: Any) -> dict:
    """A copy of the pod with its (only) container status changed."""
    pod = copy.deepcopy(pod)
    pod["status"]["containerStatuses"][0].update(changes)
    return pod


def kube_config(**overrides: Any) -> KubernetesConfig:
    values: dict[str, Any] = dict(
        enabled=True, selectors=(Selector(),), watch_timeout_seconds=30,
        request_timeout_seconds=2.0, resync_seconds=0.0,
        backoff_initial_seconds=0.05, backoff_max_seconds=0.4, backoff_jitter_ratio=0.0,
    )
    values.update(overrides)
    return KubernetesConfig(**values)


def api_client(url: str) -> k8s.ApiClient:
    cfg = k8s.Configuration()
    cfg.host = url
    return k8s.ApiClient(cfg)


class Clock:
    """A settable clock at an API timestamp, so waiting and startup durations are exact."""

    def __init__(self, when: str) -> None:
        self.now = parse_time(when)

    def __call__(self) -> float:
        return self.now


class Metrics:
    """Reads the watcher's metrics the way Prometheus would: a fresh registry, a scrape."""

    def __init__(self, watcher: PodWatcher) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(watcher.collector())

    def __call__(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll until predicate() is truthy; return it, or fail showing the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = None
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
