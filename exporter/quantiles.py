"""Exact latency percentiles over sliding time windows.

A probe produces one sample per interval (240 an hour at 15 s), few enough to keep them all:
the percentiles are then exact (over the samples as stored, float32: within 6e-8), where
``histogram_quantile`` over fixed buckets is 12-25 % off for the article's latency shapes.
Samples live in one time-ordered buffer per series; every window is a suffix of it, so one
buffer serves 1m, 5m and 1h. A capacity bound keeps memory flat for very short intervals (the
oldest samples go first).

Quantiles use linear interpolation between closest ranks (numpy's default, "type 7").

Recording is cheap and independent of how full the windows are: ``add`` appends (amortised
O(1); the prune is a bisect). The sort happens only when the percentiles are read
(``cached``: by a scrape of a series with ``detail`` on, or the status page), at most once per
new sample, so a 1 h window at a 1 s interval no longer costs a 3,600-sample sort per probe.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from openclaw_schema.names import LATENCY_QUANTILES as QUANTILES
from openclaw_schema.names import LATENCY_WINDOWS as WINDOWS

DEFAULT_CAPACITY = 4096
UINT32_MAX = 0xFFFFFFFF  # the largest item of an 'I' array: ~49.7 days of milliseconds


def quantile(sorted_values: list[float] | array, q: float) -> float:
    """Linear-interpolated quantile of already sorted values (numpy 'linear')."""
    n = len(sorted_values)
    if n == 1:
        return float(sorted_values[0])
    pos = q * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


class SlidingQuantiles:
    """Samples of one series; ``compute(now)`` (``cached``: as of the newest sample) gives
    {(window, q): value} for the non-empty windows.

    Packed at 8 bytes a sample (a 1 h window at 15 s is ~2 KB; it was 16): the time as whole
    milliseconds after a base (uint32, re-based when a sample would not fit: ~49 days), the
    value as a float32. The percentiles are exact over the samples as stored; a float32 is
    within 2**-24 (6e-8) of the measured double, so each percentile is too: 0.3 ns of a 5 ms
    probe, below the resolution of the clocks that timed it."""

    __slots__ = ("_times", "_values", "_start", "_capacity", "_max_window", "_cached", "_base")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._times = array("I")
        self._values = array("f")
        self._base = 0.0  # seconds (time.time()) that a stored time of 0 ms means
        self._start = 0
        self._capacity = capacity
        self._max_window = max(w for _, w in WINDOWS)
        # Percentiles as of the newest sample, computed when first read after it (None = stale).
        self._cached: dict[tuple[str, float], float] | None = {}

    def __len__(self) -> int:
        return len(self._times) - self._start

    def _ms(self, when: float) -> int:
        """``when`` as stored: milliseconds after the base, rounded (may be out of uint32's range)."""
        return round((when - self._base) * 1000.0)

    def add(self, now: float, value: float) -> None:
        if not len(self._times):
            self._base = now
        stamp = self._ms(now)
        if not 0 <= stamp <= UINT32_MAX:
            self._rebase(now)
            stamp = self._ms(now)
        self._times.append(stamp)
        self._values.append(value)
        self._prune(now)
        self._cached = None

    def _rebase(self, now: float) -> None:
        """Make ``now`` fit: keep the samples of the last max window (older ones are pruned
        anyway), counted from the oldest of them or ``now``, whichever is earlier. Samples that
        still do not fit (the clock was set back by weeks) go: they lie in the new clock's future."""
        live = [(self._base + t / 1000.0, v) for t, v in zip(self._times[self._start:], self._values[self._start:])
                if self._base + t / 1000.0 >= now - self._max_window]
        self._base = min([now] + [t for t, _ in live])
        kept = [(self._ms(t), v) for t, v in live if self._ms(t) <= UINT32_MAX]
        self._times = array("I", [t for t, _ in kept])
        self._values = array("f", [v for _, v in kept])
        self._start = 0

    @property
    def cached(self) -> dict[tuple[str, float], float]:
        """{(window, q): value} with the windows ending at the newest sample (exact)."""
        if self._cached is None:
            self._cached = self.compute(self._base + self._times[-1] / 1000.0) if len(self) else {}
        return self._cached

    def _prune(self, now: float) -> None:
        start = bisect_left(self._times, self._ms(now - self._max_window), self._start)
        start = max(start, len(self._times) - self._capacity)
        self._start = start
        # Compact when the dead prefix is a quarter of the live samples (at least 32): amortised
        # O(1) per sample (4 moved per sample added), and a full 1 h window at 15 s holds 240-300
        # samples instead of 240-500.
        if start >= 32 and start * 4 >= len(self._times) - start:
            del self._times[:start]
            del self._values[:start]
            self._start = 0

    def compute(self, now: float) -> dict[tuple[str, float], float]:
        """Every window's quantiles with the windows ending at ``now`` (a sort per window)."""
        self._prune(now)
        out: dict[tuple[str, float], float] = {}
        for name, width in WINDOWS:
            first = bisect_left(self._times, self._ms(now - width), self._start)
            if first >= len(self._times):
                continue
            values = sorted(self._values[first:])
            for q in QUANTILES:
                out[(name, q)] = quantile(values, q)
        return out
