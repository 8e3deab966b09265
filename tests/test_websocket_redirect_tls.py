"""The WebSocket probe never follows a redirect (the token would go along) and checks TLS.

Local aiohttp servers, not the real gateway: the gateway never answers an upgrade with a
redirect, and it serves no TLS itself (a TLS-terminating ingress does that in front of it).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from ports import free_port
from fakegateway import Recorder, handshake
from probehelpers import config_for, probe_once

TOKEN = "redirect-canary-token-0b7e6c1c"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GW_TOKEN", TOKEN)


@asynccontextmanager
async def site(handler, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None):
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
    try:
        yield port
    finally:
        await runner.cleanup()


def gateway_handler(rec: Recorder, requests: list):
    """A well-behaved scripted gateway that records every request and frame it receives."""
    async def handler(request: web.Request) -> web.StreamResponse:
        requests.append((request.method, str(request.url), dict(request.headers)))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await handshake(ws, rec)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"ok": True}})
        await ws.close()
        return ws
    return handler


def loopback_alias_available() -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.2", 0))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirected_upgrade_is_a_redirect_failure_and_the_next_hop_gets_nothing(status):
    if not loopback_alias_available():
        pytest.fail("127.0.0.2 is not bindable here: the test needs a second loopback address")
    rec, requests = Recorder(), []
    async with site(gateway_handler(rec, requests), host="127.0.0.2") as other_port:
        location = f"http://user:pw-in-location@127.0.0.2:{other_port}/elsewhere?keep=private"

        async def redirect(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": location})

        async with site(redirect) as port:
            outcome = await probe_once(config_for(f"http://127.0.0.1:{port}", token_env="GW_TOKEN",
                                                  websocket={"timeout": "2s"}), "websocket")
    assert requests == [], "the redirect target was contacted"
    assert rec.frames == [], "the redirect target received frames (the token with `connect`)"
    assert outcome.result == "redirect", (outcome.result, outcome.message)
    assert f"HTTP {status} redirect to http://127.0.0.2:{other_port}" in outcome.message
    for secret in (TOKEN, "pw-in-location", "/elsewhere", "keep=private"):
        assert secret not in outcome.message + "".join(outcome.logs)


async def test_relative_redirect_is_refused_too():
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/other"})

    async with site(redirect) as port:
        outcome = await probe_once(config_for(f"http://127.0.0.1:{port}", token_env="GW_TOKEN",
                                              websocket={"timeout": "2s"}), "websocket")
    assert outcome.result == "redirect"
    assert f"HTTP 302 redirect to ws://127.0.0.1:{port} " in outcome.message


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the CA is the certificate itself)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return str(cert), ctx


async def test_wss_self_signed_certificate_fails_with_tls(self_signed):
    _, server_ctx = self_signed
    rec, requests = Recorder(), []
    async with site(gateway_handler(rec, requests), ssl_context=server_ctx) as port:
        outcome = await probe_once(config_for(f"https://127.0.0.1:{port}", token_env="GW_TOKEN",
                                              websocket={"timeout": "2s"}), "websocket")
    assert outcome.result == "tls", (outcome.result, outcome.message)
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.message
    assert rec.frames == [], "the token went to an unverified server"


async def test_wss_with_tls_ca_file_verifies_and_succeeds(self_signed):
    cert, server_ctx = self_signed
    rec, requests = Recorder(), []
    async with site(gateway_handler(rec, requests), ssl_context=server_ctx) as port:
        outcome = await probe_once(config_for(f"https://127.0.0.1:{port}", token_env="GW_TOKEN", tls_ca_file=cert,
                                              websocket={"timeout": "2s"}), "websocket")
    assert outcome.result == "success", outcome.message
    assert len(requests) == 1
    assert rec.frames[0]["method"] == "connect" and rec.frames[0]["params"]["auth"] == {"token": TOKEN}
