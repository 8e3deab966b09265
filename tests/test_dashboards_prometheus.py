"""The dashboards' PromQL against the real Prometheus (Debian's 2.42), and real data from the exporter.

One Prometheus serves the module: it parses every expression (an empty TSDB is enough to
reject bad syntax with `bad_data`), and it scrapes an exporter that probes a small local
stand-in for the gateway (its /readyz, and a scripted WebSocket handshake and health RPC),
so the probes dashboard's readiness and WebSocket panels must show data. The stand-in is used
because /readyz cannot be made to alternate between ready and failing on the real gateway.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
import yaml
from aiohttp import web

from conftest import wait_for
from ports import free_port
from dashboardhelpers import (content_panels, dashboards, metric_names, panel_queries, substitute,
                              variable_queries, variable_values)
from dashboards import catalog
from fakegateway import Recorder, handshake
from localservers import serve
from promhelpers import Prometheus, running_prometheus
from support.daemons import exporter

pytestmark = pytest.mark.prometheus

READY_BODY = {"ready": True, "failing": [], "uptimeMs": 20767,
              "eventLoop": {"degraded": False, "reasons": [], "delayP99Ms": 20.5, "delayMaxMs": 20.5,
                            "utilization": 0.007, "cpuCoreRatio": 0.01}}
JOB = "openclaw-exporter"
NOT_READY_BODY = {**READY_BODY, "ready": False, "failing": ["plugin-reload"]}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Prometheus with an empty TSDB that scrapes the exporter's port (the data test starts it)."""
    exporter_port = free_port()
    job = {"job_name": JOB, "scrape_interval": "1s", "scrape_timeout": "1s",
           "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), [job]) as prom:
        prom.exporter_port = exporter_port
        yield prom


def _all_expressions() -> list[tuple[str, str]]:
    out = []
    for uid, d in dashboards().items():
        out += [(f"{uid} / {title} / {t['refId']}", expr) for title, t, expr in panel_queries(d)]
        out += [(f"{uid} / variable {name}", expr) for name, expr in variable_queries(d)]
    return out


def test_every_panel_and_variable_expression_parses(prometheus):
    expressions = _all_expressions()
    assert len(expressions) > 80
    failures = []
    for where, expr in expressions:
        answer = prometheus.query(expr)
        if answer.get("status") != "success":
            failures.append(f"{where}: {answer.get('errorType')}: {answer.get('error')}\n    {expr}")
    assert not failures, "\n".join(failures)


def test_the_parse_check_catches_a_broken_expression(prometheus):
    answer = prometheus.query('sum by (target (openclaw_probe_success{target=~".*"})')
    assert answer["status"] == "error" and answer["errorType"] == "bad_data"


def _stand_in_gateway():
    """/readyz ready, then not ready with a failing subsystem, and so on (both kinds of panel get
    data); on the WebSocket, a well-behaved handshake and a health RPC naming two plugins."""
    calls = {"n": 0}

    async def readyz() -> web.Response:
        calls["n"] += 1
        if calls["n"] % 2:
            return web.json_response(READY_BODY)
        return web.json_response(NOT_READY_BODY, status=503)

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        rec = Recorder()
        try:
            await handshake(ws, rec)
            req = await rec.next_request(ws)
            await ws.send_json({"type": "res", "id": req["id"], "ok": True,
                                "payload": {"ok": True, "plugins": {"loaded": ["memory", "browser"], "errors": []}}})
            await ws.receive()  # until the probe closes
        finally:
            await ws.close()
        return ws

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/readyz":
            return await readyz()
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await websocket(request)
        return web.Response(status=404)
    return handler


async def test_probe_panels_show_data_from_a_running_exporter(prometheus, tmp_path):
    async with serve(_stand_in_gateway()) as gateway_url:
        # detail: the exact per-phase percentile panels say they need it (by default only the
        # `total` histogram is exported).
        config = {"targets": [{"name": "gateway", "url": gateway_url,
                               "readiness": {"interval": "1s", "timeout": "1s", "path": "/readyz", "detail": True},
                               "websocket": {"interval": "1s", "timeout": "1s", "detail": True}}]}
        config_file = tmp_path / "exporter.yml"
        config_file.write_text(yaml.safe_dump(config))
        daemon = exporter(tmp_path, prometheus.exporter_port, config_file)
        try:
            await asyncio.to_thread(daemon.start)
            async with aiohttp.ClientSession() as http:
                await _check_panels(http, prometheus)
        except BaseException:
            print(daemon.log()[-3000:])
            raise
        finally:
            daemon.stop()


async def _query(http: aiohttp.ClientSession, prometheus: Prometheus, expr: str, instant: bool) -> list:
    if instant:
        params = {"query": expr}
        url = prometheus.base + "/api/v1/query"
    else:
        now = time.time()
        params = {"query": expr, "start": f"{now - 20:.3f}", "end": f"{now:.3f}", "step": "1"}
        url = prometheus.base + "/api/v1/query_range"
    async with http.get(url, params=params) as resp:
        answer = await resp.json()
    assert answer["status"] == "success", f"{answer} for {expr}"
    return answer["data"]["result"]


async def _check_panels(http: aiohttp.ClientSession, prometheus: Prometheus) -> None:
    async def scraped_long_enough():
        # Rates over 10s need a few scrapes of both a success and a not_ready result.
        result = await _query(http, prometheus,
                              'count_over_time(openclaw_probe_attempts_total{result="not_ready"}[30s]) >= 12', True)
        return bool(result)
    await wait_for(scraped_long_enough, timeout=60, interval=0.5)

    # Every metric name Prometheus has scraped from the exporter so far (gauges such as the
    # failing subsystem come and go with the alternating answers, so not one scrape's worth).
    async with http.get(prometheus.base + "/api/v1/label/__name__/values",
                        params={"match[]": f'{{job="{JOB}"}}'}) as resp:
        exposed = set((await resp.json())["data"])
    probes = dashboards()[catalog.PROBES]
    values = variable_values(probes)
    checked, empty = [], []
    for panel in content_panels(probes):
        exprs = [(t, substitute(t["expr"], values)) for t in panel["targets"]]
        if not all(metric_names(e) <= exposed for _, e in exprs):
            continue  # a panel of another module (websocket) or of something that has not happened (timeouts)
        checked.append(panel["title"])
        for target, expr in exprs:
            if not await _query(http, prometheus, expr, target["instant"]):
                empty.append(f"{panel['title']} / {target['refId']}: {expr}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
    # Skipped ticks, like timeouts, are exported from the first one on: nothing to show here.
    expected = {"Probe success", "Seconds since the last probe", "Success ratio", "Failure reasons",
                "Latency P50 by phase (exact, 5m)", "Latency P95 by phase (exact, 5m)",
                "Latency P99 by phase (exact, 5m)", "Latency across targets (histogram)", "Gateway ready",
                "Failing subsystems (selected range)", "Failing subsystems over time", "Gateway uptime",
                "Event-loop delay", "Event-loop utilization", "CPU (share of one core)",
                # the WebSocket module
                "Gateway version", "Versions running", "Plugins loaded", "Plugin errors"}
    assert expected <= set(checked), f"not checked: {expected - set(checked)}"
