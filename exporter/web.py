"""HTTP endpoints: /metrics, /probe, /-/healthy, /-/ready, /-/reload and the status page (/, /targets/<name>, /api/status)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from typing import Any

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from exporter.app import Exporter
from exporter.settings.resolved import ModuleConfig
from exporter.exposition import iter_families, render_state
from exporter.prerender import render_stale
from exporter.probes import PROBERS
from exporter.sharding import owners
from exporter.state import ProbeState
from exporter.status import build_status, build_target, listing
from exporter.status_html import HEADERS as PAGE_HEADERS
from exporter.status_html import render_index, render_target
from exporter.web_config import WebConfig

EXPORTER_KEY = web.AppKey("exporter", Exporter)
LIFECYCLE_KEY = web.AppKey("enable_lifecycle", bool)
PROBES_RUNNING_KEY = web.AppKey("probes_running", list)  # [count] of /probe runs in progress


def _accepted(header: str, value: str) -> bool:
    """Whether an Accept/Accept-Encoding header lists ``value`` with a q above 0."""
    for part in header.lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        if name == value:
            for param in params:
                key, _, q = param.partition("=")
                if key.strip() == "q":
                    try:
                        return float(q) > 0
                    except ValueError:
                        return False
            return True
    return False


def wants_openmetrics(accept: str) -> bool:
    """Whether the client asks for OpenMetrics text (Prometheus lists it first)."""
    return _accepted(accept, "application/openmetrics-text")


def accepts_gzip(accept_encoding: str) -> bool:
    return _accepted(accept_encoding, "gzip")


async def metrics(request: web.Request) -> web.StreamResponse:
    """The probe families (pre-rendered per series) then the registry's (exporter, process,
    GC, SLO, Kubernetes). Written family by family, gzip-compressed on the fly when the
    client accepts gzip (Prometheus does), OpenMetrics when the client asks for it."""
    exporter = request.app[EXPORTER_KEY]
    exporter.prerenderer.scraped(asyncio.get_running_loop().time())
    # What the last sweep left (series probed since), rendered with the loop free between slices.
    await render_stale(list(exporter.state.series.values()))
    om = wants_openmetrics(request.headers.get(hdrs.ACCEPT, ""))
    response = web.StreamResponse(headers={
        "Content-Type": openmetrics.CONTENT_TYPE_LATEST if om else CONTENT_TYPE_LATEST})
    if accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING, "")):
        response.enable_compression(web.ContentCoding.gzip)
    # The probe families are taken in one step (no await): a consistent snapshot of every series.
    families = iter_families(exporter.state, openmetrics=om)
    await response.prepare(request)
    for family in families:
        await response.write(family.encode())
    # The registry's families (ending with "# EOF" in OpenMetrics).
    await response.write(openmetrics.generate_latest(exporter.registry) if om else generate_latest(exporter.registry))
    await response.write_eof()
    return response


# Like blackbox_exporter: leave Prometheus this much of its scrape timeout to read the answer.
SCRAPE_TIMEOUT_OFFSET = 0.5
SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
# /probe's answer: the ordinals of the replicas that probe this target on schedule (docs/fleet.md).
SHARD_OWNERS_HEADER = "X-OpenClaw-Shard-Owners"


def probe_timeout(request: web.Request, module: ModuleConfig) -> float:
    """The module's timeout, shortened to Prometheus' scrape timeout minus the offset."""
    raw = request.headers.get(SCRAPE_TIMEOUT_HEADER)
    if raw is None:
        return module.timeout
    try:
        scrape = float(raw)
    except ValueError:
        scrape = math.nan
    if not (math.isfinite(scrape) and scrape > 0):
        raise web.HTTPBadRequest(text=f"bad {SCRAPE_TIMEOUT_HEADER} header {raw[:40]!r}: must be a number of seconds > 0\n")
    budget = scrape - SCRAPE_TIMEOUT_OFFSET if scrape > SCRAPE_TIMEOUT_OFFSET else scrape
    return min(module.timeout, budget)


async def probe(request: web.Request) -> web.Response:
    """Run the named target's probes now and return only their metrics (blackbox style).

    Only configured and discovered targets are accepted (by name, never a URL), so this
    endpoint cannot be turned into a proxy for reaching arbitrary hosts (the SSRF hole
    blackbox_exporter leaves open). At most
    max_concurrency probes run for /probe at once; more are refused at once with 429, so a
    burst of requests never becomes a burst of connections to the gateway.

    Under sharding any replica probes any configured target on request (a debugging aid,
    and a Prometheus scraping /probe through the Service reaches an arbitrary replica); the
    header SHARD_OWNERS_HEADER names the replicas that probe it on schedule."""
    exporter = request.app[EXPORTER_KEY]
    config = exporter.config
    name = request.query.get("target", "")
    shard = config.sharding if config else None
    target = exporter.target(name) if config else None
    if target is None:
        raise web.HTTPBadRequest(text=f"unknown target {name!r}: only configured or discovered targets can be probed\n")
    module_name = request.query.get("module")
    if module_name is not None and module_name not in target.modules:
        raise web.HTTPBadRequest(text=f"unknown module {module_name!r} (modules: {', '.join(PROBERS)})\n")
    modules = [target.modules[module_name]] if module_name else [m for m in target.modules.values() if m.enabled]
    modules = [replace(m, timeout=probe_timeout(request, m)) for m in modules]
    limit = config.max_concurrency
    running = request.app[PROBES_RUNNING_KEY]
    # A request for more modules than the limit still runs when nothing else does.
    if running[0] and running[0] + len(modules) > limit:
        raise web.HTTPTooManyRequests(
            text=f"too many /probe requests: {running[0]} probe(s) running, max_concurrency is {limit}; retry later\n",
            headers={"Retry-After": "1"})
    running[0] += len(modules)
    try:
        outcomes = await asyncio.gather(*(exporter.probe(target, m) for m in modules))
    finally:
        running[0] -= len(modules)
    state = ProbeState(exporter.state.thresholds)
    state.set_detail({(target.name, m.name) for m in modules if m.detail})  # as /metrics shows them
    for outcome in outcomes:
        state.record(outcome, PROBERS[outcome.module].buckets)
    exposition = render_state(state)
    headers = {SHARD_OWNERS_HEADER: ",".join(map(str, owners(target.name, shard.replicas, shard.replication)))} if shard else {}
    if request.query.get("debug", "").lower() in ("1", "true", "yes"):
        lines = []
        for outcome in outcomes:
            lines.append(f"Logs for the probe of target {outcome.target!r}, module {outcome.module!r}:")
            lines.extend(outcome.logs)
            phases = ", ".join(f"{k}={v * 1000:.1f}ms" for k, v in outcome.phases.items())
            lines.append(f"Result: {outcome.result} ({outcome.message}); phases: {phases}")
            lines.append("")
        lines.append("Metrics that would have been returned:")
        text = "\n".join(lines) + "\n" + exposition
        return web.Response(text=exporter.redactor.redact(text), content_type="text/plain", headers=headers)
    return web.Response(body=exposition.encode(), headers={"Content-Type": CONTENT_TYPE_LATEST, **headers})


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    if exporter.config is None:
        raise web.HTTPServiceUnavailable(text="config not loaded\n")
    return web.Response(text="OK\n")


# Content types a cross-origin HTML form can send without a CORS preflight.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def cross_origin(request: web.Request) -> str | None:
    """Why this request may come from another site's page (a forged form POST), or None.

    Browsers mark their requests (Sec-Fetch-Site, Origin); tools like curl send neither."""
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site!r}"
    origin = request.headers.get("Origin")
    if origin is not None:
        own = f"{request.scheme}://{request.host}".lower()
        if origin.lower() != own:
            return f"Origin {origin!r} is not this exporter ({own})"
    if "Content-Type" in request.headers and request.content_type in _FORM_TYPES:
        return f"Content-Type {request.content_type} is what an HTML form sends (send no body, e.g. curl -X POST)"
    return None


async def reload(request: web.Request) -> web.Response:
    if not request.app[LIFECYCLE_KEY]:
        # Prometheus answers the same way when --web.enable-lifecycle is off.
        raise web.HTTPForbidden(text="Lifecycle API is not enabled: start the exporter with --web.enable-lifecycle "
                                     "(SIGHUP reloads the config without it)\n")
    why = cross_origin(request)
    if why is not None:
        raise web.HTTPForbidden(text=f"reload refused: not a same-origin request ({why})\n")
    ok, message = await request.app[EXPORTER_KEY].reload()
    if not ok:
        raise web.HTTPInternalServerError(text=f"reload failed, previous config kept: {message}\n")
    return web.Response(text="reloaded\n")


async def status_page(request: web.Request) -> web.Response:
    view = build_status(request.app[EXPORTER_KEY], **_listing(request))
    return web.Response(text=render_index(view), content_type="text/html", headers=PAGE_HEADERS)


async def target_page(request: web.Request) -> web.Response:
    view = build_target(request.app[EXPORTER_KEY], request.match_info["name"])
    if view is None:
        raise web.HTTPNotFound(text="unknown target: only configured targets have a page\n")
    return web.Response(text=render_target(view), content_type="text/html", headers=PAGE_HEADERS)


async def status_json(request: web.Request) -> web.Response:
    return web.json_response(build_status(request.app[EXPORTER_KEY], **_listing(request)),
                             headers={"Cache-Control": "no-store"})


def _listing(request: web.Request) -> dict[str, Any]:
    """The targets table's ?sort= and ?page= (exporter/status.py); 400 saying what is wrong."""
    try:
        sort, page = listing(request.query)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    return {"sort": sort, "page": page}


def make_app(exporter: Exporter, enable_lifecycle: bool = False, web_config: WebConfig | None = None) -> web.Application:
    """``enable_lifecycle``: accept POST /-/reload (off by default, like Prometheus).
    ``web_config``: basic auth and headers (--web.config.file) for every endpoint; its TLS
    context is the listener's (exporter/cli.py)."""
    app = web.Application()
    if web_config is not None:
        web_config.install(app)
    app[EXPORTER_KEY] = exporter
    app[LIFECYCLE_KEY] = enable_lifecycle
    app[PROBES_RUNNING_KEY] = [0]
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)  # Prometheus accepts both
    app.router.add_get("/", status_page)
    app.router.add_get("/targets/{name:.+}", target_page)
    app.router.add_get("/api/status", status_json)
    return app
