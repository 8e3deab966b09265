"""The running exporter as a user sees it: /metrics, /probe, reload, skipped ticks, shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time

from conftest import wait_for
from ports import free_port
from openclaw_schema import names as c
from exporterhelpers import running_exporter, value
from gateway import Gateway
from localservers import ConnectionCounter, serve, tarpit


def readiness_target(url: str, name: str = "gw", **extra) -> dict:
    return {"name": name, "url": url, "readiness": {"interval": "1s", "timeout": "900ms"}, **extra}


async def test_gateway_stop_and_restart_is_seen_without_restarting_exporter(
        gateway_token, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    gw = Gateway(free_port(), gateway_token, home=str(tmp_path / "home"))
    try:
        await asyncio.to_thread(gw.start)
        # detail: every phase's histogram and the percentiles (by default only the total histogram).
        target = {**readiness_target(gw.url, token_env="GW_TOKEN", websocket={"interval": "1s", "timeout": "900ms"}),
                  "readiness": {"interval": "1s", "timeout": "900ms", "detail": True}}
        target["websocket"]["detail"] = True
        async with running_exporter({"targets": [target]}, tmp_path) as ex:
            labels = {"target": "gw", "module": "readiness"}
            ws = {"target": "gw", "module": "websocket"}

            async def healthy():
                s = await ex.samples()
                return (value(s, c.PROBE_SUCCESS, **labels) == 1
                        and (value(s, c.PROBE_ATTEMPTS_TOTAL, **labels, result="success") or 0) >= 2
                        and value(s, c.PROBE_LATENCY, **labels, phase="total", window="1m", quantile="0.99") is not None
                        and value(s, c.PROBE_SUCCESS, **ws) == 1
                        and value(s, c.PROBE_LATENCY, **ws, phase="handshake", window="5m", quantile="0.5") is not None)
            await wait_for(healthy, timeout=15)
            status, text = await ex.get("/metrics")
            assert value(await ex.samples(), c.PROBE_DURATION + "_bucket", target="gw", module="readiness",
                         phase="connect", le="0.005") is not None
            assert value(await ex.samples(), c.GATEWAY_READY, target="gw") == 1

            await asyncio.to_thread(gw.stop)
            stopped_at = time.monotonic()

            async def down():
                s = await ex.samples()
                return (value(s, c.PROBE_SUCCESS, **labels) == 0 and value(s, c.PROBE_ATTEMPTS_TOTAL, **labels, result="refused")
                        and value(s, c.PROBE_SUCCESS, **ws) == 0 and value(s, c.PROBE_ATTEMPTS_TOTAL, **ws, result="refused"))
            await wait_for(down, timeout=5)
            # Seen within one interval (1 s) plus the probe's own time.
            assert time.monotonic() - stopped_at < 2.5

            await asyncio.to_thread(gw.start)

            async def recovered():
                s = await ex.samples()
                return value(s, c.PROBE_SUCCESS, **labels) == 1 and value(s, c.PROBE_SUCCESS, **ws) == 1
            await wait_for(recovered, timeout=20)
            _, text = await ex.get("/metrics")
            assert gateway_token not in text
    finally:
        await asyncio.to_thread(gw.stop)
    assert gateway_token not in caplog.text


async def test_probe_endpoint_rejects_unconfigured_targets_without_connecting(tmp_path):
    async with ConnectionCounter() as counter, serve(tarpit(0)) as url:
        async with running_exporter({"targets": [readiness_target(url)]}, tmp_path) as ex:
            for query in (f"target=http://127.0.0.1:{counter.port}", f"target=127.0.0.1:{counter.port}", "target="):
                status, body = await ex.get(f"/probe?{query}&module=readiness")
                assert status == 400, query
                assert "only configured or discovered targets" in body
            status, body = await ex.get("/probe?target=gw&module=icmp")
            assert status == 400 and "unknown module" in body
        await asyncio.sleep(0.1)
        assert counter.count == 0


async def test_probe_endpoint_debug_shows_logs_and_metrics_not_the_token(real_gateway, gateway_token, tmp_path, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    async with running_exporter({"targets": [readiness_target(real_gateway.url, token_env="GW_TOKEN")]}, tmp_path) as ex:
        status, body = await ex.get("/probe?target=gw&module=readiness&debug=true")
        assert status == 200
        assert "Logs for the probe of target 'gw', module 'readiness'" in body
        assert "Result: success" in body
        assert 'openclaw_probe_success{target="gw",module="readiness"} 1.0' in body
        assert gateway_token not in body
        status, body = await ex.get("/probe?target=gw&module=readiness")
        assert status == 200 and body.startswith("# HELP")
        assert 'openclaw_gateway_ready{target="gw"} 1.0' in body


async def test_bad_reload_keeps_running_config_and_reports_it(tmp_path):
    async with serve(tarpit(0)) as url:
        good = {"targets": [readiness_target(url)]}
        async with running_exporter(good, tmp_path) as ex:
            await wait_for(lambda: ex.exporter.state.series.get(("gw", "readiness", "")), timeout=5)
            ex.config_path.write_text("targets:\n  - name: gw\n    url: http://x\n    readiness: {timeout: 0s}\n")
            status, body = await ex.post("/-/reload")
            assert status == 500 and "targets[0].readiness.timeout: must be > 0" in body
            s = await ex.samples()
            assert value(s, c.EXPORTER_RELOAD_SUCCESS) == 0
            before = value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="success")

            async def still_probing():
                s = await ex.samples()
                return value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="success") > before
            await wait_for(still_probing, timeout=5)

            ex.write_config({"targets": [readiness_target(url), readiness_target(url, name="gw2")]})
            status, _ = await ex.post("/-/reload")
            assert status == 200
            await wait_for(lambda: ex.exporter.state.series.get(("gw2", "readiness", "")), timeout=5)
            s = await ex.samples()
            assert value(s, c.EXPORTER_RELOAD_SUCCESS) == 1
            assert value(s, c.EXPORTER_TARGETS) == 2


async def test_ticks_that_cannot_run_are_counted_not_queued(tmp_path):
    # Local tarpit: the real gateway answers too fast to keep a probe running past its tick.
    async with serve(tarpit(5)) as url:
        doc = {"max_concurrency": 1, "targets": [
            {"name": n, "url": url, "readiness": {"interval": "300ms", "timeout": "300ms"}, "websocket": {"enabled": False}}
            for n in ("a", "b")]}
        async with running_exporter(doc, tmp_path) as ex:
            async def skipped():
                s = await ex.samples()
                return all((value(s, c.PROBE_SKIPPED_TOTAL, target=n, module="readiness") or 0) >= 1 for n in "ab")
            await wait_for(skipped, timeout=5)
            s = await ex.samples()
            assert value(s, c.PROBE_TIMEOUTS_TOTAL, target="a", module="readiness", phase="first_byte") >= 1
            assert value(s, c.EXPORTER_PROBES_IN_FLIGHT) <= 1


def test_sigterm_stops_within_five_seconds(tmp_path):
    config = tmp_path / "exporter.yml"
    config.write_text(f"targets:\n  - name: gw\n    url: http://127.0.0.1:{free_port()}\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "exporter", "run", "--config.file", str(config),
                             "--web.listen-address", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        import urllib.request
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("exporter did not come up")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert "shutting down" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
