"""The WebSocket probe: real gateway for what it really does, a scripted server for faults."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest

from ports import free_port
from gateway import CACHE
from openclaw_schema import names as c
from fakegateway import Recorder, fake_gateway, handshake, send_challenge
from probehelpers import config_for, gauges, probe_once

SCHEMA_FILE = CACHE / "node_modules/@openclaw/gateway-protocol/protocol.schema.json"


def ws_config(url: str, **ws: object):
    ws = {"timeout": "2s", **ws}
    return config_for(url, token_env="GW_TOKEN", websocket=ws)


@pytest.fixture(autouse=True)
def scripted_server_token(monkeypatch):
    monkeypatch.setenv("GW_TOKEN", "token-for-scripted-servers")


@pytest.fixture
def token_env(monkeypatch, gateway_token):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    return gateway_token


# --- the real gateway ------------------------------------------------------------------------

async def test_real_gateway_handshake_and_health_rpc(real_gateway, token_env):
    outcome = await probe_once(ws_config(real_gateway.url), "websocket")
    assert outcome.result == "success", outcome.message
    assert set(outcome.phases) == {"connect", "challenge", "handshake", "rpc", "total"}
    assert sum(v for k, v in outcome.phases.items() if k != "total") <= outcome.phases["total"]
    g = gauges(outcome)
    info = [k for k in g if k[0] == c.GATEWAY_INFO]
    assert info == [(c.GATEWAY_INFO, (("protocol", "4"), ("version", "2026.9.6")))]
    assert g[(c.GATEWAY_PLUGINS_LOADED, ())] > 0
    assert g[(c.GATEWAY_PLUGIN_ERRORS, ())] == 0
    assert any("scopes=operator.read" in line for line in outcome.logs)


async def test_real_gateway_hello_lists_its_methods_when_asked(real_gateway, token_env):
    # The probe never reads hello-ok's method list (466 names), so it is parsed only on demand.
    from exporter.http_client import make_session
    from exporter.probes.base import ProbeRun
    from exporter.probes.prober_state import ProberState
    from exporter.probes.gateway_client import GatewayClient
    from exporter.secrets import Redactor

    target = ws_config(real_gateway.url).targets[0]
    session = make_session()
    run = ProbeRun(target.name, "websocket", Redactor(), session, ProberState())
    try:
        client = await GatewayClient.open(target, target.modules["websocket"].settings, run)
        await client.close()
    finally:
        await session.close()
    methods = client.hello.methods
    assert "health" in methods and "connect" not in methods and len(methods) > 100
    assert all(isinstance(m, str) for m in methods)


async def test_real_gateway_wrong_token_is_auth_failed(real_gateway, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", "wrong-token-for-this-test")
    outcome = await probe_once(ws_config(real_gateway.url), "websocket")
    assert outcome.result == "auth_failed"
    assert "AUTH_TOKEN_MISMATCH" in outcome.message
    assert "wrong-token-for-this-test" not in outcome.message + "".join(outcome.logs)


async def test_real_gateway_rpc_needing_an_ungranted_scope_is_forbidden(real_gateway, token_env):
    # exec.approvals.get needs operator.admin; the probe holds operator.read only.
    outcome = await probe_once(ws_config(real_gateway.url, rpc_method="exec.approvals.get"), "websocket")
    assert outcome.result == "forbidden"
    assert "MISSING_SCOPE" in outcome.message


async def test_nothing_listening_is_refused():
    outcome = await probe_once(ws_config(f"http://127.0.0.1:{free_port()}"), "websocket")
    assert outcome.result == "refused"


# --- frames we send match the official schema ------------------------------------------------

async def test_sent_frames_validate_against_the_protocol_schema(monkeypatch):
    monkeypatch.setenv("GW_TOKEN", "schema-check-token")
    schema = json.loads(SCHEMA_FILE.read_text())
    defs = schema["definitions"]

    async def behaviour(ws, rec: Recorder):
        await handshake(ws, rec)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"ok": True}})

    async with fake_gateway(behaviour) as (url, rec):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "success", outcome.message
    assert [f["method"] for f in rec.frames] == ["connect", "health"]
    # The file declares draft-07 semantics (tuple-style `items`), so validate with that draft.
    def validator(name: str) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator({"definitions": defs, "$ref": f"#/definitions/{name}"})
    for frame in rec.frames:
        validator("RequestFrame").validate(frame)
    validator("ConnectParams").validate(rec.frames[0]["params"])
    # And the check can fail: a frame with a stray key is rejected.
    with pytest.raises(jsonschema.ValidationError):
        validator("RequestFrame").validate({**rec.frames[1], "extra": 1})
    assert schema["methods"]["health"]["scope"] == "operator.read"


# --- faults the real gateway cannot be made to produce (scripted local server) ---------------

async def _silence(ws, rec):
    await asyncio.sleep(30)


async def test_no_challenge():
    async with fake_gateway(_silence) as (url, _):
        outcome = await probe_once(ws_config(url, challenge_timeout="200ms"), "websocket")
    assert outcome.result == "no_challenge"


async def test_wrong_first_frame_is_no_challenge():
    async def behaviour(ws, rec):
        await ws.send_json({"type": "event", "event": "tick", "payload": {}})
        await asyncio.sleep(5)
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "no_challenge"


async def test_challenge_then_silence_times_out_in_handshake():
    async def behaviour(ws, rec):
        await send_challenge(ws)
        await asyncio.sleep(30)
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url, timeout="500ms", interval="1s"), "websocket")
    assert (outcome.result, outcome.timeout_phase) == ("timeout", "handshake")


async def test_non_json_frame_is_invalid_frame():
    async def behaviour(ws, rec):
        await send_challenge(ws)
        await rec.next_request(ws)
        await ws.send_str("<html>not a frame</html>")
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "invalid_frame" and "non-JSON" in outcome.message


async def test_response_with_a_different_id_is_invalid_frame():
    async def behaviour(ws, rec):
        await handshake(ws, rec)
        await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": "someone-else", "ok": True, "payload": {}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "invalid_frame" and "does not match" in outcome.message


async def test_oversized_frame_is_invalid_frame():
    async def behaviour(ws, rec):
        await handshake(ws, rec)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"blob": "x" * 5000}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url, max_frame_bytes=1024), "websocket")
    assert outcome.result == "invalid_frame" and "oversized" in outcome.message


async def test_close_code_1002_is_protocol_mismatch():
    async def behaviour(ws, rec):
        await send_challenge(ws)
        await rec.next_request(ws)
        await ws.close(code=1002, message=b"protocol mismatch")
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "protocol_mismatch" and "1002" in outcome.message


async def test_protocol_mismatch_error_detail():
    async def behaviour(ws, rec):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": False, "error": {
            "code": "INVALID_REQUEST", "message": "protocol mismatch",
            "details": {"code": "PROTOCOL_MISMATCH", "expectedProtocol": 5}}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "protocol_mismatch"


async def test_upgrade_answered_with_403_is_upgrade_rejected():
    async with fake_gateway(_silence, upgrade_status=403) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "upgrade_rejected" and "403" in outcome.message


async def test_socket_closed_mid_exchange_is_closed():
    async def behaviour(ws, rec):
        await handshake(ws, rec)
        await rec.next_request(ws)
        await ws.close(code=1001, message=b"going away")
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "closed" and "1001" in outcome.message


async def test_startup_sidecars_is_unavailable():
    async def behaviour(ws, rec):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": False, "error": {
            "code": "UNAVAILABLE", "message": "gateway starting", "retryable": True, "retryAfterMs": 500,
            "details": {"reason": "startup-sidecars"}}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "unavailable"
    assert "startup-sidecars" in outcome.message and "retry_after_ms=500" in outcome.message


async def test_pairing_required():
    async def behaviour(ws, rec):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": False, "error": {
            "code": "NOT_PAIRED", "message": "pairing required",
            "details": {"code": "PAIRING_REQUIRED", "reason": "not-paired"}}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "pairing_required"


async def test_unknown_error_code_is_rpc_error_and_logged():
    async def behaviour(ws, rec):
        await handshake(ws, rec)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": False,
                            "error": {"code": "BRAND_NEW_CODE", "message": "something new"}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "rpc_error" and "BRAND_NEW_CODE" in outcome.message
    assert any("unrecognised error code" in line and "BRAND_NEW_CODE" in line for line in outcome.logs)


async def test_events_before_the_response_are_skipped():
    # The real gateway pushes a `health` event before answering the health RPC.
    async def behaviour(ws, rec):
        await handshake(ws, rec)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "event", "event": "health", "payload": {"ok": True}})
        await ws.send_json({"type": "res", "id": req["id"], "ok": True,
                            "payload": {"ok": True, "plugins": {"loaded": ["a", "b"], "errors": ["c"]}}})
    async with fake_gateway(behaviour) as (url, _):
        outcome = await probe_once(ws_config(url), "websocket")
    assert outcome.result == "success"
    g = gauges(outcome)
    assert (g[(c.GATEWAY_PLUGINS_LOADED, ())], g[(c.GATEWAY_PLUGIN_ERRORS, ())]) == (2, 1)


async def test_gateway_auth_throttling_still_reads_as_auth_failed(gateway_token, tmp_path, monkeypatch):
    """The real gateway answers repeated wrong tokens ever later (0.25, 0.5, 1, 2, 4, 5 s); a
    probe timing out meanwhile must stay `auth_failed`, never become a `timeout` (an outage).
    A gateway of its own: the throttling would slow other tests' wrong-token probes."""
    from gateway import Gateway

    gw = Gateway(free_port(), gateway_token, home=str(tmp_path / "home"))
    try:
        await asyncio.to_thread(gw.start)
        monkeypatch.setenv("GW_TOKEN", "rotated-token-the-gateway-does-not-know")
        config = ws_config(gw.url, timeout="700ms", interval="1s")
        results = [(await probe_once(config, "websocket")) for _ in range(5)]
        assert [o.result for o in results] == ["auth_failed"] * 5, [(o.result, o.message) for o in results]
        assert "AUTH_TOKEN_MISMATCH" in results[0].message
        assert "throttles repeated failed authentication" in results[-1].message
        # The right token is answered again, and the memory of the rejection is cleared.
        monkeypatch.setenv("GW_TOKEN", gateway_token)
        ok = await probe_once(ws_config(gw.url, timeout="6s", interval="10s"), "websocket")
        assert ok.result == "success", ok.message
    finally:
        await asyncio.to_thread(gw.stop)
