"""A minimal OpenClaw gateway WebSocket client (protocol v4): handshake and one RPC at a time.

Used by the websocket probe and by the model probe's gateway-catalog check. Every way the
exchange can go wrong ends in ``ProbeFailure`` with a reason from the protocol itself
(``details.code`` first, then ``code``), so one surprise frame never crashes a probe.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp

from exporter import __version__
from exporter.probes.base import ProbeFailure, ProbeRun

PROTOCOL_VERSION = 4

# Failure reasons of the gateway protocol (handshake and RPCs), for the probers using this client.
RESULTS = ("upgrade_rejected", "no_challenge", "invalid_frame", "protocol_mismatch", "auth_failed",
           "pairing_required", "forbidden", "unavailable", "rpc_error", "closed")

# details.code -> failure reason, for errors answering `connect`
_CONNECT_DETAIL_REASONS = {
    "PAIRING_REQUIRED": "pairing_required",
    "DEVICE_IDENTITY_REQUIRED": "pairing_required",
    "CONTROL_UI_DEVICE_IDENTITY_REQUIRED": "pairing_required",
    "PROTOCOL_MISMATCH": "protocol_mismatch",
    "CLIENT_VERSION_MISMATCH": "protocol_mismatch",
}
_CLOSE_REASONS = {1002: "protocol_mismatch", 1008: "auth_failed", 1009: "invalid_frame"}


class AuthMemory:
    """Which targets' current token the gateway last rejected (as a digest, never the token).

    The real gateway throttles repeated failed authentication: its answer to `connect` with a
    wrong token comes after 0.25 s, then 0.5, 1, 2, 4 and 5 s (observed against 2026.9.6). A
    probe whose timeout is shorter then sees silence, not AUTH_TOKEN_MISMATCH; remembering the
    rejection keeps a rotated token reading as `auth_failed` (a probe problem), not as a
    `timeout` that would count against the SLO and page as an outage."""

    def __init__(self) -> None:
        self._rejected: dict[str, str] = {}

    @staticmethod
    def digest(token: str | None) -> str:
        return hashlib.sha256((token or "").encode()).hexdigest()

    def rejected(self, target: str, token: str | None) -> None:
        self._rejected[target] = self.digest(token)

    def accepted(self, target: str) -> None:
        self._rejected.pop(target, None)

    def was_rejected(self, target: str, token: str | None) -> bool:
        return self._rejected.get(target) == self.digest(token)


AUTH_MEMORY = AuthMemory()


@dataclass(frozen=True)
class Hello:
    protocol: int | None
    server_version: str
    scopes: tuple[str, ...]
    methods: tuple[str, ...]


def classify_error(error: Any, during_connect: bool) -> tuple[str, str]:
    """Map a protocol error object to (reason, message)."""
    if not isinstance(error, dict):
        return "invalid_frame", "error response without an error object"
    code = str(error.get("code", ""))
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    detail = str(details.get("code", ""))
    message = str(error.get("message", ""))[:300]
    text = f"{code}/{detail}: {message}" if detail else f"{code}: {message}"
    if code == "UNAVAILABLE":
        retry = error.get("retryAfterMs")
        why = details.get("reason")
        extra = "".join([f" reason={why}" if why else "", f" retry_after_ms={retry}" if retry is not None else ""])
        return "unavailable", text + extra
    if detail == "MISSING_SCOPE" or code == "FORBIDDEN":
        return "forbidden", text
    if during_connect:
        if detail in _CONNECT_DETAIL_REASONS:
            return _CONNECT_DETAIL_REASONS[detail], text
        if detail.startswith("DEVICE_AUTH_"):
            return "pairing_required", text
        if detail.startswith("AUTH_") or code in ("UNAUTHORIZED", "AUTH_FAILED"):
            return "auth_failed", text
    return "rpc_error", text


class GatewayClient:
    """One WebSocket session with the gateway."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, run: ProbeRun, max_frame_bytes: int) -> None:
        self._ws = ws
        self._run = run
        self._max = max_frame_bytes
        self._ids = itertools.count(1)
        self.hello: Hello | None = None

    @classmethod
    async def open(cls, target: Any, settings: Any, run: ProbeRun) -> "GatewayClient":
        """Connect, read the challenge, send `connect`, and wait for hello-ok."""
        assert run.session is not None
        run.log("connecting", url=target.ws_url)
        with run.phase("connect"):
            try:
                ws = await run.session.ws_connect(
                    target.ws_url, ssl=target.ssl_context, max_msg_size=settings.max_frame_bytes,
                    autoping=True, heartbeat=None,
                )
            except aiohttp.WSServerHandshakeError as exc:
                raise ProbeFailure("upgrade_rejected", f"HTTP {exc.status} instead of 101 Switching Protocols") from None
        client = cls(ws, run, settings.max_frame_bytes)
        try:
            await client._handshake(target, settings)
        except BaseException:
            await client.close()
            raise
        return client

    async def _handshake(self, target: Any, settings: Any) -> None:
        run = self._run
        with run.phase("challenge"):
            try:
                async with asyncio.timeout(settings.challenge_timeout):
                    frame = await self._frame()
            except TimeoutError:
                raise ProbeFailure("no_challenge", f"no connect.challenge within {settings.challenge_timeout:g}s of the upgrade") from None
            if frame.get("type") != "event" or frame.get("event") != "connect.challenge":
                raise ProbeFailure("no_challenge", f"first frame was {frame.get('type')}/{frame.get('event') or frame.get('method') or '-'}, not connect.challenge")
            run.log("challenge received")
        with run.phase("handshake"):
            token = target.token.read(run.redactor) if target.token is not None else None
            params: dict[str, Any] = {
                "minProtocol": PROTOCOL_VERSION,
                "maxProtocol": PROTOCOL_VERSION,
                "client": {"id": settings.client_id, "version": __version__, "platform": sys.platform,
                           "mode": settings.client_mode},
                "role": "operator",
                "scopes": list(settings.scopes),
            }
            if token:
                params["auth"] = {"token": token}
            payload = await self._connect(target.name, token, params)
            if not isinstance(payload, dict) or payload.get("type") != "hello-ok":
                raise ProbeFailure("invalid_frame", "connect answered without a hello-ok payload")
            server = payload.get("server") if isinstance(payload.get("server"), dict) else {}
            auth = payload.get("auth") if isinstance(payload.get("auth"), dict) else {}
            features = payload.get("features") if isinstance(payload.get("features"), dict) else {}
            protocol = payload.get("protocol")
            self.hello = Hello(
                protocol=protocol if isinstance(protocol, int) else None,
                server_version=str(server.get("version", "unknown"))[:64],
                scopes=tuple(s for s in auth.get("scopes", []) if isinstance(s, str)),
                methods=tuple(m for m in features.get("methods", []) if isinstance(m, str)),
            )
            if self.hello.protocol not in (None, PROTOCOL_VERSION):
                raise ProbeFailure("protocol_mismatch", f"server chose protocol {self.hello.protocol}, client speaks {PROTOCOL_VERSION}")
            run.log("hello-ok", server_version=self.hello.server_version, protocol=self.hello.protocol,
                    scopes=",".join(self.hello.scopes) or "-")

    async def _connect(self, target: str, token: str | None, params: dict[str, Any]) -> Any:
        """Send `connect`; keep the gateway's auth throttling from reading as an outage."""
        run = self._run
        # Stop a hair before the runner's hard timeout, to tell throttling from a timeout.
        deadline = run.deadline - 0.02 if run.deadline is not None else None
        try:
            async with asyncio.timeout_at(deadline):
                payload = await self.call("connect", params, connect=True)
        except ProbeFailure as exc:
            if exc.reason == "auth_failed":
                AUTH_MEMORY.rejected(target, token)
            raise
        except TimeoutError:
            if AUTH_MEMORY.was_rejected(target, token):
                raise ProbeFailure("auth_failed", "no answer to connect before the timeout; the gateway rejected "
                                   "this token before and throttles repeated failed authentication") from None
            raise
        AUTH_MEMORY.accepted(target)
        return payload

    async def _frame(self) -> dict[str, Any]:
        """Next frame as a dict, or ProbeFailure for anything that is not a protocol frame."""
        msg = await self._ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            if len(msg.data) > self._max:
                raise ProbeFailure("invalid_frame", f"frame of {len(msg.data)} bytes exceeds {self._max}")
            try:
                frame = json.loads(msg.data)
            except ValueError:
                raise ProbeFailure("invalid_frame", f"non-JSON text frame ({len(msg.data)} bytes)") from None
            if not isinstance(frame, dict) or frame.get("type") not in ("req", "res", "event"):
                raise ProbeFailure("invalid_frame", "JSON frame without type req/res/event")
            return frame
        if msg.type == aiohttp.WSMsgType.BINARY:
            raise ProbeFailure("invalid_frame", "unexpected binary frame")
        if msg.type == aiohttp.WSMsgType.ERROR:
            exc = msg.data
            code = getattr(exc, "code", None)
            if code == 1009 or "size" in str(exc).lower():
                raise ProbeFailure("invalid_frame", f"oversized frame (limit {self._max} bytes)")
            raise ProbeFailure("closed", f"WebSocket error: {exc}")
        # CLOSE / CLOSING / CLOSED
        code = self._ws.close_code if msg.type != aiohttp.WSMsgType.CLOSE else msg.data
        reason = _CLOSE_REASONS.get(code, "closed") if isinstance(code, int) else "closed"
        extra = f" ({msg.extra})" if isinstance(msg.extra, str) and msg.extra else ""
        raise ProbeFailure(reason, f"socket closed with code {code}{extra}")

    async def call(self, method: str, params: dict[str, Any] | None = None, connect: bool = False) -> Any:
        """Send one request and wait for the response with the same id (events are skipped)."""
        request_id = f"{'c' if connect else 'r'}{next(self._ids)}"
        await self._ws.send_str(json.dumps({"type": "req", "id": request_id, "method": method, "params": params or {}}))
        while True:
            frame = await self._frame()
            if frame["type"] == "event":
                continue
            if frame["type"] != "res":
                raise ProbeFailure("invalid_frame", f"unexpected {frame['type']} frame while waiting for {method}")
            if frame.get("id") != request_id:
                raise ProbeFailure("invalid_frame", f"response id {str(frame.get('id'))[:40]!r} does not match request {request_id!r}")
            if frame.get("ok") is True:
                return frame.get("payload")
            if frame.get("ok") is False:
                reason, message = classify_error(frame.get("error"), during_connect=connect)
                if reason == "rpc_error":
                    self._run.log("unrecognised error code", method=method, error=message)
                raise ProbeFailure(reason, f"{method}: {message}")
            raise ProbeFailure("invalid_frame", f"response to {method} without a boolean ok")

    async def close(self, timeout: float = 0.25) -> None:
        """Close politely, but never wait long: a peer that ignores the close frame (or the
        fault that ended the probe) must not turn the probe's real result into a timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._ws.close()
        except (Exception, TimeoutError):  # noqa: BLE001 - closing must not mask the result
            pass
