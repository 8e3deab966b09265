"""The readiness probe's own HTTP client (exporter/probes/http_get.py) on the wire.

Local servers throughout: the real gateway always answers /readyz with a small well-formed
response, so broken framing (chunks, Content-Length, a connection cut mid-body, bytes that are
not HTTP, a stalled body), redirects and TLS can only come from servers written to misbehave.
Scripted responses go through a raw TCP listener, byte for byte, so no server library tidies them.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from conftest import free_port
from localservers import ConnectionCounter
from probehelpers import config_for, gauges, probe_once
from tlshelpers import self_signed, serve_https

from openclaw_schema import names as c

TOKEN = "readyz-canary-token-5f1d"
READY = b'{"ready":true,"failing":[],"uptimeMs":5000}'


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GW_TOKEN", TOKEN)


class Scripted:
    """A raw TCP server: reads one request head, then writes ``parts`` (bytes, or a float to
    sleep that long), then closes, or holds the connection open when ``hold`` is set."""

    def __init__(self, parts: list[bytes | float], hold: bool = False) -> None:
        self.parts, self.hold = parts, hold
        self.requests: list[bytes] = []

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                self.requests.append(await reader.readuntil(b"\r\n\r\n"))
                for part in self.parts:
                    if isinstance(part, float):
                        await asyncio.sleep(part)
                    else:
                        writer.write(part)
                        await writer.drain()
                if self.hold:
                    await asyncio.sleep(30)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        port = free_port()
        server = await asyncio.start_server(on_conn, "127.0.0.1", port)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.close()
            await server.wait_closed()


def head(status: str = "200 OK", *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def probe(url: str, **target) -> object:
    target.setdefault("token_env", "GW_TOKEN")
    target.setdefault("readiness", {"timeout": "1s", "interval": "5s"})
    target = {k: v for k, v in target.items() if v is not None}  # token_env=None: no default token
    return await probe_once(config_for(url, **target), "readiness")


async def test_request_carries_token_and_asks_to_close():
    server = Scripted([head("200 OK", "Content-Type: application/json", f"Content-Length: {len(READY)}") + READY])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "success", outcome.message
    request = server.requests[0].decode()
    assert request.startswith("GET /readyz HTTP/1.1\r\n")
    assert f"Host: {url.removeprefix('http://')}\r\n" in request
    assert f"Authorization: Bearer {TOKEN}\r\n" in request
    assert "Connection: close\r\n" in request
    assert set(outcome.phases) == {"connect", "first_byte", "total"}
    assert TOKEN not in "".join(outcome.logs)


async def test_chunked_body_split_across_writes_is_read_whole():
    body = chunk(READY[:10]) + chunk(READY[10:]) + b"0\r\n\r\n"
    server = Scripted([head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"),
                       body[:7], 0.02, body[7:]], hold=True)
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "success", outcome.message
    assert gauges(outcome)[(c.GATEWAY_UPTIME, ())] == 5.0


async def test_body_delimited_by_close_is_read_whole():
    server = Scripted([head("200 OK", "Content-Type: application/json"), READY[:5], 0.02, READY[5:]])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "success", outcome.message


async def test_gzip_body_is_decoded():
    packed = gzip.compress(READY)
    server = Scripted([head("200 OK", "Content-Type: application/json", "Content-Encoding: gzip",
                            f"Content-Length: {len(packed)}") + packed])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "success", outcome.message


async def test_connection_closed_short_of_content_length_is_closed():
    server = Scripted([head("200 OK", "Content-Type: application/json", "Content-Length: 100") + READY[:20]])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "closed", outcome.message
    assert "after 20 bytes of 100" in outcome.message


async def test_connection_closed_mid_chunked_body_is_closed():
    server = Scripted([head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked")
                       + chunk(READY[:10])])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "closed", outcome.message
    assert "after 10 bytes" in outcome.message


async def test_connection_closed_before_headers_is_closed():
    server = Scripted([b"HTTP/1.1 200 OK\r\nContent-Ty"])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "closed", outcome.message
    assert "before the response headers" in outcome.message


async def test_stalled_body_times_out_in_body():
    # Headers at once, then the body stops halfway and the connection stays open (a tarpit).
    server = Scripted([head("200 OK", "Content-Type: application/json", f"Content-Length: {len(READY)}")
                       + READY[:10]], hold=True)
    async with server.serve() as url:
        outcome = await probe(url, readiness={"timeout": "300ms", "interval": "5s"})
    assert outcome.result == "timeout", outcome.message
    assert outcome.timeout_phase == "body"
    assert "first_byte" in outcome.phases  # the headers did arrive


async def test_non_http_bytes_are_http_error():
    server = Scripted([b"SSH-2.0-OpenSSH_9.2\r\n"], hold=True)
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "http_error", outcome.message
    assert "malformed HTTP response headers" in outcome.message


async def test_malformed_chunk_is_http_error():
    server = Scripted([head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked")
                       + b"zz\r\nnot a chunk\r\n"], hold=True)
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "http_error", outcome.message
    assert "malformed HTTP response body" in outcome.message


async def test_body_over_the_limit_is_invalid_body():
    big = b" " * (1 << 16)
    server = Scripted([head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked")]
                      + [chunk(big)] * 17 + [b"0\r\n\r\n"], hold=True)
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "invalid_body", outcome.message
    assert "larger than 1048576 bytes" in outcome.message


async def test_endless_headers_are_http_error():
    server = Scripted([b"HTTP/1.1 200 OK\r\n"] + [b"X-Filler: " + b"a" * 1000 + b"\r\n"] * 80, hold=True)
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "http_error", outcome.message
    assert "headers larger than" in outcome.message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_never_followed(status):
    async with ConnectionCounter() as other:
        location = f"http://user:pw-in-location@127.0.0.1:{other.port}/readyz?keep=private"
        server = Scripted([head(f"{status} Moved", f"Location: {location}", "Content-Length: 0")])
        async with server.serve() as url:
            outcome = await probe(url)
    assert outcome.result == "redirect", outcome.message
    assert other.count == 0, "the redirect target was contacted"
    assert f"HTTP {status} redirect to http://127.0.0.1:{other.port};" in outcome.message
    for secret in (TOKEN, "pw-in-location", "keep=private"):
        assert secret not in outcome.message + "".join(outcome.logs)


async def test_relative_redirect_names_the_same_origin():
    server = Scripted([head("302 Found", "Location: /login", "Content-Length: 0")])
    async with server.serve() as url:
        outcome = await probe(url)
    assert outcome.result == "redirect"
    assert f"redirect to {url};" in outcome.message


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


async def ready_json(request: web.Request) -> web.Response:
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    return web.json_response(json.loads(READY))


async def test_https_self_signed_is_tls_and_no_request_is_sent(cert):
    seen = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return await ready_json(request)
    async with serve_https(handler, cert) as url:
        outcome = await probe(url)
    assert outcome.result == "tls", outcome.message
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.message
    assert seen == []


async def test_https_with_tls_ca_file_verifies_and_succeeds(cert):
    async with serve_https(ready_json, cert) as url:
        outcome = await probe(url, tls_ca_file=str(cert.cert))
    assert outcome.result == "success", outcome.message
    assert outcome.phases["connect"] > 0


async def test_https_with_skip_verify_succeeds(cert):
    async with serve_https(ready_json, cert) as url:
        outcome = await probe(url, tls_insecure_skip_verify=True)
    assert outcome.result == "success", outcome.message


def test_ssl_default_context_is_shared():
    # Building a default context reads the system trust store (milliseconds): never per probe.
    from exporter.probes import http_get
    assert http_get.tls_context(True) is http_get.tls_context(True)
    own = ssl.create_default_context()
    assert http_get.tls_context(own) is own


async def test_token_with_a_line_break_is_config_error_and_nothing_is_sent(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("first-line-of-token\nX-Injected: yes\n")
    async with ConnectionCounter() as gateway:
        outcome = await probe(f"http://127.0.0.1:{gateway.port}", token_env=None, token_file=str(token_file))
    assert outcome.result == "config_error", outcome.message
    assert "line break" in outcome.message
    assert gateway.count == 0
    assert "first-line-of-token" not in outcome.message + "".join(outcome.logs)


async def test_path_is_percent_encoded_in_the_request_line():
    server = Scripted([head("200 OK", "Content-Type: application/json", f"Content-Length: {len(READY)}") + READY])
    async with server.serve() as url:
        outcome = await probe(url, readiness={"path": "/ready z?probe=a b&x=%41", "timeout": "1s", "interval": "5s"})
    assert outcome.result == "success", outcome.message
    assert server.requests[0].startswith(b"GET /ready%20z?probe=a%20b&x=%41 HTTP/1.1\r\n")
