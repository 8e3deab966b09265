"""Small local aiohttp servers for faults the real gateway cannot be made to produce.

Each one is named for the fault it plays; tests say why they use it instead of the gateway.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from aiohttp import web

from ports import free_port


@asynccontextmanager
async def serve(handler: Callable, path: str = "/{tail:.*}") -> AsyncIterator[str]:
    """Serve one handler on a free loopback port; yields the base URL; always cleans up."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def tarpit(seconds: float = 30.0) -> Callable:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.json_response({"ready": True})
    return handler


def fixed(status: int, body: str, content_type: str = "application/json") -> Callable:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)
    return handler


class ConnectionCounter:
    """A raw TCP listener that only counts connections (to prove none were made)."""

    def __init__(self) -> None:
        self.count = 0
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> "ConnectionCounter":
        async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.count += 1
            writer.close()
        self._server = await asyncio.start_server(on_conn, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
