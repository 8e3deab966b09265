"""Debian's headless Chromium driven over the DevTools protocol with aiohttp (no Selenium, no Playwright).

One browser per ``Chromium`` context: it runs in its own process group, stopped by its pid.
Console errors, uncaught exceptions and browser log errors (CSP violations, failed loads)
are collected in ``errors`` for the test to assert on.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from support.tools import INSTALL, missing

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")


def chromium_bin() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """Chromium's path (Debian names it chromium, Ubuntu chromium-browser); see support.tools.missing."""
    path = chromium_bin()
    if path is None:
        missing("the `chromium` command", INSTALL["chromium"])
    assert path is not None
    return path


class Chromium:
    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.errors: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._drain: asyncio.Task | None = None
        self.session_id: str | None = None
        self._load = asyncio.Event()

    async def __aenter__(self) -> "Chromium":
        binary = chromium_bin()
        if binary is None:
            raise RuntimeError("chromium is not installed: make deps-debian installs it")
        self.proc = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
        try:
            url = await asyncio.wait_for(self._devtools_url(), 30)
            self._drain = asyncio.create_task(self._drain_stderr())
            self._http = aiohttp.ClientSession()
            self._ws = await self._http.ws_connect(url, max_msg_size=0)
            self._reader = asyncio.create_task(self._read())
            target = await self.send("Target.createTarget", {"url": "about:blank"}, session=False)
            attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                       session=False)
            self.session_id = attached["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                await self.send(f"{domain}.enable")
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _devtools_url(self) -> str:
        assert self.proc and self.proc.stderr
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                raise RuntimeError("chromium exited before opening the DevTools port")
            match = re.search(rb"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1).decode()

    async def _drain_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while await self.proc.stderr.readline():
            pass

    async def _read(self) -> None:
        assert self._ws
        async for msg in self._ws:
            data = json.loads(msg.data)
            if "id" in data:
                fut = self._pending.pop(data["id"], None)
                if fut and not fut.done():
                    if "error" in data:
                        fut.set_exception(RuntimeError(f"CDP error: {data['error']}"))
                    else:
                        fut.set_result(data.get("result", {}))
                continue
            self._on_event(data.get("method", ""), data.get("params", {}))

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        self.events.append({"method": method, "params": params})
        if method == "Page.loadEventFired":
            self._load.set()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.errors.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")

    async def send(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> dict[str, Any]:
        assert self._ws
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session_id
        fut = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self._ws.send_str(json.dumps(msg))
        return await asyncio.wait_for(fut, 30)

    async def navigate(self, url: str) -> None:
        self._load.clear()
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {result['errorText']}")
        await asyncio.wait_for(self._load.wait(), 30)

    async def wait_for_load(self, timeout: float) -> None:
        """Wait for the page to load again by itself (a meta refresh, a link followed)."""
        self._load.clear()
        await asyncio.wait_for(self._load.wait(), timeout)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        await self.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self._ws:
            await self._ws.close()
        if self._http:
            await self._http.close()
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            # start_new_session made the browser its group leader: its renderers go with it.
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
            except ProcessLookupError:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._drain:
            self._drain.cancel()
        shutil.rmtree(self.profile, ignore_errors=True)
