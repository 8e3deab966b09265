"""A WebSocket connection (RFC 6455, client side) on a small asyncio protocol: the gateway probes' transport.

The probes open one connection, exchange a handful of JSON text frames and close it. aiohttp's
ws_connect did that at ~1.3 ms CPU per probe against the real gateway's frames; most of it was
the general client around the socket (session, request and response objects, the upgrade's
header handling, a reader/writer pair per frame). This protocol does only what the probe needs
(docs/benchmarks.md, "Client paths"):

- the upgrade is one GET with a fresh ``Sec-WebSocket-Key``; anything but ``101`` with the right
  ``Sec-WebSocket-Accept`` is refused, and a redirect is reported, never followed (the token
  would go along);
- frames from the server are parsed as they arrive: unmasked, no extension bits, control
  frames short and unfragmented, messages reassembled from continuations and bounded by
  ``max_msg_size`` (over it: close 1009);
- pings are answered at once and pongs are timed (``last_pong``), for the auth-throttling check;
- frames to the server are masked with a key from the OS's random source, as the RFC requires.

``receive()`` hands out whole messages: text and binary data, the server's close (code and
reason), or an error naming what was wrong with the stream. No extension is offered, so no
compression is negotiated.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import os
import ssl
import struct
from collections import deque
from dataclasses import dataclass

from exporter.probes.base import ProbeFailure
from exporter.probes.http_get import MAX_HEADER_BYTES, REDIRECTS, check_header_values, split_url, tls_context

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


class Kind(enum.Enum):
    TEXT = 1
    BINARY = 2
    CLOSE = 8  # the server's close frame: code and reason
    ERROR = 100  # the stream broke the protocol (or a limit): code is the close code sent for it
    CLOSED = 101  # the connection ended without a close frame


@dataclass(frozen=True)
class Message:
    kind: Kind
    data: bytes = b""
    code: int | None = None
    reason: str = ""


class Redirected(Exception):
    def __init__(self, status: int, location: str) -> None:
        super().__init__(status, location)
        self.status, self.location = status, location


class UpgradeRejected(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(status, why)
        self.status, self.why = status, why


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR the payload with the 4-byte key repeated (as one big integer: no per-byte loop)."""
    n = len(payload)
    if not n:
        return payload
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + mask(payload, key)


def _close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode("utf-8")[:120]


class WebSocketProtocol(asyncio.Protocol):
    """The upgrade's response, then the frames; messages queue up for ``receive()``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, key: str, max_msg_size: int) -> None:
        self._loop = loop
        self._key = key
        self._max = max_msg_size
        self._buffer = bytearray()
        self._upgraded = False
        self.upgrade: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._messages: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self._fragment_size = 0
        self._ended = False  # a close, an error or the end of the connection was queued: nothing after it
        self.close_sent = False
        self._linger: asyncio.TimerHandle | None = None
        self.last_pong: float | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            self._read_upgrade()
            if not self._upgraded:
                return
        if not self._ended:
            self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgrade.done():
            self.upgrade.set_exception(exc if exc is not None else ProbeFailure(
                "closed", "connection closed before the answer to the upgrade"))
        self._end(Message(Kind.CLOSED, reason=str(exc) if exc else ""))
        if self._linger is not None:
            self._linger.cancel()

    # the upgrade's response
    def _read_upgrade(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                self._fail_upgrade(ProbeFailure("upgrade_rejected", f"upgrade response headers larger than {MAX_HEADER_BYTES} bytes"))
            return
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[:end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            self._fail_upgrade(ProbeFailure("upgrade_rejected", f"not an HTTP response to the upgrade: {lines[0][:60]!r}"))
            return
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if status in REDIRECTS:
            self._fail_upgrade(Redirected(status, headers.get("location", "")))
            return
        if status != 101:
            self._fail_upgrade(UpgradeRejected(status, ""))
            return
        expected = base64.b64encode(hashlib.sha1(self._key.encode() + _ACCEPT_GUID).digest()).decode()
        if headers.get("upgrade", "").lower() != "websocket":
            self._fail_upgrade(UpgradeRejected(status, "without Upgrade: websocket"))
        elif "upgrade" not in headers.get("connection", "").lower():
            self._fail_upgrade(UpgradeRejected(status, "without Connection: upgrade"))
        elif headers.get("sec-websocket-accept") != expected:
            self._fail_upgrade(UpgradeRejected(status, "with a Sec-WebSocket-Accept that does not match the key"))
        elif headers.get("sec-websocket-extensions"):
            self._fail_upgrade(UpgradeRejected(status, "with an extension that was not offered"))
        else:
            self._upgraded = True
            self.upgrade.set_result(None)

    def _fail_upgrade(self, exc: Exception) -> None:
        if not self.upgrade.done():
            self.upgrade.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    # frames
    def _read_frames(self) -> None:
        buf = self._buffer
        pos = 0
        while not self._ended:
            if len(buf) - pos < 2:
                break
            first, second = buf[pos], buf[pos + 1]
            opcode, length = first & 0x0F, second & 0x7F
            header = 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                header = 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                header = 10
            problem = self._check_header(first, second, opcode, length)
            if problem is not None:
                self._protocol_error(*problem)
                break
            if len(buf) - pos < header + length:
                break
            payload = bytes(buf[pos + header:pos + header + length])
            pos += header + length
            self._on_frame(bool(first & 0x80), opcode, payload)
        del buf[:pos]

    def _check_header(self, first: int, second: int, opcode: int, length: int) -> tuple[int, str] | None:
        if first & 0x70:
            return 1002, "frame with reserved bits set (no extension was negotiated)"
        if second & 0x80:
            return 1002, "masked frame from the server"
        if opcode >= 8:
            if opcode not in (8, 9, 10):
                return 1002, f"unknown control opcode {opcode}"
            if not first & 0x80 or length > 125:
                return 1002, "fragmented or oversized control frame"
            return None
        if opcode not in (0, 1, 2):
            return 1002, f"unknown opcode {opcode}"
        if (opcode == 0) != bool(self._fragment_opcode):
            return 1002, "continuation frame without a message" if opcode == 0 else "new message inside a fragmented one"
        if self._fragment_size + length > self._max:
            return 1009, f"message of {self._fragment_size + length} bytes or more exceeds the limit of {self._max}"
        return None

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == 9:  # ping: answered at once
            self._write(encode_frame(10, payload))
        elif opcode == 10:
            self.last_pong = self._loop.time()
        elif opcode == 8:
            code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            if not self.close_sent:  # echo it, as the closing handshake asks
                self.close_sent = True
                self._write(encode_frame(8, payload[:2]))
            elif self.transport is not None:  # the answer to ours: the handshake is complete
                self.transport.close()
            self._end(Message(Kind.CLOSE, code=code if code is not None else 1005, reason=reason))
        elif fin and not self._fragment_opcode:
            self._push(Message(Kind(opcode), payload))
        else:
            if opcode:
                self._fragment_opcode = opcode
            self._fragments.append(payload)
            self._fragment_size += len(payload)
            if fin:
                message = Message(Kind(self._fragment_opcode), b"".join(self._fragments))
                self._fragments, self._fragment_opcode, self._fragment_size = [], 0, 0
                self._push(message)

    def _protocol_error(self, code: int, why: str) -> None:
        if not self.close_sent:
            self.close_sent = True
            self._write(encode_frame(8, _close_payload(code)))
        self._end(Message(Kind.ERROR, code=code, reason=why))
        if self.transport is not None:
            self.transport.close()

    def _write(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def _push(self, message: Message) -> None:
        self._messages.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _end(self, message: Message) -> None:
        if not self._ended:
            self._ended = True
            self._push(message)

    # the probe's side
    async def receive(self) -> Message:
        """The next message; after the close, an error or the end of the connection, that one again."""
        while not self._messages:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages[0]
        if message.kind not in (Kind.CLOSE, Kind.ERROR, Kind.CLOSED):
            self._messages.popleft()
        return message

    def send_text(self, text: str) -> None:
        if self.transport is None or self.transport.is_closing() or self.close_sent:
            raise ConnectionResetError("the WebSocket connection is closing")
        self.transport.write(encode_frame(1, text.encode("utf-8")))

    def ping(self, data: bytes = b"") -> None:
        if not self.close_sent:
            self._write(encode_frame(9, data[:125]))

    def abort(self, code: int = 1000) -> None:
        """Send a close frame and drop the connection at once, without waiting for the answer."""
        if not self.close_sent:
            self.close_sent = True
            self._write(encode_frame(8, _close_payload(code)))
        if self.transport is not None:
            self.transport.close()  # the close frame still goes out first

    def close(self, code: int = 1000, linger: float = 1.0) -> None:
        """Start the closing handshake without waiting for it: the connection ends when the
        server's close frame arrives (data_received), or ``linger`` seconds from now at the
        latest. Nobody waits: the probe's result is known, and a slow or silent peer must not
        turn it into a timeout."""
        if self.transport is None or self.transport.is_closing():
            return
        if not self.close_sent:
            self.close_sent = True
            self._write(encode_frame(8, _close_payload(code)))
        elif self._ended:  # the server closed first and was answered: nothing more will come
            self.transport.close()
            return
        self._linger = self._loop.call_later(linger, self.transport.abort)


async def connect(url: str, headers: dict[str, str], *, ssl_setting: ssl.SSLContext | bool = True,
                  max_msg_size: int) -> WebSocketProtocol:
    """Open ``url`` (ws:// or wss://) and upgrade it. Raises Redirected or UpgradeRejected for
    an answer that is not the switch, and the connection's own errors (DNS, refused, TLS) as
    they come, for classify_exception."""
    tls, host, port, netloc, target = split_url(url, secure_scheme="wss")
    check_header_values(headers)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {target} HTTP/1.1", f"Host: {netloc}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    loop = asyncio.get_running_loop()
    protocol = WebSocketProtocol(loop, key, max_msg_size)
    transport, _ = await loop.create_connection(
        lambda: protocol, host, port,
        ssl=tls_context(ssl_setting) if tls else None, server_hostname=host if tls else None,
    )
    try:
        transport.write(request)
        await protocol.upgrade
    except BaseException:
        transport.abort()
        if not protocol.upgrade.done():
            protocol.upgrade.cancel()
        raise
    return protocol
