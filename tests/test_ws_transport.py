"""The probes' WebSocket client (exporter/probes/ws_transport.py) at the frame level.

The real gateway is well behaved (tests/test_websocket_probe.py probes it); these are the faults
it cannot be made to produce, served by a raw asyncio server that writes the bytes itself:
fragmented messages, pings in the middle of a message, masked or reserved-bit frames, a wrong
Sec-WebSocket-Accept, a message over the limit, a close without a code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from contextlib import asynccontextmanager

import pytest

from exporter.probes import ws_transport
from exporter.probes.ws_transport import Kind

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, masked: bool = False) -> bytes:
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, (0x80 if masked else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, (0x80 if masked else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", first, (0x80 if masked else 0) | 127, n)
    if masked:
        return head + b"\0\0\0\0" + payload
    return head + payload


async def read_client_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One frame from the client, unmasked (and checked to be masked, as the RFC requires)."""
    first, second = await reader.readexactly(2)
    assert second & 0x80, "client frames must be masked"
    n = second & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4)
    data = await reader.readexactly(n)
    return first & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(data))


@asynccontextmanager
async def raw_server(script, accept: str | None = None, status: str = "101 Switching Protocols"):
    """Answer the upgrade (with the right accept unless told otherwise), then run ``script``."""
    seen: dict = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            seen["request"] = head
            key = next(line.split(":", 1)[1].strip() for line in head.split("\r\n")
                       if line.lower().startswith("sec-websocket-key:"))
            good = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            writer.write((f"HTTP/1.1 {status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept if accept is not None else good}\r\n\r\n").encode())
            await script(reader, writer, seen)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws?x=1", seen
    finally:
        server.close()
        await server.wait_closed()


async def open_ws(url: str, max_msg_size: int = 1 << 20) -> ws_transport.WebSocketProtocol:
    return await asyncio.wait_for(ws_transport.connect(url, {"User-Agent": "t"}, max_msg_size=max_msg_size), 5)


async def test_upgrade_request_and_a_fragmented_message_with_a_ping_inside():
    async def script(reader, writer, seen):
        writer.write(frame(1, b'{"a":', fin=False) + frame(9, b"hi") + frame(0, b' 1', fin=False) + frame(0, b"}"))
        seen["pong"] = await read_client_frame(reader)
        seen["text"] = await read_client_frame(reader)
        seen["close"] = await read_client_frame(reader)
        writer.write(frame(8, struct.pack("!H", 1000)))

    async with raw_server(script) as (url, seen):
        ws = await open_ws(url)
        message = await ws.receive()
        ws.send_text('{"type":"req"}')
        ws.close()
        assert (await asyncio.wait_for(ws.receive(), 5)).kind is Kind.CLOSE  # the server's answer
        assert ws.transport.is_closing()  # ... ends the connection without waiting for its EOF
    assert message == ws_transport.Message(Kind.TEXT, b'{"a": 1}')
    assert seen["request"].startswith("GET /ws?x=1 HTTP/1.1\r\n")
    assert "Sec-WebSocket-Version: 13" in seen["request"] and "Upgrade: websocket" in seen["request"]
    assert seen["pong"] == (10, b"hi")
    assert seen["text"] == (1, b'{"type":"req"}')
    assert seen["close"] == (8, struct.pack("!H", 1000))


async def test_pong_time_is_noted():
    async def script(reader, writer, seen):
        opcode, data = await read_client_frame(reader)
        writer.write(frame(10, data) + frame(1, b"{}"))
        await reader.read()

    async with raw_server(script) as (url, _):
        ws = await open_ws(url)
        assert ws.last_pong is None
        ws.ping(b"p")
        assert (await ws.receive()).kind is Kind.TEXT
        assert ws.last_pong is not None
        ws.transport.abort()


@pytest.mark.parametrize("bad, why", [
    (frame(1, b"{}", masked=True), "masked frame"),
    (frame(1, b"{}", rsv=0x40), "reserved bits"),
    (frame(0, b"{}"), "continuation frame without a message"),
    (frame(1, b"{", fin=False) + frame(1, b"}"), "new message inside a fragmented one"),
    (frame(9, b"x" * 126), "oversized control frame"),
    (frame(3, b""), "unknown opcode 3"),
])
async def test_protocol_violations_end_in_an_error_and_a_1002_close(bad, why):
    async def script(reader, writer, seen):
        writer.write(bad)
        seen["close"] = await read_client_frame(reader)

    async with raw_server(script) as (url, seen):
        ws = await open_ws(url)
        message = await asyncio.wait_for(ws.receive(), 5)
        assert (await ws.receive()) is message  # the end is sticky: nothing after it
        for _ in range(50):
            if "close" in seen:
                break
            await asyncio.sleep(0.02)
    assert message.kind is Kind.ERROR and message.code == 1002 and why in message.reason
    assert seen["close"] == (8, struct.pack("!H", 1002))


async def test_a_message_over_the_limit_is_refused_before_it_is_read_whole():
    async def script(reader, writer, seen):
        writer.write(frame(1, b"x" * 600, fin=False) + frame(0, b"y" * 600))
        seen["close"] = await read_client_frame(reader)

    async with raw_server(script) as (url, seen):
        ws = await open_ws(url, max_msg_size=1000)
        message = await asyncio.wait_for(ws.receive(), 5)
        for _ in range(50):
            if "close" in seen:
                break
            await asyncio.sleep(0.02)
    assert message.kind is Kind.ERROR and message.code == 1009 and "exceeds the limit of 1000" in message.reason
    assert seen["close"] == (8, struct.pack("!H", 1009))


async def test_a_large_message_in_many_reads_is_reassembled():
    body = b'{"blob":"' + b"z" * 70_000 + b'"}'

    async def script(reader, writer, seen):
        data = frame(1, body)
        for i in range(0, len(data), 1000):
            writer.write(data[i:i + 1000])
            await writer.drain()
        await reader.read()

    async with raw_server(script) as (url, _):
        ws = await open_ws(url)
        message = await asyncio.wait_for(ws.receive(), 5)
        ws.transport.abort()
    assert message == ws_transport.Message(Kind.TEXT, body)


async def test_close_without_a_code_reads_as_1005_and_the_end_of_the_connection_as_closed():
    async def script(reader, writer, seen):
        writer.write(frame(8, b""))
        seen["echo"] = await read_client_frame(reader)

    async with raw_server(script) as (url, seen):
        ws = await open_ws(url)
        message = await asyncio.wait_for(ws.receive(), 5)
    assert message.kind is Kind.CLOSE and message.code == 1005
    assert seen["echo"] == (8, b"")

    async def hang_up(reader, writer, seen):
        pass

    async with raw_server(hang_up) as (url, _):
        ws = await open_ws(url)
        message = await asyncio.wait_for(ws.receive(), 5)
    assert message.kind is Kind.CLOSED
    with pytest.raises(ConnectionResetError):
        ws.send_text("{}")


async def test_a_wrong_accept_key_is_refused():
    async def script(reader, writer, seen):
        writer.write(frame(1, b"{}"))

    async with raw_server(script, accept="d3Jvbmc=") as (url, _):
        with pytest.raises(ws_transport.UpgradeRejected) as info:
            await open_ws(url)
    assert info.value.status == 101 and "Sec-WebSocket-Accept" in info.value.why


async def test_not_http_and_a_hang_up_before_the_answer():
    async def garbage(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()
        writer.close()

    async def hang_up(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    for handler, check in ((garbage, lambda e: "not an HTTP response" in str(e)),
                           (hang_up, lambda e: "before the answer to the upgrade" in str(e))):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(Exception) as info:
                await open_ws(f"ws://127.0.0.1:{port}/")
            assert check(info.value), info.value
        finally:
            server.close()
            await server.wait_closed()


async def test_a_close_the_server_never_answers_is_cut_after_the_linger():
    async def deaf(reader, writer, seen):
        seen["close"] = await read_client_frame(reader)
        await asyncio.sleep(5)

    async with raw_server(deaf) as (url, seen):
        ws = await open_ws(url)
        ws.close(linger=0.1)  # returns at once: nobody waits for the handshake
        assert not ws.transport.is_closing()
        message = await asyncio.wait_for(ws.receive(), 2)
        assert message.kind is Kind.CLOSED and ws.transport.is_closing()
    assert seen["close"] == (8, struct.pack("!H", 1000))


def test_mask_is_its_own_inverse_and_matches_the_rfc_example():
    # RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
    key = bytes.fromhex("37fa213d")
    masked = ws_transport.mask(b"Hello", key)
    assert masked == bytes.fromhex("7f9f4d5158")
    assert ws_transport.mask(masked, key) == b"Hello"
    assert ws_transport.mask(b"", key) == b""
