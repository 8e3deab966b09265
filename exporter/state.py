"""What the probe tasks know, kept for the collectors to read.

Only probe tasks write here (on the event loop); collectors read a consistent view because
every update of one series happens without an ``await`` in between.
"""

from __future__ import annotations

import re
import sys
import time
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from exporter.probes.base import Gauge, ProbeOutcome
from exporter.quantiles import UINT32_MAX, SlidingQuantiles
from openclaw_schema.names import Phase

HISTORY = 100
# Log lines are kept for the newest few history entries only: at 1,000 targets the full
# history with logs would hold ~100,000 log lists in memory.
HISTORY_WITH_LOGS = 10
# What an entry is besides its numbers and message: (result, timeout phase, phase names), a
# few dozen distinct values in a whole fleet, each numbered once and shared by every entry.
_KINDS: dict[tuple[str, str | None, tuple[str, ...]], int] = {}
_KIND_LIST: list[tuple[str, str | None, tuple[str, ...]]] = []
_NAN = float("nan")
# A log line as ProbeRun.log writes it: f"{elapsed_ms:8.1f}ms {text}". Kept as the text (shared
# with the entry before when equal: a healthy probe logs the same lines every time) and the
# elapsed time in tenths of a millisecond; a line in any other form is kept whole (_WHOLE).
_LOG_LINE = re.compile(r" *(0|[1-9][0-9]*)\.([0-9])ms (.*)", re.S)
_WHOLE = UINT32_MAX
_ABSENT = UINT32_MAX  # no such phase in this entry (or a NaN)
_MAX_MICROS = _ABSENT - 1


def _changed(kinds: array) -> int:
    """The top bit of a kinds array's items: set on an entry whose message differs from the one before."""
    return 1 << (kinds.itemsize * 8 - 1)


def _micros(seconds: float) -> int:
    """A duration as the history keeps it: whole microseconds, clamped to what a uint32 holds."""
    if seconds != seconds:
        return _ABSENT
    if seconds <= 0:
        return 0
    return _MAX_MICROS if seconds >= _MAX_MICROS / 1e6 else round(seconds * 1e6)


class HistoryEntry:
    """One probe of a series' history, as the status page reads it (made when read)."""

    __slots__ = ("started", "result", "message", "timeout_phase", "phases", "logs")

    def __init__(self, started: float, result: str, message: str, timeout_phase: str | None,
                 phases: dict[str, float], logs: tuple[str, ...]) -> None:
        self.started = started
        self.result = result
        self.message = message
        self.timeout_phase = timeout_phase
        self.phases = phases
        self.logs = logs

    @property
    def success(self) -> bool:
        return self.result == "success"


class History:
    """A series' last HISTORY probes, oldest first, packed: at 1,000 targets the full history is
    100,000 entries, so each byte of an entry is 100 KB. The start time is whole milliseconds
    (uint32, after a base; doubles for a history longer than 49 days); the phase durations whole
    microseconds (uint32, up to 71 minutes) in one array (a fixed stride per series, padded
    when a probe stopped early; the status page shows tenths of a millisecond); the result,
    timeout phase and phase names one number of a shared table, its top bit set where the
    message differs from the entry before; the messages one pointer per such change (a healthy
    series says "ok" 100 times: one pointer); log lines only for the newest HISTORY_WITH_LOGS
    entries, each line's text shared with the entry before when equal and its elapsed time a
    number (_append_logs). ~20 B an entry (it was ~60 with doubles and a pointer per message;
    an object per entry was ~165 B). Iterating yields HistoryEntry views."""

    __slots__ = ("_started", "_base", "_durations", "_kinds", "_messages", "_logs", "_log_times", "_stride")

    def __init__(self) -> None:
        # Start times in milliseconds after _base (uint32: 49 days); doubles (typecode "d") for
        # a history that spans longer (an interval over ~12 hours) or a clock set far back.
        self._started: array[Any] = array("I")
        self._base = 0.0
        self._durations = array("I")  # microseconds; _ABSENT pads
        self._kinds = array("H")  # kind number | _changed(): a new message starts here
        self._messages: list[str] = []  # one per entry whose kind has the top bit set
        self._logs: list[tuple[str, ...]] = []  # the newest entries' log texts...
        self._log_times = array("I")  # ... and each line's elapsed tenths of a ms, all entries in order
        self._stride = 0

    def append(self, outcome: ProbeOutcome) -> None:
        names = tuple(outcome.phases)
        key = (outcome.result, outcome.timeout_phase, names)
        kind = _KINDS.get(key)
        if kind is None:
            kind = _KINDS[key] = len(_KIND_LIST)
            _KIND_LIST.append(key)
        if kind >= _changed(self._kinds) and self._kinds.typecode == "H":
            self._kinds = array("I", [(k & 0x7FFF) | ((k & 0x8000) << 16) for k in self._kinds])
        if len(names) > self._stride:
            self._restride(len(names))
        stamp = self._stamp(outcome.started)  # first: it may replace the array
        self._started.append(stamp)
        durations = self._durations
        for seconds in outcome.phases.values():
            durations.append(_micros(seconds))
        for _ in range(self._stride - len(names)):
            durations.append(_ABSENT)
        kinds, message, messages = self._kinds, outcome.message, self._messages
        if messages and (messages[-1] is message or messages[-1] == message):
            kinds.append(kind)
        else:
            kinds.append(kind | _changed(kinds))
            messages.append(sys.intern(message) if type(message) is str else message)
        self._append_logs(outcome.logs)
        if len(self._kinds) > HISTORY:
            del self._started[0]
            del durations[:self._stride]
            # The oldest goes; its message stays with the next entry unless that one has its own.
            changed = _changed(kinds)
            if kinds[1] & changed:
                del messages[0]
            else:
                kinds[1] |= changed
            del kinds[0]

    def _stamp(self, when: float) -> float | int:
        """``when`` as _started keeps it (re-based, or turned into doubles, when it does not fit)."""
        started = self._started
        if started.typecode == "d":
            return when
        if not started:
            self._base = when
        stamp = round((when - self._base) * 1000.0)
        if 0 <= stamp <= UINT32_MAX:
            return stamp
        times = [self._base + t / 1000.0 for t in started] + [when]
        if max(times) - min(times) > UINT32_MAX / 1000.0:
            self._started = array("d", times[:-1])
            return when
        self._base = min(times)
        self._started = array("I", [round((t - self._base) * 1000.0) for t in times[:-1]])
        return round((when - self._base) * 1000.0)

    def _append_logs(self, lines: list[str]) -> None:
        logs, times = self._logs, self._log_times
        previous = logs[-1] if logs else ()
        texts = []
        for line in lines:
            match = _LOG_LINE.fullmatch(line)
            # Kept apart only when formatting it again gives the same line back.
            if match is not None and match.start(1) == max(0, 6 - len(match[1])) and len(match[1]) < 9:
                times.append(int(match[1]) * 10 + int(match[2]))
                texts.append(match[3])
            else:
                times.append(_WHOLE)
                texts.append(line)
        if len(texts) == len(previous) and all(a == b for a, b in zip(texts, previous)):
            logs.append(previous)  # the usual case: one tuple for all of a healthy series' entries
        else:
            logs.append(tuple(previous[i] if i < len(previous) and previous[i] == text else text
                              for i, text in enumerate(texts)))
        if len(logs) > HISTORY_WITH_LOGS:
            del times[:len(logs[0])]
            del logs[0]

    def _log_lines(self, at: int) -> tuple[str, ...]:
        """The log lines of the at-th entry of _logs, as the probe wrote them."""
        first = sum(len(texts) for texts in self._logs[:at])
        return tuple(text if tenths == _WHOLE else f"{tenths / 10:8.1f}ms {text}"
                     for text, tenths in zip(self._logs[at], self._log_times[first:first + len(self._logs[at])]))

    def _restride(self, stride: int) -> None:
        old, durations = self._stride, array("I")
        for i in range(len(self._kinds)):
            durations.extend(self._durations[i * old:(i + 1) * old])
            durations.extend([_ABSENT] * (stride - old))
        self._durations, self._stride = durations, stride

    def _entry(self, index: int, message: str, count: int) -> HistoryEntry:
        result, timeout_phase, names = _KIND_LIST[self._kinds[index] & ~_changed(self._kinds)]
        at = index * self._stride
        values = [_NAN if v == _ABSENT else v / 1e6 for v in self._durations[at:at + len(names)]]
        log_at = index - (count - len(self._logs))
        logs = self._log_lines(log_at) if log_at >= 0 else ()
        started: float = self._started[index]
        if self._started.typecode == "I":
            started = self._base + started / 1000.0
        return HistoryEntry(started, result, message, timeout_phase,
                            dict(zip(names, values)), logs)

    def _each_message(self) -> list[str]:
        changed, at, out = _changed(self._kinds), -1, []
        for kind in self._kinds:
            at += bool(kind & changed)
            out.append(self._messages[at])
        return out

    def __len__(self) -> int:
        return len(self._kinds)

    def __getitem__(self, index: int) -> HistoryEntry:
        count = len(self._kinds)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("history index out of range")
        changed = _changed(self._kinds)
        at = sum(1 for kind in self._kinds[:index + 1] if kind & changed) - 1
        return self._entry(index, self._messages[at], count)

    def __iter__(self) -> Iterator[HistoryEntry]:
        count = len(self._kinds)
        return (self._entry(i, message, count) for i, message in enumerate(self._each_message()))

    def __reversed__(self) -> Iterator[HistoryEntry]:
        count, messages = len(self._kinds), self._each_message()
        return (self._entry(i, messages[i], count) for i in range(count - 1, -1, -1))


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
    # The newest probe's result (None: not probed yet); the rest of it is history[-1].
    last_result: str | None = None
    last_time: float = 0.0
    # The newest probe's module gauges (``gauges``): what each is, a Gauge without its value,
    # shared by every series reporting the same ones; their values in a double array.
    gauge_kinds: tuple[tuple[str, str, tuple[tuple[str, str], ...], str], ...] = ()
    gauge_values: Any = None
    histograms: dict[str, Histogram] = field(default_factory=dict)
    windows: dict[str, SlidingQuantiles] = field(default_factory=dict)
    # (phase, threshold) -> count of successful probes whose phase took <= threshold
    latency_good: Counter = field(default_factory=Counter)
    # The status page's last HISTORY probes, oldest first, packed (History).
    history: History = field(default_factory=History)
    # This series' exposition lines, an exporter.exposition.Rendered (a module that imports this
    # one, hence Any); None = render again.
    cache: Any = None

    @property
    def gauges(self) -> list[Gauge]:
        return [Gauge(name, help, labels, value, kind)
                for (name, help, labels, kind), value in zip(self.gauge_kinds, self.gauge_values or ())]

    @gauges.setter
    def gauges(self, gauges: list[Gauge]) -> None:
        kinds = tuple(_shared(_GAUGE_KINDS, (g.name, g.help, g.labels, g.kind)) for g in gauges)
        self.gauge_kinds = _shared(_GAUGE_LISTS, kinds)
        self.gauge_values = array("d", [g.value for g in gauges]) if gauges else None


# Module gauges as series keep them (SeriesState.gauges): a list of Gauge objects was ~0.6 KB a
# series. What a gauge is (name, help, labels, kind) and each list of those are shared, up to
# _SHARED_AT_MOST of each (label values come from the gateway: past that, each series keeps its own).
_GAUGE_KINDS: dict[tuple, tuple] = {}
_GAUGE_LISTS: dict[tuple, tuple] = {}
_SHARED_AT_MOST = 10_000


def _shared(table: dict[tuple, tuple], key: tuple) -> tuple:
    shared = table.get(key)
    if shared is None:
        if len(table) >= _SHARED_AT_MOST:
            return key
        shared = table[key] = key
    return shared


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
        state.last_result = outcome.result
        state.last_time = now
        state.gauges = outcome.gauges
        state.history.append(outcome)
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
