"""The model probe never hands the provider API key to a redirect target and checks https
certificates. The provider is played by loopback aiohttp servers (plain and https with a
self-signed certificate): redirects and certificates are what is tested, and respx patches
httpx above the TLS layer."""

from __future__ import annotations

import secrets

import pytest
from aiohttp import web

from ports import free_port
from localservers import serve
from probehelpers import config_for, probe_once
from tlshelpers import self_signed, serve_https


@pytest.fixture
def api_key(monkeypatch) -> str:
    key = "sk-canary-" + secrets.token_hex(16)
    monkeypatch.setenv("MODEL_API_KEY", key)
    return key


def provider_config(base_url: str, **settings: object):
    section = {"timeout": "3s", "provider": "bailian", "base_url": base_url, "api_key_env": "MODEL_API_KEY",
               "models": ["qwen3.5-plus"], "gateway_catalog": False, **settings}
    return config_for(f"http://127.0.0.1:{free_port()}", websocket={"enabled": False}, model=section)


async def listing(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "qwen3.5-plus", "object": "model"}]})


def recorder(seen: list[str | None]):
    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return await listing(request)
    return handler


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_to_another_host_is_a_redirect_failure_and_the_key_stays_home(api_key, status):
    elsewhere_seen: list[str | None] = []
    async with serve(recorder(elsewhere_seen)) as elsewhere:
        async def redirecting(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": elsewhere + "/v1/models?x=1"})
        async with serve(redirecting) as provider:
            outcome = await probe_once(provider_config(provider + "/v1"), "model")
    assert outcome.result == "redirect"
    assert f"redirected (HTTP {status}) to {elsewhere}/v1/models" in outcome.message
    assert "set base_url to the final URL" in outcome.message
    assert elsewhere_seen == []  # never contacted, so the key never left
    assert api_key not in outcome.message + "\n".join(outcome.logs)


async def test_redirect_on_the_same_host_is_not_followed_either(api_key):
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path == "/v1/models":
            return web.Response(status=302, headers={"Location": "/v2/models"})
        return await listing(request)
    async with serve(handler) as provider:
        outcome = await probe_once(provider_config(provider + "/v1"), "model")
    assert outcome.result == "redirect" and "to /v2/models" in outcome.message
    assert seen == ["/v1/models"]


async def test_https_provider_with_an_untrusted_certificate_is_tls_and_a_ca_file_trusts_it(tmp_path, api_key):
    pair = self_signed(tmp_path / "certs")
    seen: list[str | None] = []
    async with serve_https(recorder(seen), pair) as provider:
        outcome = await probe_once(provider_config(provider + "/v1"), "model")
        assert outcome.result == "tls", outcome.message
        assert "certificate verify failed" in outcome.message
        assert seen == []  # the request (and its key) was never sent over the unverified connection

        outcome = await probe_once(provider_config(provider + "/v1", tls_ca_file=str(pair.cert)), "model")
        assert outcome.result == "success", outcome.message
        assert seen == ["Bearer " + api_key]

        # A CA file that is not this server's: still refused.
        other = self_signed(tmp_path / "other", name="other")
        outcome = await probe_once(provider_config(provider + "/v1", tls_ca_file=str(other.cert)), "model")
        assert outcome.result == "tls"

        outcome = await probe_once(provider_config(provider + "/v1", tls_ca_file=str(tmp_path / "missing.pem")), "model")
        assert outcome.result == "config_error"
        assert f"model.tls_ca_file {tmp_path / 'missing.pem'}: cannot load CA certificates" in outcome.message
