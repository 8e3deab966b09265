"""The SLO model every input format parses into and every generator reads.

Plain frozen dataclasses: no YAML, no PromQL, no I/O. Objectives are ratios (0.999), windows
are seconds, so the math and the generators never re-parse strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openclaw_schema.names import Severity

# Rolling SLO periods the window table is scaled for.
PERIODS = {"7d": 7 * 86400, "28d": 28 * 86400, "30d": 30 * 86400}
DEFAULT_PERIOD = "30d"

# Placeholder a raw PromQL SLI puts where the rate window goes (Sloth's spelling).
WINDOW_PLACEHOLDER = "{{.window}}"


@dataclass(frozen=True)
class AvailabilitySLI:
    """Share of probes of one module that succeed; probe misconfiguration is excluded."""

    module: str
    target: str | None = None  # regex on the `target` label; None = every target


@dataclass(frozen=True)
class LatencySLI:
    """Share of successful probes whose `phase` finished within `threshold_seconds`."""

    module: str
    phase: str
    threshold_seconds: float
    target: str | None = None


@dataclass(frozen=True)
class RatioSLI:
    """Raw PromQL: error and total event rates, each containing WINDOW_PLACEHOLDER."""

    error_query: str
    total_query: str


SLI = AvailabilitySLI | LatencySLI | RatioSLI


@dataclass(frozen=True)
class Alerting:
    runbook_base_url: str = "https://github.com/openclaw/openclaw-slo-exporter/blob/main/docs/runbooks"
    page_labels: dict[str, str] = field(default_factory=dict)
    ticket_labels: dict[str, str] = field(default_factory=dict)
    # The `severity` label of page and ticket alerts (a Severity).
    page_severity: str = Severity.CRITICAL.value
    ticket_severity: str = Severity.WARNING.value


@dataclass(frozen=True)
class SLO:
    name: str
    description: str
    objective: float  # ratio in (0, 1)
    sli: SLI
    window: str = DEFAULT_PERIOD  # key of PERIODS
    labels: dict[str, str] = field(default_factory=dict)
    alerting: Alerting = field(default_factory=Alerting)

    @property
    def period_seconds(self) -> int:
        return PERIODS[self.window]


@dataclass(frozen=True)
class Spec:
    source: str  # how the generated header names the input
    slos: tuple[SLO, ...]  # the enabled ones: the only ones generated and tracked
    alerting: Alerting = field(default_factory=Alerting)  # for alerts not tied to one SLO
    disabled: tuple[str, ...] = ()  # names of SLOs the spec has with `enabled: false`


class SpecError(ValueError):
    """Every problem found in an input, reported together."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))
