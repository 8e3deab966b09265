"""The shared aiohttp client session, with tracing hooks that time connect and first byte."""

from __future__ import annotations

import ssl
import time
from types import SimpleNamespace
from typing import Any

import aiohttp

from exporter import __version__

USER_AGENT = f"openclaw-slo-exporter/{__version__}"


async def _on_request_start(session: Any, ctx: SimpleNamespace, params: Any) -> None:
    run = ctx.trace_request_ctx
    if run is not None:
        ctx.start = ctx.mark = time.perf_counter()


async def _on_connection_create_end(session: Any, ctx: SimpleNamespace, params: Any) -> None:
    run = ctx.trace_request_ctx
    if run is not None:
        now = time.perf_counter()
        run.phases["connect"] = now - ctx.start
        run.current_phase = "first_byte"
        ctx.mark = now


async def _on_request_end(session: Any, ctx: SimpleNamespace, params: Any) -> None:
    run = ctx.trace_request_ctx
    if run is not None:
        run.phases["first_byte"] = time.perf_counter() - ctx.mark


def make_session(limit: int = 0, ssl_context: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    """One session for all HTTP probes. Connections are not reused, so every probe measures a
    real connect, as a new client of the gateway would experience it."""
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_on_request_start)
    trace.on_connection_create_end.append(_on_connection_create_end)
    trace.on_request_end.append(_on_request_end)
    connector = aiohttp.TCPConnector(limit=limit, force_close=True, ssl=ssl_context if ssl_context else True)
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[trace],
        headers={"User-Agent": USER_AGENT},
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=True,
    )
