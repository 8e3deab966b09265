"""The numbers the panels colour by: the user's alert thresholds and the burn-rate table.

Data, not code. The user's thresholds come from the seed article (docs/dashboards.md cites
each); the burn-rate rows are the SRE Workbook's 30-day table, the same rows the SLO alert
generator uses, so a stat turns red exactly when its alert would fire.
"""

from __future__ import annotations

from dataclasses import dataclass

# The user's alert thresholds.
RESTARTS_PER_HOUR = 3  # pod restarts > 3 per hour: warning
CPU_OF_LIMIT = 0.80  # CPU usage > 80 % (of the limit): warning
MEMORY_OF_LIMIT = 0.90  # memory usage > 90 % (of the limit): critical
MESSAGE_P95_SECONDS = 5.0  # message-processing latency > 5 s: warning
MODEL_FAILURE_RATIO = 0.05  # model call failure rate > 5 %: critical

# The user's startup-time target (< 5 min) and what they achieved later (50 s).
STARTUP_TARGET_SECONDS = 300.0
STARTUP_ACHIEVED_SECONDS = 60.0

# The default handshake-latency SLO threshold (slo/specs/openclaw-gateway.yml).
HANDSHAKE_SLO_SECONDS = 0.25
# Model call latency the user observed: P95 3.5 s, P99 5.8 s.
MODEL_CALL_P95_SECONDS = 3.5
MODEL_CALL_P99_SECONDS = 5.8

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


SLO_PERIOD = "30d"
BURN_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow("1h", "5m", 14.4, "page"),
    BurnWindow("6h", "30m", 6.0, "page"),
    BurnWindow("1d", "2h", 3.0, "ticket"),
    BurnWindow("3d", "6h", 1.0, "ticket"),
)
