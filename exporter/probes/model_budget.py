"""The model probe's budget: what each target's checks remember between runs.

The completion costs money, so it runs on its own interval under a daily cap (the UTC calendar
day), and a provider's 429 Retry-After holds back every call to it. Memory only: a restart resets
it, a config reload keeps it (keyed by target name). The exporter owns one ModelStates
(exporter/probes/prober_state.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Callable

from openclaw_schema import names as c
from exporter.probes.base import ProbeRun

if TYPE_CHECKING:
    from exporter.settings.modules import ModelSettings


def utc_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TargetState:
    """What one target's model checks remember between runs (memory only)."""

    day: date | None = None
    calls_today: int = 0
    calls_total: int = 0
    next_completion_at: float = 0.0
    postponed_until: float = 0.0
    told_gateway_skip: bool = False

    def roll_day(self, now: float) -> None:
        today = datetime.fromtimestamp(now, timezone.utc).date()
        if today != self.day:
            self.day, self.calls_today = today, 0


@dataclass
class ModelStates:
    """Per-target state, keyed by target name, so a config reload keeps the daily count (the
    cap protects money). ``clock`` is wall time: the cap's day is the UTC calendar day."""

    clock: Callable[[], float] = time.time
    targets: dict[str, TargetState] = field(default_factory=dict)

    def of(self, target: str) -> TargetState:
        return self.targets.setdefault(target, TargetState())

    def reset(self) -> None:
        self.targets.clear()


def completion_due(settings: ModelSettings, state: TargetState, now: float, run: ProbeRun) -> bool:
    """Whether this run makes the (paid) call: its own interval has elapsed and the cap allows."""
    state.roll_day(now)
    if now < state.next_completion_at:
        run.log("completion not due", next=utc_text(state.next_completion_at))
        return False
    if state.calls_today >= settings.completion_daily_cap:
        run.log("completion skipped: daily cap reached", cap=settings.completion_daily_cap, day=state.day)
        return False
    return True


def record_completion(settings: ModelSettings, state: TargetState, now: float, run: ProbeRun) -> None:
    state.roll_day(now)
    labels = {c.LABEL_PROVIDER: settings.provider or "provider", c.LABEL_MODEL: settings.completion_model or ""}
    run.counter(c.MODEL_SYNTHETIC_CALLS,
                state.calls_total, **labels)
    run.gauge(c.MODEL_SYNTHETIC_CAP_REMAINING,
              max(0, settings.completion_daily_cap - state.calls_today), **labels)
