"""End to end, all real: OpenClaw gateway (npm) -> exporter -> Prometheus (generated rules) ->
Alertmanager (the example routing) -> a webhook served by this test, standing in for the pager.

Scrape and evaluation run every second, and Alertmanager's group timers are shortened. The rules
are the committed production SLO rules and the alert table regenerated through the generator's
overrides file with one change: the probe-auth alert's `for` (so that step fits in CI).
Prometheus starts with six hours of healthy history backfilled, as a real deployment has.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from conftest import free_port
from gateway import Gateway
from services import ROOT, Service, alertmanager, exporter, prometheus

pytestmark = pytest.mark.e2e

PAGE_ALERTS = {"OpenClawWebsocketAvailabilityBurnRatePage", "OpenClawReadinessAvailabilityBurnRatePage"}
ARTIFACTS = ROOT / "test-artifacts"


class Pager:
    """The Alertmanager webhook receiver: records every notification with its arrival time."""

    def __init__(self) -> None:
        self.notifications: list[tuple[float, str, dict[str, Any]]] = []
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def receive(request: web.Request) -> web.Response:
            body = await request.json()
            self.notifications.append((time.monotonic(), request.match_info["receiver"], body))
            return web.Response(text="ok")
        app = web.Application()
        app.router.add_post("/{receiver}", receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def url(self, receiver: str) -> str:
        return f"http://127.0.0.1:{self.port}/{receiver}"

    def alerts(self, status: str, since: float = 0.0) -> list[tuple[float, str, dict[str, Any]]]:
        out = []
        for at, receiver, body in self.notifications:
            if at < since:
                continue
            for alert in body.get("alerts", []):
                if alert.get("status") == status:
                    out.append((at, receiver, alert))
        return out

    def firing_names(self, since: float = 0.0) -> set[str]:
        return {a["labels"]["alertname"] for _, _, a in self.alerts("firing", since)}


def alertmanager_config(pager: Pager) -> dict[str, Any]:
    """The shipped example routing, its receivers pointed at the test's webhook, timers shortened."""
    config = yaml.safe_load((ROOT / "alerts" / "alertmanager.example.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = pager.url(receiver["name"])
            hook["send_resolved"] = True

    def shorten(route: dict[str, Any]) -> None:
        for key, value in (("group_wait", "1s"), ("group_interval", "2s")):
            if key in route or route is config["route"]:
                route[key] = value
        for child in route.get("routes", []):
            shorten(child)
    shorten(config["route"])
    return config


HISTORY_HOURS = 6


def backfill_healthy_history(workdir: Path, instance: str, job: str) -> Path:
    """Six hours of healthy probe counters for the exporter's series, ending a minute ago.

    A real deployment has history: with it the production windows behave as in production
    (the 1h window needs about a minute of outage to cross 14.4x, and the page resolves once
    the 5m window drains), instead of a fresh Prometheus paging on its first failed probe and
    holding the page for half an hour."""
    from slo.model import threshold_label

    end = int(time.time()) - 60
    start = end - HISTORY_HOURS * 3600
    step = 15
    base = f'instance="{instance}",job="{job}",target="gateway"'
    series = [
        ("openclaw_probe_attempts", f'{base},module="readiness",result="success"'),
        ("openclaw_probe_attempts", f'{base},module="websocket",result="success"'),
        ("openclaw_probe_latency_good",
         f'{base},module="websocket",phase="handshake",threshold_seconds="{threshold_label(0.25)}"'),
    ]
    lines = []
    for family in ("openclaw_probe_attempts", "openclaw_probe_latency_good"):
        lines.append(f"# TYPE {family} counter")
        for name, labels in series:
            if name == family:
                lines.extend(f"{family}_total{{{labels}}} {t - start} {t}" for t in range(start, end + 1, step))
    lines.append("# EOF")
    source = workdir / "history.om"
    source.write_text("\n".join(lines) + "\n")
    from services import require
    data = workdir / "prom-data"
    done = subprocess.run([require("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return data


async def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


async def test_outage_pages_recovery_resolves_and_a_bad_token_is_not_an_outage(tmp_path, gateway_token):
    work = tmp_path
    token_file = work / "token"
    token_file.write_text(gateway_token)
    wrong_token_file = work / "wrong-token"
    wrong_token_file.write_text("rotated-token-the-gateway-does-not-know")

    # Rules: the committed SLO rules, plus the alert table regenerated with the overrides file.
    rules_dir = work / "rules"
    overrides = ROOT / "tests" / "fixtures" / "e2e-alerts-overrides.yml"
    subprocess.run([sys.executable, "-m", "exporter", "slo", "generate", "--alerts-config", str(overrides),
                    "--out", str(rules_dir)], check=True, cwd=ROOT, capture_output=True, timeout=120)
    assert (rules_dir / "slo-rules.yml").read_text() == (ROOT / "alerts" / "slo-rules.yml").read_text()
    rule_files = [str(rules_dir / "slo-rules.yml"), str(rules_dir / "openclaw-alerts.yml")]

    gw = Gateway(free_port(), gateway_token, home=str(work / "gw-home"))
    pager = Pager()
    services: list[Service] = []
    exporter_port, prom_port, am_port = free_port(), free_port(), free_port()
    exporter_config = work / "exporter.yml"

    def write_exporter_config(token_path: Path) -> None:
        exporter_config.write_text(yaml.safe_dump({
            "targets": [{"name": "gateway", "url": gw.url, "token_file": str(token_path),
                         "readiness": {"interval": "1s", "timeout": "900ms"},
                         "websocket": {"interval": "1s", "timeout": "900ms"}}],
            "slo": {"state_file": str(work / "slo.sqlite")},
        }))

    try:
        await pager.start()
        await asyncio.to_thread(gw.start)
        write_exporter_config(token_file)
        am_config = work / "alertmanager.yml"
        am_config.write_text(yaml.safe_dump(alertmanager_config(pager)))
        backfill_healthy_history(work, f"127.0.0.1:{exporter_port}", "openclaw-slo-exporter")
        prom_config = work / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rule_files,
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [{"job_name": "openclaw-slo-exporter",
                                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}],
        }))
        for service in (exporter(work, exporter_port, exporter_config), alertmanager(work, am_port, am_config),
                        prometheus(work, prom_port, prom_config)):
            services.append(await asyncio.to_thread(service.start))
        exporter_service = services[0]

        # 1. Healthy for a while: nothing pages.
        await asyncio.sleep(25)
        assert not pager.firing_names(), pager.notifications

        # 2. Stop the gateway: the SLO page reaches the pager.
        await asyncio.to_thread(gw.stop)
        stopped = time.monotonic()
        page = await wait_until(lambda: [a for a in pager.alerts("firing", stopped) if a[2]["labels"]["alertname"] in PAGE_ALERTS],
                                timeout=240, what="the SLO page")
        delivered_at, receiver, alert = page[0]
        time_to_page = delivered_at - stopped
        assert alert["labels"]["severity"] == "critical"
        assert "runbook_url" in alert["annotations"]
        assert gateway_token not in json.dumps(pager.notifications)
        page_receivers = {r for _, r, a in pager.alerts("firing", stopped) if a["labels"]["alertname"] in PAGE_ALERTS}

        # 3. Restart it: the page resolves (the 5m window must drain below 14.4x first).
        await asyncio.to_thread(gw.start)
        restarted = time.monotonic()
        paged = {a[2]["labels"]["alertname"] for a in page}
        await wait_until(lambda: paged <= {a["labels"]["alertname"] for _, _, a in pager.alerts("resolved", restarted)},
                         timeout=600, what="the resolved notification")
        time_to_resolve = time.monotonic() - restarted

        # 4. A wrong token, reloaded live: the probe-misconfigured alert, not an outage page.
        write_exporter_config(wrong_token_file)
        exporter_service.signal(signal.SIGHUP)
        rotated = time.monotonic()
        auth = await wait_until(lambda: [a for a in pager.alerts("firing", rotated)
                                         if a[2]["labels"]["alertname"] == "OpenClawProbeAuthFailing"],
                                timeout=300, what="the probe-auth alert")
        _, auth_receiver, auth_alert = auth[0]
        assert auth_receiver == "ticket" and auth_alert["labels"]["severity"] == "warning"
        assert auth_alert["labels"]["module"] == "websocket"
        # Held a while longer: the gateway throttles the bad token to 5 s answers, and it must
        # still read as auth_failed, never as an outage.
        await asyncio.sleep(30)
        assert not [a for a in pager.alerts("firing", rotated) if a[2]["labels"]["alertname"] in PAGE_ALERTS], \
            "a rotated probe token must not page as a gateway outage"

        ARTIFACTS.mkdir(exist_ok=True)
        result = {"time_to_page_seconds": round(time_to_page, 1), "time_to_resolve_seconds": round(time_to_resolve, 1),
                  "page_alert": alert["labels"]["alertname"], "page_receivers": sorted(page_receivers),
                  "scrape_interval_s": 1, "evaluation_interval_s": 1, "group_wait_s": 1, "probe_interval_s": 1}
        (ARTIFACTS / "e2e-time-to-page.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nE2E time to page: {time_to_page:.1f}s; time to resolve after restart: {time_to_resolve:.1f}s")
    finally:
        for service in reversed(services):
            await asyncio.to_thread(service.stop)
        await asyncio.to_thread(gw.stop)
        await pager.stop()
