"""The readiness probe, against the real gateway and, for faults it cannot produce, local servers."""

from __future__ import annotations

import pytest

from ports import free_port
from openclaw_schema import names as c
from localservers import fixed, serve, tarpit
from probehelpers import config_for, gauges, probe_once


async def test_real_gateway_is_ready_with_details(real_gateway, gateway_token, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    outcome = await probe_once(config_for(real_gateway.url, token_env="GW_TOKEN"), "readiness")
    assert outcome.result == "success", outcome.message
    assert set(outcome.phases) == {"connect", "first_byte", "total"}
    assert 0 < outcome.phases["connect"] <= outcome.phases["total"]
    g = gauges(outcome)
    assert g[(c.GATEWAY_READY, ())] == 1.0
    # Loopback callers get the event-loop details; values are converted to base units.
    assert 0 <= g[(c.GATEWAY_EVENT_LOOP_DELAY_P99, ())] < 5
    assert g[(c.GATEWAY_UPTIME, ())] > 0
    assert not [k for k in g if k[0] == c.GATEWAY_READINESS_FAILING]


async def test_real_gateway_html_page_with_200_is_invalid_body(real_gateway):
    # Unknown paths fall through to the control UI: HTML with status 200 must not count as ready.
    outcome = await probe_once(config_for(real_gateway.url, readiness={"path": "/no-such-probe"}), "readiness")
    assert outcome.result == "invalid_body"
    assert "text/html" in outcome.message


async def test_nothing_listening_is_refused():
    outcome = await probe_once(config_for(f"http://127.0.0.1:{free_port()}"), "readiness")
    assert outcome.result == "refused"


async def test_unresolvable_host_is_dns():
    outcome = await probe_once(config_for("http://gateway.invalid:18789"), "readiness")
    assert outcome.result == "dns"


async def test_tarpit_times_out_in_first_byte():
    # Local server: the real gateway cannot be made to accept and then never answer.
    async with serve(tarpit()) as url:
        outcome = await probe_once(config_for(url, readiness={"timeout": "300ms", "interval": "1s"}), "readiness")
    assert outcome.result == "timeout"
    assert outcome.timeout_phase == "first_byte"
    assert "first_byte" in outcome.message


async def test_503_with_failing_subsystems_is_not_ready():
    # Local server: making the real gateway fail a subsystem on demand is not possible here.
    body = '{"ready":false,"failing":["agent-database:main","plugin-reload"],"uptimeMs":1200}'
    async with serve(fixed(503, body)) as url:
        outcome = await probe_once(config_for(url), "readiness")
    assert outcome.result == "not_ready"
    assert "agent-database:main" in outcome.message
    g = gauges(outcome)
    assert g[(c.GATEWAY_READY, ())] == 0.0
    assert g[(c.GATEWAY_READINESS_FAILING, ((c.LABEL_SUBSYSTEM, "plugin-reload"),))] == 1.0
    assert g[(c.GATEWAY_UPTIME, ())] == pytest.approx(1.2)
    # The body has no eventLoop: those metrics are absent, not zero.
    assert (c.GATEWAY_EVENT_LOOP_DELAY_P99, ()) not in g


async def test_invalid_json_is_invalid_body():
    async with serve(fixed(200, '{"ready": tru')) as url:
        outcome = await probe_once(config_for(url), "readiness")
    assert outcome.result == "invalid_body"
    assert "invalid JSON" in outcome.message


async def test_remote_style_body_without_details():
    # What a remote unauthenticated caller gets: only ok/status; details absent, not zero.
    async with serve(fixed(200, '{"ok":true,"status":"live"}')) as url:
        outcome = await probe_once(config_for(url), "readiness")
    assert outcome.result == "success"
    assert set(k[0] for k in gauges(outcome)) == {c.GATEWAY_READY}


async def test_unexpected_status_is_http_error():
    async with serve(fixed(500, "boom", "text/plain")) as url:
        outcome = await probe_once(config_for(url), "readiness")
    assert outcome.result == "http_error"
    assert "500" in outcome.message
