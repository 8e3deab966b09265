"""A scripted WebSocket server for protocol faults the real gateway cannot be made to produce.

Each test passes a behaviour coroutine; helpers below play the well-behaved parts of the
protocol (challenge, hello-ok) so a test scripts only its fault. Frames the client sends are
recorded so tests can check them against the official protocol schema.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import WSMsgType, web

from localservers import serve

Behaviour = Callable[[web.WebSocketResponse, "Recorder"], Awaitable[None]]


class Recorder:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def next_request(self, ws: web.WebSocketResponse) -> dict[str, Any]:
        msg = await ws.receive()
        assert msg.type == WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        self.frames.append(frame)
        return frame


async def send_challenge(ws: web.WebSocketResponse) -> None:
    await ws.send_json({"type": "event", "event": "connect.challenge",
                        "payload": {"nonce": "5f0c2d9e-1b7a-4d1e-9f43-0c8a2f6b1d11", "ts": 1795727576062, "capabilities": []}})


def hello_ok(request_id: str, version: str = "2026.9.6") -> dict[str, Any]:
    return {"type": "res", "id": request_id, "ok": True, "payload": {
        "type": "hello-ok", "protocol": 4,
        "server": {"version": version, "connId": "0b7e6c1c-4c1f-4d8e-8a55-3f1f7f2b9a10"},
        "features": {"methods": ["health", "status", "models.list"]},
        "auth": {"method": "token", "role": "operator", "scopes": ["operator.read"]},
        "policy": {"tickIntervalMs": 30000}}}


async def handshake(ws: web.WebSocketResponse, rec: Recorder) -> None:
    """Play the gateway's side of a successful handshake."""
    await send_challenge(ws)
    req = await rec.next_request(ws)
    await ws.send_json(hello_ok(req["id"]))


@asynccontextmanager
async def fake_gateway(behaviour: Behaviour, upgrade_status: int | None = None) -> AsyncIterator[tuple[str, Recorder]]:
    rec = Recorder()

    async def handler(request: web.Request) -> web.StreamResponse:
        if upgrade_status is not None:
            return web.Response(status=upgrade_status, text="forbidden by proxy")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        try:
            await behaviour(ws, rec)
        finally:
            if not ws.closed:
                await ws.close()
        return ws

    async with serve(handler) as url:
        yield url, rec
