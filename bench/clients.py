"""Client-path microbenchmark: CPU per readiness GET and per WebSocket exchange (fresh connection each, as the probes do).

    python bench/clients.py [--requests 400] [--repeats 3]

Readiness GET paths: aiohttp (the exporter's session settings), httpx, a bare asyncio protocol
parsing with httptools, and the readiness probe's own client (exporter/probes/http_get.py: the
same protocol plus phases, TLS, limits and failure reasons). WebSocket paths: the whole probe
(run_probe, aiohttp underneath), a bare aiohttp ws_connect and a bare asyncio protocol, each
doing the gateway exchange the probe does (upgrade, challenge, connect -> hello-ok of the real
gateway's size, health, close). Each on the default asyncio loop and under uvloop (when
installed: the `fast` extra). The target is bench/targets.py in its own process (its CPU is
not counted); CPU is this process's time.process_time() per request, median of ``--repeats``
runs with min-max. Prints markdown tables (docs/benchmarks.md "Client paths").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def aiohttp_path(url: str, n: int) -> None:
    from exporter.http_client import make_session
    session = make_session()
    try:
        for _ in range(n):
            async with session.get(url, allow_redirects=False) as resp:
                body = await resp.read()
                assert resp.status == 200 and body, resp.status
    finally:
        await session.close()


async def httpx_path(url: str, n: int) -> None:
    import httpx
    # One client (building one costs ~20 ms: its TLS context), no keep-alive: a fresh
    # connection per request, like the probe.
    async with httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(n):
            resp = await client.get(url)
            assert resp.status_code == 200 and resp.content


class _Raw(asyncio.Protocol):
    def __init__(self, done: asyncio.Future) -> None:
        import httptools
        self.done = done
        self.body: list[bytes] = []
        self.parser = httptools.HttpResponseParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.done.done():
            self.done.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionResetError("closed before the response"))


async def raw_path(url: str, n: int) -> None:
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: openclaw-slo-exporter\r\n"
               f"Accept: application/json\r\nConnection: close\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    for _ in range(n):
        done = loop.create_future()
        transport, _ = await loop.create_connection(lambda: _Raw(done), parts.hostname, parts.port)
        transport.write(request)
        status, body = await done
        transport.close()
        assert status == 200 and body


async def probe_client_path(url: str, n: int) -> None:
    from exporter.probes import http_get
    from exporter.probes.base import ProbeRun
    from exporter.probes.prober_state import ProberState
    from exporter.secrets import Redactor
    redactor = Redactor()
    headers = {"User-Agent": "openclaw-slo-exporter", "Accept": "application/json, */*;q=0.1"}
    for _ in range(n):
        run = ProbeRun("bench", "readiness", redactor, None, ProberState())
        resp = await http_get.get(url, headers, run, max_body=1 << 20)
        assert resp.status == 200 and resp.body, resp.status


# --- WebSocket: upgrade, challenge, connect -> hello-ok, health -> response, close ------------

CONNECT = {"minProtocol": 4, "maxProtocol": 4, "role": "operator", "scopes": ["operator.read"],
           "client": {"id": "gateway-client", "version": "bench", "platform": "linux", "mode": "backend"}}


async def ws_probe_path(url: str, n: int) -> None:
    """The exporter's WebSocket probe as the scheduler runs it (phases, logs, gauges included)."""
    from exporter.config import parse_config
    from exporter.http_client import make_session
    from exporter.runner import run_probe
    from exporter.secrets import Redactor
    target = parse_config({"targets": [{"name": "bench", "url": url}]}).targets[0]
    module, redactor, session = target.modules["websocket"], Redactor(), make_session()
    try:
        for _ in range(n):
            outcome = await run_probe(target, module, redactor, session)
            assert outcome.result == "success", outcome.message
    finally:
        await session.close()


async def ws_aiohttp_path(url: str, n: int) -> None:
    from exporter.http_client import make_session
    session = make_session()
    try:
        for _ in range(n):
            async with session.ws_connect(url.replace("http", "ws", 1), autoping=False) as ws:
                assert json.loads((await ws.receive()).data)["event"] == "connect.challenge"
                await ws.send_str(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": CONNECT}))
                assert json.loads((await ws.receive()).data)["ok"] is True
                await ws.send_str(json.dumps({"type": "req", "id": "r2", "method": "health", "params": {}}))
                assert json.loads((await ws.receive()).data)["ok"] is True
    finally:
        await session.close()


class _RawWS(asyncio.Protocol):
    """The least a client can do: check the 101, split frames, mask what it sends."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.upgraded = False
        self.frames: list[bytes] = []
        self.waiter: asyncio.Future | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            assert self.buf.startswith(b"HTTP/1.1 101"), bytes(self.buf[:40])
            del self.buf[:end + 4]
            self.upgraded = True
        while len(self.buf) >= 2:
            size, offset = self.buf[1] & 0x7F, 2
            if size == 126:
                size, offset = struct.unpack_from("!H", self.buf, 2)[0], 4
            elif size == 127:
                size, offset = struct.unpack_from("!Q", self.buf, 2)[0], 10
            if len(self.buf) < offset + size:
                return
            self.frames.append(bytes(self.buf[offset:offset + size]))
            del self.buf[:offset + size]
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError())

    async def recv(self) -> dict:
        while not self.frames:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return json.loads(self.frames.pop(0))

    def send(self, payload: bytes, opcode: int = 1) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
        masked = (int.from_bytes(payload, "little") ^ key).to_bytes(n, "little")
        self.transport.write(head + mask + masked)


async def ws_raw_path(url: str, n: int) -> None:
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    for _ in range(n):
        key = base64.b64encode(os.urandom(16)).decode()
        transport, proto = await loop.create_connection(_RawWS, parts.hostname, parts.port)
        transport.write((f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         "User-Agent: openclaw-slo-exporter\r\n\r\n").encode())
        assert (await proto.recv())["event"] == "connect.challenge"
        proto.send(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": CONNECT}).encode())
        assert (await proto.recv())["ok"] is True
        proto.send(json.dumps({"type": "req", "id": "r2", "method": "health", "params": {}}).encode())
        assert (await proto.recv())["ok"] is True
        proto.send(struct.pack("!H", 1000), opcode=8)
        transport.close()


PATHS = {"aiohttp": aiohttp_path, "httpx": httpx_path, "raw protocol + httptools": raw_path,
         "the readiness probe's client (http_get.py)": probe_client_path}
WS_PATHS = {"the WebSocket probe (run_probe; ws_transport.py)": ws_probe_path, "aiohttp ws_connect": ws_aiohttp_path,
            "raw protocol": ws_raw_path}


def measure(path: str, loop: str, url: str, n: int) -> float:
    """CPU ms per request for one run (a fresh event loop; 20 warm-up requests not counted)."""
    if loop == "uvloop":
        import uvloop
        runner = uvloop.run
    else:
        runner = asyncio.run

    func = PATHS.get(path) or WS_PATHS[path]

    async def main() -> float:
        await func(url, 20)
        t0 = time.process_time()
        await func(url, n)
        return (time.process_time() - t0) * 1000 / n
    return runner(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    target = subprocess.Popen([sys.executable, str(ROOT / "bench" / "targets.py"), "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = target.stdout.readline().split()
        url = f"http://127.0.0.1:{line[1]}/t/bench/readyz"
        ws_url = f"http://127.0.0.1:{line[1]}/t/bench"
        loops = ["asyncio"]
        try:
            import uvloop  # noqa: F401
            loops.append("uvloop")
        except ImportError:
            pass
        print("| Client path (readiness GET, fresh connection) | Loop | CPU per request, median (min-max, n) |")
        print("|---|---|---|")
        for path in PATHS:
            for loop in loops:
                runs = sorted(measure(path, loop, url, args.requests) for _ in range(args.repeats))
                print(f"| {path} | {loop} | {statistics.median(runs):.3f} ms ({runs[0]:.3f}-{runs[-1]:.3f}, n={len(runs)}) |",
                      flush=True)
        print()
        print("| Client path (WebSocket: upgrade, challenge, connect/hello-ok, health, close) | Loop | CPU per exchange, median (min-max, n) |")
        print("|---|---|---|")
        print("| httpx | - | n/a (no WebSocket client) |")
        for path in WS_PATHS:
            for loop in loops:
                runs = sorted(measure(path, loop, ws_url, max(50, args.requests // 3)) for _ in range(args.repeats))
                print(f"| {path} | {loop} | {statistics.median(runs):.3f} ms ({runs[0]:.3f}-{runs[-1]:.3f}, n={len(runs)}) |",
                      flush=True)
    finally:
        target.terminate()
        target.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
