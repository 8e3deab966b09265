"""One HTTP/1.1 GET on a fresh connection, timed per phase: the readiness probe's client.

A small asyncio protocol parsing with httptools instead of an aiohttp session: the probe needs
one request per connection and nothing of a general client (pooling, cookies, redirects,
retries), and this path costs ~0.2 ms CPU per GET against aiohttp's ~0.36 ms
(docs/benchmarks.md, "Client paths"). What the probe relies on is kept here:

- phases as the aiohttp trace hooks measured them: ``connect`` (name resolution, TCP and TLS),
  ``first_byte`` (request sent until the response headers are in), then ``body``;
- TLS verified against the system trust store, or the target's ``tls_ca_file`` /
  ``tls_insecure_skip_verify`` context;
- redirects are never followed (the caller sees the 3xx and its Location);
- a body limit, and a reason for every way a response can go wrong: a connection closed before
  the headers or mid-body (``closed``, with how many bytes of a Content-Length arrived), bytes
  that are not HTTP (``http_error``), a body over the limit or in an unknown encoding
  (``invalid_body``). Name resolution, refused connections, TLS and timeouts surface as the
  exceptions classify_exception (probes/base.py) already maps.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import httptools

from exporter.probes.base import ProbeFailure, ProbeRun

# Response headers beyond this are a broken or hostile server, not a readiness answer.
MAX_HEADER_BYTES = 64 * 1024
# Characters a path and query may carry as they are (RFC 3986 pchar, "/", "?", and "%" of escapes).
_PATH_SAFE = "/?:@!$&'()*+,;=%~-._"

_default_tls: ssl.SSLContext | None = None


def tls_context(ssl_setting: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The target's context, or one shared default one (building it reads the trust store:
    milliseconds, too much per probe)."""
    global _default_tls
    if isinstance(ssl_setting, ssl.SSLContext):
        return ssl_setting
    if _default_tls is None:
        _default_tls = ssl.create_default_context()
    return _default_tls


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    body: bytes


class _ResponseReader(asyncio.Protocol):
    """Feeds the bytes to httptools; resolves ``headers`` then ``done``, or fails both."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int) -> None:
        self.headers_in: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        self.max_body = max_body
        self.header_bytes = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.body_bytes = 0
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not self.done.done():  # a limit already failed the response (see _fail); anything else:
                self._fail(ProbeFailure("http_error", f"cannot read the response: {exc.__cause__ or exc}"))
        except httptools.HttpParserError as exc:
            what = "response headers" if not self.headers_in.done() else "response body"
            self._fail(ProbeFailure("http_error", f"malformed HTTP {what}: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if not self.headers_in.done():
            self._fail(ProbeFailure("closed", "connection closed before the response headers"))
            return
        length = self.headers.get("content-length")
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if length is None and not chunked:
            self.done.set_result(None)  # a body delimited by the end of the connection
            return
        expected = f"{length}" if length is not None else "a chunked body's end"
        self._fail(ProbeFailure("closed", f"connection closed mid-body after {self.body_bytes} bytes of {expected}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES:
            self._fail(ProbeFailure("http_error", f"response headers larger than {MAX_HEADER_BYTES} bytes"))
            raise ValueError("header limit")  # stops the parser (HttpParserCallbackError)
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if not self.headers_in.done():
            self.headers_in.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > self.max_body:
            self._fail(ProbeFailure("invalid_body", f"body larger than {self.max_body} bytes"))
            raise ValueError("body limit")
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def _fail(self, failure: ProbeFailure) -> None:
        for fut in (self.headers_in, self.done):
            if not fut.done():
                fut.set_exception(failure)
        if self.transport is not None:
            self.transport.abort()


def _decode(body: bytes, encoding: str, max_body: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ProbeFailure("invalid_body", f"unsupported Content-Encoding {encoding[:40]!r}")
    try:
        inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
        plain = inflater.decompress(body, max_body + 1)
    except zlib.error as exc:
        raise ProbeFailure("invalid_body", f"corrupt {encoding} body: {exc}") from None
    if len(plain) > max_body:
        raise ProbeFailure("invalid_body", f"body larger than {max_body} bytes once decompressed")
    return plain


def split_url(url: str, secure_scheme: str = "https") -> tuple[bool, str, int, str, str]:
    """(tls, host, port, Host header, request target) of a URL; userinfo is never sent, and what
    may not appear in a request line is percent-encoded (existing %XX escapes stay as they are)."""
    parts = urlsplit(url)
    tls = parts.scheme == secure_scheme
    port = parts.port or (443 if tls else 80)
    netloc = parts.netloc.rpartition("@")[2]
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_PATH_SAFE)
    return tls, parts.hostname or "", port, netloc, target


# The statuses a client would follow; the probes report them and never follow (the token would go along).
REDIRECTS = (301, 302, 303, 307, 308)


def redirect_origin(base: str, location: str) -> str:
    """scheme://host:port of a Location (relative ones resolved): never its path, query or userinfo."""
    if not location:
        return "no Location"
    try:
        parts = urlsplit(urljoin(base, location))
        port = f":{parts.port}" if parts.port else ""
        host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    except ValueError:
        return "an unparsable Location"
    return f"{parts.scheme}://{host}{port}" if host else "an unparsable Location"


def check_header_values(headers: dict[str, str]) -> None:
    for value in headers.values():
        if "\r" in value or "\n" in value:  # it would end the header and start another
            raise ProbeFailure("config_error", "a request header value (the token?) contains a line break; "
                               "nothing was sent")


async def get(url: str, headers: dict[str, str], run: ProbeRun, *,
              ssl_setting: ssl.SSLContext | bool = True, max_body: int) -> Response:
    """GET ``url`` on a new connection (closed afterwards); sets run.phases connect/first_byte
    and run.current_phase as it goes, so a timeout names the phase it interrupted."""
    tls, host, port, netloc, target = split_url(url)
    check_header_values(headers)
    lines = [f"GET {target} HTTP/1.1", f"Host: {netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Connection: close")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")  # as aiohttp encoded headers

    loop = asyncio.get_running_loop()
    reader = _ResponseReader(loop, max_body)
    run.current_phase = "connect"
    start = time.perf_counter()
    transport, _ = await loop.create_connection(
        lambda: reader, host, port,
        ssl=tls_context(ssl_setting) if tls else None, server_hostname=host if tls else None,
    )
    try:
        sent = time.perf_counter()
        run.phases["connect"] = sent - start
        run.current_phase = "first_byte"
        transport.write(request)
        await reader.headers_in
        run.phases["first_byte"] = time.perf_counter() - sent
        run.current_phase = "body"
        await reader.done
    finally:
        transport.abort()  # Connection: close was asked; nothing left worth a graceful close
        for fut in (reader.headers_in, reader.done):
            if not fut.done():
                fut.cancel()  # a timeout ended the wait: the connection_lost to come must not fail it
            elif not fut.cancelled():
                fut.exception()  # mark retrieved: the one not awaited must not be logged
    body = _decode(b"".join(reader.chunks), reader.headers.get("content-encoding", ""), max_body)
    return Response(reader.parser.get_status_code(), reader.headers, body)
