"""Self-signed certificates (openssl CLI) and loopback https servers for TLS tests."""

from __future__ import annotations

import ssl
import subprocess
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

from aiohttp import web

from ports import free_port


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def self_signed(directory: Path, name: str = "server", cn: str = "127.0.0.1") -> CertPair:
    """A self-signed certificate valid for 127.0.0.1 and localhost (it is its own CA)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return CertPair(cert, key)


def server_context(pair: CertPair) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pair.cert, pair.key)
    return ctx


@asynccontextmanager
async def serve_https(handler: Callable, pair: CertPair, path: str = "/{tail:.*}") -> AsyncIterator[str]:
    """Serve one handler over https on a free loopback port; yields the base URL; always cleans up."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_context(pair)).start()
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
