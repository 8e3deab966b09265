"""What every prober shares: its signature, the run context, phase timing and failure reasons.

A prober is ``async def run(target, settings, run: ProbeRun) -> None``: it times its phases
with ``run.phase(...)``, records module-specific gauges with ``run.gauge(...)`` and ends with
``raise ProbeFailure(reason, message)`` on failure. The runner (exporter/runner.py) owns the
hard timeout, maps network exceptions to reasons and records the common metrics.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterator

import aiohttp

from exporter.settings.resolved import TargetConfig
from openclaw_schema.metric import Metric, MetricType
from openclaw_schema.names import Result

if TYPE_CHECKING:
    from exporter.secrets import Redactor

log = logging.getLogger("exporter.probe")

# Latency buckets resolving the article's WebSocket/readiness ranges (P50 15 ms, P95 45 ms,
# P99 120 ms) up to the longest sensible timeout. Kept few (14): every bucket is a series per
# target and phase in Prometheus, and the exporter's own percentiles are exact anyway.
FAST_BUCKETS = (0.005, 0.01, 0.015, 0.025, 0.045, 0.075, 0.12, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0)
# MODEL_BUCKETS (model and message modules) is declared in openclaw_schema: alerts read its bounds.


# Results every prober can end with: success, the reasons classify_exception maps network
# errors to, and the runner's config_error (a secret that cannot be read). Each prober's
# `results` adds its own reasons; the state pre-creates a series at 0 for each (see state.py).
COMMON_RESULTS = (Result.SUCCESS, Result.TIMEOUT, Result.TLS, Result.DNS, Result.REFUSED, Result.CLOSED, Result.ERROR,
                  Result.CONFIG_ERROR)


class ProbeFailure(Exception):
    """Ends a probe with a failure reason (the ``result`` label) and a human message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Gauge:
    """One module-specific sample a probe produced (replaced on the target's next run)."""

    name: str
    help: str
    labels: tuple[tuple[str, str], ...]
    value: float
    # "gauge", or "counter" for a running total the module keeps in its own state (exposed
    # with the _total suffix; it restarts at 0 with the process, as counters may).
    kind: str = "gauge"


@dataclass(slots=True)  # every series keeps its newest one: no per-instance __dict__ (1,000 targets)
class ProbeOutcome:
    target: str
    module: str
    result: str
    message: str
    phases: dict[str, float]
    started: float
    timeout_phase: str | None = None
    gauges: list[Gauge] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    gateway_pod: str = ""  # the pod probed directly by IP; "" for the configured target

    @property
    def success(self) -> bool:
        return self.result == Result.SUCCESS


class ProbeRun:
    """The context a prober runs in: phase clock, debug log and gauge sink, and what its owner
    keeps between runs (``prober_state``: exporter/probes/prober_state.py's ProberState, always
    passed by the owner; typed Any because that module imports the probers, which import
    this one, and tests/test_architecture.py allows no cycle, type-only ones included)."""

    def __init__(self, target: str, module: str, redactor: "Redactor",
                 session: aiohttp.ClientSession | None, prober_state: Any) -> None:
        self.target = target
        self.module = module
        self.redactor = redactor
        self.session = session
        self.prober_state = prober_state
        self.phases: dict[str, float] = {}
        self.current_phase: str | None = None
        self.gauges: list[Gauge] = []
        self.logs: list[str] = []
        self.deadline: float | None = None  # event-loop time the runner's hard timeout fires
        # Set by a prober while a timeout would mean something else (e.g. auth throttling):
        # returns (reason, message) or None; the runner asks it when its deadline fires.
        self.timeout_verdict: Callable[[], tuple[str, str] | None] | None = None
        self._t0 = time.perf_counter()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase; the phase a timeout interrupts is the one reported."""
        self.current_phase = name
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = time.perf_counter() - start

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def log(self, event: str, level: int = logging.DEBUG, **fields: Any) -> None:
        text = " ".join([event] + [f"{k}={v}" for k, v in fields.items()])
        text = self.redactor.redact(text)
        self.logs.append(f"{self.elapsed() * 1000:8.1f}ms {text}")
        if log.isEnabledFor(level):
            log.log(level, text, extra={"target": self.target, "probe_module": self.module})

    def gauge(self, metric: Metric, value: float, **labels: str) -> None:
        """A sample of a gauge declared in openclaw_schema (its help comes from there)."""
        self._record(metric, MetricType.GAUGE, value, labels)

    def counter(self, metric: Metric, value: float, **labels: str) -> None:
        """A running total kept by the module across runs (re-sent on every run)."""
        self._record(metric, MetricType.COUNTER, value, labels)

    def _record(self, metric: Metric, kind: MetricType, value: float, labels: dict[str, str]) -> None:
        if getattr(metric, "type", None) is not kind:  # a bug of the prober: the schema says otherwise
            raise TypeError(f"{metric!s} is not declared as a {kind} in openclaw_schema")
        self.gauges.append(Gauge(metric, metric.help, tuple(sorted(labels.items())), float(value), kind=kind.value))


ProbeFunc = Callable[[TargetConfig, Any, ProbeRun], Awaitable[None]]


@dataclass(frozen=True)
class Prober:
    """A module kind: its defaults and the coroutine that probes (its settings type is
    exporter.settings.modules.MODULES[name])."""

    name: str
    run: ProbeFunc
    phases: tuple[str, ...]
    buckets: tuple[float, ...] = FAST_BUCKETS
    default_interval: float = 15.0
    default_timeout: float = 5.0
    enabled_by_default: bool = True
    # Enabled when the target has a section for this module (unless it says enabled: false).
    enabled_when_present: bool = False
    # Problems that only matter when the module is enabled (e.g. "nothing to check").
    check_enabled: Callable[[Any], list[str]] | None = None
    # Every `result` label value the prober can produce (COMMON_RESULTS + its own reasons).
    results: tuple[str, ...] = COMMON_RESULTS
    # Probed on each gateway pod's IP too (kubernetes.pod_probing); False for a module that
    # measures something local to the exporter (storage: its own directory).
    per_pod: bool = True
    # Per-phase histograms and percentiles exported without `detail: true` (a module whose alerts
    # read its phases, such as storage's write/fsync/read latency).
    detail_by_default: bool = False


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """Map a network exception from aiohttp/httpx/asyncio to (reason, message)."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__ or getattr(cur, "os_error", None)
    for item in chain:
        if isinstance(item, (asyncio.TimeoutError, TimeoutError)):
            return "timeout", "timed out"
        if isinstance(item, (ssl.SSLError, ssl.CertificateError)) or isinstance(
            item, aiohttp.ClientSSLError
        ):
            return "tls", f"TLS error: {item}"
        if isinstance(item, socket.gaierror) or type(item).__name__ == "ClientConnectorDNSError":
            return "dns", f"name resolution failed: {item}"
        if isinstance(item, ConnectionRefusedError):
            return "refused", "connection refused"
    for item in chain:
        if isinstance(item, (ConnectionResetError, aiohttp.ServerDisconnectedError)):
            return "closed", f"connection closed: {item}"
        if isinstance(item, aiohttp.ClientConnectorError):
            os_error = getattr(item, "os_error", None)
            if isinstance(os_error, ConnectionRefusedError) or getattr(item, "errno", None) == 111:
                return "refused", "connection refused"
            return "refused", f"cannot connect: {item}"
    return "error", f"{type(exc).__name__}: {exc}"
