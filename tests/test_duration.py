"""The one duration grammar (openclaw_schema/duration.py) used by the exporter config, the SLO
rules and the alert config: everything the three former parsers accepted still parses to the
same seconds, and Prometheus' own rules (unit order, no fractions in rules) hold."""

from __future__ import annotations

import pytest

from openclaw_schema import duration


@pytest.mark.parametrize("value, seconds", [
    # the exporter config's former grammar: one term with a fraction, or a YAML number
    ("15s", 15.0), ("500ms", 0.5), ("1.5m", 90.0), ("2h", 7200.0), ("1d", 86400.0), (" 5m ", 300.0), (7, 7.0), (0.25, 0.25),
    # the SLO rules' windows (slo/math.format_duration output) and alert `for:` values
    ("5h36m", 20160.0), ("2d19h12m", 241920.0), ("30d", 2592000.0), ("0s", 0.0), ("1w", 604800.0), ("1y", 31536000.0),
    ("1h30m15s500ms", 5415.5),
])
def test_accepted_spellings(value, seconds):
    assert duration.parse(value) == seconds


@pytest.mark.parametrize("value", ["", "5", "m", "5x", "1h5", "-1s", "30s5m", "1h1h", "5 m", "1e3s", True, None, [1]])
def test_refused_spellings_say_what_a_duration_looks_like(value):
    with pytest.raises(duration.DurationError, match="must be a duration such as 15s, 500ms or 5m"):
        duration.parse(value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "9" * 400 + "s", 10**400])
def test_infinite_durations_are_refused(value):
    with pytest.raises(duration.DurationError, match="must be a finite duration"):
        duration.parse(value)


@pytest.mark.parametrize("value", ["1.5m", 300, 0.5])
def test_prometheus_subset_refuses_what_a_rule_file_cannot_hold(value):
    assert duration.parse(value) > 0
    with pytest.raises(duration.DurationError):
        duration.parse(value, prometheus=True)


def test_alert_for_uses_the_prometheus_subset():
    from slo.alert_spec import _duration
    from slo.spec import Errors

    err = Errors()
    assert _duration(err, "1h30m", "alerts.x.for") == "1h30m"
    assert _duration(err, "0s", "alerts.x.for", zero=True) == "0s"
    assert err.items == []
    for bad in ("1.5m", "30s5m", "0s"):
        _duration(err, bad, "alerts.x.window")
    assert err.items == ["alerts.x.window: must be a positive Prometheus duration such as 30s, 5m or 1h"] * 3
