"""End to end, all real: OpenClaw gateway (npm) -> exporter -> Prometheus (generated rules) ->
Alertmanager (the example routing) -> a webhook served by this test, standing in for the pager.

Prometheus scrapes the way the documented install does: the scrape config the Prometheus Operator
generates from deploy/servicemonitor.yaml (tests/operator_scrape.py; the target discovered through
file_sd with kubernetes_sd's meta labels, relabeled by Prometheus itself), so every exporter series
carries namespace/service/pod/container/endpoint and job = the Service name. kube-state-metrics and
cAdvisor series of a healthy gateway pod come from a local stand-in scraped through kube-prometheus'
own ServiceMonitors (job="kube-state-metrics"; job="kubelet", metrics_path="/metrics/cadvisor").
The exporter runs the shipped deploy/exporter.yml, pointed at the test's gateway and token.

Scrape and evaluation run every second, probes too, and Alertmanager's group timers are shortened.
The rules are the committed production SLO rules and the alert table regenerated through the
generator's overrides file with one change: the probe-auth alert's `for` (so that step fits in CI).
Prometheus starts with six hours of healthy history backfilled, as a real deployment has.

Pages are what the example routing sends on severity="critical", tickets severity="warning".
Progress (what the chain waits for, elapsed seconds) goes to the terminal even under `pytest -q`.
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

from ports import free_port
from gateway import Gateway
from kube_prometheus import KubePrometheusStandIn, kube_prometheus_scrapes
from operator_scrape import shipped_exporter_pod, shipped_exporter_scrape
from support.daemons import ROOT, Daemon, alertmanager, exporter, prometheus

pytestmark = pytest.mark.e2e

PAGE, TICKET = "critical", "warning"  # the severities the example routing pages and tickets on
AVAILABILITY_SLOS = {"websocket-availability", "readiness-availability"}
ARTIFACTS = ROOT / "test-artifacts"


def is_outage_page(alert: dict[str, Any]) -> bool:
    """An SLO burn-rate alert of an availability SLO that pages."""
    labels = alert["labels"]
    return (labels.get("severity") == PAGE and "BurnRate" in labels["alertname"]
            and labels.get("slo") in AVAILABILITY_SLOS)


class Progress:
    """Prints what the chain waits for, with elapsed seconds, straight to the terminal (capture
    suspended around each line, the way pytest documents), so a 10-minute run under `pytest -q`
    does not look hung. The lines also land in the report's captured output when it fails."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.reporter = request.config.pluginmanager.getplugin("terminalreporter")
        self.capture = request.config.pluginmanager.getplugin("capturemanager")
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        line = f"[e2e +{time.monotonic() - self.started:5.0f}s] {message}"
        if self.reporter is None or self.capture is None:
            print(line, file=sys.__stderr__, flush=True)
            return
        with self.capture.global_and_fixture_disabled():
            self.reporter.ensure_newline()
            self.reporter.write(line + "\n", flush=True)


@pytest.fixture
def progress(request: pytest.FixtureRequest) -> Progress:
    return Progress(request)


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


def backfill_healthy_history(workdir: Path, target_labels: dict[str, str], target: str) -> Path:
    """Six hours of healthy probe counters for the exporter's series, ending a minute ago, with the
    target labels the Operator's scrape gives them (the same series the live scrape continues).

    A real deployment has history: with it the production windows behave as in production
    (the 1h window needs about a minute of outage to cross 14.4x, and the page resolves once
    the 5m window drains), instead of a fresh Prometheus paging on its first failed probe and
    holding the page for half an hour."""
    from openclaw_schema.names import threshold_label

    end = int(time.time()) - 60
    start = end - HISTORY_HOURS * 3600
    step = 15
    base = ",".join(f'{k}="{v}"' for k, v in sorted({**target_labels, "target": target}.items()))
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
    from support.tools import require
    data = workdir / "prom-data"
    done = subprocess.run([require("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return data


async def wait_until(predicate, timeout: float, what: str, progress: Progress, interval: float = 0.5,
                     report_every: float = 15.0):
    started = time.monotonic()
    deadline = started + timeout
    next_report = started + report_every
    progress(f"waiting for {what} (up to {timeout:.0f}s)")
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            progress(f"got {what} after {time.monotonic() - started:.1f}s")
            return value
        if time.monotonic() >= next_report:
            progress(f"  still waiting for {what}: {time.monotonic() - started:.0f}s of {timeout:.0f}s")
            next_report += report_every
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def page_receiver(config: dict[str, Any]) -> str:
    """The receiver the example routing sends severity="critical" to."""
    for route in config["route"].get("routes", []):
        if f'severity="{PAGE}"' in route.get("matchers", []):
            return route["receiver"]
    raise AssertionError(f'alerts/alertmanager.example.yml routes nothing on severity="{PAGE}"')


async def test_outage_pages_recovery_resolves_and_a_bad_token_is_not_an_outage(tmp_path, gateway_token, progress):
    work = tmp_path
    token_file = work / "token"
    token_file.write_text(gateway_token)
    wrong_token_file = work / "wrong-token"
    wrong_token_file.write_text("rotated-token-the-gateway-does-not-know")

    # Rules: the committed SLO rules, plus the alert table regenerated with the overrides file.
    rules_dir = work / "rules"
    overrides = ROOT / "tests" / "fixtures" / "e2e-alerts-overrides.yml"
    subprocess.run([sys.executable, "-m", "exporter", "generate", "--alerts-config", str(overrides),
                    "--out", str(rules_dir)], check=True, cwd=ROOT, capture_output=True, timeout=120)
    slo_rules, alert_rules = rules_dir / "alerts" / "prometheus_rules.yaml", rules_dir / "alerts" / "prometheus_alerts.yaml"
    assert slo_rules.read_text() == (ROOT / "alerts" / "prometheus_rules.yaml").read_text()
    rule_files = [str(slo_rules), str(alert_rules)]

    gw = Gateway(free_port(), gateway_token, home=str(work / "gw-home"))
    pager = Pager()
    standin = KubePrometheusStandIn()
    services: list[Daemon] = []
    exporter_port, prom_port, am_port = free_port(), free_port(), free_port()
    exporter_config = work / "exporter.yml"
    shipped = yaml.safe_load((ROOT / "deploy" / "exporter.yml").read_text())
    (shipped_target,) = shipped["targets"]
    target_name = shipped_target["name"]

    def write_exporter_config(token_path: Path) -> None:
        """The shipped config, aimed at this test's gateway and token; probes every second."""
        doc = json.loads(json.dumps(shipped))
        (target,) = doc["targets"]
        target.update({"url": gw.url, "token_file": str(token_path),
                       "readiness": {"interval": "1s", "timeout": "900ms"},
                       "websocket": {"interval": "1s", "timeout": "900ms"}})
        doc.setdefault("slo", {})["state_file"] = str(work / "slo.sqlite")
        exporter_config.write_text(yaml.safe_dump(doc))

    try:
        await pager.start()
        await standin.start()
        progress("starting the real gateway")
        await asyncio.to_thread(gw.start)
        write_exporter_config(token_file)
        am_doc = alertmanager_config(pager)
        am_config = work / "alertmanager.yml"
        am_config.write_text(yaml.safe_dump(am_doc))
        scrape = shipped_exporter_scrape(work, exporter_port, scrape_interval="1s", scrape_timeout="900ms")
        # The target labels the Operator's relabeling gives the exporter (checked against a real
        # Prometheus in test_operator_scrape.py): the history continues the live series.
        pod = shipped_exporter_pod()
        target_labels = {"instance": f"127.0.0.1:{exporter_port}", "job": "openclaw-slo-exporter",
                         "namespace": pod.namespace, "pod": pod.name, "container": pod.container["name"],
                         "service": "openclaw-slo-exporter", "endpoint": "metrics"}
        progress(f"backfilling {HISTORY_HOURS}h of healthy history")
        backfill_healthy_history(work, target_labels, target_name)
        prom_config = work / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rule_files,
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [scrape, *kube_prometheus_scrapes(work, standin.port, scrape_interval="1s",
                                                                scrape_timeout="900ms")],
        }))
        progress("starting exporter, Alertmanager, Prometheus")
        for service in (exporter(work, exporter_port, exporter_config), alertmanager(work, am_port, am_config),
                        prometheus(work, prom_port, prom_config)):
            services.append(await asyncio.to_thread(service.start))
        exporter_service = services[0]

        # 1. Healthy for a while: nothing is sent at all.
        progress("healthy for 25s: nothing may fire")
        await asyncio.sleep(25)
        assert not pager.firing_names(), pager.notifications

        # 2. Stop the gateway: the SLO page reaches the pager.
        await asyncio.to_thread(gw.stop)
        stopped = time.monotonic()
        progress("gateway stopped")
        page = await wait_until(lambda: [a for a in pager.alerts("firing", stopped) if is_outage_page(a[2])],
                                timeout=240, what="the SLO page", progress=progress)
        delivered_at, receiver, alert = page[0]
        time_to_page = delivered_at - stopped
        assert receiver == page_receiver(am_doc)
        assert alert["labels"]["severity"] == "critical"
        assert "runbook_url" in alert["annotations"]
        assert gateway_token not in json.dumps(pager.notifications)
        page_receivers = {r for _, r, a in pager.alerts("firing", stopped) if is_outage_page(a)}

        # 3. Restart it: the page resolves (the 5m window must drain below 14.4x first).
        await asyncio.to_thread(gw.start)
        restarted = time.monotonic()
        progress("gateway restarted")
        paged = {a[2]["labels"]["alertname"] for a in page}
        await wait_until(lambda: paged <= {a["labels"]["alertname"] for _, _, a in pager.alerts("resolved", restarted)},
                         timeout=600, what="the resolved notification", progress=progress)
        time_to_resolve = time.monotonic() - restarted

        # 4. A wrong token, reloaded live: the probe-misconfigured ticket, never a page.
        write_exporter_config(wrong_token_file)
        exporter_service.signal(signal.SIGHUP)
        rotated = time.monotonic()
        progress("probe token rotated to a wrong one (SIGHUP)")
        auth = await wait_until(lambda: [a for a in pager.alerts("firing", rotated)
                                         if a[2]["labels"]["alertname"] == "OpenClawProbeAuthFailing"],
                                timeout=300, what="the probe-auth ticket", progress=progress)
        _, auth_receiver, auth_alert = auth[0]
        assert auth_alert["labels"]["severity"] == TICKET, auth_alert["labels"]
        assert auth_receiver != page_receiver(am_doc)
        assert auth_receiver == "ticket" and auth_alert["labels"]["severity"] == "warning"
        assert auth_alert["labels"]["module"] == "websocket"
        # Held a while longer: the gateway throttles the bad token to 5 s answers, and it must
        # still read as auth_failed, never as an outage: nothing pages at all.
        progress("holding the wrong token 30s: nothing may page")
        await asyncio.sleep(30)
        assert not [a for _, _, a in pager.alerts("firing", rotated) if a["labels"].get("severity") == PAGE], \
            "a rotated probe token must not page"

        ARTIFACTS.mkdir(exist_ok=True)
        result = {"time_to_page_seconds": round(time_to_page, 1), "time_to_resolve_seconds": round(time_to_resolve, 1),
                  "page_alert": alert["labels"]["alertname"], "page_receivers": sorted(page_receivers),
                  "scrape": "prometheus-operator ServiceMonitor (deploy/servicemonitor.yaml)",
                  "scrape_interval_s": 1, "evaluation_interval_s": 1, "group_wait_s": 1, "probe_interval_s": 1}
        (ARTIFACTS / "e2e-time-to-page.json").write_text(json.dumps(result, indent=2) + "\n")
        progress(f"time to page: {time_to_page:.1f}s; time to resolve after restart: {time_to_resolve:.1f}s")
    finally:
        for service in reversed(services):
            await asyncio.to_thread(service.stop)
        await asyncio.to_thread(gw.stop)
        await standin.stop()
        await pager.stop()
