"""List-then-watch of the gateway's Pods and their Events (and, with `kubernetes.backups`, the
backup CronJobs and their Jobs), with the real `kubernetes` client.

One daemon thread per loop (the client is synchronous; the asyncio loop is never blocked):
a Pods loop per configured selector and an Events loop per distinct namespace. Each loop:

1. lists (the result replaces what the state knew: pods gone from it leave /metrics);
2. watches from the list's resourceVersion with bookmarks, moving its resourceVersion on
   every event and BOOKMARK, and resumes from it when a stream ends or drops;
3. re-lists on 410 Gone, whether the API answers 410 or sends an ERROR event with code 410;
4. on any other failure counts it, waits with exponential backoff and jitter, and resumes.

We parse the stream lines ourselves (not `kubernetes.watch.Watch`) so a garbage line is
counted and skipped instead of silently dropped, and the raw JSON goes to the pure state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from exporter.kube.collector import KubeCollector
from exporter.kube.config import KubernetesConfig
from exporter.kube.state import (
    RESOURCE_CRONJOBS, RESOURCE_EVENTS, RESOURCE_JOBS, RESOURCE_PODS, KubeSnapshot, KubeState)

log = logging.getLogger(__name__)

_WATCH_TYPES = ("ADDED", "MODIFIED", "DELETED")


class _Gone(Exception):
    """The resourceVersion we hold is too old: re-list."""


class _Garbage(Exception):
    """A body that is not what the API promises (list not JSON, event not an object)."""


@dataclass
class _Loop:
    name: str
    resource: str
    list_fn: Callable[..., Any]
    kwargs: dict[str, Any]
    on_list: Callable[[list[dict]], None]
    on_event: Callable[[str, dict], None]
    resource_version: str | None = None
    listed_at: float = 0.0


class ListWatcher:
    """The list/watch/410-relist machinery, one daemon thread per loop; subclasses say which
    loops to run (``_loops``) and where errors and syncs go. PodWatcher and the fleet
    discovery (exporter/discovery/watcher.py) are its two users.

    ``config``: anything with the connection and timing fields of KubernetesConfig.
    ``api_client``: an already configured client (tests); otherwise one is built in start()
    from in-cluster config or kubeconfig/context (raising ``kubernetes.config.ConfigException``
    if neither is usable).
    """

    # Said with a 401/403, so the operator knows which RBAC file to look at.
    rbac_hint = ""

    def __init__(
        self,
        config: Any,
        api_client: k8s.ApiClient | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._api_client = api_client
        self._owns_client = api_client is None
        self._clock = clock
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._active: dict[str, Any] = {}  # loop name -> open watch response, aborted by stop()
        self._active_lock = threading.Lock()

    # --- what subclasses provide ------------------------------------------------------------
    def _loops(self, api_client: k8s.ApiClient) -> list[_Loop]:
        raise NotImplementedError

    def _record_error(self, resource: str, kind: str) -> None:
        raise NotImplementedError

    def _mark_synced(self, resource: str) -> None:
        raise NotImplementedError

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            raise RuntimeError(f"{type(self).__name__} already started")
        if self._api_client is None:
            self._api_client = self._load_client()
        for loop in self._loops(self._api_client):
            self._spawn(f"kube-watch {loop.name}", self._run, loop)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def stop(self, timeout: float = 5) -> bool:
        """Stop every loop; True when all threads ended within `timeout` seconds. Blocking:
        from asyncio use ``await watcher.aclose()``."""
        self._stop.set()
        with self._active_lock:
            responses = list(self._active.values())
        for resp in responses:
            _abort(resp)  # unblocks a thread waiting in recv() on an idle watch stream
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("kubernetes watch threads still running after %.1fs: %s", timeout, alive)
        elif self._owns_client and self._api_client is not None:
            self._api_client.close()
        return not alive

    async def aclose(self, timeout: float = 5) -> bool:
        return await asyncio.to_thread(self.stop, timeout)

    # --- internals ------------------------------------------------------------------------
    def _load_client(self) -> k8s.ApiClient:
        cfg = k8s.Configuration()
        in_cluster = self._config.in_cluster
        if in_cluster is None:  # auto: a pod gets KUBERNETES_SERVICE_HOST; a kubeconfig wins
            in_cluster = (not self._config.kubeconfig and not self._config.context
                          and "KUBERNETES_SERVICE_HOST" in os.environ)
        if in_cluster:
            k8s_config.load_incluster_config(client_configuration=cfg)
        else:
            k8s_config.load_kube_config(
                config_file=self._config.kubeconfig, context=self._config.context,
                client_configuration=cfg, persist_config=False)
        return k8s.ApiClient(cfg)

    def _run(self, loop: _Loop) -> None:
        cfg = self._config
        backoff = cfg.backoff_initial_seconds
        kind: str | None = None
        while not self._stop.is_set():
            previous, kind = kind, None
            try:
                if loop.resource_version is None or (
                    cfg.resync_seconds and self._clock() - loop.listed_at >= cfg.resync_seconds
                ):
                    self._list(loop)
                    backoff = cfg.backoff_initial_seconds
                if self._watch(loop):
                    backoff = cfg.backoff_initial_seconds
            except _Gone:
                kind = "gone"
                loop.resource_version = None  # re-list at once: the API told us exactly what to do
            except ApiException as e:
                if e.status == 410:
                    kind = "gone"
                    loop.resource_version = None
                else:
                    kind = "http" if e.status else "connection"  # status 0: the client's own failure
                    hint = self.rbac_hint if e.status in (401, 403) else ""
                    log.warning("kubernetes %s: API error %s %s%s", loop.name, e.status, e.reason, hint)
            except _Garbage as e:
                kind = "decode"
                log.warning("kubernetes %s: %s", loop.name, e)
            except (urllib3.exceptions.HTTPError, OSError) as e:
                kind = "connection"
                if not self._stop.is_set():
                    log.warning("kubernetes %s: connection: %s", loop.name, e)
            except Exception:  # a bug of ours must not end the watch for good
                kind = "internal"
                log.exception("kubernetes %s: unexpected error", loop.name)
            if self._stop.is_set():
                break
            if kind is not None:
                self._record_error(loop.resource, kind)
            # A first 410 re-lists at once; 410 again right after a re-list means trouble: wait.
            if kind is not None and (kind != "gone" or previous == "gone"):
                jitter = 1 + self._rng.uniform(-cfg.backoff_jitter_ratio, cfg.backoff_jitter_ratio)
                self._stop.wait(backoff * jitter)
                backoff = min(cfg.backoff_max_seconds, backoff * 2)

    def _list(self, loop: _Loop) -> None:
        t = self._config.request_timeout_seconds
        resp = loop.list_fn(**loop.kwargs, _preload_content=False, _request_timeout=(t, t))
        try:
            body = json.loads(resp.data)
            items = body["items"] or []
            rv = body["metadata"]["resourceVersion"]
        except (ValueError, KeyError, TypeError) as e:
            raise _Garbage(f"list response is not a {loop.resource} list: {e}") from e
        finally:
            resp.release_conn()
        loop.on_list(items)
        loop.resource_version = rv
        loop.listed_at = self._clock()
        self._mark_synced(loop.resource)

    def _watch(self, loop: _Loop) -> bool:
        """One watch request until the server ends it (True if it delivered anything).
        Raises on errors; loop.resource_version always holds the last position reached."""
        cfg = self._config
        timeout = cfg.watch_timeout_seconds
        if cfg.resync_seconds:  # end the watch when the next re-list is due
            due = cfg.resync_seconds - (self._clock() - loop.listed_at)
            timeout = max(1, min(timeout, math.ceil(due)))
        resp = loop.list_fn(
            **loop.kwargs, watch=True, resource_version=loop.resource_version,
            allow_watch_bookmarks=True, timeout_seconds=timeout,
            _preload_content=False,
            # Read timeout past the server's own timeout: a silently dead connection still ends.
            _request_timeout=(cfg.request_timeout_seconds, timeout + cfg.request_timeout_seconds),
        )
        with self._active_lock:
            self._active[loop.name] = resp
        delivered = False
        try:
            if self._stop.is_set():  # stop() ran before we registered
                return delivered
            for line in iter_resp_lines(resp):
                if self._stop.is_set():
                    break
                if not line.strip():
                    continue
                try:
                    self._handle_line(loop, line)
                    delivered = True
                except _Garbage as e:  # one bad line: count it, keep the stream
                    self._record_error(loop.resource, "decode")
                    log.warning("kubernetes %s: %s", loop.name, e)
            else:
                self._mark_synced(loop.resource)  # the server ended the stream cleanly
        finally:
            with self._active_lock:
                self._active.pop(loop.name, None)
            resp.close()  # never return a half-read stream to the pool
            resp.release_conn()
        return delivered

    def _handle_line(self, loop: _Loop, line: str) -> None:
        try:
            event = json.loads(line)
            etype, obj = event["type"], event["object"]
            if not isinstance(obj, dict):
                raise TypeError("object is not a JSON object")
        except (ValueError, KeyError, TypeError) as e:
            raise _Garbage(f"not a watch event ({e}): {line[:200]!r}") from e
        if etype == "ERROR":  # a Status object inside the stream
            code = obj.get("code")
            if code == 410:
                raise _Gone()
            raise ApiException(status=code or 500, reason=f"{obj.get('reason')}: {obj.get('message')}")
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if etype in _WATCH_TYPES:
            loop.on_event(etype, obj)
        elif etype != "BOOKMARK":
            raise _Garbage(f"unknown watch event type {etype!r}")
        if rv:
            loop.resource_version = rv
        self._mark_synced(loop.resource)


class PodWatcher(ListWatcher):
    """Keeps a KubeState current from the API server; read it via snapshot() or collector()."""

    rbac_hint = " (check deploy/components/pod-watcher/rbac.yaml)"

    def __init__(
        self,
        config: KubernetesConfig,
        api_client: k8s.ApiClient | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, api_client, clock, rng)
        self._state = KubeState(clock)

    def start(self) -> None:
        if not self._config.enabled:  # nothing to watch, and no credentials needed
            log.info("kubernetes watcher disabled (kubernetes.enabled: false)")
            return
        super().start()

    def _record_error(self, resource: str, kind: str) -> None:
        self._state.record_error(resource, kind)

    def _mark_synced(self, resource: str) -> None:
        self._state.mark_synced(resource)

    def _loops(self, api_client: k8s.ApiClient) -> list[_Loop]:
        api = k8s.CoreV1Api(api_client)
        loops = [
            _Loop(
                name=f"pods {sel.namespace} {sel.label_selector}",
                resource=RESOURCE_PODS,
                list_fn=api.list_namespaced_pod,
                kwargs={"namespace": sel.namespace, "label_selector": sel.label_selector},
                on_list=lambda items, scope=f"{sel.namespace}/{sel.label_selector}":
                    self._state.replace_pods(scope, items),
                on_event=lambda t, obj, scope=f"{sel.namespace}/{sel.label_selector}":
                    self._state.apply_pod_event(scope, t, obj),
            )
            for sel in self._config.selectors
        ] + [
            _Loop(
                name=f"events {ns}",
                resource=RESOURCE_EVENTS,
                list_fn=api.list_namespaced_event,
                # Only Pod events; the state keeps those of watched pods.
                kwargs={"namespace": ns, "field_selector": "involvedObject.kind=Pod"},
                on_list=lambda items, ns=ns: self._state.replace_events(ns, items),
                on_event=lambda t, obj, ns=ns: self._state.apply_event(ns, t, obj),
            )
            for ns in self._config.namespaces
        ]
        # Backups: the CronJobs and their Jobs (same labels on the jobTemplate), read-only.
        batch = k8s.BatchV1Api(api_client)
        for sel in self._config.backups:
            scope = f"{sel.namespace}/{sel.label_selector}"
            kwargs = {"namespace": sel.namespace, "label_selector": sel.label_selector}
            loops += [
                _Loop(name=f"cronjobs {sel.namespace} {sel.label_selector}", resource=RESOURCE_CRONJOBS,
                      list_fn=batch.list_namespaced_cron_job, kwargs=kwargs,
                      on_list=lambda items, scope=scope: self._state.replace_cronjobs(scope, items),
                      on_event=lambda t, obj, scope=scope: self._state.apply_cronjob_event(scope, t, obj)),
                _Loop(name=f"jobs {sel.namespace} {sel.label_selector}", resource=RESOURCE_JOBS,
                      list_fn=batch.list_namespaced_job, kwargs=kwargs,
                      on_list=lambda items, scope=scope: self._state.replace_jobs(scope, items),
                      on_event=lambda t, obj, scope=scope: self._state.apply_job_event(scope, t, obj)),
            ]
        return loops

    # --- reading --------------------------------------------------------------------------
    def snapshot(self) -> KubeSnapshot:
        return self._state.snapshot()

    def ready_pod_ips(self) -> list[tuple[str, str, str]]:
        """(namespace, pod, ip) of Ready pods with an IP, for optional per-pod probing."""
        return [(p.namespace, p.name, p.ip) for p in self.snapshot().pods if p.ready and p.ip]

    def collector(self) -> KubeCollector:
        return KubeCollector(self.snapshot)


def _abort(resp: Any) -> None:
    """Shut the socket under a streaming response so a blocked read returns now."""
    sock = getattr(getattr(resp, "connection", None), "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
