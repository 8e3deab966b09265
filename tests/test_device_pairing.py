"""Device identity and pairing: the real gateway reached off loopback, as from another pod.

The gateway runs in a network namespace this test creates (tests/netns.py), bound to its LAN
address; the exporter probes from outside. Off loopback the gateway grants a client without an
approved device identity no scopes; with an identity it asks for pairing until an operator
runs `openclaw devices approve`, then issues a device token.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from ports import free_port
from openclaw_schema import names as c
from exporter.cli import main
from exporter.config import ConfigError, parse_config
from exporter.device import DeviceIdentity, auth_payload_v2, auth_payload_v3, load_identity
from exporter.secrets import Redactor
from fakegateway import Recorder, fake_gateway, hello_ok, send_challenge
from gateway import Gateway
from netns import NetNamespace, require_netns
from support.tools import require_gateway
from probehelpers import gauges, probe_once

GATEWAY_MODEL = "stub/probe-model"


def exporter_config(url: str, tmp_path: Path, identity: Path | None = None, **model: object):
    doc: dict = {"targets": [{
        "name": "gw", "url": url, "token_env": "GW_TOKEN",
        "websocket": {"timeout": "5s"},
        "model": {"timeout": "5s", "gateway_model": GATEWAY_MODEL, **model},
    }]}
    if identity is not None:
        doc["device"] = {"identity_file": str(identity), "token_file": str(tmp_path / "device-tokens.json")}
    return parse_config(doc)


def everything(outcome) -> str:
    return outcome.message + "\n".join(outcome.logs)


# --- device init and the identity file -------------------------------------------------------

def test_device_init_writes_a_0600_identity_and_prints_only_public_facts(tmp_path, capsys):
    out = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    identity = load_identity(str(out))
    assert f"device id:  {identity.device_id}" in printed
    assert f"public key: {identity.public_key}" in printed
    for secret in identity.secrets():
        assert secret not in printed
    # The id is the SHA-256 of the raw public key, as the gateway derives it.
    import base64
    import hashlib
    raw = base64.urlsafe_b64decode(identity.public_key + "=")
    assert len(raw) == 32 and identity.device_id == hashlib.sha256(raw).hexdigest()
    # A second init would make a new device that must be approved again: refused unless forced.
    assert main(["device", "init", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert load_identity(str(out)).device_id == identity.device_id
    assert main(["device", "init", "--out", str(out), "--force"]) == 0
    assert load_identity(str(out)).device_id != identity.device_id


@pytest.mark.parametrize("content, says", [
    (None, "cannot read device identity file {path}: No such file or directory"),
    ("not json {", "device identity file {path}: the private key is not an unencrypted PEM (PKCS#8) key"),
    ('{"version": 1}', "device identity file {path} has no privateKeyPem string: create one with "
                       "`openclaw-exporter device init --out FILE`"),
    ('{"version": 1, "privateKeyPem": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}',
     "device identity file {path}: the private key is not an unencrypted PEM (PKCS#8) key"),
])
def test_unusable_identity_file_is_a_config_error_naming_it(tmp_path, content, says):
    path = tmp_path / "device.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as err:
        exporter_config("http://127.0.0.1:18789", tmp_path, identity=path)
    assert err.value.problems == [f"device.identity_file: {says.format(path=path)}"]


def test_identity_whose_id_does_not_match_its_key_is_rejected(tmp_path):
    path = tmp_path / "device.json"
    doc = DeviceIdentity.generate().document()
    doc["deviceId"] = "0" * 64
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as err:
        exporter_config("http://127.0.0.1:18789", tmp_path, identity=path)
    assert "does not match its key" in err.value.problems[0]


def test_device_section_needs_an_identity_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": [{"name": "gw", "url": "http://127.0.0.1:18789"}], "device": {"token_file": "/x"}})
    assert err.value.problems == ["device.identity_file: is required"]


# --- v2 fallback (a scripted gateway: the real one accepts v3) -------------------------------

async def test_gateway_rejecting_the_v3_signature_gets_v2_on_a_new_connection(tmp_path, monkeypatch):
    """A gateway from before the v3 payload verifies v2 only; the real 2026.9.6 accepts v3, so this
    fault needs a scripted server. The probe reconnects once, signing v2, and succeeds."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    import base64
    monkeypatch.setenv("GW_TOKEN", "token-for-scripted-servers")
    identity_file = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(identity_file)]) == 0
    identity = load_identity(str(identity_file))
    verified: list[str] = []

    def verify(device: dict, params: dict, payload: str) -> bool:
        key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(device["publicKey"] + "="))
        try:
            key.verify(base64.urlsafe_b64decode(device["signature"] + "=="), payload.encode())
            return True
        except Exception:  # noqa: BLE001 - InvalidSignature
            return False

    async def old_gateway(ws, rec: Recorder):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        p, d = req["params"], req["params"]["device"]
        common = dict(device_id=d["id"], client_id=p["client"]["id"], client_mode=p["client"]["mode"], role=p["role"],
                      scopes=p["scopes"], signed_at_ms=d["signedAt"], token=p["auth"]["token"], nonce=d["nonce"])
        if verify(d, p, auth_payload_v2(**common)):
            verified.append("v2")
            await ws.send_json(hello_ok(req["id"]))
            req = await rec.next_request(ws)
            await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"ok": True}})
            return
        assert verify(d, p, auth_payload_v3(**common, platform=p["client"]["platform"]))
        verified.append("v3-rejected")
        await ws.send_json({"type": "res", "id": req["id"], "ok": False, "error": {
            "code": "INVALID_REQUEST", "message": "device signature invalid",
            "details": {"code": "DEVICE_AUTH_SIGNATURE_INVALID", "reason": "device-signature"}}})

    async with fake_gateway(old_gateway) as (url, rec):
        cfg = parse_config({"targets": [{"name": "old-gw", "url": url, "token_env": "GW_TOKEN"}],
                            "device": {"identity_file": str(identity_file), "token_file": str(tmp_path / "t.json")}})
        outcome = await probe_once(cfg, "websocket")
        assert outcome.result == "success", outcome.message
        assert verified == ["v3-rejected", "v2"]
        assert [f["params"]["device"]["id"] for f in rec.frames if f["method"] == "connect"] == [identity.device_id] * 2
        # Remembered: the next probe signs v2 at once.
        outcome = await probe_once(cfg, "websocket")
        assert outcome.result == "success", outcome.message
        assert verified == ["v3-rejected", "v2", "v2"]


# --- the real gateway off loopback -------------------------------------------------------------

@pytest.fixture(scope="module")
def remote_gateway(tmp_path_factory):
    """The real gateway in its own network namespace, bound to the namespace's LAN address, with
    a configured provider (never called: models.list reads the config) so models.list lists a model."""
    require_netns()
    require_gateway()
    home = tmp_path_factory.mktemp("gw-remote-home")
    provider, _, model = GATEWAY_MODEL.partition("/")
    config = {
        "models": {"mode": "merge", "providers": {provider: {
            "baseUrl": "http://127.0.0.1:9/v1", "apiKey": "stub-provider-key", "api": "openai-completions",
            "models": [{"id": model, "name": "Probe model", "reasoning": False, "input": ["text"],
                        "contextWindow": 32000, "maxTokens": 1024}]}}},
        "agents": {"defaults": {"model": {"primary": GATEWAY_MODEL}, "heartbeat": {"every": "0m"}}},
        "logging": {"file": str(home / "openclaw-file.log")},
    }
    ns = NetNamespace().create()
    token = "canary-remote-" + os.urandom(8).hex()
    gw = Gateway(free_port(), token, home=str(home), netns=ns.name, host=ns.ns_ip, config=config)
    try:
        gw.start(timeout=90)
        yield gw
    finally:
        gw.stop()
        ns.remove()
        assert not ns.exists()


@pytest.fixture
def remote_token(remote_gateway, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", remote_gateway.token)
    return remote_gateway.token


async def test_remote_probe_without_device_identity_gets_no_scopes(remote_gateway, remote_token, tmp_path):
    cfg = exporter_config(remote_gateway.url, tmp_path)
    ws = await probe_once(cfg, "websocket")
    # health answers a client granted no scopes...
    assert ws.result == "success", ws.message
    assert any(re.search(r"hello-ok .*scopes=-( |$)", line) for line in ws.logs), ws.logs
    # ...models.list does not: scope_missing names the scope and the way out, never a timeout.
    model = await probe_once(cfg, "model")
    assert model.result == "scope_missing", model.message
    assert "the gateway granted scopes [none], which lack operator.read needed by this module" in model.message
    assert "device.identity_file" in model.message and "docs/kubernetes.md" in model.message
    assert remote_token not in everything(ws) + everything(model)


async def test_remote_probe_pairs_once_then_succeeds_with_the_device_token(remote_gateway, remote_token, tmp_path):
    identity_file = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(identity_file)]) == 0
    identity = load_identity(str(identity_file))
    cfg = exporter_config(remote_gateway.url, tmp_path, identity=identity_file)
    redactor = Redactor()

    # 1. Before approval: pairing_required, naming the command with the gateway's request id.
    ws = await probe_once(cfg, "websocket", redactor)
    assert ws.result == "pairing_required", ws.message
    pending = [p for p in remote_gateway.devices()["pending"] if p["deviceId"] == identity.device_id]
    assert len(pending) == 1 and pending[0]["scopes"] == ["operator.read"]
    assert pending[0]["remoteIp"] != "127.0.0.1"  # the gateway saw a remote client
    request_id = pending[0]["requestId"]
    assert f"`openclaw devices approve {request_id}`" in ws.message
    model = await probe_once(cfg, "model", redactor)
    assert model.result == "pairing_required", model.message
    assert not (tmp_path / "device-tokens.json").exists()

    # 2. The operator approves once.
    assert identity.device_id in remote_gateway.approve(request_id)

    # 3. Both modules succeed with operator.read; the issued device token is kept, 0600.
    ws = await probe_once(cfg, "websocket", redactor)
    assert ws.result == "success", ws.message
    assert any("scopes=operator.read" in line for line in ws.logs), ws.logs
    tokens_file = tmp_path / "device-tokens.json"
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    stored = json.loads(tokens_file.read_text())["tokens"]
    [(key, entry)] = stored.items()
    assert key == f"gw|{identity.device_id}|operator" and entry["scopes"] == ["operator.read"]
    device_token = entry["token"]
    model = await probe_once(cfg, "model", redactor)
    assert model.result == "success", model.message
    assert gauges(model)[(c.MODEL_GATEWAY_LISTED, ((c.LABEL_MODEL, GATEWAY_MODEL),))] == 1.0

    # 4. Without the shared token the exporter authenticates with the device token alone.
    paired = [d for d in remote_gateway.devices()["paired"] if d["deviceId"] == identity.device_id]
    assert len(paired) == 1
    cfg_no_shared = parse_config({
        "targets": [{"name": "gw", "url": remote_gateway.url, "websocket": {"timeout": "5s"},
                     "model": {"timeout": "5s", "gateway_model": GATEWAY_MODEL}}],
        "device": {"identity_file": str(identity_file), "token_file": str(tokens_file)}})
    model = await probe_once(cfg_no_shared, "model", redactor)
    assert model.result == "success", model.message
    assert any("auth=device-token" in line for line in model.logs), model.logs

    # 5. A revoked device token: auth_failed (never a timeout), and the exporter forgets it.
    done = remote_gateway.cli("devices", "revoke", "--device", identity.device_id, "--role", "operator")
    assert done.returncode == 0, done.stderr[-500:]
    revoked = await probe_once(cfg_no_shared, "websocket", redactor)
    assert revoked.result == "auth_failed", revoked.message
    assert "AUTH_DEVICE_TOKEN_MISMATCH" in revoked.message
    assert json.loads(tokens_file.read_text())["tokens"] == {}
    # With the shared token the device asks to be approved again (the revoked role), by request id.
    again = await probe_once(cfg, "websocket", redactor)
    assert again.result == "pairing_required", again.message
    assert "`openclaw devices approve " in again.message

    # Nothing secret in any output: not the shared token, the device token or the private key.
    for outcome in (ws, model, revoked, again):
        text = everything(outcome)
        assert remote_token not in text and device_token not in text
        for secret in identity.secrets():
            assert secret not in text


def test_reload_restarts_probes_only_when_the_device_identity_changes(tmp_path):
    """A reload that adds, replaces or drops the identity must restart the probes (they sign with
    it); one that reads the same key again keeps their schedule."""
    from exporter.scheduler import probe_inputs
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["device", "init", "--out", str(first)]) == 0
    assert main(["device", "init", "--out", str(second)]) == 0

    def inputs(identity):
        cfg = exporter_config("http://127.0.0.1:18789", tmp_path, identity=identity)
        target = cfg.targets[0]
        return probe_inputs(target, target.modules["websocket"])
    assert inputs(first) == inputs(first)
    assert inputs(first) != inputs(None)
    assert inputs(first) != inputs(second)


async def test_device_identity_on_loopback_changes_nothing(real_gateway, gateway_token, monkeypatch, tmp_path):
    """On loopback the gateway grants gateway-client/backend the requested scopes with the shared
    token, signed identity or not, and creates no pairing request: the identity must not break it."""
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    identity_file = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(identity_file)]) == 0
    cfg = exporter_config(real_gateway.url, tmp_path, identity=identity_file)
    outcome = await probe_once(cfg, "websocket")
    assert outcome.result == "success", outcome.message
    assert any("signing challenge" in line and "payload=v3" in line for line in outcome.logs), outcome.logs
    assert any("scopes=operator.read" in line for line in outcome.logs), outcome.logs


async def test_connect_with_a_device_block_validates_against_the_protocol_schema(tmp_path, monkeypatch):
    import jsonschema
    from gateway import CACHE
    monkeypatch.setenv("GW_TOKEN", "schema-check-token")
    defs = json.loads((CACHE / "node_modules/@openclaw/gateway-protocol/protocol.schema.json").read_text())["definitions"]
    identity_file = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(identity_file)]) == 0

    async def behaviour(ws, rec: Recorder):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        ok = hello_ok(req["id"])
        ok["payload"]["auth"]["deviceToken"] = "issued-device-token-0123456789"
        await ws.send_json(ok)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"ok": True}})

    async with fake_gateway(behaviour) as (url, rec):
        # No shared token: the device token from the first hello-ok is what the second connect sends.
        cfg = parse_config({"targets": [{"name": "gw", "url": url}],
                            "device": {"identity_file": str(identity_file), "token_file": str(tmp_path / "t.json")}})
        assert (await probe_once(cfg, "websocket")).result == "success"
        assert (await probe_once(cfg, "websocket")).result == "success"
    connects = [f["params"] for f in rec.frames if f["method"] == "connect"]
    validator = jsonschema.Draft7Validator({"definitions": defs, "$ref": "#/definitions/ConnectParams"})
    for params in connects:
        validator.validate(params)
    assert "auth" not in connects[0]
    assert connects[1]["auth"] == {"token": "issued-device-token-0123456789", "deviceToken": "issued-device-token-0123456789"}
    # The signature covers the token sent (v3 payload), verified with the public key it carries.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    import base64
    d, p = connects[1]["device"], connects[1]
    payload = auth_payload_v3(device_id=d["id"], client_id=p["client"]["id"], client_mode=p["client"]["mode"],
                              role=p["role"], scopes=p["scopes"], signed_at_ms=d["signedAt"],
                              token="issued-device-token-0123456789", nonce=d["nonce"], platform=p["client"]["platform"])
    Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(d["publicKey"] + "=")).verify(
        base64.urlsafe_b64decode(d["signature"] + "=="), payload.encode())


async def test_gateway_demanding_a_device_identity_says_how_to_configure_one(monkeypatch):
    """DEVICE_IDENTITY_REQUIRED (a gateway policy the default install does not apply to
    gateway-client/backend, hence a scripted server) names the config key and the command."""
    monkeypatch.setenv("GW_TOKEN", "token-for-scripted-servers")

    async def behaviour(ws, rec):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": False, "error": {
            "code": "NOT_PAIRED", "message": "device identity required",
            "details": {"code": "DEVICE_IDENTITY_REQUIRED"}}})
    async with fake_gateway(behaviour) as (url, _):
        cfg = parse_config({"targets": [{"name": "gw", "url": url, "token_env": "GW_TOKEN"}]})
        outcome = await probe_once(cfg, "websocket")
    assert outcome.result == "pairing_required"
    assert "set device.identity_file (`openclaw-exporter device init`)" in outcome.message


def test_check_names_the_device_id_to_compare_with_the_pending_request(tmp_path, capsys):
    identity_file = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(identity_file)]) == 0
    device_id = load_identity(str(identity_file)).device_id
    config = tmp_path / "exporter.yml"
    config.write_text(json.dumps({"targets": [{"name": "gw", "url": "http://127.0.0.1:18789"}],
                                  "slo": {"state_file": str(tmp_path / "slo.sqlite")},
                                  "device": {"identity_file": str(identity_file)}}))
    capsys.readouterr()
    assert main(["check", "--config.file", str(config)]) == 0
    out = capsys.readouterr().out
    # The token file defaults to beside slo.state_file.
    assert (f"device identity {device_id} from {identity_file}; device tokens in "
            f"{tmp_path / 'slo.sqlite'}.device-tokens.json") in out
    assert all(secret not in out for secret in load_identity(str(identity_file)).secrets())
