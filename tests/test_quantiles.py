"""Sliding-window percentiles are exact: they match a brute-force reference on the same samples."""

from __future__ import annotations

import random
import statistics

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
        for q in (0.5, 0.95, 0.99):
            assert got[(name, q)] == pytest.approx(reference(window, q), rel=1e-12), (name, q)


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
