"""The SLO arithmetic, checked to the digit against the SRE Workbook numbers."""

import math

import pytest

from openclaw_schema import duration
from slo import math as m

DAY = 86400


def test_error_budget_is_exact():
    assert m.error_budget(0.999) == 0.001
    assert m.error_budget(0.99) == 0.01
    assert m.error_budget(0.9995) == 0.0005


def test_budget_minutes_for_30_days():
    assert m.budget_minutes(0.999, 30 * DAY) == 43.2
    assert m.budget_minutes(0.99, 30 * DAY) == 432.0
    assert m.budget_minutes(0.999, 28 * DAY) == 40.32
    assert m.budget_minutes(0.999, 7 * DAY) == 10.08


@pytest.mark.parametrize("objective", [1.0, 1.5, 99.9, 0.0, -0.1])
def test_objectives_outside_the_open_unit_interval_are_rejected(objective):
    with pytest.raises(ValueError, match="objective must be a ratio in"):
        m.error_budget(objective)
    with pytest.raises(ValueError):
        m.budget_minutes(objective, 30 * DAY)


def test_workbook_table_is_data_with_the_documented_factors():
    rows = [(w.budget_share, w.long_seconds, w.short_seconds, w.action) for w in m.WORKBOOK_TABLE]
    assert rows == [
        (0.02, 3600, 300, "page"),
        (0.05, 21600, 1800, "page"),
        (0.10, 86400, 7200, "ticket"),
        (0.10, 259200, 21600, "ticket"),
    ]
    assert [w.factor(30 * DAY) for w in m.WORKBOOK_TABLE] == [14.4, 6.0, 3.0, 1.0]


def test_min_events_lets_one_failure_never_cross_a_threshold_alone():
    # 99.9 %: 1 / (14.4 x 0.001) = 69.4 -> 70; exactly 1000 for 1x (Decimal: not 1001).
    assert [m.min_events(w.factor(30 * DAY), 0.999) for w in m.WORKBOOK_TABLE] == [70, 167, 334, 1000]
    assert m.min_events(14.4, 0.99) == 7
    for objective in (0.9, 0.99, 0.995, 0.999, 0.9995):
        for w in m.WORKBOOK_TABLE:
            factor = w.factor(30 * DAY)
            n = m.min_events(factor, objective)
            threshold = factor * m.error_budget(objective)
            assert 1 / n <= threshold + 1e-12  # one failure in n events does not fire
            assert n == 1 or 1 / (n - 1) > threshold  # and n is the smallest such count
    with pytest.raises(ValueError):
        m.min_events(14.4, 1.0)


def test_burn_factor_formula():
    assert m.burn_factor(0.02, 30 * DAY, 3600) == 14.4
    assert m.burn_factor(0.02, 28 * DAY, 3600) == 13.44


@pytest.mark.parametrize(
    "days, expected",
    [
        (7, [("14m", "5m"), ("1h24m", "7m"), ("5h36m", "28m"), ("16h48m", "1h24m")]),
        (28, [("56m", "5m"), ("5h36m", "28m"), ("22h24m", "1h52m"), ("2d19h12m", "5h36m")]),
        (30, [("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")]),
    ],
)
def test_windows_scale_with_the_period_and_keep_the_factors(days, expected):
    table = m.scaled_table(days * DAY)
    assert [(m.format_duration(w.long_seconds), m.format_duration(w.short_seconds)) for w in table] == expected
    assert [w.factor(days * DAY) for w in table] == [14.4, 6.0, 3.0, 1.0]


def test_sli_windows_for_30_days():
    assert [m.format_duration(s) for s in m.sli_windows(30 * DAY)] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]


def test_burn_rate_consumed_remaining():
    assert m.error_ratio(5, 1000) == 0.005
    assert m.burn_rate(0.0144, 0.999) == pytest.approx(14.4, abs=1e-12)
    assert m.burn_rate(0.001, 0.999) == 1.0
    assert m.budget_consumed(0.0005, 0.999) == 0.5
    assert m.budget_remaining(0.0005, 0.999) == 0.5
    assert m.budget_remaining(0.002, 0.999) == -1.0  # breached: twice the budget spent
    # Calendar month, half gone, erring at exactly the budget rate: half the budget spent.
    assert m.budget_consumed(0.001, 0.999, elapsed_share=0.5) == 0.5


def test_zero_traffic_spends_no_budget():
    assert m.error_ratio(0, 0) is None
    assert m.burn_rate(None, 0.999) == 0.0
    assert m.budget_remaining(None, 0.999) == 1.0


def test_time_to_exhaustion():
    # A full budget at burn rate 14.4 lasts 30d / 14.4 = 50 hours.
    assert m.time_to_exhaustion(1.0, 14.4, 30 * DAY) == 50 * 3600
    assert m.time_to_exhaustion(0.5, 1.0, 30 * DAY) == 15 * DAY
    assert m.time_to_exhaustion(0.5, 0.0, 30 * DAY) == math.inf
    assert m.time_to_exhaustion(0.0, 2.0, 30 * DAY) == 0.0
    assert m.time_to_exhaustion(-0.3, 2.0, 30 * DAY) == 0.0


@pytest.mark.parametrize("seconds, text", [(300, "5m"), (20160, "5h36m"), (30 * DAY, "30d"), (241920, "2d19h12m")])
def test_durations_round_trip(seconds, text):
    assert m.format_duration(seconds) == text
    assert duration.parse(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "m", "5x", "1h5", "30s5m", "1h1h"])
def test_invalid_durations(bad):
    with pytest.raises(ValueError):
        duration.parse(bad)
