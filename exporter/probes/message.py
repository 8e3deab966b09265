"""The message probe: one real agent turn through the gateway, timed from its own frames.

The article's headline latency is message processing (P50/P95/P99 200/800/1500 ms); the
control-plane probes stop at `health`. This module sends ``chat.send`` to one dedicated
session over the WebSocket and follows the run's events to the final ``chat`` event:

* ``admit``: chat.send -> ``res {runId, status: started}``
* ``prepare``: -> the model call starts (``chat`` status ``phase: starting_model``)
* ``model``: -> the first assistant text (``agent`` stream ``assistant`` / ``chat`` delta)
* ``complete``: -> the run's ``chat`` event ``state: final``
* ``warm`` or ``cold``: the whole successful turn, under the name of its temperature.

Warm/cold: the gateway drops its worker threads after about 60 s idle and the next turn
takes 4-8 s (observed against 2026.9.6). A turn is ``warm`` when the previous turn of this
target ended less than ``warm_within`` (60 s) before it, else ``cold`` (also the first turn
after the exporter starts): the SLO and the article's percentiles read ``warm`` only, so the
probe's own interval does not decide the numbers.

Faults are classified at the first error signal (the ``agent`` lifecycle event carrying
``errorObservation``, or the ``chat`` error), and the run is aborted at once
(``chat.abort {sessionKey, runId}``) so the gateway's own retries (up to 10, over minutes)
do not multiply provider calls. The same on the probe's own deadline (``timeout``).

Cost: each turn sends the agent's whole prompt (~60 KB, 11-12 tools) to the provider, so the
module is off by default, needs an explicit ``daily_cap``, and counts its turns per UTC day
in a file beside the state file (a restart does not reset the cap).

Session hygiene: the session is rolled every ``roll_every`` turns (and on the first turn
after a start): ``sessions.reset`` with operator.admin, else ``sessions.patch {archived:
true}`` then ``sessions.delete {archivedOnly, deleteTranscript}`` with operator.write. The
``agent`` method is never used (it writes a task record per call).

Sample exposition::

    openclaw_probe_duration_seconds_bucket{module="message",phase="warm",target="gateway",le="5.0"} 97.0
    openclaw_message_probe_turns_total{target="gateway"} 123.0
    openclaw_message_probe_turns_remaining_today{target="gateway"} 165.0
    openclaw_message_probe_session_rolls_total{target="gateway"} 3.0
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from openclaw_schema import names as c
from exporter.probes import gateway_client
from exporter.probes.base import COMMON_RESULTS, ProbeFailure, Prober, ProbeRun
from exporter.probes.gateway_client import GatewayClient
from exporter.settings.modules import DEFAULT_SESSION_KEY, MessageSettings  # noqa: F401 (the probe's session, tests read it here)
from exporter.settings.resolved import TargetConfig

log = logging.getLogger("exporter.probe")

# Reasons read from the run's frames (module docstring), then the gateway protocol's.
RUN_RESULTS = ("model_not_found", "rate_limited", "provider_error", "provider_refused", "timeout", "run_error",
               "aborted", "daily_cap_reached")
RESULTS = tuple(dict.fromkeys(COMMON_RESULTS + gateway_client.RESULTS + RUN_RESULTS))

# chat.send (and the roll's sessions.patch/delete) need operator.write, which covers the roll's
# sessions.describe (operator.read). Off loopback a client without an approved device identity
# is granted no scopes: checked at hello-ok, so that is `scope_missing` naming the scope, not a
# `forbidden` chat.send after a roll that could not even read the session.
NEEDED_SCOPES = ("operator.write",)
CAP_FILE = "message-cap.json"
# Time kept before the runner's deadline to abort the run and close the socket.
ABORT_MARGIN = 1.0
# failoverReason / providerRuntimeFailureKind (gateway 2026.9.6) -> result
_FAILOVER_REASONS = {
    "model_not_found": "model_not_found",
    "rate_limit": "rate_limited",
    "rate_limited": "rate_limited",
    "server_error": "provider_error",
    "overloaded": "provider_error",
    "auth": "provider_error",
    "billing": "provider_error",
    "format": "provider_error",
    "timeout": "timeout",
}

def check_enabled(settings: MessageSettings) -> list[str]:
    if settings.daily_cap is None:
        return ["daily_cap is required: every turn sends the agent's whole prompt (~60 KB) to the model "
                "provider; e.g. daily_cap: 288 is one turn every 5 minutes (docs/message-probe.md)"]
    return []


# Each turn sends the agent's whole prompt upstream: ~60 KB with the default agent's 11-12 tools
# (observed against 2026.9.6). Used for the cost line of the status page and docs.
UPSTREAM_BYTES_PER_TURN = 60_000


def cost_note(interval: float, settings: MessageSettings | None) -> str:
    """What the module costs a day at its interval, capped by daily_cap (status page, docs)."""
    per_day = int(86400 // interval)
    cap = settings.daily_cap if settings is not None and settings.daily_cap is not None else per_day
    turns = min(per_day, cap)
    capped = f", capped at {cap}" if cap < per_day else ""
    return (f"~{turns} agent turns/day{capped}, ~{turns * UPSTREAM_BYTES_PER_TURN / 1e6:.0f} MB sent to the "
            "model provider per day (~60 KB per turn)")


# --- per-target state ----------------------------------------------------------------------

@dataclass
class TargetState:
    last_turn_end: float | None = None  # monotonic time the previous turn ended
    turns_since_roll: int | None = None  # None: unknown (after a start), roll first
    rolls: int = 0


def cap_path(auth: str | None) -> str:
    """Beside the exporter's state (its auth digests file ``auth``: `slo.state_file` or the default dir)."""
    if auth:
        return auth[: -len(gateway_client.AUTH_DIGESTS_FILE)] + CAP_FILE
    return os.path.join(gateway_client.default_state_dir(), CAP_FILE)


@dataclass
class MessageStates:
    """Per-target memory; the daily counts also live in a file (cap_path) across restarts."""

    clock: Callable[[], float] = time.time
    targets: dict[str, TargetState] = field(default_factory=dict)
    cap_file: str | None = None  # None: cap_path() of the run's auth memory
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, target: str) -> TargetState:
        return self.targets.setdefault(target, TargetState())

    def reset(self) -> None:
        self.targets.clear()

    def take_turn(self, target: str, cap: int, auth_path: str | None = None) -> tuple[bool, int, int]:
        """Count one turn against today's cap in the file: (allowed, used today, total)."""
        path = self.cap_file or cap_path(auth_path)
        today = datetime.fromtimestamp(self.clock(), timezone.utc).date().isoformat()
        with self._lock:
            try:
                with open(path, encoding="utf-8") as f:
                    doc = json.load(f)
                if not isinstance(doc, dict) or not isinstance(doc.get("targets"), dict):
                    raise ValueError("not a message cap file")
            except FileNotFoundError:
                doc = {"version": 1, "targets": {}}
            except (OSError, ValueError) as exc:
                log.warning("ignoring an unreadable message cap file", extra={"file": path, "error": str(exc)[:200]})
                doc = {"version": 1, "targets": {}}
            entry = doc["targets"].get(target)
            if not isinstance(entry, dict):
                entry = {}
            used = int(entry.get("used", 0)) if entry.get("day") == today else 0
            total = int(entry.get("total", 0))
            if used >= cap:
                return False, used, total
            used, total = used + 1, total + 1
            doc["targets"][target] = {"day": today, "used": used, "total": total}
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
                tmp = f"{path}.tmp-{os.getpid()}"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(doc, f, sort_keys=True)
                os.replace(tmp, path)
            except OSError as exc:
                log.warning("cannot write the message cap file; counting in memory only",
                            extra={"file": path, "error": str(exc)})
            return True, used, total


# --- classification ------------------------------------------------------------------------

def classify_run_error(detail: Any, message: str) -> str:
    """The result for a run's error signal (errorObservation / errorDetail and its text)."""
    detail = detail if isinstance(detail, dict) else {}
    why = str(detail.get("failoverReason") or detail.get("providerRuntimeFailureKind") or "")
    if why == "model_not_found":
        return "model_not_found"
    # A refused connection is reported as failoverReason "timeout"; its text says refused.
    if "refused" in message.lower():
        return "provider_refused"
    return _FAILOVER_REASONS.get(why, "run_error")


def _error_text(detail: Any, message: Any) -> str:
    detail = detail if isinstance(detail, dict) else {}
    model = f"{detail.get('provider')}/{detail.get('model')}" if detail.get("model") else ""
    why = detail.get("failoverReason") or detail.get("providerRuntimeFailureKind") or ""
    text = str(message or "").strip()[:300]
    parts = [p for p in (f"model {model}" if model else "", f"({why})" if why else "", text) if p]
    return " ".join(parts) or "the run failed without a message"


# --- the turn ------------------------------------------------------------------------------

class _Turn:
    """Follows one run's frames, recording phase times from the chat.send request."""

    def __init__(self, run: ProbeRun, session_key: str) -> None:
        self.run = run
        self.session_key = session_key
        self.request_id: str | None = None
        self.run_id: str | None = None
        self.t0 = time.perf_counter()
        self.marks: dict[str, float] = {}
        self.pending: list[dict[str, Any]] = []  # run events seen before the runId was known

    def mark(self, phase: str, nxt: str | None) -> None:
        if phase not in self.marks:
            self.marks[phase] = time.perf_counter() - self.t0
            self.run.current_phase = nxt

    def phases(self) -> dict[str, float]:
        """Durations of each phase (time between consecutive marks)."""
        out, prev = {}, 0.0
        for phase in (c.Phase.ADMIT, c.Phase.PREPARE, c.Phase.MODEL, c.Phase.COMPLETE):
            if phase in self.marks:
                out[phase] = max(0.0, self.marks[phase] - prev)
                prev = self.marks[phase]
        return out

    def handle(self, frame: dict[str, Any]) -> bool:
        """True when the run ended well; ProbeFailure at its first error signal."""
        if frame["type"] == "res":
            if frame.get("id") != self.request_id:
                return False  # an answer to another request (abort of an earlier run): not ours
            if frame.get("ok") is not True:
                reason, message = gateway_client.classify_error(frame.get("error"), during_connect=False)
                raise ProbeFailure(reason, f"chat.send: {message}")
            payload = frame.get("payload") if isinstance(frame.get("payload"), dict) else {}
            self.run_id = str(payload.get("runId") or "") or None
            if self.run_id is None:
                raise ProbeFailure("invalid_frame", "chat.send answered without a runId")
            self.mark(c.Phase.ADMIT, c.Phase.PREPARE)
            self.run.log("admitted", run_id=self.run_id, status=payload.get("status"))
            pending, self.pending = self.pending, []
            return any(self.handle(f) for f in pending)
        if frame["type"] != "event" or frame.get("event") not in ("chat", "agent"):
            return False
        payload = frame.get("payload") if isinstance(frame.get("payload"), dict) else {}
        if payload.get("sessionKey") != self.session_key:
            return False
        if self.run_id is None:
            self.pending.append(frame)
            return False
        if payload.get("runId") != self.run_id:
            return False
        if frame["event"] == "agent":
            return self._agent(payload)
        return self._chat(payload)

    def _agent(self, payload: dict[str, Any]) -> bool:
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        stream = payload.get("stream")
        if stream == "lifecycle":
            if data.get("errorObservation") or data.get("phase") == "error":
                detail = data.get("errorObservation")
                text = _error_text(detail, data.get("error"))
                if data.get("aborted") is True:
                    raise ProbeFailure("aborted", f"the run was aborted: {text}")
                raise ProbeFailure(classify_run_error(detail, str(data.get("error") or "")), text)
            if data.get("phase") == "model" and data.get("provider"):
                self.mark(c.Phase.PREPARE, c.Phase.MODEL)
        elif stream == "assistant" and data.get("text"):
            self.mark(c.Phase.PREPARE, c.Phase.MODEL)
            self.mark(c.Phase.MODEL, c.Phase.COMPLETE)
        return False

    def _chat(self, payload: dict[str, Any]) -> bool:
        state = payload.get("state")
        if state == "status" and payload.get("phase") == "starting_model":
            # The model call starts now. (The agent lifecycle event `phase: model` comes only
            # when the provider's answer starts: it would put the provider's time in prepare.)
            self.mark(c.Phase.PREPARE, c.Phase.MODEL)
        elif state == "delta":
            self.mark(c.Phase.PREPARE, c.Phase.MODEL)
            self.mark(c.Phase.MODEL, c.Phase.COMPLETE)
        elif state == "final":
            self.mark(c.Phase.PREPARE, c.Phase.MODEL)
            self.mark(c.Phase.MODEL, c.Phase.COMPLETE)
            self.mark(c.Phase.COMPLETE, None)
            return True
        elif state == "error":
            detail = payload.get("errorDetail")
            raise ProbeFailure(classify_run_error(detail, str(payload.get("errorMessage") or "")),
                               _error_text(detail, payload.get("errorMessage")))
        elif state == "aborted":
            raise ProbeFailure("aborted", f"the run was aborted by the gateway or another client "
                               f"(stopReason {str(payload.get('stopReason') or '-')[:40]})")
        return False


async def _abort(client: GatewayClient, settings: MessageSettings, run_id: str, run: ProbeRun) -> None:
    """Stop the gateway's own retries; never changes the probe's result."""
    try:
        async with asyncio.timeout(ABORT_MARGIN * 0.8):
            payload = await client.call("chat.abort", {"sessionKey": settings.session_key, "runId": run_id})
        run.log("run aborted", run_id=run_id, aborted=(payload or {}).get("aborted") if isinstance(payload, dict) else "-")
    except (ProbeFailure, TimeoutError, OSError, RuntimeError) as exc:
        run.log("chat.abort failed", level=logging.INFO, run_id=run_id, error=str(exc)[:200])


async def roll_session(client: GatewayClient, settings: MessageSettings, run: ProbeRun) -> str:
    """Start the probe session afresh: reset with admin scope, else archive and delete."""
    assert client.hello is not None
    key = settings.session_key
    if "operator.admin" in client.hello.scopes:
        await client.call("sessions.reset", {"key": key, "reason": "reset"})
        return "reset"
    try:
        row = await client.call("sessions.describe", {"key": key})
    except ProbeFailure as exc:
        run.log("session not found; nothing to roll", detail=exc.message[:200])
        return "none"
    session = row.get("session", row) if isinstance(row, dict) else {}
    session_id = session.get("sessionId") if isinstance(session, dict) else None
    if not session_id:
        run.log("session has no transcript yet; nothing to roll")
        return "none"
    # Archiving needs the caller-observed sessionId (protocol: rpc-session-control.md).
    await client.call("sessions.patch", {"key": key, "archived": True, "expectedSessionId": session_id})
    await client.call("sessions.delete", {"key": key, "archivedOnly": True, "deleteTranscript": True})
    return "archive+delete"


async def probe(target: TargetConfig, settings: MessageSettings, run: ProbeRun) -> None:
    problems = check_enabled(settings)
    if problems:
        raise ProbeFailure("config_error", problems[0])
    assert settings.daily_cap is not None
    states = run.prober_state.message
    state = states.of(target.name)
    allowed, used, total = await asyncio.to_thread(states.take_turn, target.name, settings.daily_cap,
                                                  run.prober_state.auth.path)
    run.counter(c.MESSAGE_TURNS, total)
    run.gauge(c.MESSAGE_CAP_REMAINING,
              max(0, settings.daily_cap - used))
    if not allowed:
        raise ProbeFailure("daily_cap_reached", f"daily_cap of {settings.daily_cap} turns reached for today (UTC); "
                           "no turn sent")
    try:
        client = await GatewayClient.open(target, settings, run, need_scopes=NEEDED_SCOPES,
                                          scopes_setting="message.scopes")
        try:
            if state.turns_since_roll is None or state.turns_since_roll >= settings.roll_every:
                with run.phase("roll"):
                    how = await roll_session(client, settings, run)
                state.turns_since_roll, state.rolls = 0, state.rolls + 1
                run.log("session rolled", how=how)
            await _run_turn(client, settings, state, run)
        finally:
            await client.close()
    finally:  # after the roll, whatever the turn's result
        run.counter(c.MESSAGE_SESSION_ROLLS,
                    state.rolls)


async def _run_turn(client: GatewayClient, settings: MessageSettings, state: TargetState, run: ProbeRun) -> None:
    loop = asyncio.get_running_loop()
    gap = None if state.last_turn_end is None else loop.time() - state.last_turn_end
    temperature = c.Phase.WARM if gap is not None and gap < settings.warm_within else c.Phase.COLD
    turn = _Turn(run, settings.session_key)
    stop_at = (run.deadline - ABORT_MARGIN) if run.deadline is not None else loop.time() + 3600
    run.current_phase = c.Phase.ADMIT
    state.turns_since_roll = (state.turns_since_roll or 0) + 1
    turn.request_id = await client.send("chat.send", {
        "sessionKey": settings.session_key, "message": settings.message,
        "idempotencyKey": "openclaw-exporter-" + secrets.token_hex(8)})
    run.log("chat.send", session_key=settings.session_key, temperature=temperature,
            idle_s=f"{gap:.1f}" if gap is not None else "-")
    try:
        try:
            async with asyncio.timeout_at(stop_at):
                while not turn.handle(await client.next_frame()):
                    pass
        except TimeoutError:
            phase = run.current_phase or c.Phase.ADMIT
            raise ProbeFailure("timeout", f"no final chat event {time.perf_counter() - turn.t0:.1f}s after chat.send "
                               f"(in phase {phase}); run aborted") from None
    except ProbeFailure as exc:
        run.phases.update(turn.phases())
        now = time.perf_counter() - turn.t0
        since_model = f"{now - turn.marks[c.Phase.PREPARE]:.3f}" if c.Phase.PREPARE in turn.marks else "-"
        run.log("turn failed", reason=exc.reason, after_send_s=f"{now:.3f}", after_model_start_s=since_model)
        if turn.run_id is not None and exc.reason not in ("closed", "aborted"):
            await _abort(client, settings, turn.run_id, run)
        raise
    finally:
        state.last_turn_end = loop.time()
    run.phases.update(turn.phases())
    run.phases[temperature] = turn.marks[c.Phase.COMPLETE]
    run.log("turn ok", temperature=temperature, seconds=f"{turn.marks[c.Phase.COMPLETE]:.3f}")


PROBER = Prober(
    name="message",
    run=probe,
    phases=("connect", "challenge", "handshake", "roll", c.Phase.ADMIT, c.Phase.PREPARE, c.Phase.MODEL,
            c.Phase.COMPLETE, c.Phase.WARM, c.Phase.COLD, c.Phase.TOTAL),
    buckets=c.MODEL_BUCKETS,
    default_interval=300.0,
    default_timeout=30.0,
    enabled_by_default=False,
    enabled_when_present=True,
    check_enabled=check_enabled,
    results=RESULTS,
    # The latency alert and SLO read the `warm` phase histogram and percentiles: exported by default.
    detail_by_default=True,
    # Every turn is a paid provider call: one per target, never one more per gateway pod.
    per_pod=False,
)
