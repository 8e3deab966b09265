"""The status page on-call opens first: view model, escaping, /api/status, and a real browser."""

from __future__ import annotations

import asyncio
import json
import time
from html.parser import HTMLParser

import pytest

from browser import Chromium, require_chromium
from conftest import ROOT, wait_for
from ports import free_port
from exporter import __version__
from openclaw_schema import names as c
from exporter.app import Exporter
from exporter.config import parse_config
from exporter.probes.base import Gauge, ProbeOutcome
from exporter.status import SECTION_PODS, SECTION_SLOS, build_status, build_target
from exporter.status_html import render_index, render_target
from exporterhelpers import running_exporter
from gateway import Gateway

ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
NOW = 1_800_000_000.0


def make_exporter(targets: list[dict]) -> Exporter:
    exporter = Exporter("/etc/openclaw/exporter.yml", jitter=False)
    exporter.config = parse_config({"targets": targets})
    exporter.reload_time = NOW - 600
    return exporter


def outcome(target: str, module: str, result: str = "success", started: float = NOW - 10,
            total: float = 0.02, message: str = "ok", **kw) -> ProbeOutcome:
    return ProbeOutcome(target=target, module=module, result=result, message=message,
                        phases={"connect": total / 4, c.Phase.TOTAL: total}, started=started, **kw)


def record(exporter: Exporter, o: ProbeOutcome) -> None:
    exporter.state.record(o, (0.1, 1.0), now=o.started)


class Structure(HTMLParser):
    """Tags and attributes of a page, to check what it contains beyond its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


# -- view model -------------------------------------------------------------------------------------
def test_front_page_lists_every_probe_failing_first_with_reason_latency_and_last_hour():
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"},
                        {"name": "edge", "url": "http://127.0.0.1:18790", "websocket": {"enabled": False}}])
    for i in range(30):
        record(ex, outcome("gw", "readiness", started=NOW - 290 + i * 9, total=0.010 + i * 0.001))
    record(ex, outcome("gw", "readiness", "refused", started=NOW - 5, message="connection refused"))
    record(ex, outcome("edge", "readiness", started=NOW - 4000))  # older than the sparkline's hour
    record(ex, outcome("edge", "readiness", started=NOW - 3, total=0.05))

    view = build_status(ex, now=NOW)

    rows = [(p["target"], p["module"], p["status"]) for p in view["probes"]]
    assert rows == [("gw", "readiness", "FAIL"), ("gw", "websocket", "PENDING"), ("edge", "readiness", "OK")]
    assert view["summary"] == {"probes": 3, "failing": 1, "pending": 1}
    gw = view["probes"][0]
    assert (gw["result"], gw["message"], gw["age_seconds"]) == ("refused", "connection refused", 5)
    # Percentiles of successful probes only, from the exporter's exact 5m window.
    assert gw["latency_seconds"]["p50"] == pytest.approx(0.0245)
    assert gw["latency_seconds"]["p99"] == pytest.approx(0.03871)
    assert (gw["sparkline"]["ok"], gw["sparkline"]["failed"]) == (30, 1)
    assert gw["sparkline"]["max_seconds"] == pytest.approx(0.039)
    assert gw["url"] == "http://127.0.0.1:18789" and gw["interval_seconds"] == 15
    edge = view["probes"][2]
    assert (edge["sparkline"]["ok"], edge["sparkline"]["failed"]) == (1, 0)
    assert view["config"]["reload_ok"] and view["config"]["reload_time"] == NOW - 600

    html = render_index(view)
    assert '<meta http-equiv="refresh" content="10">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'href="/targets/gw#m-readiness"' in html
    assert "No SLOs configured." in html and "Kubernetes watcher not enabled." in html
    assert f"openclaw-slo-exporter {__version__}" in html


def test_slo_rows_sort_by_budget_left_and_say_their_state_in_words():
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"}])
    ex.status_sections[SECTION_SLOS] = lambda: [
        {"name": "latency", "objective": 0.99, "sli": 0.995, "budget_remaining": 0.8, "burn_rate": 0.5,
         "time_to_exhaustion_seconds": float("inf"), "window": "30d"},
        {"name": "availability", "objective": 0.999, "sli": 0.9985, "budget_remaining": 0.1, "burn_rate": 14.4,
         "time_to_exhaustion_seconds": 2 * 86400 + 3 * 3600},
        {"name": "handshake", "objective": 0.995, "budget_remaining": -0.2, "burn_rate": 30},
    ]
    view = build_status(ex, now=NOW)
    slos = view["slos"]["rows"]
    assert [(r["name"], r["status"]) for r in slos] == [
        ("handshake", "EXHAUSTED"), ("availability", "LOW"), ("latency", "OK")]
    assert slos[2]["time_to_exhaustion_seconds"] is None  # infinity is not JSON
    assert slos[0]["sli"] is None
    json.dumps(view, allow_nan=False)

    html = render_index(view)
    assert html.index("handshake") < html.index("availability") < html.index(">latency<")
    for text in ("99.9 %", "99.85 %", "10 %", "14.40\u00d7", "2 d 3 h", "not burning", "exhausted", "EXHAUSTED", "LOW"):
        assert text in html, text
    assert "No SLOs configured." not in html


def test_pods_section_and_a_broken_provider_do_not_take_the_page_down():
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"}])
    ex.status_sections[SECTION_PODS] = lambda: [
        {"namespace": "openclaw", "pod": "gateway-0", "ready": False, "restarts_last_hour": 4,
         "waiting_reason": "CrashLoopBackOff", "last_warning": "Back-off restarting failed container"}]

    def broken():
        raise RuntimeError("SLO state file unreadable")
    ex.status_sections[SECTION_SLOS] = broken

    view = build_status(ex, now=NOW)
    assert view["pods"]["rows"][0]["status"] == "NOT READY"
    assert view["slos"] == {"enabled": True, "error": "RuntimeError: SLO state file unreadable", "rows": []}
    html = render_index(view)
    for text in ("gateway-0", "NOT READY", "CrashLoopBackOff", "Back-off restarting failed container",
                 "The SLO engine failed to report: RuntimeError: SLO state file unreadable"):
        assert text in html, text
    assert "Kubernetes watcher not enabled." not in html


def test_hostile_text_from_the_gateway_and_providers_is_escaped_never_markup():
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"}])
    info = Gauge(c.GATEWAY_INFO, "", (("protocol", "4"), ("version", HOSTILE)), 1.0)
    record(ex, outcome("gw", "websocket", gauges=[info], logs=[f"  1.0ms hello-ok server_version={HOSTILE}"]))
    record(ex, outcome("gw", "readiness", "http_status", message='bad body "><img src=x onerror=alert(1)>'))
    ex.status_sections[SECTION_PODS] = lambda: [{"pod": "gateway-0", "ready": True, "last_warning": HOSTILE,
                                                 "waiting_reason": "<b>x</b>"}]
    ex.status_sections[SECTION_SLOS] = lambda: [{"name": HOSTILE, "description": "' onmouseover='alert(1)",
                                                 "budget_remaining": 0.5}]
    ex.reload_ok, ex.last_reload_error = False, HOSTILE
    # Target names are free text in the config too.
    ex.config = parse_config({"targets": [{"name": "gw", "url": "http://127.0.0.1:18789"},
                                          {"name": HOSTILE, "url": "http://127.0.0.1:18790"}]})

    pages = [render_index(build_status(ex, now=NOW)), render_target(build_target(ex, "gw", now=NOW)),
             render_target(build_target(ex, HOSTILE, now=NOW))]
    for html in pages:
        assert HOSTILE not in html and ESCAPED in html
        assert "<img" not in html and "<b>x" not in html
        doc = Structure(html)
        assert doc.named("script") == [] and doc.named("img") == []
        assert not any(k.startswith("on") for _, attrs in doc.tags for k in attrs)
    assert "gateway &lt;script&gt;" in pages[0]  # the version is shown, as text
    assert 'href="/targets/%3Cscript%3Ealert%281%29%3C%2Fscript%3E#m-readiness"' in pages[0]


def test_secrets_are_redacted_from_page_and_json():
    secret = "canary-" + "f" * 32
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"}])
    ex.redactor.register(secret)
    record(ex, outcome("gw", "readiness", "auth_failed", message=f"token {secret} rejected",
                       logs=[f"  2.0ms header Authorization=Bearer {secret}"]))
    ex.status_sections[SECTION_PODS] = lambda: [{"pod": "gateway-0", "ready": True, "last_warning": f"env {secret}"}]
    ex.status_sections[SECTION_SLOS] = lambda: (_ for _ in ()).throw(ValueError(f"bad token {secret}"))
    view, target = build_status(ex, now=NOW), build_target(ex, "gw", now=NOW)
    for text in (render_index(view), render_target(target), json.dumps(view), json.dumps(target)):
        assert secret not in text
        assert "&lt;redacted&gt;" in text or "<redacted>" in text


def test_target_view_has_the_history_newest_first_with_phases_and_logs():
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"}])
    for i in range(120):
        record(ex, outcome("gw", "readiness", "success" if i % 10 else "timeout", started=NOW - 1200 + i * 10,
                           logs=[f"probe {i}"], timeout_phase=None if i % 10 else "first_byte"))
    view = build_target(ex, "gw", now=NOW)
    assert [m["module"] for m in view["modules"]] == ["readiness"]
    history = view["modules"][0]["history"]
    assert len(history) == 100  # the state keeps the last 100
    # Log lines are kept for the newest entries only (memory at 1,000 targets); results for all.
    assert history[0]["logs"] == ["probe 119"] and history[9]["logs"] == ["probe 110"]
    assert history[10]["logs"] == [] and history[-1]["logs"] == [] and history[-1]["result"]
    assert history[9]["status"] == "FAIL" and history[9]["timeout_phase"] == "first_byte"
    assert set(history[0]["phases_seconds"]) == {"connect", "total"}
    assert build_target(ex, "nope") is None
    html = render_target(view)
    assert "Last 100 probes of gw, module readiness, newest first" in html
    assert "probe 119" in html and "total 20.0 ms" in html


def test_pages_are_accessible_tables_with_captions_and_scoped_headers():
    ex = make_exporter([{"name": "gw", "url": "http://127.0.0.1:18789"}])
    record(ex, outcome("gw", "readiness"))
    ex.status_sections[SECTION_PODS] = lambda: [{"pod": "gateway-0", "ready": True}]
    ex.status_sections[SECTION_SLOS] = lambda: [{"name": "availability", "budget_remaining": 0.5}]
    for html in (render_index(build_status(ex, now=NOW)), render_target(build_target(ex, "gw", now=NOW))):
        doc = Structure(html)
        assert doc.named("html")[0]["lang"] == "en"
        assert len(doc.named("caption")) == len(doc.named("table")) >= 1
        assert all(th.get("scope") in ("col", "row") for th in doc.named("th"))
        # Every coloured badge also says its state in words (checked on the text, not the class).
        assert all(svg.get("role") == "img" and svg.get("aria-label") or svg.get("aria-hidden") == "true"
                   for svg in doc.named("svg"))
        assert not any(link.get("href", "").startswith(("http:", "https:", "//")) for link in doc.named("link"))


# -- the endpoints --------------------------------------------------------------------------------
async def test_api_status_json_and_pages_over_http(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    doc = {"targets": [{"name": "gw", "url": dead, "readiness": {"interval": "1s", "timeout": "900ms"},
                        "websocket": {"enabled": False}}]}
    async with running_exporter(doc, tmp_path) as ex:
        await wait_for(lambda: ex.exporter.state.series.get(("gw", "readiness", "")), timeout=5)
        import aiohttp
        async with aiohttp.ClientSession() as s:
            async with s.get(ex.base + "/api/status") as resp:
                assert resp.status == 200 and resp.content_type == "application/json"
                view = await resp.json()
            async with s.get(ex.base + "/") as resp:
                assert resp.status == 200 and resp.content_type == "text/html"
                assert "script-src" not in resp.headers["Content-Security-Policy"]
                assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
                page = await resp.text()
            async with s.get(ex.base + "/targets/gw") as resp:
                assert resp.status == 200
                target = await resp.text()
            async with s.get(ex.base + "/targets/" + "%3Cscript%3E") as resp:
                assert resp.status == 404 and "<script>" not in await resp.text()
        assert set(view) == {"generated_at", "version", "refresh_seconds", "config", "summary", "slos", "probes", "pods",
                             "paging"}
        # The shipped SLO spec is tracked live by default.
        assert view["slos"]["enabled"] is True and view["slos"]["error"] is None
        # The model SLO is opt-in (enabled: false in the shipped spec): not shown.
        assert {r["name"] for r in view["slos"]["rows"]} == {
            "websocket-availability", "readiness-availability", "websocket-handshake-latency"}
        assert view["pods"] == {"enabled": False, "error": None, "rows": []}
        assert view["config"]["reload_ok"] is True and view["config"]["targets"] == 1
        probe = view["probes"][0]
        assert set(probe) == {"target", "module", "url", "interval_seconds", "cost", "status", "result", "message",
                              "last_time", "age_seconds", "latency_seconds", "latency_window", "gateway_version",
                              "sparkline", "burn_rate"}
        assert (probe["target"], probe["module"], probe["status"], probe["result"]) == ("gw", "readiness", "FAIL", "refused")
        assert set(probe["latency_seconds"]) == {"p50", "p95", "p99"}
        assert set(probe["sparkline"]["points"][0]) == {"t", "ok", "seconds"}
        assert "FAIL" in page and "refused" in page
        assert "connection refused" in target


# -- in a real browser ----------------------------------------------------------------------------
ROWS_JS = """JSON.stringify(Array.from(document.querySelectorAll('tr')).filter(tr => tr.querySelector('td[data-status]'))
  .map(tr => [tr.querySelector('th a').textContent, tr.cells[1].firstChild.textContent,
              tr.querySelector('td[data-status]').innerText]))"""


@pytest.mark.gateway
async def test_page_in_chromium_turns_from_ok_to_fail_when_the_gateway_stops(gateway_token, tmp_path, monkeypatch):
    require_chromium()
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    gw = Gateway(free_port(), gateway_token, home=str(tmp_path / "home"))
    try:
        await asyncio.to_thread(gw.start)
        target = {"name": "gw", "url": gw.url, "token_env": "GW_TOKEN",
                  "readiness": {"interval": "1s", "timeout": "900ms"}, "websocket": {"interval": "1s", "timeout": "900ms"}}
        async with running_exporter({"targets": [target]}, tmp_path) as ex, Chromium() as browser:
            def both_ok():
                rows = build_status(ex.exporter)["probes"]
                return len(rows) == 2 and all(r["status"] == "OK" for r in rows) and rows
            await wait_for(both_ok, timeout=20)
            await asyncio.sleep(2.5)  # a few more points for the sparkline and percentiles

            await browser.viewport(1280, 800)
            await browser.navigate(ex.base + "/")
            rows = json.loads(await browser.evaluate(ROWS_JS))
            assert sorted((t, m) for t, m, _ in rows) == [("gw", "readiness"), ("gw", "websocket")]
            assert all(status.startswith("\u2713 OK") for _, _, status in rows), rows
            assert await browser.evaluate("document.title") == "OpenClaw status"
            assert await browser.evaluate("document.querySelector('meta[http-equiv=refresh]').content") == "10"
            version = await browser.evaluate("document.querySelector('th .small + .small').textContent")
            assert version.startswith("gateway ")
            await browser.screenshot(ARTIFACTS / "status-page-ok.png")

            await asyncio.to_thread(gw.stop)
            stopped = time.monotonic()

            async def fail_shown():
                await browser.navigate(ex.base + "/")
                rows = json.loads(await browser.evaluate(ROWS_JS))
                return all("FAIL" in s and "refused" in s for _, _, s in rows) and rows
            rows = await wait_for(fail_shown, timeout=6, interval=0.2)
            # Two 1 s intervals plus the probe's own time.
            assert time.monotonic() - stopped < 3.5, rows
            assert await browser.evaluate("document.title") == "FAIL \u2013 OpenClaw status"
            await browser.screenshot(ARTIFACTS / "status-page-fail.png")

            await browser.viewport(390, 844, mobile=True)
            await browser.navigate(ex.base + "/")
            await browser.screenshot(ARTIFACTS / "status-page-phone.png")
            # Stacked rows on a phone: nothing wider than the screen.
            assert await browser.evaluate("document.documentElement.scrollWidth") <= 390

            await browser.viewport(1280, 800)
            await browser.evaluate("document.querySelector('th a').click()")
            await asyncio.sleep(0.5)
            assert (await browser.evaluate("location.pathname")).startswith("/targets/gw")
            text = await browser.evaluate("document.body.innerText")
            assert "Last " in text and "refused" in text and "success" in text
            await browser.screenshot(ARTIFACTS / "status-target.png")

            assert browser.errors == []
            assert gateway_token not in await browser.evaluate("document.documentElement.outerHTML")
    finally:
        await asyncio.to_thread(gw.stop)


async def test_slo_and_pod_sections_in_chromium_fit_a_phone_and_log_no_errors(tmp_path):
    # No gateway needed: the sections come from providers; the target is a closed port.
    require_chromium()
    doc = {"targets": [{"name": "gw", "url": f"http://127.0.0.1:{free_port()}",
                        "readiness": {"interval": "1s", "timeout": "900ms"}, "websocket": {"enabled": False}}]}
    async with running_exporter(doc, tmp_path) as ex, Chromium() as browser:
        ex.exporter.status_sections[SECTION_SLOS] = lambda: [
            {"name": "gateway-availability", "objective": 0.999, "sli": 0.9991, "budget_remaining": 0.62,
             "burn_rate": 0.9, "time_to_exhaustion_seconds": None, "window": "30d"},
            {"name": "websocket-handshake-latency", "objective": 0.99, "sli": 0.981, "budget_remaining": 0.08,
             "burn_rate": 14.4, "time_to_exhaustion_seconds": 5 * 3600 + 120, "window": "30d",
             "description": "handshake under 120 ms"}]
        ex.exporter.status_sections[SECTION_PODS] = lambda: [
            {"namespace": "openclaw", "pod": "openclaw-gateway-7d9f-x2", "ready": False, "restarts_last_hour": 3,
             "waiting_reason": "CrashLoopBackOff", "last_warning": "Back-off restarting failed container " + HOSTILE},
            {"namespace": "openclaw", "pod": "openclaw-gateway-7d9f-k8", "ready": True, "restarts_last_hour": 0}]
        await wait_for(lambda: ex.exporter.state.series.get(("gw", "readiness", "")), timeout=5)

        await browser.viewport(1280, 800)
        await browser.navigate(ex.base + "/")
        slo_names = json.loads(await browser.evaluate(
            "JSON.stringify(Array.from(document.querySelectorAll('#slos ~ table tbody th')).map(th => th.firstChild.textContent))"))
        assert slo_names == ["websocket-handshake-latency", "gateway-availability"]
        text = await browser.evaluate("document.body.innerText")
        assert "LOW" in text and "5 h 2 min" in text and "NOT READY" in text and HOSTILE in text
        assert await browser.evaluate("document.querySelectorAll('script').length") == 0
        await browser.screenshot(ARTIFACTS / "status-page-sections.png")
        await browser.viewport(390, 844, mobile=True)
        await browser.navigate(ex.base + "/")
        await browser.screenshot(ARTIFACTS / "status-page-sections-phone.png")
        assert await browser.evaluate("document.documentElement.scrollWidth") <= 390
        assert browser.errors == []
        # The page reloads itself (meta refresh every 10 s): a wall screen stays current.
        before = await browser.evaluate("document.querySelector('.meta + .meta').textContent")
        await browser.wait_for_load(15)
        assert await browser.evaluate("document.querySelector('.meta + .meta').textContent") != before

        # The error collection itself works: a 404 is logged by the browser as an error.
        await browser.navigate(ex.base + "/targets/unknown")
        await wait_for(lambda: browser.errors, timeout=5)
        assert "404" in browser.errors[0]
