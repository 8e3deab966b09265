"""A local OpenAI-compatible model provider for the message probe's tests and `make demo`.

The real gateway is configured with it (``models.providers.stub`` with ``baseUrl``
``http://127.0.0.1:PORT/v1``, or ``host``'s address, ``api: "openai-completions"``); it answers streamed chat
completions after ``delay`` seconds, or plays one fault: ``model_not_found`` (404 naming the
model), ``rate_limited`` (429), ``server_error`` (500), ``hang`` (never answers) or
``stopped`` (the port refuses connections). It counts every upstream call, so tests can prove
the probe's abort stops the gateway's own retries. It runs on its own thread and event loop,
so a synchronous caller (a test fixture, the demo) can start and stop it.

    python scripts/stub_provider.py --port 18790 --delay 0.2     # foreground, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web

from ports import free_port

MODEL = "probe-model"
MODES = ("ok", "model_not_found", "rate_limited", "server_error", "hang", "stopped")


class StubProvider:
    def __init__(self, port: int = 0, delay: float = 0.05, model: str = MODEL, host: str = "127.0.0.1") -> None:
        # host: the address to listen on; loopback unless a test's gateway runs in a network
        # namespace and must reach the stub on the host end of the veth pair (tests/netns.py).
        self.host = host
        self.port = port or free_port(host)
        self.delay = delay
        self.model = model
        self.mode = "ok"
        self.calls = 0  # POST /chat/completions received
        self.request_bytes: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def gateway_config(self, name: str = "stub") -> dict[str, Any]:
        """The gateway config fragment that routes the default agent to this provider."""
        return {
            "models": {"providers": {name: {
                "baseUrl": self.base_url, "api": "openai-completions", "apiKey": "stub-key",
                "models": [{"id": self.model, "name": self.model}],
            }}},
            "agents": {"defaults": {"model": {"primary": f"{name}/{self.model}"},
                                    "heartbeat": {"every": "0m"}}},
        }

    # --- the HTTP side ----------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.calls += 1
        self.request_bytes.append(len(body))
        mode = self.mode
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "model_not_found":
            try:
                model = json.loads(body).get("model", "?")
            except ValueError:
                model = "?"
            return web.json_response({"error": {"message": f"The model `{model}` does not exist",
                                                "type": "invalid_request_error", "code": "model_not_found"}}, status=404)
        if mode == "rate_limited":
            return web.json_response({"error": {"message": "Rate limit reached", "type": "rate_limit_error",
                                                "code": "rate_limit_exceeded"}}, status=429)
        if mode == "server_error":
            return web.json_response({"error": {"message": "internal error", "type": "server_error"}}, status=500)
        await asyncio.sleep(self.delay)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        created = int(time.time())
        for piece in ("ok", ""):
            chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": created, "model": self.model,
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece} if piece else {},
                                  "finish_reason": None if piece else "stop"}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        usage = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": created, "model": self.model,
                 "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}
        await resp.write(f"data: {json.dumps(usage)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    # --- lifecycle ----------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        """Switch the fault; `stopped` closes the listening port, any other mode reopens it."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
        self.mode = mode
        self._call(self._stop_site() if mode == "stopped" else self._start_site())

    def start(self) -> "StubProvider":
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._setup())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, name="stub-provider", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("stub provider did not start")
        return self

    async def _setup(self) -> None:
        await self._start_site()

    async def _start_site(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()

    async def _stop_site(self) -> None:
        # The whole runner: kept-alive connections close too, so the next call is refused.
        if self._runner is not None:
            runner, self._runner, self._site = self._runner, None, None
            await runner.cleanup()

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _cancel_handlers(self) -> None:
        # A request still held (mode `hang`) outlives the runner's cleanup: ended here, not left
        # pending on a loop that stops ("Task was destroyed but it is pending" at exit).
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._stop_site())
        self._call(self._cancel_handlers())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
            if not self._thread.is_alive():
                self._loop.close()
        self._loop = None

    def __enter__(self) -> "StubProvider":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18790)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before the streamed answer")
    args = parser.parse_args()
    stub = StubProvider(args.port, args.delay).start()
    print(f"stub provider on {stub.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
