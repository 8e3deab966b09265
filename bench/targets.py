"""A light stand-in for many OpenClaw gateways: one aiohttp process, one port, many paths.

Why one port with many paths rather than one port per target: every probe (ours and
blackbox_exporter's) opens a fresh TCP connection either way, so the work per probe is the
same; one listening socket keeps 1,000 targets to one file descriptor and one accept queue,
and the target's name and latency shape travel in its path. It runs as its own process so its
CPU is never charged to the exporter under test.

Paths (``<name>`` is any single segment)::

    /t/<name>/readyz                 readiness JSON at once
    /fixed/<ms>/<name>/readyz        readiness JSON after a fixed delay
    /lognorm/<seed>/<name>/readyz    delay drawn from a seeded log-normal (median 15 ms, P99 120 ms)
    any path + WebSocket upgrade     the gateway's protocol v4 (challenge, connect, health)
    /_stats                          requests served, by client product (User-Agent);
                                     readiness requests by target <name> ("targets")
    anything else                    HTML with status 200, like the gateway's control UI

    python bench/targets.py --port 0 --token TOKEN     # prints "listening <port>" when ready
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import secrets
import signal
import time
from collections import Counter
from pathlib import Path

from aiohttp import WSMsgType, web

# Article latency shape for readiness/WebSocket: P50 15 ms, P99 120 ms -> sigma = ln(8)/z(0.99).
LOGNORM_MEDIAN = 0.015
LOGNORM_SIGMA = math.log(0.120 / 0.015) / 2.3263478740408408
LOGNORM_CAP = 1.0

# The real gateway's frames (bench/capture_gateway.py): hello-ok is ~15 KB, health ~1.6 KB;
# a stand-in with ~200-byte frames made the WebSocket figure look cheaper than it is.
FRAMES_FILE = Path(__file__).resolve().parent / "fixtures" / "gateway-frames.json"
FRAMES = json.loads(FRAMES_FILE.read_text())["frames"] if FRAMES_FILE.exists() else None

HTML = "<!doctype html><html><head><title>OpenClaw Control</title></head><body></body></html>"


def client_product(user_agent: str) -> str:
    """'Blackbox Exporter/0.23.0' -> 'Blackbox Exporter'; the counting key of /_stats."""
    return user_agent.split("/", 1)[0].strip() or "unknown"


def parse_delay(segments: list[str], rngs: dict[str, random.Random]) -> float | None:
    """Seconds to wait before answering, from the path; None when the path is not a target."""
    if len(segments) == 3 and segments[0] == "t":
        return 0.0
    if len(segments) == 4 and segments[0] == "fixed":
        return float(segments[1]) / 1000.0
    if len(segments) == 4 and segments[0] == "lognorm":
        key = "/".join(segments[1:3])
        rng = rngs.get(key)
        if rng is None:
            rng = rngs[key] = random.Random(f"{segments[1]}:{segments[2]}")
        return min(LOGNORM_CAP, rng.lognormvariate(math.log(LOGNORM_MEDIAN), LOGNORM_SIGMA))
    return None


class TargetServer:
    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.started = time.monotonic()
        self.readyz = Counter()
        self.by_target: Counter[str] = Counter()  # which targets are still probed (a deleted one: no more)
        self.ws_sessions = Counter()
        self.rngs: dict[str, random.Random] = {}

    def readiness_body(self) -> dict:
        uptime = int((time.monotonic() - self.started) * 1000)
        return {"ready": True, "failing": [], "uptimeMs": uptime,
                "eventLoop": {"degraded": False, "reasons": [], "delayP99Ms": 20.5, "delayMaxMs": 20.5,
                              "utilization": 0.007, "cpuCoreRatio": 0.01}}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.websocket(request)
        if request.path == "/_stats":
            return web.json_response({"readyz": dict(self.readyz), "ws": dict(self.ws_sessions),
                                      "targets": dict(self.by_target)})
        segments = request.path.strip("/").split("/")
        delay = parse_delay(segments, self.rngs) if segments[-1] == "readyz" else None
        if delay is None:
            return web.Response(text=HTML, content_type="text/html")
        if delay > 0:
            await asyncio.sleep(delay)
        self.readyz[client_product(request.headers.get("User-Agent", ""))] += 1
        self.by_target[segments[-2]] += 1
        return web.json_response(self.readiness_body())

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.ws_sessions[client_product(request.headers.get("User-Agent", ""))] += 1
        await ws.send_str(json.dumps({"type": "event", "event": "connect.challenge",
                                      "payload": {"nonce": secrets.token_hex(16), "ts": int(time.time() * 1000)}}))
        connected = False
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            try:
                frame = json.loads(msg.data)
            except ValueError:
                break
            if not isinstance(frame, dict) or frame.get("type") != "req":
                continue
            reply = self.answer(frame, connected)
            connected = connected or (frame.get("method") == "connect" and reply["ok"])
            await ws.send_str(json.dumps(reply))
        await ws.close()
        return ws

    def answer(self, frame: dict, connected: bool) -> dict:
        rid, method = frame.get("id"), frame.get("method")
        params = frame.get("params") if isinstance(frame.get("params"), dict) else {}
        if method == "connect":
            token = (params.get("auth") or {}).get("token") if isinstance(params.get("auth"), dict) else None
            if self.token is not None and token != self.token:
                return error(rid, "INVALID_REQUEST", "unauthorized: gateway token mismatch", "AUTH_TOKEN_MISMATCH")
            if FRAMES is not None:
                payload = json.loads(json.dumps(FRAMES["hello"]["payload"]))
                payload.setdefault("server", {})["connId"] = secrets.token_hex(8)
                return {"type": "res", "id": rid, "ok": True, "payload": payload}
            return {"type": "res", "id": rid, "ok": True, "payload": {
                "type": "hello-ok", "protocol": 4,
                "server": {"version": "bench", "connId": secrets.token_hex(8)},
                "features": {"methods": ["health"]}, "auth": {"scopes": ["operator.read"]},
                "policy": {"tickIntervalMs": 30000}}}
        if not connected:
            return error(rid, "INVALID_REQUEST", "first request must be connect")
        if method == "health" and FRAMES is not None:
            return {"type": "res", "id": rid, "ok": True, "payload": FRAMES["health"]["payload"]}
        if method == "health":
            return {"type": "res", "id": rid, "ok": True, "payload": {"ok": True, "plugins": {"loaded": [], "errors": []}}}
        return error(rid, "INVALID_REQUEST", f"unknown method: {method}")


def error(rid: object, code: str, message: str, detail_code: str | None = None) -> dict:
    err: dict = {"code": code, "message": message}
    if detail_code:
        err["details"] = {"code": detail_code}
    return {"type": "res", "id": rid, "ok": False, "error": err}


def make_app(server: TargetServer) -> web.Application:
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    return app


async def serve(port: int, token: str | None) -> None:
    runner = web.AppRunner(make_app(TargetServer(token)), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"listening {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", help="WebSocket connect token to require (none: any)")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.token))


if __name__ == "__main__":
    main()
