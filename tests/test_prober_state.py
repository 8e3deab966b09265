"""What probers keep between runs belongs to one exporter, not to the process: two exporters in
one process (as the tests start them) keep their own provider budget and auth memory, and the
model probe's runs share one HTTP client per CA setting, closed with the exporter."""

from __future__ import annotations

import os
import time

import httpx
import pytest
import respx
from aiohttp import web

from exporter.app import Exporter
from exporter.http_client import make_session
from fakegateway import Recorder, fake_gateway, hello_ok, send_challenge
from localservers import serve
from probehelpers import config_for
from tlshelpers import self_signed, serve_https

BASE = "https://dashscope.test/compatible-mode/v1"


@pytest.fixture(autouse=True)
def api_key(monkeypatch) -> None:
    monkeypatch.setenv("MODEL_API_KEY", "sk-test-prober-state")


def model_config(base_url: str = BASE, **settings: object):
    section = {"timeout": "3s", "provider": "bailian", "base_url": base_url, "api_key_env": "MODEL_API_KEY",
               "models": ["qwen3.5-plus"], "gateway_catalog": False, **settings}
    return config_for("http://127.0.0.1:9", websocket={"enabled": False}, model=section)


async def exporters(n: int) -> list[Exporter]:
    """Exporters that are not started (no config file, no scheduler): probed by hand."""
    made = [Exporter("unused.yml", jitter=False) for _ in range(n)]
    for ex in made:
        ex.session = make_session()
    return made


async def probe(ex: Exporter, config, module: str):
    target = config.targets[0]
    return await ex.probe(target, target.modules[module])


@respx.mock
async def test_two_exporters_keep_their_own_provider_retry_after(respx_mock):
    route = respx_mock.get(BASE + "/models").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "600"}, json={"error": {"message": "slow down"}}),
        httpx.Response(200, json={"object": "list", "data": [{"id": "qwen3.5-plus"}]}),
    ])
    first, second = await exporters(2)
    cfg = model_config()
    try:
        assert (await probe(first, cfg, "model")).result == "rate_limited"
        again = await probe(first, cfg, "model")
        assert again.result == "rate_limited" and "postponed until" in again.message
        assert route.call_count == 1
        # The other exporter was never told to wait: it calls the provider.
        other = await probe(second, cfg, "model")
        assert route.call_count == 2
        assert other.result == "success", other.message
    finally:
        for ex in (first, second):
            await ex.close()


def silent_after_first_accept():
    """A gateway that accepts `connect` once, then stays alive (answers pings) but never answers."""
    calls = {"n": 0}

    async def behaviour(ws, rec: Recorder):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        calls["n"] += 1
        if calls["n"] == 1:
            await ws.send_json(hello_ok(req["id"]))
            req = await rec.next_request(ws)
            await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {}})
            return
        async for _ in ws:
            pass
    return behaviour


async def test_two_exporters_keep_their_own_auth_memory(monkeypatch):
    """The first exporter saw this token accepted, so silence is a timeout (an outage); the
    second never saw it accepted, so the same silence reads as auth throttling."""
    monkeypatch.setenv("GW_TOKEN", "token-known-to-one-exporter")
    first, second = await exporters(2)
    try:
        async with fake_gateway(silent_after_first_accept()) as (url, _):
            cfg = config_for(url, token_env="GW_TOKEN", websocket={"timeout": "700ms"})
            assert (await probe(first, cfg, "websocket")).result == "success"
            knew = await probe(first, cfg, "websocket")
            never = await probe(second, cfg, "websocket")
        assert knew.result == "timeout", knew.message
        assert never.result == "auth_failed", never.message
    finally:
        for ex in (first, second):
            await ex.close()


async def test_model_runs_share_one_client_per_ca_setting_closed_with_the_exporter(monkeypatch, tmp_path):
    made: list[httpx.AsyncClient] = []

    class CountedClient(httpx.AsyncClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(httpx, "AsyncClient", CountedClient)  # model_provider imports httpx when a probe runs

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "qwen3.5-plus"}]})

    pair = self_signed(tmp_path / "certs")
    (ex,) = await exporters(1)
    try:
        async with serve(listing) as plain, serve_https(listing, pair) as tls:
            for _ in range(3):
                assert (await probe(ex, model_config(plain + "/v1"), "model")).result == "success"
            assert len(made) == 1, "each run opened its own HTTP client"
            # The CA setting is honoured: its own client, kept for the next runs too.
            for _ in range(2):
                outcome = await probe(ex, model_config(tls + "/v1", tls_ca_file=str(pair.cert)), "model")
                assert outcome.result == "success", outcome.message
            assert len(made) == 2
            # Without the CA file the same server is still refused (the shared client is not reused for it).
            assert (await probe(ex, model_config(tls + "/v1"), "model")).result == "tls"
            assert len(made) == 2
            # A CA file replaced in place (rotated) is read again: now it trusts someone else.
            other = self_signed(tmp_path / "rotated", name="other")
            ca = tmp_path / "ca.pem"
            ca.write_bytes(pair.cert.read_bytes())
            assert (await probe(ex, model_config(tls + "/v1", tls_ca_file=str(ca)), "model")).result == "success"
            ca.write_bytes(other.cert.read_bytes())
            os.utime(ca, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a new mtime even on a coarse clock
            assert (await probe(ex, model_config(tls + "/v1", tls_ca_file=str(ca)), "model")).result == "tls"
            assert len(made) == 4
    finally:
        await ex.close()
    assert all(client.is_closed for client in made)
