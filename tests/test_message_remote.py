"""The message probe off loopback: the real gateway in a network namespace, the exporter outside.

The gateway (2026.9.6) runs inside a namespace this test creates (tests/netns.py), bound to its
LAN address, with the stub model provider (scripts/stub_provider.py) as its default agent's
provider. The stub listens on the host end of the veth pair, the only address of this machine
the namespace reaches (never on any other non-loopback address). `chat.send` needs
operator.write: off loopback a client gets it only as an approved device.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from ports import free_port
from openclaw_schema import names as c
from exporter.cli import main
from exporter.config import parse_config
from exporter.device import load_identity
from exporter.secrets import Redactor
from gateway import Gateway
from netns import NetNamespace, require_netns
from support.tools import require_gateway
from probehelpers import probe_once
from stub_provider import StubProvider

TURN_PHASES = (c.Phase.ADMIT, c.Phase.PREPARE, c.Phase.MODEL, c.Phase.COMPLETE)


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """(gateway, stub): the gateway in its namespace, the stub on the namespace's way out."""
    require_netns()
    require_gateway()
    home = tmp_path_factory.mktemp("gw-msg-remote-home")
    ns = NetNamespace().create()
    stub = gw = None
    try:
        stub = StubProvider(delay=0.05, host=ns.host_ip).start()
        token = "canary-msg-remote-" + os.urandom(8).hex()
        gw = Gateway(free_port(), token, home=str(home), netns=ns.name, host=ns.ns_ip, config=stub.gateway_config())
        gw.start(timeout=90)
        yield gw, stub
    finally:
        if gw is not None:
            gw.stop()
        if stub is not None:
            stub.stop()
        ns.remove()
        assert not ns.exists()


@pytest.fixture(autouse=True)
def fresh_state(tmp_path, monkeypatch, remote, prober_state):
    monkeypatch.setenv("GW_TOKEN", remote[0].token)
    prober_state.message.cap_file = str(tmp_path / "message-cap.json")


def cfg_doc(gw: Gateway, tmp_path: Path, identity: Path | None = None) -> dict:
    doc: dict = {"targets": [{"name": "gw", "url": gw.url, "token_env": "GW_TOKEN",
                              "websocket": {"timeout": "5s"},
                              "message": {"daily_cap": 100, "interval": "5m", "timeout": "40s"}}]}
    if identity is not None:
        doc["device"] = {"identity_file": str(identity), "token_file": str(tmp_path / "device-tokens.json")}
    return doc


def exporter_config(gw: Gateway, tmp_path: Path, identity: Path | None = None):
    return parse_config(cfg_doc(gw, tmp_path, identity))


def everything(outcome) -> str:
    return outcome.message + "\n".join(outcome.logs)


def new_identity(tmp_path: Path, name: str = "device.json"):
    path = tmp_path / name
    assert main(["device", "init", "--out", str(path)]) == 0
    return path, load_identity(str(path))


def pending_for(gw: Gateway, device_id: str) -> list[dict]:
    return [p for p in gw.devices()["pending"] if p["deviceId"] == device_id]


async def test_remote_message_without_device_identity_is_scope_missing(remote, tmp_path):
    gw, stub = remote
    calls = stub.calls
    outcome = await probe_once(exporter_config(gw, tmp_path), "message")
    # Never `forbidden` from chat.send after a silently skipped roll: the missing scope is named at hello-ok.
    assert outcome.result == "scope_missing", outcome.message
    assert "the gateway granted scopes [none], which lack operator.write needed by this module" in outcome.message
    assert "device.identity_file" in outcome.message and "docs/kubernetes.md" in outcome.message
    assert not any(line.startswith("chat.send") or " chat.send " in line for line in outcome.logs), outcome.logs
    assert stub.calls == calls  # no turn reached the provider
    assert gw.token not in everything(outcome)


async def test_remote_message_pairs_with_write_scope_then_runs_a_turn(remote, tmp_path):
    gw, stub = remote
    identity_file, identity = new_identity(tmp_path)
    cfg = exporter_config(gw, tmp_path, identity=identity_file)
    redactor = Redactor()
    calls = stub.calls

    # 1. Before approval: pairing_required naming the approve command; the request asks for write.
    before = await probe_once(cfg, "message", redactor)
    assert before.result == "pairing_required", before.message
    [pending] = pending_for(gw, identity.device_id)
    assert set(pending["scopes"]) == {"operator.read", "operator.write"}
    assert pending["remoteIp"] != "127.0.0.1"  # the gateway saw a remote client
    assert f"`openclaw devices approve {pending['requestId']}`" in before.message
    assert stub.calls == calls

    # 2. The operator approves once; 3. a whole turn through the remote gateway to the stub.
    assert identity.device_id in gw.approve(pending["requestId"])
    after = await probe_once(cfg, "message", redactor)
    assert after.result == "success", after.message
    for phase in TURN_PHASES:
        assert after.phases[phase] >= 0, phase
    assert after.phases[c.Phase.COLD] > 0
    assert any(re.search(r"scopes=operator\.read,operator\.write( |$)", line) for line in after.logs), after.logs
    assert stub.calls == calls + 1  # the stub saw exactly this turn

    [(key, entry)] = json.loads((tmp_path / "device-tokens.json").read_text())["tokens"].items()
    assert key == f"gw|{identity.device_id}|operator" and set(entry["scopes"]) == {"operator.read", "operator.write"}
    device_token = entry["token"]

    # 4. Without the shared token the device token alone carries the write scope: another turn.
    doc = cfg_doc(gw, tmp_path, identity_file)
    del doc["targets"][0]["token_env"]
    alone = await probe_once(parse_config(doc), "message", redactor)
    assert alone.result == "success", alone.message
    assert any("auth=device-token" in line for line in alone.logs), alone.logs
    assert stub.calls == calls + 2

    for outcome in (before, after, alone):
        text = everything(outcome)
        assert gw.token not in text and device_token not in text
        for secret in identity.secrets():
            assert secret not in text


async def test_remote_device_paired_for_read_must_approve_the_write_upgrade(remote, tmp_path):
    """A device first approved for the websocket module (operator.read) asks for more when the
    message module needs operator.write: pairing_required again until that upgrade is approved."""
    gw, stub = remote
    identity_file, identity = new_identity(tmp_path)
    cfg = exporter_config(gw, tmp_path, identity=identity_file)
    calls = stub.calls

    assert (await probe_once(cfg, "websocket")).result == "pairing_required"
    [pending] = pending_for(gw, identity.device_id)
    assert pending["scopes"] == ["operator.read"]
    gw.approve(pending["requestId"])
    assert (await probe_once(cfg, "websocket")).result == "success"

    # Asking for read only, the message module is granted it and says what it lacks and where.
    doc = cfg_doc(gw, tmp_path, identity_file)
    doc["targets"][0]["message"]["scopes"] = ["operator.read"]
    read_only = parse_config(doc)
    lacking = await probe_once(read_only, "message")
    assert lacking.result == "scope_missing", lacking.message
    assert ("the gateway granted scopes [operator.read], which lack operator.write needed by this module; "
            f"device {identity.device_id[:16]}... is approved without them") in lacking.message
    assert "request them in message.scopes" in lacking.message

    upgrade = await probe_once(cfg, "message")
    assert upgrade.result == "pairing_required", upgrade.message
    assert "more scopes than currently approved" in upgrade.message
    [pending] = pending_for(gw, identity.device_id)
    assert "operator.write" in pending["scopes"]
    assert f"`openclaw devices approve {pending['requestId']}`" in upgrade.message
    assert stub.calls == calls

    gw.approve(pending["requestId"])
    turn = await probe_once(cfg, "message")
    assert turn.result == "success", turn.message
    assert stub.calls == calls + 1
    # The websocket module keeps working with the widened approval, and after its connect the
    # device token alone (no shared token) still runs a turn.
    assert (await probe_once(cfg, "websocket")).result == "success"
    doc = cfg_doc(gw, tmp_path, identity_file)
    del doc["targets"][0]["token_env"]
    alone = await probe_once(parse_config(doc), "message")
    assert alone.result == "success", alone.message
    assert any("auth=device-token" in line for line in alone.logs), alone.logs
    assert stub.calls == calls + 2
