"""The numbers the panels colour by: the user's alert thresholds and the burn-rate table.

The user's thresholds come from the seed article (docs/dashboards.md cites each). The burn
rates and the handshake latency threshold are read from the SLO engine (slo/math.py's
Workbook table, the shipped spec), so a stat turns red exactly when its alert would fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from openclaw_schema import names as c
from slo import math as slomath
from slo import spec as slospec
from slo.model import LatencySLI

# The user's alert thresholds.
RESTARTS_PER_HOUR = 3  # pod restarts > 3 per hour: warning
CPU_OF_LIMIT = 0.80  # CPU usage > 80 % (of the limit): warning
MEMORY_OF_LIMIT = 0.90  # memory usage > 90 % (of the limit): critical
MESSAGE_P95_SECONDS = 5.0  # message-processing latency > 5 s: warning
MODEL_FAILURE_RATIO = 0.05  # model call failure rate > 5 %: critical
# The article's message-processing latency table: P50 200 ms, P95 800 ms, P99 1500 ms.
ARTICLE_MESSAGE_SECONDS = {0.5: 0.2, 0.95: 0.8, 0.99: 1.5}

# The user's startup-time target (< 5 min) and what they achieved later (50 s).
STARTUP_TARGET_SECONDS = 300.0
STARTUP_ACHIEVED_SECONDS = 60.0



def _handshake_slo_seconds() -> float | None:
    """The shipped spec's WebSocket handshake latency threshold, if it has such an SLO."""
    for slo in slospec.load().slos:
        sli = slo.sli
        if isinstance(sli, LatencySLI) and sli.module == c.Module.WEBSOCKET and sli.phase == c.Phase.HANDSHAKE:
            return sli.threshold_seconds
    return None


HANDSHAKE_SLO_SECONDS = _handshake_slo_seconds()
# Model call latency the user observed: P95 3.5 s, P99 5.8 s.
MODEL_CALL_P95_SECONDS = 3.5
MODEL_CALL_P99_SECONDS = 5.8

# The article's file read/write latency targets (P50/P95/P99) for the storage module.
STORAGE_P50_SECONDS = 0.005
STORAGE_P95_SECONDS = 0.02
STORAGE_P99_SECONDS = 0.05
# Volume used: kubernetes-mixin's KubePersistentVolumeFillingUp says 15 % free (warning) and 3 % (critical).
VOLUME_USED_WARN = 0.85
VOLUME_USED_BAD = 0.97
# Backups run daily: 26 h without a success is a missed night (warning), 50 h two (critical).
BACKUP_AGE_WARN_SECONDS = 26 * 3600.0
BACKUP_AGE_BAD_SECONDS = 50 * 3600.0

# Node.js event loop: 100 ms of delay is felt by every WebSocket client; 500 ms stalls them.
EVENT_LOOP_DELAY_WARN_SECONDS = 0.1
EVENT_LOOP_DELAY_BAD_SECONDS = 0.5
EVENT_LOOP_UTILIZATION_WARN = 0.7
EVENT_LOOP_UTILIZATION_BAD = 0.9

# A probe result older than this means the exporter stopped probing (or Prometheus scraping).
PROBE_STALE_WARN_SECONDS = 60.0
PROBE_STALE_BAD_SECONDS = 300.0


@dataclass(frozen=True)
class BurnWindow:
    """One multiwindow alert: both windows' burn rates above ``burn_rate`` fire it."""

    long: str
    short: str
    burn_rate: float
    severity: str


# The dashboards read the 30-day recording rules (the period the Workbook table is written for).
SLO_PERIOD_SECONDS = slomath.BASE_PERIOD
SLO_PERIOD = slomath.format_duration(SLO_PERIOD_SECONDS)
BURN_WINDOWS: tuple[BurnWindow, ...] = tuple(
    BurnWindow(slomath.format_duration(w.long_seconds), slomath.format_duration(w.short_seconds),
               w.factor(SLO_PERIOD_SECONDS), w.action)
    for w in slomath.WORKBOOK_TABLE
)
