"""Capture the real gateway's WebSocket frames once, for bench/targets.py to replay.

    python bench/capture_gateway.py      # writes bench/fixtures/gateway-frames.json

Starts the real gateway (scripts/gateway.py, OPENCLAW_CACHE), opens a WebSocket as the
exporter's websocket probe does (challenge, `connect` as operator with token auth, one `health`
RPC) and stores the three frames' payloads. The token and anything named like a secret are
replaced before writing; the stand-in sends a fresh nonce/connId per session.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("OPENCLAW_CACHE", str(ROOT / ".cache" / "openclaw"))
OUT = ROOT / "bench" / "fixtures" / "gateway-frames.json"
SECRET_WORDS = ("token", "secret", "password", "key", "signature", "recovery")


def scrub(value, token: str):
    if isinstance(value, dict):
        # Same length, so the frames keep their real size.
        return {k: ("x" * len(v) if any(w in k.lower() for w in SECRET_WORDS) and isinstance(v, str) else scrub(v, token))
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, token) for v in value]
    if isinstance(value, str) and token in value:
        return value.replace(token, "x" * len(token))
    return value


async def capture(url: str, token: str) -> dict:
    from exporter import __version__
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        challenge = json.loads((await ws.receive()).data)
        await ws.send_str(json.dumps({"type": "req", "id": "1", "method": "connect", "params": {
            "minProtocol": 4, "maxProtocol": 4,
            "client": {"id": "gateway-client", "version": __version__, "platform": sys.platform, "mode": "backend"},
            "role": "operator", "scopes": ["operator.read"], "auth": {"token": token}}}))
        frames = {"challenge": challenge}
        while "hello" not in frames:
            frame = json.loads((await ws.receive()).data)
            if frame.get("type") == "res" and frame.get("id") == "1":
                frames["hello"] = frame
        await ws.send_str(json.dumps({"type": "req", "id": "2", "method": "health", "params": {}}))
        while "health" not in frames:
            frame = json.loads((await ws.receive()).data)
            if frame.get("type") == "res" and frame.get("id") == "2":
                frames["health"] = frame
        return frames


def main() -> int:
    from gateway import Gateway
    from ports import free_port
    port = free_port()
    token = "bench-" + secrets.token_hex(16)
    gw = Gateway(port, token)
    try:
        gw.start()
        frames = asyncio.run(capture(f"ws://127.0.0.1:{port}/", token))
    finally:
        gw.stop()
    frames = scrub(frames, token)
    sizes = {k: len(json.dumps(v)) for k, v in frames.items()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"gateway": "openclaw (real, scripts/gateway.py)", "sizes": sizes, "frames": frames}, indent=1) + "\n")
    print(f"wrote {OUT}: {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
