"""Sliding-window percentiles are exact: they match a brute-force reference on the same samples."""

from __future__ import annotations

import gc
import random
import statistics
import struct
import tracemalloc

import pytest

from exporter.quantiles import SlidingQuantiles, quantile


def reference(values: list[float], q: float) -> float:
    # statistics' "inclusive" method is the same linear interpolation as numpy's default.
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]


def test_quantile_of_sorted_values():
    assert quantile([1.0], 0.99) == 1.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([0.0, 10.0], 0.95) == pytest.approx(9.5)


def test_windows_match_brute_force_on_article_shaped_latencies():
    rng = random.Random(7)
    sq = SlidingQuantiles()
    samples = []
    now = 1000.0
    for _ in range(2000):
        now += rng.uniform(0.5, 3.0)
        v = rng.lognormvariate(-4.2, 0.8)  # ~15 ms median with a long tail, like the article's connect
        samples.append((now, v))
        sq.add(now, v)
    got = sq.compute(now)
    for name, width in (("1m", 60), ("5m", 300), ("1h", 3600)):
        window = [v for t, v in samples if t >= now - width]
        stored = [_float32(v) for v in window]
        for q in (0.5, 0.95, 0.99):
            # Exact over the samples as stored (float32), so within 2**-24 of the measured doubles.
            assert got[(name, q)] == pytest.approx(reference(stored, q), rel=1e-12), (name, q)
            assert got[(name, q)] == pytest.approx(reference(window, q), rel=2**-24), (name, q)


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def test_a_full_hour_costs_8_bytes_a_sample():
    """A sample is a uint32 millisecond stamp and a float32 (it was two doubles: ~4.2 KB per
    series for a full 1 h window at 15 s, 4.2 MB at 1,000 targets)."""
    windows = []
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100):
            window = SlidingQuantiles()
            for k in range(241):
                window.add(1_800_000_000.0 + 15 * k + n / 1000, 0.001 * (k % 89))
            windows.append(window)
        per_window = (tracemalloc.get_traced_memory()[0] - before) / len(windows)
    finally:
        tracemalloc.stop()
    assert len(windows[0]) == 241
    assert per_window < 2600, per_window


def test_the_clock_moving_by_weeks_keeps_the_window_right():
    """Stamps are milliseconds after a base in 32 bits: a sample 60 days later re-bases (the old
    samples are out of every window anyway); a clock set back by 60 days drops the samples that now
    lie in its future instead of wrapping them."""
    window = SlidingQuantiles()
    start = 1_800_000_000.0
    for k in range(10):
        window.add(start + k, 0.5)
    later = start + 60 * 86400
    window.add(later, 0.25)
    window.add(later + 1, 0.75)
    assert len(window) == 2
    assert window.cached[("1m", 0.5)] == 0.5 and window.compute(later + 1)[("1h", 0.99)] == pytest.approx(0.745)
    earlier = start - 60 * 86400
    window.add(earlier, 0.125)
    assert len(window) == 1 and window.cached[("1h", 0.5)] == 0.125
    window.add(earlier + 30, 0.375)
    assert window.compute(earlier + 30)[("1m", 0.5)] == 0.25


def test_old_samples_leave_the_window_and_capacity_bounds_memory():
    sq = SlidingQuantiles(capacity=100)
    for i in range(1000):
        sq.add(float(i), float(i))
    assert len(sq) == 100
    got = sq.compute(999.0)
    assert got[("1m", 0.5)] == pytest.approx(statistics.median(range(939, 1000)))
    # An hour later with no samples, every window is empty and nothing is reported.
    assert sq.compute(999.0 + 3601) == {}


def test_a_full_window_keeps_few_dead_samples():
    """At 15 s the 1 h window holds 240 samples; the buffer may keep a dead prefix of at most a
    quarter of them (it was up to 256 more: ~3 MB at 1,000 targets) and still reads exactly."""
    window = SlidingQuantiles()
    biggest = 0
    for k in range(2000):
        window.add(1_000_000.0 + 15 * k, float(k % 97))
        biggest = max(biggest, len(window._times))
    assert len(window) == 241  # the 1 h window's edge is inclusive
    assert biggest <= 241 + 241 // 4 + 1, biggest
    last = [float(k % 97) for k in range(2000 - 241, 2000)]
    assert window.cached[("1h", 0.5)] == sorted(last)[120]
