"""Client-path microbenchmark: CPU per readiness GET (fresh connection each, as the probe does).

    python bench/clients.py [--requests 400] [--repeats 3]

Paths: aiohttp (the exporter's session settings), httpx, and a raw asyncio protocol parsing
with httptools, each on the default asyncio loop and under uvloop (when installed: the
`bench` extra). The target is bench/targets.py in its own process (its CPU is not counted);
CPU is this process's time.process_time() per request, median of ``--repeats`` runs with
min-max. Prints a markdown table (docs/benchmarks.md "Client paths").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
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


PATHS = {"aiohttp": aiohttp_path, "httpx": httpx_path, "raw protocol + httptools": raw_path}


def measure(path: str, loop: str, url: str, n: int) -> float:
    """CPU ms per request for one run (a fresh event loop; 20 warm-up requests not counted)."""
    if loop == "uvloop":
        import uvloop
        runner = uvloop.run
    else:
        runner = asyncio.run

    async def main() -> float:
        await PATHS[path](url, 20)
        t0 = time.process_time()
        await PATHS[path](url, n)
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
    finally:
        target.terminate()
        target.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
