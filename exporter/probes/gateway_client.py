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
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from exporter import __version__
from exporter.probes import http_get, ws_transport
from exporter.probes.base import ProbeFailure, ProbeRun
from exporter.http_client import USER_AGENT
from exporter.state_dir import STATE_DIR_ENV, default_state_dir  # noqa: F401 (message.py reads them here)
from exporter.settings.modules import MessageSettings, WebSocketSettings
from exporter.settings.resolved import TargetConfig

# The modules that speak the gateway protocol (client id/mode, scopes, frame bound).
ClientSettings = WebSocketSettings | MessageSettings

log = logging.getLogger("exporter.probe")

PROTOCOL_VERSION = 4
# The early stop before the runner's deadline (to tell auth throttling from a timeout) leaves
# at least this margin, and more when the event loop runs late: LAG_FACTOR x the lag measured
# while waiting, so a loaded machine stops earlier instead of losing the race.
MIN_STOP_MARGIN = 0.05
LAG_FACTOR = 4.0
_WAIT_SLICE = 0.1

# Failure reasons of the gateway protocol (handshake and RPCs), for the probers using this client.
# pairing_required: the device identity waits for `openclaw devices approve`; scope_missing: the
# hello-ok granted fewer scopes than the module needs (off loopback without an approved device: none).
RESULTS = ("upgrade_rejected", "redirect", "no_challenge", "invalid_frame", "protocol_mismatch", "auth_failed",
           "pairing_required", "scope_missing", "forbidden", "unavailable", "rpc_error", "closed")
ROLE = "operator"
# A scope that satisfies others (the gateway's operator scope model: admin covers every
# operator scope, write covers read).
_IMPLIED_SCOPES = {"operator.admin": ("*",), "operator.write": ("operator.read",)}

# details.code -> failure reason, for errors answering `connect`
_CONNECT_DETAIL_REASONS = {
    "PAIRING_REQUIRED": "pairing_required",
    "DEVICE_IDENTITY_REQUIRED": "pairing_required",
    "CONTROL_UI_DEVICE_IDENTITY_REQUIRED": "pairing_required",
    "PROTOCOL_MISMATCH": "protocol_mismatch",
    "CLIENT_VERSION_MISMATCH": "protocol_mismatch",
}
_CLOSE_REASONS = {1002: "protocol_mismatch", 1008: "auth_failed", 1009: "invalid_frame"}


AUTH_DIGESTS_FILE = "auth-digests.json"
_MAX_REJECTED = 8  # digests kept per target: enough for a few rotations back and forth
_MAX_TARGETS = 1024


def auth_digests_path(state_file: str | None) -> str:
    """Beside the live-budget state file when there is one, else in the default state dir."""
    if state_file:
        return f"{state_file}.{AUTH_DIGESTS_FILE}"
    return os.path.join(default_state_dir(), AUTH_DIGESTS_FILE)


class AuthMemory:
    """What each target's gateway said about which token: digests of the tokens it rejected and
    of the last one it accepted (keyed BLAKE2b digests, never the token), optionally kept in a
    file so a restarted exporter or the one-shot `probe` command knows them too.

    Why: the real gateway throttles repeated failed authentication: its answer to `connect`
    with a wrong token comes after 0.25 s, then 0.5, 1, 2, 4 and 5 s (observed against
    2026.9.6). A probe whose timeout is shorter sees silence, not AUTH_TOKEN_MISMATCH; what the
    gateway said before keeps a rotated token reading as `auth_failed` (a probe problem), not
    as a `timeout` that would count against the SLO and page as an outage."""

    def __init__(self, path: str | None = None, create_dir: bool = False) -> None:
        self.path = path
        self._create_dir = create_dir  # the default state dir may be made; a state file's never
        self._salt = secrets.token_bytes(16)
        self._targets: dict[str, dict[str, Any]] = {}
        self._write_lock = threading.Lock()
        self._version = self._written = 0
        self._warned = False
        # target name -> device id whose v3 signature that target rejected: sign v2 for it from
        # then on (memory only: a restart tries v3 again).
        self.v2_only: dict[str, str] = {}
        if path is not None:
            self._load(path)

    @classmethod
    def for_state_file(cls, state_file: str | None) -> "AuthMemory":
        """Kept beside `slo.state_file`, or in the default state dir (the `run` and `probe`
        commands share it: what one learnt about tokens, the other knows)."""
        return cls(auth_digests_path(state_file), create_dir=not state_file)

    def _load(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            salt = bytes.fromhex(doc["salt"])
            targets = {str(k): {"rejected": [str(d) for d in v.get("rejected", [])][-_MAX_REJECTED:],
                                "accepted": v.get("accepted") if isinstance(v.get("accepted"), str) else None,
                                "updated": float(v.get("updated", 0))}
                       for k, v in doc["targets"].items() if isinstance(v, dict)}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring an unreadable auth digests file", extra={"file": path, "error": str(exc)[:200]})
            return
        self._salt, self._targets = salt, targets

    def digest(self, token: str | None) -> str:
        return hashlib.blake2b((token or "").encode(), key=self._salt, digest_size=16).hexdigest()

    def _entry(self, target: str) -> dict[str, Any]:
        entry = self._targets.setdefault(target, {"rejected": [], "accepted": None, "updated": 0.0})
        entry["updated"] = time.time()
        if len(self._targets) > _MAX_TARGETS:
            oldest = min(self._targets, key=lambda k: self._targets[k]["updated"])
            del self._targets[oldest]
        return entry

    def rejected(self, target: str, token: str | None) -> bool:
        """The gateway answered `connect` with an auth error. True when that is news."""
        digest, entry = self.digest(token), self._targets.get(target)
        if entry is not None and digest in entry["rejected"] and entry["accepted"] != digest:
            return False
        entry = self._entry(target)
        entry["rejected"] = [d for d in entry["rejected"] if d != digest][-(_MAX_REJECTED - 1):] + [digest]
        if entry["accepted"] == digest:
            entry["accepted"] = None
        self._version += 1
        return True

    def accepted(self, target: str, token: str | None) -> bool:
        """The gateway answered hello-ok. True when that is news."""
        digest, entry = self.digest(token), self._targets.get(target)
        if entry is not None and entry["accepted"] == digest and digest not in entry["rejected"]:
            return False
        entry = self._entry(target)
        entry["accepted"] = digest
        entry["rejected"] = [d for d in entry["rejected"] if d != digest]
        self._version += 1
        return True

    def was_rejected(self, target: str, token: str | None) -> bool:
        entry = self._targets.get(target)
        return entry is not None and self.digest(token) in entry["rejected"]

    def was_accepted(self, target: str, token: str | None) -> bool:
        entry = self._targets.get(target)
        return entry is not None and entry["accepted"] == self.digest(token)

    def snapshot(self) -> tuple[int, str]:
        return self._version, json.dumps({"version": 1, "salt": self._salt.hex(), "targets": self._targets}, sort_keys=True)

    def write(self, version: int, text: str) -> None:
        """Write a snapshot atomically (mode 0600); run it off the event loop. A file that cannot
        be written leaves the memory in this process only: logged once, never a probe failure."""
        if self.path is None:
            return
        with self._write_lock:
            if version <= self._written:
                return  # a newer snapshot is already on disk
            tmp = f"{self.path}.tmp-{os.getpid()}"
            try:
                if self._create_dir:
                    os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, self.path)
                self._written = version
            except OSError as exc:
                if not self._warned:
                    self._warned = True
                    log.warning("cannot write the auth digests file; remembering in memory only",
                                extra={"file": self.path, "error": str(exc)})

    async def save(self) -> None:
        if self.path is not None:
            await asyncio.to_thread(self.write, *self.snapshot())


class _InferredAuthFailure(ProbeFailure):
    """auth_failed concluded from silence, not said by the gateway: never recorded as a rejection."""


@dataclass(frozen=True)
class Hello:
    protocol: int | None
    server_version: str
    scopes: tuple[str, ...]
    auth_method: str = ""  # "token", "device-token", ... as hello-ok.auth.method says
    # hello-ok.features.methods as received: 466 names on the real gateway, which no probe
    # reads, so they are checked only when asked for (`methods`), not on every handshake.
    raw_methods: Any = ()

    @property
    def methods(self) -> tuple[str, ...]:
        """The method names the gateway advertises (strings only)."""
        if not isinstance(self.raw_methods, (list, tuple)):
            return ()
        return tuple(m for m in self.raw_methods if isinstance(m, str))


def missing_scopes(granted: tuple[str, ...] | list[str], needed: tuple[str, ...] | list[str]) -> list[str]:
    """The needed scopes the granted ones do not cover."""
    have = set(granted)
    for scope in granted:
        have.update(_IMPLIED_SCOPES.get(scope, ()))
    return [s for s in needed if s not in have and "*" not in have]


def _pairing_hint(details: dict[str, Any]) -> str:
    if str(details.get("code", "")).endswith("DEVICE_IDENTITY_REQUIRED"):
        return ("; the gateway wants a signed device identity from this client: set device.identity_file "
                "(`openclaw-exporter device init`) and approve the device once (docs/kubernetes.md)")
    request_id = str(details.get("requestId") or "")[:80]
    device = str(details.get("deviceId") or "")[:80]
    if request_id:
        return (f"; approve it once on the gateway: `openclaw devices approve {request_id}`"
                + (f" (device {device})" if device else ""))
    return "; approve it on the gateway: `openclaw devices list`, then `openclaw devices approve <requestId>`"


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
            reason = _CONNECT_DETAIL_REASONS[detail]
            return reason, text + (_pairing_hint(details) if reason == "pairing_required" else "")
        if detail.startswith("DEVICE_AUTH_"):
            return "pairing_required", text
        if detail.startswith("AUTH_") or code in ("UNAUTHORIZED", "AUTH_FAILED"):
            return "auth_failed", text
    return "rpc_error", text


class GatewayClient:
    """One WebSocket session with the gateway."""

    def __init__(self, ws: ws_transport.WebSocketProtocol, run: ProbeRun, max_frame_bytes: int) -> None:
        self._ws = ws
        self._run = run
        self._max = max_frame_bytes
        self._ids = itertools.count(1)
        self.hello: Hello | None = None

    @classmethod
    async def open(cls, target: TargetConfig, settings: ClientSettings, run: ProbeRun, need_scopes: tuple[str, ...] = (),
                   scopes_setting: str = "websocket.scopes") -> "GatewayClient":
        """Connect, read the challenge, send `connect`, and wait for hello-ok.

        With a device identity (config `device:`) the challenge is signed with the v3 payload;
        a gateway that rejects that signature gets one more connection signed with v2 (and v2
        from then on). ``need_scopes``: what the caller will call needs; hello-ok granting less
        ends the probe with `scope_missing` naming them (and ``scopes_setting``, the config key
        that requests them)."""
        device = getattr(target, "device", None)
        v2_only = run.prober_state.auth.v2_only
        version = 2 if device is not None and v2_only.get(target.name) == device.identity.device_id else 3
        try:
            client = await cls._open(target, settings, run, version)
        except ProbeFailure as exc:
            if not (device is not None and version == 3 and "DEVICE_AUTH_SIGNATURE_INVALID" in exc.message):
                raise
            run.log("v3 device signature rejected; retrying with the v2 payload")
            v2_only[target.name] = device.identity.device_id
            client = await cls._open(target, settings, run, 2)
        try:
            client._require(need_scopes, device, scopes_setting)
        except BaseException:
            client.abort()
            raise
        return client

    def _require(self, need: tuple[str, ...], device: Any, scopes_setting: str = "websocket.scopes") -> None:
        assert self.hello is not None
        missing = missing_scopes(self.hello.scopes, need)
        if not missing:
            return
        granted = ", ".join(self.hello.scopes) or "none"
        if device is None:
            why = ("a client without an approved device identity gets no scopes from a gateway it reaches off "
                   "loopback: set device.identity_file (`openclaw-exporter device init`) and approve the device "
                   "once (docs/kubernetes.md)")
        else:
            why = (f"device {device.identity.device_id[:16]}... is approved without them: approve the scope "
                   "upgrade (`openclaw devices list`, `openclaw devices approve <requestId>`) or request them in "
                   f"{scopes_setting}")
        raise ProbeFailure("scope_missing", f"the gateway granted scopes [{granted}], which lack "
                           f"{', '.join(missing)} needed by this module; {why}")

    @classmethod
    async def _open(cls, target: TargetConfig, settings: ClientSettings, run: ProbeRun, signature_version: int) -> "GatewayClient":
        run.log("connecting", url=target.ws_url)
        with run.phase("connect"):
            try:
                ws = await ws_transport.connect(target.ws_url, {"User-Agent": USER_AGENT}, ssl_setting=target.ssl_context,
                                                max_msg_size=settings.max_frame_bytes)
            except ws_transport.Redirected as exc:
                where = http_get.redirect_origin(target.ws_url, exc.location)
                raise ProbeFailure("redirect", f"HTTP {exc.status} redirect to {where} instead of 101 Switching "
                                   "Protocols; redirects are never followed (the token would go along)") from None
            except ws_transport.UpgradeRejected as exc:
                why = f" ({exc.why})" if exc.why else ""
                raise ProbeFailure("upgrade_rejected", f"HTTP {exc.status}{why} instead of 101 Switching Protocols") from None
        client = cls(ws, run, settings.max_frame_bytes)
        try:
            await client._handshake(target, settings, signature_version)
        except BaseException:
            client.abort()
            raise
        return client

    async def _handshake(self, target: TargetConfig, settings: ClientSettings, signature_version: int = 3) -> None:
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
            token = await target.token.aread(run.redactor) if target.token is not None else None
            device = getattr(target, "device", None)
            client = {"id": settings.client_id, "version": __version__, "platform": sys.platform,
                      "mode": settings.client_mode}
            params: dict[str, Any] = {
                "minProtocol": PROTOCOL_VERSION,
                "maxProtocol": PROTOCOL_VERSION,
                "client": client,
                "role": ROLE,
                "scopes": list(settings.scopes),
            }
            device_token = None
            if device is not None:
                for secret in device.identity.secrets():
                    run.redactor.register(secret)
                stored = device.tokens.get(target.name, device.identity.device_id, ROLE)
                if stored is not None:
                    run.redactor.register(stored["token"])
                    # The protocol's order (auth.md, selectConnectAuth): the shared token first,
                    # the device token the gateway issued when there is none.
                    if not token:
                        device_token = stored["token"]
            auth_token = token or device_token
            if token:
                params["auth"] = {"token": token}
            elif device_token:
                params["auth"] = {"token": device_token, "deviceToken": device_token}
            if device is not None:
                params["device"] = self._device_block(frame, device, client, params, auth_token, signature_version)
            try:
                payload = await self._connect(target.name, auth_token, params)
            except ProbeFailure as exc:
                if device_token and "AUTH_DEVICE_TOKEN_MISMATCH" in exc.message:
                    # Revoked or rotated: forget it, so the next connect asks for pairing again.
                    if device.tokens.forget(target.name, device.identity.device_id, ROLE):
                        await asyncio.to_thread(device.tokens.write)
                raise
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
                auth_method=str(auth.get("method", ""))[:32],
                raw_methods=features.get("methods", ()),
            )
            if self.hello.protocol not in (None, PROTOCOL_VERSION):
                raise ProbeFailure("protocol_mismatch", f"server chose protocol {self.hello.protocol}, client speaks {PROTOCOL_VERSION}")
            issued = auth.get("deviceToken")
            if device is not None and isinstance(issued, str) and issued and auth.get("role", ROLE) == ROLE:
                run.redactor.register(issued)
                if device.tokens.put(target.name, device.identity.device_id, ROLE, issued, self.hello.scopes):
                    run.log("device token issued", level=logging.INFO, device_id=device.identity.device_id,
                            scopes=",".join(self.hello.scopes) or "-", file=device.token_file)
                    await asyncio.to_thread(device.tokens.write)
            run.log("hello-ok", server_version=self.hello.server_version, protocol=self.hello.protocol,
                    scopes=",".join(self.hello.scopes) or "-", auth=self.hello.auth_method or "-")

    def _device_block(self, challenge: dict[str, Any], device: Any, client: dict[str, Any], params: dict[str, Any],
                      token: str | None, version: int) -> dict[str, Any]:
        """Sign the challenge: its nonce, and its `ts` as signedAt (handshake.md)."""
        payload = challenge.get("payload") if isinstance(challenge.get("payload"), dict) else {}
        nonce, ts = payload.get("nonce"), payload.get("ts")
        if not isinstance(nonce, str) or not nonce:
            raise ProbeFailure("invalid_frame", "connect.challenge without a nonce: cannot sign the device identity")
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            raise ProbeFailure("invalid_frame", "connect.challenge without a valid ts: cannot sign the device identity")
        self._run.log("signing challenge", device_id=device.identity.device_id, payload=f"v{version}")
        return device.identity.device_block(client_id=client["id"], client_mode=client["mode"], role=ROLE,
                                            scopes=params["scopes"], nonce=nonce, signed_at_ms=ts, token=token,
                                            platform=client["platform"], version=version)

    async def _connect(self, target: str, token: str | None, params: dict[str, Any]) -> Any:
        """Send `connect`; keep the gateway's auth throttling from reading as an outage.

        While waiting for the answer the client pings the gateway (unless this target accepted
        this token before): a pong proves it is alive and reading this connection, just not
        answering `connect` yet. If the answer is still
        missing near the runner's deadline, `_auth_verdict` decides from what the gateway said
        (now and before) whether that silence is auth throttling; the runner asks the same
        question should its deadline fire first (run.timeout_verdict), so the result never
        depends on which timer the event loop serves first."""
        run = self._run
        memory = run.prober_state.auth
        loop = asyncio.get_running_loop()
        request_id = await self._send("connect", params, connect=True)
        sent_at = loop.time()
        self._ws.last_pong = None
        if not memory.was_accepted(target, token):
            # Only the verdict on a token never accepted here reads the pong: a token this target
            # accepted before skips the ping (a frame each way less per probe).
            self._ws.ping(b"openclaw-exporter")  # a no-op when closing already: the answer says why
        run.timeout_verdict = lambda: self._auth_verdict(memory, target, token, sent_at)
        try:
            payload = await self._wait_answer(request_id)
        except ProbeFailure as exc:
            run.timeout_verdict = None  # answered (or decided): nothing left for the runner to ask
            said = not isinstance(exc, _InferredAuthFailure)
            if said and exc.reason == "auth_failed" and memory.rejected(target, token):
                await memory.save()
            raise
        # on the runner's timeout the verdict stays set: the runner asks it
        run.timeout_verdict = None
        if memory.accepted(target, token):
            await memory.save()
        return payload

    async def _wait_answer(self, request_id: str) -> Any:
        """The answer to `connect`, or ProbeFailure(auth_failed) at the early stop if the verdict
        says so. Waits in slices (to measure the loop's lag) on this task itself: a slice that
        ends leaves any unread frame queued in the transport for the next one."""
        run, loop = self._run, asyncio.get_running_loop()
        lag = 0.0
        while run.deadline is not None:
            margin = max(MIN_STOP_MARGIN, LAG_FACTOR * lag)
            step = min(_WAIT_SLICE, run.deadline - margin - loop.time())
            if step <= 0:
                verdict = run.timeout_verdict() if run.timeout_verdict else None
                if verdict is not None:
                    run.log("early stop", margin_ms=round(margin * 1000, 1), loop_lag_ms=round(lag * 1000, 1))
                    raise _InferredAuthFailure(*verdict)
                break  # no reason to call it anything but a timeout: wait for the runner's deadline
            started = loop.time()
            try:
                async with asyncio.timeout(step):
                    return await self._response(request_id, "connect", connect=True)
            except TimeoutError:
                lag = max(lag, loop.time() - started - step)
        return await self._response(request_id, "connect", connect=True)

    def _auth_verdict(self, memory: "AuthMemory", target: str, token: str | None, sent_at: float) -> tuple[str, str] | None:
        """Why a missing answer to `connect` is auth throttling, or None (then it is a timeout)."""
        if memory.was_rejected(target, token):
            return "auth_failed", ("no answer to connect before the timeout; the gateway rejected this token before "
                                   "and throttles repeated failed authentication")
        pong_at = self._ws.last_pong
        if pong_at is not None and pong_at >= sent_at and not memory.was_accepted(target, token):
            return "auth_failed", ("no answer to connect before the timeout, while the gateway answered a ping at once: "
                                   "it holds back the answer as it throttles repeated failed authentication, and this "
                                   "token was never accepted by this target")
        return None

    async def _frame(self) -> dict[str, Any]:
        """Next frame as a dict, or ProbeFailure for anything that is not a protocol frame
        (pings were answered and pongs noted by the transport)."""
        msg = await self._ws.receive()
        kind = msg.kind
        if kind is ws_transport.Kind.TEXT:
            try:
                frame = json.loads(msg.data.decode("utf-8"))
            except UnicodeDecodeError:
                raise ProbeFailure("invalid_frame", f"text frame that is not UTF-8 ({len(msg.data)} bytes)") from None
            except ValueError:
                raise ProbeFailure("invalid_frame", f"non-JSON text frame ({len(msg.data)} bytes)") from None
            if not isinstance(frame, dict) or frame.get("type") not in ("req", "res", "event"):
                raise ProbeFailure("invalid_frame", "JSON frame without type req/res/event")
            return frame
        if kind is ws_transport.Kind.BINARY:
            raise ProbeFailure("invalid_frame", "unexpected binary frame")
        if kind is ws_transport.Kind.ERROR:
            if msg.code == 1009:
                raise ProbeFailure("invalid_frame", f"oversized frame: {msg.reason}")
            raise ProbeFailure("invalid_frame", f"WebSocket protocol error: {msg.reason}")
        if kind is ws_transport.Kind.CLOSED:
            raise ProbeFailure("closed", "connection closed without a close frame" + (f": {msg.reason}" if msg.reason else ""))
        code = msg.code
        reason = _CLOSE_REASONS.get(code, "closed") if code is not None else "closed"
        extra = f" ({msg.reason[:200]})" if msg.reason else ""
        raise ProbeFailure(reason, f"socket closed with code {code}{extra}")

    async def call(self, method: str, params: dict[str, Any] | None = None, connect: bool = False) -> Any:
        """Send one request and wait for the response with the same id (events are skipped)."""
        request_id = await self._send(method, params, connect)
        return await self._response(request_id, method, connect)

    async def send(self, method: str, params: dict[str, Any] | None = None) -> str:
        """Send one request without waiting; returns its id (the caller reads the frames)."""
        return await self._send(method, params)

    async def next_frame(self) -> dict[str, Any]:
        """The next protocol frame (response or event), for callers that follow a run's events."""
        return await self._frame()

    async def _send(self, method: str, params: dict[str, Any] | None, connect: bool = False) -> str:
        request_id = f"{'c' if connect else 'r'}{next(self._ids)}"
        self._ws.send_text(json.dumps({"type": "req", "id": request_id, "method": method, "params": params or {}}))
        return request_id

    async def _response(self, request_id: str, method: str, connect: bool = False) -> Any:
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

    def abort(self) -> None:
        """Close without waiting for the gateway's answer: a handshake that failed must not
        spend what is left of the probe's time on politeness (an auth_failed concluded just
        before the deadline would turn into a timeout)."""
        self._ws.abort()

    async def close(self) -> None:
        """Close politely without waiting: the closing handshake completes (or is cut after a
        second) on its own, so a peer that ignores the close frame (or the fault that ended the
        probe) never turns the probe's real result into a timeout."""
        self._ws.close()
