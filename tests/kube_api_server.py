"""A local aiohttp server that speaks the slice of the Kubernetes API the watcher uses.

    GET /api/v1/namespaces/{ns}/pods     ?labelSelector=   list, or ?watch=1 stream
    GET /api/v1/namespaces/{ns}/events   ?fieldSelector=   list, or ?watch=1 stream
    GET /apis/batch/v1/namespaces/{ns}/cronjobs|jobs  ?labelSelector=  list, or ?watch=1 stream
    GET /api/v1/namespaces/{ns}/services ?labelSelector=   list, or ?watch=1 stream
    GET /api/v1/services|pods            ?labelSelector=   every namespace: list, or ?watch=1 stream
    GET /api/v1/namespaces/{ns}/secrets/{name}             one Secret (404, or 403 when forbidden)

Like the real API server: one resourceVersion counter for every object; lists carry
``metadata.resourceVersion``; a watch replays what happened after its ``resourceVersion``,
then streams newline-delimited ``{"type", "object"}`` events in a chunked response; BOOKMARKs
only when ``allowWatchBookmarks=true``; ``timeoutSeconds`` ends the stream cleanly; a
``resourceVersion`` older than the compacted history gets 410 Gone (a Status object, sent
as an ERROR event in a 200 stream like the real server, or as an HTTP 410 answer).

Tests drive it with a script of steps: put/delete objects (delivered live, or "missed"),
compact the history, send bookmarks, drop live connections, inject garbage lines, and make
the next requests fail with an HTTP status.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

RESOURCES = ("pods", "events", "cronjobs", "jobs", "services", "secrets")
_KINDS = {"pods": "PodList", "events": "EventList", "cronjobs": "CronJobList", "jobs": "JobList",
          "services": "ServiceList", "secrets": "SecretList"}
_API_VERSIONS = {"pods": "v1", "events": "v1", "cronjobs": "batch/v1", "jobs": "batch/v1", "services": "v1",
                 "secrets": "v1"}
ALL_NAMESPACES = ""  # the namespace of a cluster-wide request (/api/v1/services)


def status_object(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _labels_match(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`), what the tests use."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _fields_match(selector: str, obj: dict) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        path, want = term.replace("==", "=").split("=", 1)
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if str(value) != want:
            return False
    return True


@dataclass(eq=False)  # identity, so live watches can sit in a set
class _Watch:
    resource: str
    namespace: str
    query: dict[str, str]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def matches(self, obj: dict) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace != ALL_NAMESPACES and meta.get("namespace") != self.namespace:
            return False
        if not _labels_match(self.query.get("labelSelector", ""), meta.get("labels") or {}):
            return False
        return _fields_match(self.query.get("fieldSelector", ""), obj)


@dataclass
class Request:
    resource: str
    namespace: str
    query: dict[str, str]
    at: float
    headers: dict[str, str]
    name: str = ""  # a GET of one object

    @property
    def watch(self) -> bool:
        return self.query.get("watch") in ("1", "true")


class FakeKubeApi:
    def __init__(self, gone_as_http: bool = False) -> None:
        self.gone_as_http = gone_as_http  # 410 as an HTTP answer instead of an ERROR event
        self.url = ""
        self.requests: list[Request] = []
        self._rv = 1000
        self._oldest_rv = 0  # watches from below this version get 410 Gone
        self._objects: dict[str, dict[tuple[str, str], dict]] = {r: {} for r in RESOURCES}
        self._history: list[tuple[int, str, str, dict]] = []  # (rv, resource, type, object)
        self._watches: set[_Watch] = set()
        self._failures: dict[str, deque[tuple[str, int]]] = {r: deque() for r in RESOURCES}
        self._runner: web.AppRunner | None = None
        self.forbidden: set[tuple[str, str, str]] = set()  # (resource, namespace, name): GET answers 403

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{ns}/{resource}", self._handle)
        app.router.add_get("/apis/batch/v1/namespaces/{ns}/{resource}", self._handle)
        app.router.add_get("/api/v1/namespaces/{ns}/{resource}/{name}", self._get_one)
        app.router.add_get("/api/v1/{resource}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        for w in list(self._watches):
            w.queue.put_nowait(("end",))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- script steps -----------------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def put(self, resource: str, obj: dict, deliver: bool = True) -> dict:
        """Create or update; deliver=False records it but keeps it from live watches
        (a change the client missed, e.g. while disconnected)."""
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        etype = "MODIFIED" if key in self._objects[resource] else "ADDED"
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[resource][key] = obj
        self._record(resource, etype, obj, deliver)
        return obj

    def delete(self, resource: str, namespace: str, name: str, deliver: bool = True) -> None:
        obj = self._objects[resource].pop((namespace, name))
        self._rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._record(resource, "DELETED", obj, deliver)

    def compact(self) -> None:
        """Forget the history: every watch position held so far is now too old (410)."""
        self._rv += 1  # a fresh list then returns a version that is not too old
        self._oldest_rv = self._rv
        self._history.clear()

    def bookmark(self, resource: str) -> str:
        """Send a BOOKMARK at the current resourceVersion to live watches that allow them."""
        for w in self._live(resource):
            if w.query.get("allowWatchBookmarks") == "true":
                w.queue.put_nowait(("line", {"type": "BOOKMARK", "object": {
                    "kind": _KINDS[resource].removesuffix("List"), "apiVersion": _API_VERSIONS[resource],
                    "metadata": {"resourceVersion": str(self._rv), "creationTimestamp": None}}}))
        return str(self._rv)

    def expire_watches(self, resource: str) -> None:
        """Compact, and tell live watches so with an ERROR event (code 410), then end them."""
        self.compact()
        for w in self._live(resource):
            w.queue.put_nowait(("line", {"type": "ERROR", "object": status_object(
                410, "Expired", f"too old resource version ({self._rv})")}))
            w.queue.put_nowait(("end",))

    def drop_connections(self, resource: str) -> None:
        """Cut live watch connections mid-stream (no terminating chunk)."""
        for w in self._live(resource):
            w.queue.put_nowait(("drop",))

    def inject_garbage(self, resource: str, line: bytes = b"<html>502 Bad Gateway</html>") -> None:
        for w in self._live(resource):
            w.queue.put_nowait(("raw", line + b"\n"))

    def fail_next(self, resource: str, status: int = 500, times: int = 1, on: str = "any") -> None:
        """Answer the next `times` requests (on: "list", "watch" or "any") with `status`."""
        for _ in range(times):
            self._failures[resource].append((on, status))

    def live_watches(self, resource: str) -> int:
        return len(self._live(resource))

    def lists(self, resource: str) -> list[Request]:
        return [r for r in self.requests if r.resource == resource and not r.watch]

    def watches(self, resource: str) -> list[Request]:
        return [r for r in self.requests if r.resource == resource and r.watch]

    # --- internals --------------------------------------------------------------------------
    def _live(self, resource: str) -> list[_Watch]:
        return [w for w in self._watches if w.resource == resource]

    def _record(self, resource: str, etype: str, obj: dict, deliver: bool) -> None:
        self._history.append((self._rv, resource, etype, obj))
        if deliver:
            for w in self._live(resource):
                w.queue.put_nowait(("event", self._rv, etype, obj))

    def gets(self, resource: str) -> list[Request]:
        return [r for r in self.requests if r.resource == resource and r.name]

    async def _get_one(self, request: web.Request) -> web.Response:
        resource, ns, name = request.match_info["resource"], request.match_info["ns"], request.match_info["name"]
        self.requests.append(Request(resource, ns, dict(request.query), time.monotonic(), dict(request.headers), name))
        failures = self._failures.get(resource)
        if failures and failures[0][0] in ("any", "get"):
            _, status = failures.popleft()
            return web.json_response(status_object(status, "InternalError", "etcdserver: request timed out"), status=status)
        if (resource, ns, name) in self.forbidden:
            return web.json_response(status_object(
                403, "Forbidden", f'{resource} "{name}" is forbidden: User "system:serviceaccount:openclaw:'
                                  f'openclaw-slo-exporter" cannot get resource "{resource}" in API group "" in the '
                                  f'namespace "{ns}"'), status=403)
        obj = self._objects.get(resource, {}).get((ns, name))
        if obj is None:
            return web.json_response(status_object(404, "NotFound", f'{resource} "{name}" not found'), status=404)
        return web.json_response({"kind": _KINDS[resource][:-4], "apiVersion": _API_VERSIONS[resource], **obj})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        resource, ns = request.match_info["resource"], request.match_info.get("ns", ALL_NAMESPACES)
        if resource not in RESOURCES:
            return web.json_response(status_object(404, "NotFound", "not found"), status=404)
        query = dict(request.query)
        req = Request(resource, ns, query, time.monotonic(), dict(request.headers))
        self.requests.append(req)
        failures = self._failures[resource]
        if failures and failures[0][0] in ("any", "watch" if req.watch else "list"):
            _, status = failures.popleft()
            return web.json_response(status_object(status, "InternalError", "etcdserver: request timed out"), status=status)
        if req.watch:
            return await self._watch(request, _Watch(resource, ns, query))
        # Like the real API, list items carry no kind/apiVersion (watch event objects do).
        items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                 for o in self._objects[resource].values() if _Watch(resource, ns, query).matches(o)]
        return web.json_response({"kind": _KINDS[resource], "apiVersion": _API_VERSIONS[resource],
                                  "metadata": {"resourceVersion": str(self._rv)}, "items": items})

    async def _watch(self, request: web.Request, watch: _Watch) -> web.StreamResponse:
        since = int(watch.query.get("resourceVersion") or self._rv)
        gone = since < self._oldest_rv
        if gone and self.gone_as_http:
            return web.json_response(status_object(410, "Expired", f"too old resource version: {since}"), status=410)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if gone:
            await self._write(resp, {"type": "ERROR", "object": status_object(
                410, "Expired", f"too old resource version: {since} ({self._rv})")})
            await resp.write_eof()
            return resp
        # Subscribe before replaying, both without yielding to the loop in between.
        self._watches.add(watch)
        replay = [h for h in self._history if h[0] > since and h[1] == watch.resource]
        sent = since
        deadline = time.monotonic() + float(watch.query.get("timeoutSeconds") or 3600)
        try:
            for rv, _, etype, obj in replay:
                if watch.matches(obj):
                    await self._write(resp, {"type": etype, "object": obj})
                sent = rv
            while True:
                try:
                    item = await asyncio.wait_for(watch.queue.get(), max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break  # timeoutSeconds: the server ends the watch cleanly
                if item[0] == "end":
                    break
                if item[0] == "drop":
                    request.transport.close()  # no final chunk: the client sees a broken stream
                    return resp
                if item[0] == "raw":
                    await resp.write(item[1])
                elif item[0] == "line":
                    await self._write(resp, item[1])
                elif item[0] == "event" and item[1] > sent and watch.matches(item[3]):
                    await self._write(resp, {"type": item[2], "object": item[3]})
            await resp.write_eof()
        except ConnectionResetError:
            pass  # the client went away (e.g. the watcher stopped)
        finally:
            self._watches.discard(watch)
        return resp

    @staticmethod
    async def _write(resp: web.StreamResponse, event: dict) -> None:
        await resp.write(json.dumps(event).encode() + b"\n")
