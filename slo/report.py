"""`slo report`: the error budget of every SLO, read from a Prometheus server.

Queries the raw probe counters with the same PromQL the recording rules use (so the report
works on a Prometheus without the rules loaded), then does the arithmetic in slo.math.
Network I/O lives in `PrometheusClient`; `build_report` takes any object with `query`.
"""

from __future__ import annotations

import calendar
import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from openclaw_schema import duration
from slo import math as slomath
from slo.model import PERIODS, SLO, Spec
from slo.rules import sli_error_expr

if TYPE_CHECKING:
    import httpx  # imported by PrometheusClient: building the CLI for `run` must not load it (~2 MB RSS)

CALENDAR_MONTH = "calendar-month"


class Querier(Protocol):
    def query(self, expr: str, at: float) -> float | None: ...


class PrometheusClient:
    """Instant queries against the Prometheus HTTP API; one number per query."""

    def __init__(self, url: str, timeout: float = 30.0, transport: httpx.BaseTransport | None = None):
        import httpx

        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, transport=transport)

    def query(self, expr: str, at: float) -> float | None:
        response = self._client.get("/api/v1/query", params={"query": expr, "time": f"{at:.3f}"})
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus query failed: {body.get('error')}")
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            result = [{"value": result}]
        if not result:
            return None  # no series: no traffic or no data
        value = float(result[0]["value"][1])
        return None if math.isnan(value) else value

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class SLOReport:
    slo: str
    objective: float
    window: str
    window_seconds: int  # time the SLI was measured over
    period_seconds: int  # time the budget is for
    sli: float | None  # None: no events in the window
    budget_minutes: float
    # None with the SLI: no events in the window is no data, never a full budget.
    consumed_ratio: float | None
    consumed_minutes: float | None
    remaining_ratio: float | None
    burn_rates: dict[str, float | None]  # alert window -> burn rate
    exhaustion_seconds: float | None  # at the shortest page long-window burn rate; None = never


def _period(slo: SLO, window: str | None, at: float) -> tuple[int, int]:
    """(seconds measured, seconds the budget covers): the SLO's own rolling window (None),
    another rolling window (7d, 28d, 30d) or the calendar month so far (UTC)."""
    if window is None:
        return slo.period_seconds, slo.period_seconds
    if window != CALENDAR_MONTH:
        return PERIODS[window], PERIODS[window]
    now = datetime.fromtimestamp(at, tz=timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(now.year, now.month)[1]
    return max(60, int(at - start.timestamp())), days * 86400


def slo_report(slo: SLO, prom: Querier, at: float, window: str | None = None) -> SLOReport:
    measured, period = _period(slo, window, at)
    error = prom.query(sli_error_expr(slo.sli, f"{measured}s"), at)
    share = measured / period
    consumed = None if error is None else slomath.budget_consumed(error, slo.objective, share)
    remaining = None if consumed is None else 1.0 - consumed
    burns: dict[str, float | None] = {}
    for seconds in slomath.sli_windows(slo.period_seconds):
        if seconds == slo.period_seconds:
            continue
        ratio = prom.query(sli_error_expr(slo.sli, slomath.format_duration(seconds)), at)
        burns[slomath.format_duration(seconds)] = None if ratio is None else slomath.burn_rate(ratio, slo.objective)
    # "Current" burn: the long window of the fastest page row (1h for 30d).
    current_window = slomath.format_duration(slomath.scaled_table(slo.period_seconds)[0].long_seconds)
    exhaustion = math.inf if remaining is None else slomath.time_to_exhaustion(remaining, burns.get(current_window) or 0.0, period)
    budget_minutes = slomath.budget_minutes(slo.objective, period)
    return SLOReport(
        slo=slo.name,
        objective=slo.objective,
        window=window or slo.window,
        window_seconds=measured,
        period_seconds=period,
        sli=None if error is None else 1.0 - error,
        budget_minutes=budget_minutes,
        consumed_ratio=consumed,
        consumed_minutes=None if consumed is None else consumed * budget_minutes,
        remaining_ratio=remaining,
        burn_rates=burns,
        exhaustion_seconds=None if math.isinf(exhaustion) else exhaustion,
    )


def build_report(spec: Spec, prom: Querier, at: float, window: str | None = None) -> list[SLOReport]:
    return [slo_report(slo, prom, at, window) for slo in spec.slos]


def to_json(reports: list[SLOReport]) -> str:
    return json.dumps([asdict(r) for r in reports], indent=2, sort_keys=True)


def _pct(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def _consumed(r: SLOReport) -> str:
    if r.consumed_minutes is None:
        return "no data"
    return f"{r.consumed_minutes:.1f}m ({_pct(r.consumed_ratio, 1)})"


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def to_table(reports: list[SLOReport]) -> str:
    burn_windows = sorted({w for r in reports for w in r.burn_rates}, key=duration.parse)
    head = ["SLO", "OBJECTIVE", "WINDOW", "SLI", "BUDGET", "CONSUMED", "REMAINING"] + [f"BURN {w}" for w in burn_windows] + ["EXHAUSTED IN"]
    rows = [head]
    for r in reports:
        rows.append(
            [
                r.slo,
                _pct(r.objective, 2),
                r.window,
                _pct(r.sli),
                f"{r.budget_minutes:.1f}m",
                _consumed(r),
                "no data" if r.remaining_ratio is None else _pct(r.remaining_ratio, 1),
            ]
            + ["n/a" if r.burn_rates.get(w) is None else f"{r.burn_rates[w]:.2f}" for w in burn_windows]
            + [_human(r.exhaustion_seconds)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)

