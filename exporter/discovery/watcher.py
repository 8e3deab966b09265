"""List/watch the selected Services (or Pods) and read their token Secrets, with the real
`kubernetes` client: the machinery (watch, bookmarks, 410 re-list, backoff) is the pod
watcher's (exporter/kube/watcher.py ListWatcher); this file says what to watch and where it goes.

No namespace list: one cluster-wide list/watch. With namespaces: one per namespace.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from openclaw_schema import names as c
from exporter.settings.discovery import DiscoveryConfig
from exporter.discovery.targets import DiscoveredTargets, ModulesFor
from exporter.discovery.tokens import TokenReadError, TokenStore
from exporter.kube.watcher import ListWatcher, _Loop

RESOURCE_SERVICES = "services"
RESOURCE_PODS = "pods"


class DiscoveryWatcher(ListWatcher):
    """Keeps ``targets`` (a DiscoveredTargets) current; start() spawns the threads."""

    rbac_hint = " (check deploy/components/discovery/rbac.yaml)"

    def __init__(self, config: DiscoveryConfig, modules_for: ModulesFor, device: Any = None,
                 api_client: k8s.ApiClient | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, api_client, clock)
        self.config = config
        self.tokens = TokenStore(self._read_secret, config.token_refresh_interval,
                                 on_resolved=lambda: self.targets.on_tokens_resolved())
        self.targets = DiscoveredTargets(config, modules_for, self.tokens, device=device)
        self.resource = RESOURCE_SERVICES if config.role == "service" else RESOURCE_PODS
        self.restarts: Counter[tuple[str, str]] = Counter(
            {(self.resource, k): 0 for k in c.KubeWatchErrorKind})
        self.last_sync: dict[str, float] = {}
        self._core: k8s.CoreV1Api | None = None

    def start(self) -> None:
        super().start()
        self._spawn("kube-discovery tokens", self.tokens.run)

    def synced(self) -> bool:
        """Every list/watch has listed once and every token Secret they reference was read once."""
        return self.targets.synced(self.config.namespaces or ("*",))

    def stop(self, timeout: float = 5) -> bool:
        self.tokens.close()
        return super().stop(timeout)

    # --- ListWatcher ------------------------------------------------------------------------
    def _loops(self, api_client: k8s.ApiClient) -> list[_Loop]:
        api = self._core = k8s.CoreV1Api(api_client)
        service = self.config.role == "service"
        selector = {"label_selector": self.config.label_selector}
        list_fn: Callable[..., Any]
        scopes: list[tuple[str, Callable[..., Any], dict[str, str]]]
        if not self.config.namespaces:
            list_fn = api.list_service_for_all_namespaces if service else api.list_pod_for_all_namespaces
            scopes = [("*", list_fn, selector)]
        else:
            list_fn = api.list_namespaced_service if service else api.list_namespaced_pod
            scopes = [(ns, list_fn, {"namespace": ns, **selector}) for ns in self.config.namespaces]
        return [
            _Loop(name=f"discovery {self.resource} {scope} {self.config.label_selector}", resource=self.resource,
                  list_fn=fn, kwargs=kwargs,
                  on_list=functools.partial(self.targets.replace, scope),
                  on_event=functools.partial(self.targets.apply, scope))
            for scope, fn, kwargs in scopes
        ]

    def _record_error(self, resource: str, kind: str) -> None:
        self.restarts[(resource, kind)] += 1

    def _mark_synced(self, resource: str) -> None:
        self.last_sync[resource] = self._clock()

    # --- Secrets ----------------------------------------------------------------------------
    def _read_secret(self, namespace: str, name: str) -> bytes:
        assert self._core is not None
        t = self.config.request_timeout_seconds
        where = f"Kubernetes Secret {namespace}/{name}"
        try:
            resp: Any = self._core.read_namespaced_secret(name, namespace, _preload_content=False, _request_timeout=(t, t))
        except ApiException as exc:
            if exc.status == 404:
                raise TokenReadError("not_found", f"{where} not found") from None
            if exc.status in (401, 403):
                raise TokenReadError("forbidden", f"{where}: the exporter may not read it (HTTP {exc.status}; "
                                                  "grant get on it: deploy/components/discovery)") from None
            kind = "http" if exc.status else "connection"
            raise TokenReadError(kind, f"{where}: API error {exc.status} {exc.reason}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TokenReadError("connection", f"{where}: connection: {type(exc).__name__}") from None
        try:
            self.last_sync["secrets"] = self._clock()
            return resp.data
        finally:
            resp.release_conn()

    def collector(self) -> Collector:
        return DiscoveryCollector(self)


class DiscoveryCollector(Collector):
    """Discovery's own health, read from what the threads keep (no I/O in the scrape)::

        openclaw_discovery_targets 1000
        openclaw_discovery_objects_rejected{reason="no_port"} 2
        openclaw_discovery_tokens_unreadable 1
        openclaw_discovery_watch_restarts_total{kind="gone",resource="services"} 3
        openclaw_discovery_secret_read_errors_total{reason="not_found"} 4
        openclaw_discovery_last_sync_timestamp_seconds{resource="services"} 1.7957e+09
    """

    def __init__(self, watcher: DiscoveryWatcher) -> None:
        self._watcher = watcher

    def collect(self):
        w = self._watcher
        yield GaugeMetricFamily(c.DISCOVERY_TARGETS, c.DISCOVERY_TARGETS.help,
                                value=len(w.targets.current()))
        rejected = GaugeMetricFamily(c.DISCOVERY_OBJECTS_REJECTED, c.DISCOVERY_OBJECTS_REJECTED.help, labels=[c.LABEL_REASON])
        for reason, n in sorted(w.targets.rejected().items()):
            rejected.add_metric([reason], n)
        yield rejected
        yield GaugeMetricFamily(c.DISCOVERY_TOKENS_UNREADABLE, c.DISCOVERY_TOKENS_UNREADABLE.help,
                                value=w.targets.unreadable_tokens())
        restarts = CounterMetricFamily(c.DISCOVERY_WATCH_RESTARTS, c.DISCOVERY_WATCH_RESTARTS.help,
                                       labels=[c.LABEL_RESOURCE, c.LABEL_KIND])
        for (resource, kind), n in sorted(w.restarts.items()):
            restarts.add_metric([resource, kind], n)
        yield restarts
        errors = CounterMetricFamily(c.DISCOVERY_SECRET_READ_ERRORS, c.DISCOVERY_SECRET_READ_ERRORS.help,
                                     labels=[c.LABEL_REASON])
        for reason, n in sorted(w.tokens.read_errors.items()):
            errors.add_metric([reason], n)
        yield errors
        sync = GaugeMetricFamily(c.DISCOVERY_LAST_SYNC, c.DISCOVERY_LAST_SYNC.help,
                                 labels=[c.LABEL_RESOURCE])
        for resource, at in sorted(w.last_sync.items()):
            sync.add_metric([resource], at)
        yield sync
