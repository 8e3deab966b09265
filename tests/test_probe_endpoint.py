"""/probe under load and under Prometheus' scrape timeout, as Prometheus (or a flood) sees it."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web

from conftest import wait_for
from exporterhelpers import running_exporter
from localservers import serve


def held_readiness(seconds: float):
    """A readiness endpoint that holds every request (the real gateway answers in milliseconds,
    so it cannot show how many probes run at once); counts requests and the most at once."""
    seen = {"requests": 0, "now": 0, "most": 0}

    async def handler(request: web.Request) -> web.Response:
        seen["requests"] += 1
        seen["now"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        try:
            await asyncio.sleep(seconds)
            return web.json_response({"ready": True})
        finally:
            seen["now"] -= 1
    return handler, seen


async def test_probe_flood_is_bounded_by_max_concurrency_and_refused_fast(tmp_path):
    handler, seen = held_readiness(1.5)
    async with serve(handler) as url:
        doc = {"max_concurrency": 5, "targets": [
            {"name": "gw", "url": url, "readiness": {"interval": "1h", "timeout": "5s"}, "websocket": {"enabled": False}}]}
        async with running_exporter(doc, tmp_path) as ex:
            await wait_for(lambda: seen["requests"] == 1, timeout=5)  # the scheduler's own first run
            await wait_for(lambda: seen["now"] == 0, timeout=5)
            before = seen["requests"]
            answers: list[tuple[int, float, str]] = []

            async def one(session: aiohttp.ClientSession) -> None:
                started = time.monotonic()
                async with session.get(ex.base + "/probe?target=gw&module=readiness") as resp:
                    answers.append((resp.status, time.monotonic() - started, await resp.text()))
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await asyncio.gather(*(one(session) for _ in range(60)))
            statuses = [a[0] for a in answers]
            assert statuses.count(200) == 5 and statuses.count(429) == 55, statuses
            assert seen["requests"] - before == 5 and seen["most"] <= 5
            refused = [a for a in answers if a[0] == 429]
            assert max(a[1] for a in refused) < 1.0  # refused at once, not after waiting
            assert "max_concurrency is 5" in refused[0][2]
            # Once the running probes finish, /probe answers again.
            status, _ = await ex.get("/probe?target=gw&module=readiness")
            assert status == 200


async def test_one_request_for_more_modules_than_the_bound_still_runs(tmp_path):
    handler, seen = held_readiness(0)
    async with serve(handler) as url:
        doc = {"max_concurrency": 1, "targets": [
            {"name": "gw", "url": url, "readiness": {"interval": "1h"}, "websocket": {"interval": "1h", "timeout": "1s"}}]}
        async with running_exporter(doc, tmp_path) as ex:
            await wait_for(lambda: ex.exporter.scheduler.in_flight == 0 and seen["requests"] >= 1, timeout=5)
            status, body = await ex.get("/probe?target=gw")
            assert status == 200, body
            assert 'module="readiness"' in body and 'module="websocket"' in body


async def test_probe_honours_prometheus_scrape_timeout_header(tmp_path):
    handler, _ = held_readiness(30)
    async with serve(handler) as url:
        doc = {"targets": [
            {"name": "gw", "url": url, "readiness": {"interval": "1h", "timeout": "10s"}, "websocket": {"enabled": False}}]}
        async with running_exporter(doc, tmp_path) as ex:
            async with aiohttp.ClientSession() as s:
                started = time.monotonic()
                async with s.get(ex.base + "/probe?target=gw&module=readiness",
                                 headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}) as resp:
                    body = await resp.text()
                elapsed = time.monotonic() - started
                assert resp.status == 200
                # Module timeout 10 s, scrape timeout 1.5 s: the probe gives up at 1.5 - 0.5 = 1 s.
                assert 0.9 < elapsed < 1.4, elapsed
                assert 'openclaw_probe_success{target="gw",module="readiness"} 0.0' in body
                assert 'result="timeout"' in body
                for bad in ("abc", "0", "-1", "nan", "inf"):
                    async with s.get(ex.base + "/probe?target=gw&module=readiness",
                                     headers={"X-Prometheus-Scrape-Timeout-Seconds": bad}) as resp:
                        text = await resp.text()
                    assert resp.status == 400, bad
                    assert "X-Prometheus-Scrape-Timeout-Seconds" in text and "must be a number of seconds > 0" in text


async def test_real_prometheus_gets_a_timeout_result_not_a_failed_scrape(tmp_path):
    """Prometheus sends its scrape timeout (2 s) in the header; the module's 10 s would outlast it."""
    from promhelpers import running_prometheus

    handler, _ = held_readiness(30)
    async with serve(handler) as url:
        doc = {"targets": [
            {"name": "gw", "url": url, "readiness": {"interval": "1h", "timeout": "10s"}, "websocket": {"enabled": False}}]}
        async with running_exporter(doc, tmp_path) as ex:
            host = ex.base.removeprefix("http://")
            job = {"job_name": "probe", "metrics_path": "/probe", "params": {"target": ["gw"], "module": ["readiness"]},
                   "scrape_interval": "3s", "scrape_timeout": "2s", "static_configs": [{"targets": [host]}]}
            prom_dir = tmp_path / "prom"
            prom_dir.mkdir()
            with running_prometheus(prom_dir, [job]) as prom:
                async def scraped():
                    up = await asyncio.to_thread(prom.query, 'up{job="probe"}')
                    success = await asyncio.to_thread(prom.query, 'openclaw_probe_success{job="probe"}')
                    return up["data"]["result"] and success["data"]["result"] and (up, success)
                up, success = await wait_for(scraped, timeout=30, interval=0.5)
                assert up["data"]["result"][0]["value"][1] == "1"
                assert success["data"]["result"][0]["value"][1] == "0"
                attempts = await asyncio.to_thread(prom.query, 'openclaw_probe_attempts_total{job="probe",result="timeout"}')
                assert attempts["data"]["result"]
