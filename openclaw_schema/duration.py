"""The one duration grammar of the exporter config, the SLO spec and the alert config.

    duration := number | term+          e.g. 15, 0.5, "500ms", "15s", "1.5m", "1h30m", "30d", "2w"
    term     := digits ["." digits] unit
    unit     := y | w | d | h | m | s | ms   (y = 365d, w = 7d; largest first, each at most once)

A YAML number is seconds. Terms follow Prometheus' order rule (``5m30s``, never ``30s5m``) so
every spelling Prometheus reads means the same here. Where the text is copied into generated
rules (an alert's ``for``), ``prometheus=True`` also refuses fractions and bare numbers, which
Prometheus cannot read. The result is always finite (a negative number is left to the caller's > 0 check).
"""

from __future__ import annotations

import math
import re
from typing import Any

UNITS = {"y": 365 * 86400.0, "w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# One optional term per unit, largest first (Prometheus' own rule); "m" is not the start of "ms".
_TEXT = re.compile("".join(rf"(?:(\d+(?:\.\d+)?){unit}{'(?!s)' if unit == 'm' else ''})?" for unit in UNITS))
EXAMPLES = "15s, 500ms or 5m"


class DurationError(ValueError):
    """Not a duration; the message says what one looks like."""


def parse(value: Any, *, prometheus: bool = False) -> float:
    """Seconds for a duration (grammar above); DurationError otherwise."""
    match = _TEXT.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and value.strip() and not (prometheus and "." in value):
        seconds = _finite(sum(float(n) * UNITS[unit] for n, unit in zip(match.groups(), UNITS) if n))
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and not prometheus:
        seconds = _finite(value)
    else:
        raise DurationError(f"must be a duration such as {EXAMPLES}")
    if seconds is None:
        raise DurationError(f"must be a finite duration such as {EXAMPLES}")
    return seconds


def _finite(value: float) -> float | None:
    """A finite float, or None: YAML's .inf/.nan and numbers too big for a float are no duration."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
