"""What the probe tasks know, kept for the collectors to read.

Only probe tasks write here (on the event loop); collectors read a consistent view because
every update of one series happens without an ``await`` in between.
"""

from __future__ import annotations

import struct
import sys
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from exporter.probes.base import Gauge, ProbeOutcome
from exporter.quantiles import SlidingQuantiles
from openclaw_schema.names import Phase

HISTORY = 100
# Log lines are kept for the newest few history entries only: at 1,000 targets the full
# history with logs would hold ~100,000 log lists in memory.
HISTORY_WITH_LOGS = 10
# Each distinct tuple of phase names once (a module's phases, or a prefix of them when a
# probe stops early): a handful in all, shared by every history entry.
_PHASE_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


class HistoryEntry:
    """A compact copy of one probe outcome for the status page's history. At 1,000 targets the
    full history is 100,000 entries, so each byte here is 100 KB: the phase names are shared by
    every entry with the same phases, the start time and the phase durations are packed doubles
    in one bytes object (not a float object each), equal failure messages are one string, and
    once an entry is no longer the newest its log lines are one string (``compact``)."""

    __slots__ = ("result", "message", "timeout_phase", "_names", "_numbers", "_logs")

    def __init__(self, outcome: ProbeOutcome) -> None:
        self.result = outcome.result
        message = outcome.message
        self.message = sys.intern(message) if type(message) is str else message
        self.timeout_phase = outcome.timeout_phase
        names = tuple(outcome.phases)
        self._names = _PHASE_NAMES.setdefault(names, names)
        self._numbers = struct.pack(f"{len(names) + 1}d", outcome.started, *outcome.phases.values())
        # The newest entry shares its lines with the series' last outcome: joined only later.
        self._logs: tuple[str, ...] | str = tuple(outcome.logs)

    @property
    def logs(self) -> tuple[str, ...]:
        logs = self._logs
        return tuple(logs.split("\n")) if isinstance(logs, str) else logs

    @logs.setter
    def logs(self, lines: tuple[str, ...]) -> None:
        self._logs = lines

    def compact(self) -> None:
        """The log lines as one string (~50 B less a line, and no tuple); lines that hold a
        newline themselves stay as they are."""
        logs = self._logs
        if isinstance(logs, tuple) and logs and not any("\n" in line for line in logs):
            self._logs = "\n".join(logs)

    @property
    def started(self) -> float:
        return struct.unpack_from("d", self._numbers)[0]

    @property
    def success(self) -> bool:
        return self.result == "success"

    @property
    def phases(self) -> dict[str, float]:
        return dict(zip(self._names, struct.unpack_from(f"{len(self._names)}d", self._numbers, 8)))


@dataclass(slots=True)
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        out, acc = [], 0
        for bound, n in zip(self.buckets, self.counts):
            acc += n
            out.append((repr(float(bound)), acc))
        out.append(("+Inf", acc + self.counts[-1]))
        return out


@dataclass(slots=True)  # one per (target, module, pod): no per-instance __dict__
class SeriesState:
    """Everything known about one (target, module) pair."""

    target: str
    module: str
    buckets: tuple[float, ...]
    gateway_pod: str = ""
    # Off (default): only the `total` phase keeps a histogram and a percentile window, and no
    # percentiles are exported. On: every phase's histogram and the percentile summary.
    detail: bool = False
    attempts: Counter = field(default_factory=Counter)
    timeouts: Counter = field(default_factory=Counter)
    skipped: int = 0
    last: ProbeOutcome | None = None
    last_time: float = 0.0
    gauges: list[Gauge] = field(default_factory=list)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    windows: dict[str, SlidingQuantiles] = field(default_factory=dict)
    # (phase, threshold) -> count of successful probes whose phase took <= threshold
    latency_good: Counter = field(default_factory=Counter)
    # Oldest first, at most HISTORY. A list: a deque's first block alone is ~600 B, a young
    # series' list a few pointers (1,000 targets).
    history: list[HistoryEntry] = field(default_factory=list)
    # This series' exposition lines by family (exporter/exposition.py); None = render again.
    cache: dict[str, str] | None = None
    # The label part of its histogram lines by phase, which never changes (exporter/exposition.py).
    prefixes: dict = field(default_factory=dict)


class ProbeState:
    """All series, keyed by (target, module, gateway_pod); gateway_pod is "" for the configured target."""

    def __init__(self, thresholds: dict[tuple[str, str], tuple[float, ...]] | None = None) -> None:
        self.series: dict[tuple[str, str, str], SeriesState] = {}
        # (module, phase) -> latency SLO thresholds counted exactly (see slo/)
        self.thresholds = thresholds or {}
        self.in_flight = 0
        # (target, module) pairs whose series export every phase and the percentiles.
        self.detail: set[tuple[str, str]] = set()

    def set_detail(self, pairs: set[tuple[str, str]]) -> None:
        """Which (target, module) pairs have ``detail`` on (their per-pod series too). Turning
        it off drops the per-phase data (the `total` phase stays)."""
        self.detail = set(pairs)
        for series in self.series.values():
            detail = (series.target, series.module) in self.detail
            if detail != series.detail:
                series.detail = detail
                series.cache = None
                if not detail:
                    for store in (series.histograms, series.windows):
                        for phase in [p for p in store if p != Phase.TOTAL]:
                            del store[phase]

    def ensure(self, target: str, module: str, buckets: tuple[float, ...], gateway_pod: str = "",
               results: tuple[str, ...] = ()) -> SeriesState:
        """The series of a pair, created if new. `results` (the prober's vocabulary) are
        pre-created at 0: a failure series born at its first failure hides that failure from
        rate()/increase(), which need two samples (Prometheus instrumentation practice)."""
        key = (target, module, gateway_pod)
        state = self.series.get(key)
        if state is None or (results and not all(r in state.attempts for r in results)):
            if state is None:
                state = self.series[key] = SeriesState(target, module, buckets, gateway_pod,
                                                       detail=(target, module) in self.detail)
            for result in results:
                state.attempts[result] += 0
            state.cache = None
            # Pre-create the threshold counters so the good-events series exists at 0.
            for (mod, phase), values in self.thresholds.items():
                if mod == module:
                    for threshold in values:
                        state.latency_good[(phase, threshold)] += 0
        return state

    def record(self, outcome: ProbeOutcome, buckets: tuple[float, ...], now: float | None = None) -> SeriesState:
        """O(1) per probe whatever the uptime: counters, one histogram observation per kept
        phase and an append to its percentile window; rendering and sorting wait for a read."""
        now = time.time() if now is None else now
        state = self.ensure(outcome.target, outcome.module, buckets, outcome.gateway_pod)
        state.cache = None
        state.attempts[outcome.result] += 1
        if outcome.timeout_phase:
            state.timeouts[outcome.timeout_phase] += 1
        state.last = outcome
        state.last_time = now
        state.gauges = outcome.gauges
        history = state.history
        if history:
            history[-1].compact()  # no longer the newest: its outcome and its lines' list are gone
        history.append(HistoryEntry(outcome))
        if len(history) > HISTORY:
            del history[0]
        if len(history) > HISTORY_WITH_LOGS:
            history[-HISTORY_WITH_LOGS - 1].logs = ()
        if not outcome.success:
            # Latency describes successful probes; a refused connect in 0.1 ms or a timeout
            # would drag the percentiles around. Failures are counted in `attempts`.
            return state
        phases = outcome.phases.items() if state.detail else (
            [(Phase.TOTAL, outcome.phases[Phase.TOTAL])] if Phase.TOTAL in outcome.phases else [])
        for phase, seconds in phases:
            hist = state.histograms.get(phase)
            if hist is None:
                hist = state.histograms[phase] = Histogram(buckets)
            hist.observe(seconds)
            window = state.windows.get(phase)
            if window is None:
                window = state.windows[phase] = SlidingQuantiles()
            window.add(now, seconds)
        for (mod, phase), values in self.thresholds.items():
            if mod == outcome.module and phase in outcome.phases:
                for threshold in values:
                    if outcome.phases[phase] <= threshold:
                        state.latency_good[(phase, threshold)] += 1
        return state

    def skip(self, target: str, module: str, buckets: tuple[float, ...], ticks: int = 1, gateway_pod: str = "") -> None:
        state = self.ensure(target, module, buckets, gateway_pod)
        state.skipped += ticks
        state.cache = None

    def retain(self, keys: set[tuple[str, str, str]]) -> None:
        """Forget series of targets, modules or pods no longer probed (reload, pod gone)."""
        for key in list(self.series):
            if key not in keys:
                del self.series[key]
