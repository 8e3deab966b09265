"""Config reload as an operator (and an attacker's web page) sees it: /-/reload is off unless
--web.enable-lifecycle, refuses cross-origin requests, keeps unchanged schedules, and a reload
that fails for any reason keeps the running config and says why."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request

import aiohttp
import yaml
from aiohttp import web

from browser import Chromium, require_chromium
from conftest import wait_for
from ports import free_port
from openclaw_schema import names as c
from exporterhelpers import parse_samples, running_exporter, value
from localservers import serve, tarpit

# What Chromium sends for an auto-submitted <form method=post> on another site's page.
BROWSER_CROSS_SITE_FORM = {
    "Origin": "http://evil.example",
    "Content-Type": "application/x-www-form-urlencoded",
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Referer": "http://evil.example/",
}
# Kubernetes enabled with a kubeconfig that does not exist: valid YAML and schema, but the
# watcher cannot start (the same error a missing Secret mount gives).
UNSTARTABLE_KUBE = {"enabled": True, "in_cluster": False, "kubeconfig": "/nonexistent/kubeconfig"}


def readiness_target(url: str, name: str = "gw", interval: str = "1s", **extra) -> dict:
    return {"name": name, "url": url, "readiness": {"interval": interval, "timeout": "900ms"},
            "websocket": {"enabled": False}, **extra}


async def test_reload_endpoint_is_off_without_the_lifecycle_flag(tmp_path):
    async with serve(tarpit(0)) as url:
        async with running_exporter({"targets": [readiness_target(url)]}, tmp_path, enable_lifecycle=False) as ex:
            reloads_before = ex.exporter.reload_time
            status, body = await ex.post("/-/reload")
            assert status == 403
            assert "Lifecycle API is not enabled" in body and "--web.enable-lifecycle" in body
            assert ex.exporter.reload_time == reloads_before


async def test_reload_refuses_what_a_browser_sends_for_a_cross_site_form(tmp_path):
    async with serve(tarpit(0)) as url:
        async with running_exporter({"targets": [readiness_target(url)]}, tmp_path) as ex:
            ex.write_config({"targets": [readiness_target(url), readiness_target(url, name="gw2")]})
            status, body = await ex.post("/-/reload", data=b"", headers=BROWSER_CROSS_SITE_FORM)
            assert status == 403 and "not a same-origin request" in body
            # Each browser marker alone is enough to refuse.
            for headers in ({"Sec-Fetch-Site": "same-site"}, {"Origin": "http://evil.example"},
                            {"Origin": "null"}, {"Content-Type": "text/plain"},
                            {"Content-Type": "multipart/form-data; boundary=x"}):
                status, body = await ex.post("/-/reload", data=b"", headers=headers)
                assert status == 403 and "not a same-origin request" in body, headers
            assert ex.exporter.config.target("gw2") is None
            # The exporter's own page (same origin) and curl -X POST (no browser headers) work.
            status, _ = await ex.post("/-/reload", headers={"Origin": ex.base, "Sec-Fetch-Site": "same-origin"})
            assert status == 200
            status, _ = await ex.post("/-/reload")
            assert status == 200
            assert ex.exporter.config.target("gw2") is not None
            async with aiohttp.ClientSession() as s, s.put(ex.base + "/-/reload") as resp:
                assert resp.status == 200  # PUT too, as Prometheus accepts
            async with aiohttp.ClientSession() as s, s.put(ex.base + "/-/reload", headers=BROWSER_CROSS_SITE_FORM) as resp:
                assert resp.status == 403


async def test_a_real_browser_on_another_site_cannot_trigger_a_reload(tmp_path):
    require_chromium()
    async with serve(tarpit(0)) as url:
        async with running_exporter({"targets": [readiness_target(url)]}, tmp_path) as ex:
            ex.write_config({"targets": [readiness_target(url), readiness_target(url, name="gw2")]})
            page = (f'<form id=f method=post action="{ex.base}/-/reload"><input name=x value=1></form>'
                    '<script>document.getElementById("f").submit()</script>')

            async def evil(request: web.Request) -> web.Response:
                return web.Response(text=page, content_type="text/html")
            # "localhost" vs the exporter's "127.0.0.1": another site to the browser.
            async with serve(evil) as evil_url, Chromium() as browser:
                await browser.navigate(evil_url.replace("127.0.0.1", "localhost") + "/")

                async def submitted():
                    return "reload" in (await browser.evaluate("location.href") or "")
                await wait_for(submitted, timeout=10)
                await wait_for(lambda: browser.evaluate("document.body && document.body.innerText"), timeout=10)
                text = await browser.evaluate("document.body.innerText")
                assert "not a same-origin request" in text
            assert ex.exporter.config.target("gw2") is None


async def test_reloads_keep_the_schedule_of_unchanged_targets(real_gateway, tmp_path):
    """12 reloads in 6 s: the unchanged target keeps its 1 s interval; the changed one is restarted
    with its new settings, the added one starts, the removed one stops."""
    stay = readiness_target(real_gateway.url, name="stay")
    doc = {"targets": [stay, readiness_target(real_gateway.url, name="changes"),
                       readiness_target(real_gateway.url, name="goes")]}
    async with running_exporter(doc, tmp_path) as ex:
        starts: dict[str, list[float]] = {}
        ex.exporter.result_listeners.append(lambda o: starts.setdefault(o.target, []).append(o.started))
        await wait_for(lambda: len(starts.get("stay", [])) >= 2, timeout=10)
        window_start = time.time()
        for i in range(12):
            changed = readiness_target(real_gateway.url, name="changes", interval=f"{1000 + 10 * (i + 1)}ms")
            ex.write_config({"targets": [stay, changed, readiness_target(real_gateway.url, name="comes")]})
            status, body = await ex.post("/-/reload")
            assert status == 200, body
            await asyncio.sleep(0.5)
        window = time.time() - window_start
        stay_starts = [t for t in starts["stay"] if t >= window_start - 1.0]
        gaps = [b - a for a, b in zip(stay_starts, stay_starts[1:])]
        assert gaps and min(gaps) > 0.7, gaps  # 1 s apart (0.5 s before: every reload restarted it)
        assert len([t for t in stay_starts if t >= window_start]) >= int(window) - 1, (window, stay_starts)
        assert ex.exporter.scheduler._jobs[("changes", "readiness", "")][1].interval == 1.12
        assert "comes" in starts
        goes_last = max(starts["goes"])
        await asyncio.sleep(1.5)
        assert max(starts["goes"]) == goes_last


async def test_reload_that_cannot_start_keeps_the_old_config_and_says_why(tmp_path):
    async with serve(tarpit(0)) as url:
        async with running_exporter({"targets": [readiness_target(url)]}, tmp_path) as ex:
            await wait_for(lambda: ex.exporter.state.series.get(("gw", "readiness", "")), timeout=5)
            ex.write_config({"targets": [readiness_target(url), readiness_target(url, name="gw2")],
                             "kubernetes": UNSTARTABLE_KUBE})
            status, body = await ex.post("/-/reload")
            assert status == 500
            assert "previous config kept" in body and "ConfigException" in body and "kube-config" in body
            s = await ex.samples()
            assert value(s, c.EXPORTER_RELOAD_SUCCESS) == 0
            assert value(s, c.EXPORTER_TARGETS) == 1
            assert ex.exporter.config.target("gw2") is None and ex.exporter.pod_watcher is None
            before = value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="success")

            async def still_probing():
                s = await ex.samples()
                return value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="success") > before
            await wait_for(still_probing, timeout=5)


def _scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
        return parse_samples(resp.read().decode())


def test_sighup_reload_failures_of_any_kind_keep_running_without_task_errors(tmp_path):
    config = tmp_path / "exporter.yml"
    good = {"targets": [readiness_target(f"http://127.0.0.1:{free_port()}")]}
    config.write_text(yaml.safe_dump(good))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "exporter", "run", "--config.file", str(config),
                             "--web.listen-address", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                _scrape(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "exporter did not come up"
                time.sleep(0.1)
        bad_files = [yaml.safe_dump({**good, "kubernetes": UNSTARTABLE_KUBE}).encode(),
                     "targets:\n  - name: caf\xe9\n".encode("latin-1")]  # not UTF-8
        for bad in bad_files:
            config.write_bytes(bad)
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while value(_scrape(port), c.EXPORTER_RELOAD_SUCCESS) != 0:
                assert time.monotonic() < deadline, f"reload metric did not drop to 0 for {bad[:40]!r}"
                time.sleep(0.1)
            config.write_text(yaml.safe_dump(good))
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while value(_scrape(port), c.EXPORTER_RELOAD_SUCCESS) != 1:
                assert time.monotonic() < deadline, "good reload did not succeed"
                time.sleep(0.1)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        stderr = proc.stderr.read()
        assert "Task exception was never retrieved" not in stderr and "Traceback" not in stderr, stderr
        assert stderr.count("config reload failed, keeping the running config") == 2, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_reload_whose_slo_state_cannot_open_restores_the_running_slo(tmp_path, monkeypatch):
    """Fault injected in-process: the SLO state file fails to open with a disk error (ENOSPC
    cannot be produced on demand here). The reload fails, the running SLO state keeps counting."""
    import slo.live

    real = slo.live.LiveBudget

    class FullDisk(real):
        def __init__(self, spec, db_path=None, now=None):
            if db_path and db_path.endswith("new.db"):
                raise OSError(28, "No space left on device")
            super().__init__(spec, db_path, now)
    monkeypatch.setattr(slo.live, "LiveBudget", FullDisk)
    async with serve(tarpit(0)) as url:
        doc = {"targets": [readiness_target(url)], "slo": {"state_file": str(tmp_path / "old.db")}}
        async with running_exporter(doc, tmp_path) as ex:
            running = ex.exporter.live_budget
            assert running is not None
            ex.write_config({**doc, "slo": {"state_file": str(tmp_path / "new.db")}})
            status, body = await ex.post("/-/reload")
            assert status == 500 and "OSError" in body and "No space left on device" in body
            assert value(await ex.samples(), c.EXPORTER_RELOAD_SUCCESS) == 0
            assert ex.exporter.config.slo_state_file == str(tmp_path / "old.db")
            assert ex.exporter.live_budget is not None  # the old state file, reopened
            assert ex.exporter.live_budget._db is not None
            assert not (tmp_path / "new.db").exists()


def test_every_module_of_the_example_config_is_recognised_as_unchanged_across_loads():
    """A settings type that compared by identity would restart its loops on every reload."""
    from exporter.config import load_config
    from exporter.scheduler import probe_inputs
    from conftest import ROOT

    first, second = (load_config(str(ROOT / "examples" / "exporter.yml")) for _ in range(2))
    pairs = [(t, m, second.target(t.name)) for t in first.targets for m in t.modules.values()]
    assert {m.name for _, m, _ in pairs} >= {"readiness", "websocket", "model"}
    for target, module, again in pairs:
        assert probe_inputs(target, module) == probe_inputs(again, again.modules[module.name]), module.name
