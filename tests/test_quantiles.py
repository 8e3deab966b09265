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
