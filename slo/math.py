"""SLO arithmetic: pure functions of numbers, no I/O, no PromQL.

Objectives are ratios (0.999). Decimal is used where humans compare digits (budget, budget
minutes), so 1 - 0.999 is 0.001 and not 0.0010000000000000009.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

BASE_PERIOD = 30 * 86400  # the SRE Workbook table is written for 30 days


@dataclass(frozen=True)
class BurnWindow:
    """One row of the multiwindow, multi-burn-rate table."""

    budget_share: float  # share of the period's budget spent when it fires
    long_seconds: int
    short_seconds: int
    action: str  # "page" or "ticket" (the severity each maps to is the spec's alerting choice)

    def factor(self, period_seconds: int) -> float:
        return burn_factor(self.budget_share, period_seconds, self.long_seconds)


# Google SRE Workbook, "Alerting on SLOs", for a 30-day period. Data, not code.
WORKBOOK_TABLE: tuple[BurnWindow, ...] = (
    BurnWindow(0.02, 3600, 300, "page"),
    BurnWindow(0.05, 6 * 3600, 1800, "page"),
    BurnWindow(0.10, 86400, 2 * 3600, "ticket"),
    BurnWindow(0.10, 3 * 86400, 6 * 3600, "ticket"),
)

MIN_WINDOW = 300  # rate() over less than 5m sees too few scrapes of a 30s probe


def _check_objective(objective: float) -> None:
    if not 0 < objective < 1:
        raise ValueError(f"objective must be a ratio in (0, 1), got {objective!r}")


def error_budget(objective: float) -> float:
    """Allowed error ratio: 1 - objective."""
    _check_objective(objective)
    return float(Decimal(1) - Decimal(repr(objective)))


def budget_minutes(objective: float, period_seconds: int) -> float:
    """Minutes of total outage the period's budget allows (43.2 for 0.999 over 30d)."""
    _check_objective(objective)
    return float((Decimal(1) - Decimal(repr(objective))) * period_seconds / 60)


def burn_factor(budget_share: float, period_seconds: int, long_seconds: int) -> float:
    """Burn rate that spends `budget_share` of the budget within the long window."""
    return float(Decimal(repr(budget_share)) * period_seconds / long_seconds)


def min_events(factor: float, objective: float) -> int:
    """Fewest events a long window must hold before its burn-rate alert may fire.

    The alert fires when the error ratio exceeds factor * (1 - objective). With N events, one
    failure alone is a ratio of 1/N, which stays at or under the threshold exactly when
    N >= 1 / (factor * (1 - objective)). Below that, a fresh install's first failed probe
    would page on its own (1 failure in 10 probes is a 10 % error ratio, 7x a 99.9 % page's
    14.4x threshold of 1.44 %). At 99.9 %: 70 events for 14.4x, 167 for 6x, 334 for 3x,
    1000 for 1x. Decimal, so 1 / (1 x 0.001) is 1000 and not 1000.0000000000001.
    """
    threshold = Decimal(repr(factor)) * (Decimal(1) - Decimal(repr(objective)))
    if threshold <= 0:
        raise ValueError(f"burn factor must be > 0, got {factor!r}")
    _check_objective(objective)
    return math.ceil(Decimal(1) / threshold)


def error_ratio(bad: float, total: float) -> float | None:
    """Bad events over all events; None when there were no events (no traffic, no SLI)."""
    if total <= 0:
        return None
    return bad / total


def burn_rate(err_ratio: float | None, objective: float) -> float:
    """How many times faster than sustainable the budget is spent; no traffic burns nothing."""
    if err_ratio is None:
        return 0.0
    return err_ratio / error_budget(objective)


def budget_consumed(err_ratio: float | None, objective: float, elapsed_share: float = 1.0) -> float:
    """Share of the period's budget spent, given the error ratio over the time elapsed.

    For a rolling window the whole period has elapsed (share 1); for a calendar month so
    far, `elapsed_share` is the part of the month gone (traffic assumed steady).
    """
    return burn_rate(err_ratio, objective) * elapsed_share


def budget_remaining(err_ratio: float | None, objective: float, elapsed_share: float = 1.0) -> float:
    """Share of the period's budget left; negative once the SLO is breached."""
    return 1.0 - budget_consumed(err_ratio, objective, elapsed_share)


def time_to_exhaustion(remaining: float, rate: float, period_seconds: int) -> float:
    """Seconds until the remaining budget is gone at a constant burn rate.

    Burn rate 1 spends a whole budget in one period, so `remaining` lasts
    remaining * period / rate. Infinite when nothing burns, zero when nothing is left.
    """
    if remaining <= 0:
        return 0.0
    if rate <= 0:
        return math.inf
    return remaining * period_seconds / rate


def scaled_table(period_seconds: int) -> tuple[BurnWindow, ...]:
    """The workbook table for another period: windows scale with the period, so each row's
    budget share and burn factor stay those of the workbook (14.4, 6, 3, 1).

    Windows are rounded to whole minutes (5m at least) so PromQL can spell them.
    """
    if period_seconds == BASE_PERIOD:
        return WORKBOOK_TABLE

    def scale(seconds: int) -> int:
        return max(MIN_WINDOW, round(seconds * period_seconds / BASE_PERIOD / 60) * 60)

    return tuple(
        BurnWindow(w.budget_share, scale(w.long_seconds), scale(w.short_seconds), w.action)
        for w in WORKBOOK_TABLE
    )


def sli_windows(period_seconds: int) -> tuple[int, ...]:
    """Every window a recording rule is needed for: the table's windows and the period."""
    table = scaled_table(period_seconds)
    windows = {s for w in table for s in (w.long_seconds, w.short_seconds)}
    return tuple(sorted(windows | {period_seconds}))


def format_duration(seconds: int) -> str:
    """Prometheus duration spelling: 300 -> 5m, 20160 -> 5h36m, 2592000 -> 30d (openclaw_schema.duration parses it)."""
    if seconds <= 0 or seconds % 60:
        raise ValueError(f"window must be a positive whole number of minutes, got {seconds}s")
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)

