"""End to end: a real Prometheus evaluates the generated rules (a copy built with
`generate --alerts-config` and 1s `for` durations) against scraped metrics and sends to a
real Alertmanager configured from alerts/alertmanager.example.yml.

The scraped endpoint is a stand-in for the exporter during an outage: every WebSocket probe
refused, /readyz not ready with two failing subsystems, the configured model retired.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import yaml

from openclaw_schema import names
from mixin import cli
from slo import alert_rules
from slohelpers import ALERTS
from support.daemons import alertmanager, prometheus, running
from ports import free_port

pytestmark = pytest.mark.prometheus

START = time.time()


def outage_metrics() -> str:
    refused = int((time.time() - START) * 10) + 1  # a counter that keeps increasing
    return "\n".join([
        f'{names.PROBE_ATTEMPTS_TOTAL}{{target="gw",module="websocket",result="success"}} 100',
        f'{names.PROBE_ATTEMPTS_TOTAL}{{target="gw",module="websocket",result="refused"}} {refused}',
        f'{names.GATEWAY_READY}{{target="gw"}} 0',
        f'{names.GATEWAY_READINESS_FAILING}{{target="gw",subsystem="agent-database:main"}} 1',
        f'{names.GATEWAY_READINESS_FAILING}{{target="gw",subsystem="plugin-reload"}} 1',
        f'{names.MODEL_AVAILABLE}{{target="gw",provider="bailian",model="qwen-plus"}} 0',
        "",
    ])


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's spelling
        body = outage_metrics().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def metrics_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_outage_pages_once_and_the_symptoms_are_inhibited(tmp_path, metrics_server):
    overrides = tmp_path / "fast.yml"
    overrides.write_text(yaml.safe_dump({"alerts": {key: {"for": "1s"} for key in alert_rules.parameters()}}))
    rules = tmp_path / "rules"
    assert cli.main(["--alerts-config", str(overrides), "--out", str(rules)]) == 0

    am_port, prom_port = free_port(), free_port()
    am_config = yaml.safe_load((ALERTS / "alertmanager.example.yml").read_text())
    am_config["route"]["group_wait"] = "1h"  # the placeholder receivers are never called
    (tmp_path / "am.yml").write_text(yaml.safe_dump(am_config))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "alerts" / "prometheus_alerts.yaml"), str(rules / "alerts" / "prometheus_rules.yaml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "openclaw-slo-exporter",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_server}"]}]}],
    }))
    am_url = f"http://127.0.0.1:{am_port}"
    with running(alertmanager(tmp_path, am_port, tmp_path / "am.yml")), \
            running(prometheus(tmp_path, prom_port, tmp_path / "prometheus.yml")):
        wanted = {"OpenClawWebsocketAvailabilityBurnRatePage", names.ALERT_GATEWAY_NOT_READY, names.ALERT_MODEL_MISSING}
        deadline = time.monotonic() + 90
        while True:
            alerts = {a["labels"]["alertname"]: a for a in httpx.get(f"{am_url}/api/v2/alerts", timeout=5).json()}
            settled = wanted <= set(alerts) and alerts[names.ALERT_GATEWAY_NOT_READY]["status"]["state"] == "suppressed"
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert wanted <= set(alerts), sorted(alerts)

    page = alerts["OpenClawWebsocketAvailabilityBurnRatePage"]
    assert (page["labels"]["severity"], page["status"]["state"]) == ("critical", "active")
    not_ready = alerts[names.ALERT_GATEWAY_NOT_READY]
    assert not_ready["status"]["state"] == "suppressed" and not_ready["status"]["inhibitedBy"]
    # The subsystems were looked up by the real Prometheus when the alert was rendered.
    assert not_ready["annotations"]["summary"] == "Gateway gw is not ready; failing: agent-database:main, plugin-reload"
    missing = alerts[names.ALERT_MODEL_MISSING]
    assert (missing["labels"]["model"], missing["labels"]["severity"], missing["status"]["state"]) == ("qwen-plus", "critical", "active")
    # The exporter is scraped: no exporter-down alert, and credentials were never refused.
    assert names.ALERT_EXPORTER_DOWN not in alerts and names.ALERT_PROBE_AUTH not in alerts
