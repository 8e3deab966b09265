"""alerts/alertmanager.example.yml: amtool accepts it, it routes critical (page), warning
(ticket) and info apart, and a real Alertmanager inhibits symptom alerts while the SLO page for
the same gateway (target) fires, and only that gateway's."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from openclaw_schema import names
from slohelpers import ALERTS, run
from support.daemons import alertmanager as alertmanager_daemon, running
from ports import free_port
from support.tools import require

pytestmark = pytest.mark.prometheus

CONFIG = ALERTS / "alertmanager.example.yml"
SLO_PAGE = "OpenClawWebsocketAvailabilityBurnRatePage"
SLO_TICKET = "OpenClawWebsocketAvailabilityBurnRateTicket"
RECEIVER = {"critical": "page", "warning": "ticket", "info": "info"}
SYMPTOMS = (names.ALERT_GATEWAY_NOT_READY, names.ALERT_WEBSOCKET_FAILING, names.ALERT_MODEL_PROBE_FAILURES,
            names.ALERT_POD_RESTARTS, names.ALERT_CRASH_LOOP, names.ALERT_IMAGE_PULL, names.ALERT_VOLUME_MOUNT,
            names.ALERT_CONTAINER_CREATING, names.ALERT_STARTUP_SLOW)


def generated_alerts() -> dict[str, dict[str, str]]:
    """alert name -> its labels, from every generated rule file."""
    out = {}
    for name in ("prometheus_rules.yaml", "prometheus_alerts.yaml"):
        for group in yaml.safe_load((ALERTS / name).read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out[rule["alert"]] = rule["labels"]
    return out


def test_amtool_check_config_passes():
    amtool = require("amtool")
    done = run([amtool, "check-config", str(CONFIG)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout and "3 inhibit rules" in done.stdout and "3 receivers" in done.stdout
    # One receiver per severity; info's has no integrations: it notifies no one.
    receivers = {r["name"]: r for r in yaml.safe_load(CONFIG.read_text())["receivers"]}
    assert set(receivers) == {"page", "ticket", "info"} and set(receivers["info"]) == {"name"}


def route(*labels: str) -> str:
    amtool = require("amtool")
    done = run([amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels])
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("alert", sorted(generated_alerts()))
def test_every_generated_alert_routes_to_the_receiver_of_its_severity(alert):
    labels = generated_alerts()[alert]
    assert labels["severity"] in tuple(names.Severity)
    assert route(f"alertname={alert}", *(f"{k}={v}" for k, v in labels.items() if "{" not in v)) == RECEIVER[labels["severity"]]


def test_critical_warning_and_info_go_to_different_receivers():
    assert route("severity=critical") == "page"
    assert route("severity=warning") == "ticket"
    assert route("severity=info") == "info"
    assert route("alertname=SomethingElse") == "ticket"  # the default


def test_inhibition_rules_name_only_alerts_that_exist():
    config = yaml.safe_load(CONFIG.read_text())
    existing = set(generated_alerts())
    # The gateway's symptoms (per target), then its pods' (no target): together every symptom.
    per_target, pods = config["inhibit_rules"][0], config["inhibit_rules"][1]
    inhibited = set()
    for rule in (per_target, pods):
        source = re.search(r'alertname=~"(.+)"', rule["source_matchers"][1]).group(1)
        target = re.search(r'alertname=~"(.+)"', rule["target_matchers"][0]).group(1)
        inhibited |= {a for a in existing if re.fullmatch(target, a)}
        pages = {a for a in existing if re.fullmatch(source, a)}
        assert pages and all(generated_alerts()[a]["severity"] == "critical" for a in pages)
    assert inhibited == set(SYMPTOMS)
    assert per_target["equal"] == [names.LABEL_SERVICE, names.LABEL_TARGET, names.LABEL_CLUSTER]
    assert pods["equal"] == [names.LABEL_SERVICE, names.LABEL_CLUSTER]
    assert all(generated_alerts()[a][names.LABEL_SERVICE] == "openclaw-gateway" for a in pages | set(SYMPTOMS))


def _api(port: int, path: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/{path}", data=data,
                                     headers={"Content-Type": "application/json"}, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
    return json.loads(text) if text else None


def _alert(name: str, **labels: str) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "labels": {"alertname": name, "service": "openclaw-gateway", "team": "gateway", **labels},
        "annotations": {"summary": name},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


@pytest.fixture
def alertmanager(tmp_path):
    port = free_port()
    config = yaml.safe_load(CONFIG.read_text())
    # Nothing leaves the machine: the placeholder receivers would only fail DNS; wait long.
    config["route"]["group_wait"] = "1h"
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    with running(alertmanager_daemon(tmp_path, port, tmp_path / "am.yml"), timeout=20):
        yield port


def _states(port: int) -> dict[str, dict]:
    return {a["labels"]["alertname"] + "/" + a["labels"].get("target", a["labels"].get("service", "")): a["status"]
            for a in _api(port, "alerts")}


def test_symptoms_are_inhibited_while_the_slo_page_fires(alertmanager):
    port = alertmanager
    # Before the page: the symptom alert is active and would notify.
    # Two tenant gateways, gw and t2, each with its own SLO alerts (the rules keep `target`).
    ticket = {"severity": "warning", "slo": "websocket-availability", "long": "1d", "short": "2h"}
    _api(port, "alerts", [_alert(names.ALERT_GATEWAY_NOT_READY, severity="warning", target="gw"),
                          _alert(SLO_TICKET, target="gw", **ticket),
                          _alert(names.ALERT_GATEWAY_NOT_READY, severity="warning", target="t2"),
                          _alert(SLO_TICKET, target="t2", **ticket)])
    states = _states(port)
    assert states[f"{names.ALERT_GATEWAY_NOT_READY}/gw"]["state"] == "active"
    assert states[f"{SLO_TICKET}/gw"]["state"] == "active"

    # gw's page as the rules send it: one alert per window pair, with long/short labels.
    page = _alert(SLO_PAGE, severity="critical", slo="websocket-availability", long="1h", short="5m", target="gw")
    other_service = _alert(names.ALERT_WEBSOCKET_FAILING, severity="warning", target="other", result="timeout")
    other_service["labels"]["service"] = "some-other-gateway"
    _api(port, "alerts", [
        page,
        _alert(names.ALERT_WEBSOCKET_FAILING, severity="warning", target="gw", result="timeout"),
        _alert(names.ALERT_CRASH_LOOP, severity="warning", namespace="openclaw", pod="openclaw-gateway-1", container="openclaw-gateway"),
        _alert(names.ALERT_MEMORY_HIGH, severity="critical", namespace="openclaw", pod="openclaw-gateway-1", container="openclaw-gateway"),
        other_service,
    ])
    deadline = time.monotonic() + 10
    while True:
        states = _states(port)
        if states[f"{names.ALERT_GATEWAY_NOT_READY}/gw"]["state"] == "suppressed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert states[f"{SLO_PAGE}/gw"]["state"] == "active"
    for symptom in (f"{names.ALERT_GATEWAY_NOT_READY}/gw", f"{names.ALERT_WEBSOCKET_FAILING}/gw",
                    f"{names.ALERT_CRASH_LOOP}/openclaw-gateway", f"{SLO_TICKET}/gw"):
        assert states[symptom]["state"] == "suppressed", (symptom, states[symptom])
        assert states[symptom]["inhibitedBy"], symptom
    # Not a symptom (its own page), and a symptom of another service: both still notify.
    assert states[f"{names.ALERT_MEMORY_HIGH}/openclaw-gateway"]["state"] == "active"
    assert states[f"{names.ALERT_WEBSOCKET_FAILING}/other"]["state"] == "active"
    # The other tenant's symptom and ticket: gw's page says nothing about t2.
    assert states[f"{names.ALERT_GATEWAY_NOT_READY}/t2"]["state"] == "active"
    assert states[f"{SLO_TICKET}/t2"]["state"] == "active"
