"""The numbers the panels colour by.

Every number an alert also uses comes from the monitoring config (`AlertLines`, read from
slo/specs/alerts.yml and the SLO spec through slo/monitoring.py), and the burn rates from
slo/math.py's Workbook table, so a stat turns red exactly where its alert fires
(tests/test_dashboards_thresholds.py compares the generated JSON with the generated rules).
The constants below have no alert: the article's figures and rules of thumb (docs/dashboards.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from openclaw_schema import names as c
from slo import math as slomath
from slo.model import LatencySLI
from dashboards.style import GREEN, ORANGE, RED, Step, steps
from slo.monitoring import Monitoring


@dataclass(frozen=True)
class AlertLines:
    """Where each alert fires (its threshold, in the unit of its key) and its severity, for
    the panels that show the same quantity."""

    restarts_per_hour: float  # pod_restarts
    cpu_of_limit: float  # cpu_high
    memory_of_limit: float  # memory_high
    message_seconds: float  # message_latency (P95 in the shipped config)
    model_call_failure_ratio: float  # model_call_failures (the diagnostics plugin)
    model_probe_failure_ratio: float  # model_probe_failures (the model and message probes)
    startup_seconds: float  # startup_slow
    storage_seconds: float  # storage_latency (P95)
    backup_age_warn_seconds: float  # backup_overdue
    backup_age_bad_seconds: float  # backup_missing
    handshake_slo_seconds: float | None  # the handshake latency SLO's threshold, if the spec has one
    severity: dict[str, str]  # alert entry -> severity


def _handshake_slo_seconds(config: Monitoring) -> float | None:
    for slo in config.slos.slos:
        sli = slo.sli
        if isinstance(sli, LatencySLI) and sli.module == c.Module.WEBSOCKET and sli.phase == c.Phase.HANDSHAKE:
            return sli.threshold_seconds
    return None


def percent(ratio: float) -> str:
    """0.05 -> "5 %", as the panel texts spell shares."""
    return f"{ratio * 100:g} %"


def warn_bad(warn: float, bad: float) -> list[Step]:
    """Green, orange from `warn`, red from `bad`; without the orange step when the config puts
    `warn` at or above `bad` (a threshold the user lowered), so the red line stays the alert's."""
    return steps(GREEN, (warn, ORANGE), (bad, RED)) if warn < bad else steps(GREEN, (bad, RED))


def alert_lines(config: Monitoring) -> AlertLines:
    t = config.threshold
    return AlertLines(
        restarts_per_hour=t("pod_restarts"), cpu_of_limit=t("cpu_high"), memory_of_limit=t("memory_high"),
        message_seconds=t("message_latency"), model_call_failure_ratio=t("model_call_failures"),
        model_probe_failure_ratio=t("model_probe_failures"), startup_seconds=t("startup_slow"),
        storage_seconds=t("storage_latency"), backup_age_warn_seconds=t("backup_overdue"),
        backup_age_bad_seconds=t("backup_missing"), handshake_slo_seconds=_handshake_slo_seconds(config),
        severity={entry: params.severity for entry, params in config.alerts.alerts.items()},
    )


# The article's message-processing latency table: P50 200 ms, P95 800 ms, P99 1500 ms.
ARTICLE_MESSAGE_SECONDS = {0.5: 0.2, 0.95: 0.8, 0.99: 1.5}

# What the user achieved for startup time (50 s); their target (< 5 min) is the startup_slow alert's.
STARTUP_ACHIEVED_SECONDS = 60.0
# Model call latency the user observed: P95 3.5 s, P99 5.8 s.
MODEL_CALL_P95_SECONDS = 3.5
MODEL_CALL_P99_SECONDS = 5.8

# The article's file read/write P99 target for the storage module (its P95, 20 ms, is the alert's).
STORAGE_P99_SECONDS = 0.05
# Volume used: kubernetes-mixin's KubePersistentVolumeFillingUp says 15 % free (warning) and 3 % (critical).
VOLUME_USED_WARN = 0.85
VOLUME_USED_BAD = 0.97

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
