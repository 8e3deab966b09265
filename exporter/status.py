"""The status page's view model: what on-call sees first, built from the live runtime.

Everything here reads memory only (no I/O, no awaits), like a collector: the page and
/api/status are rendered from the same plain dict, so the JSON is exactly what the HTML shows.
Every string that came from outside the exporter (probe messages, log lines, gateway version,
Kubernetes events, provider rows) passes through the redactor here; the HTML renderer
(exporter/status_html.py) escapes it on top.

Sections fed by other parts of the exporter are pluggable: ``Exporter.status_sections`` maps
a section name to a callable returning a list of row dicts. Two names are read:

``"slos"`` (the SLO engine), one dict per SLO::

    {"name": "gateway-availability", "objective": 0.999, "sli": 0.9995,
     "budget_remaining": 0.42, "burn_rate": 1.3, "time_to_exhaustion_seconds": 86400.0,
     "window": "30d", "description": "..."}

``"pods"`` (the Kubernetes watcher), one dict per pod::

    {"namespace": "openclaw", "pod": "gateway-0", "ready": True, "restarts_last_hour": 2,
     "waiting_reason": "CrashLoopBackOff", "last_warning": "Back-off restarting failed container"}

Missing keys become ``None``; a provider that raises shows its error in its section instead
of taking the page down.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from exporter import __version__
from exporter.quantiles import QUANTILES
from openclaw_schema import names as c

if TYPE_CHECKING:
    from exporter.app import Exporter
    from exporter.probes.base import ProbeOutcome
    from exporter.state import SeriesState

SECTION_SLOS = "slos"
NO_DATA = "NO DATA"  # an SLO row without events: neither OK nor 100 %
SECTION_PODS = "pods"
REFRESH_SECONDS = 10
SPARKLINE_WINDOW = 3600.0
LATENCY_WINDOW = "5m"
# Failing rows first, then the ones not probed yet, then the healthy ones.
_PROBE_ORDER = {"FAIL": 0, "PENDING": 1, "OK": 2}
# The targets table: sorted by `?sort=` (one of SORTS; the first is the default), in pages of
# PAGE_SIZE targets (`?page=`, from 1). "burn" puts the target burning its error budget fastest
# over the last BURN_WINDOW first: what a fleet of hundreds of tenants needs to see first.
SORTS = ("status", "burn")
PAGE_SIZE = 50
BURN_WINDOW = 3600.0
# Below this fraction of error budget left, an SLO row says LOW (and sorts to the top anyway).
BUDGET_LOW = 0.25

StatusSection = Callable[[], Iterable[dict[str, Any]]]

# Row shape of each pluggable section: key -> coercion. The view model always carries every key.
_SLO_KEYS: dict[str, Callable[[Any], Any]] = {
    "name": str, "description": str, "window": str,
    "objective": float, "sli": float, "budget_remaining": float, "burn_rate": float,
    "time_to_exhaustion_seconds": float,
}
_POD_KEYS: dict[str, Callable[[Any], Any]] = {
    "namespace": str, "pod": str, "ready": bool, "restarts_last_hour": int,
    "waiting_reason": str, "last_warning": str,
}


def listing(query: Any) -> tuple[str, int]:
    """``(sort, page)`` from a request's query; ValueError saying what is wrong."""
    sort = query.get("sort", SORTS[0])
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort[:40]!r}: use one of {', '.join(SORTS)}")
    raw = query.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**6):
        raise ValueError(f"page {raw[:40]!r} is not a page number (1, 2, ...)")
    return sort, int(raw)


def build_status(exporter: "Exporter", now: float | None = None, sort: str = SORTS[0], page: int = 1) -> dict[str, Any]:
    """The whole front page as plain data (also served as /api/status); the targets table holds
    one page of targets in the given order (``paging`` says which)."""
    now = time.time() if now is None else now
    redact = exporter.redactor.redact
    slos = _section(exporter, SECTION_SLOS, _SLO_KEYS, redact)
    for row in slos["rows"]:
        row["status"] = _budget_status(row["budget_remaining"])
    # Worst first: the SLO closest to running out of budget is the one to look at.
    slos["rows"].sort(key=lambda r: (r["budget_remaining"] is None, r["budget_remaining"] or 0.0, r["name"] or ""))
    pods = _section(exporter, SECTION_PODS, _POD_KEYS, redact)
    for row in pods["rows"]:
        row["status"] = "READY" if row["ready"] else "NOT READY"
    classifiers = _classifiers(exporter)
    probes = [_probe_row(exporter, key, now, classifiers) for key in _configured_series(exporter)]
    probes.sort(key=lambda r: (_PROBE_ORDER[r["status"]], r["target"], r["module"]))
    summary = {
        "probes": len(probes),
        "failing": sum(1 for p in probes if p["status"] == "FAIL"),
        "pending": sum(1 for p in probes if p["status"] == "PENDING"),
    }
    probes, paging = _page(probes, sort, page)
    status = exporter.status()
    return {
        "generated_at": now,
        "version": __version__,
        "refresh_seconds": REFRESH_SECONDS,
        "config": {
            "reload_ok": bool(status["reload_ok"]),
            "reload_time": status["reload_time"] or None,
            "reload_error": redact(status["reload_error"]) or None,
            "source": redact(exporter.config_path),
            "targets": status["targets"],
        },
        "summary": summary,
        "slos": slos,
        "probes": probes,
        "paging": paging,
        "pods": pods,
    }


def build_target(exporter: "Exporter", name: str, now: float | None = None) -> dict[str, Any] | None:
    """One target's recent probe history per module, newest first; None for an unknown target."""
    now = time.time() if now is None else now
    redact = exporter.redactor.redact
    target = exporter.target(name)
    # Per-pod series (kubernetes.pod_probing) are on /metrics; the page shows the target's own.
    series = sorted((s for (t, _, pod), s in exporter.state.series.items() if t == name and not pod),
                    key=lambda s: s.module)
    if target is None and not series:
        return None
    modules = []
    for s in series:
        modules.append({
            "module": s.module,
            # Results that happened (the pre-created zero series are for rate(), not for reading).
            "attempts": {k: v for k, v in sorted(s.attempts.items()) if v},
            "history": [_history_entry(o, now, redact) for o in reversed(s.history)],
        })
    return {
        "generated_at": now,
        "version": __version__,
        "refresh_seconds": REFRESH_SECONDS,
        "target": redact(name),
        "url": redact(_display_url(target.http_url)) if target else None,
        "configured": target is not None,
        "gateway_version": _gateway_version(series, redact),
        "modules": modules,
    }


def _budget_status(remaining: float | None) -> str:
    if remaining is None:
        return NO_DATA  # no events (e.g. the SLO's probe is not configured): never "OK"
    if remaining <= 0:
        return "EXHAUSTED"
    return "LOW" if remaining < BUDGET_LOW else "OK"


# -- probes ------------------------------------------------------------------------------------
def _configured_series(exporter: "Exporter") -> list[tuple[str, str]]:
    """Every enabled (target, module) of the running config, probed yet or not."""
    keys: dict[tuple[str, str], None] = {}  # ordered set
    if exporter.config:
        for target in exporter.targets:  # this replica's shard: the others show theirs
            keys.update(((target.name, m.name), None) for m in target.modules.values() if m.enabled)
    keys.update(((t, m), None) for t, m, pod in exporter.state.series if not pod)
    return list(keys)


def _page(rows: list[dict[str, Any]], sort: str, page: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of targets (all of each target's rows), in the order ``sort`` names; a page past
    the last shows the last."""
    if sort == "burn":
        burn: dict[str, float] = {}
        for r in rows:
            if r["burn_rate"] is not None:
                burn[r["target"]] = max(burn.get(r["target"], 0.0), r["burn_rate"])
        # Fastest burn first; targets without SLO events after every one that has them.
        rows = sorted(rows, key=lambda r: (r["target"] not in burn, -burn.get(r["target"], 0.0), r["target"], r["module"]))
    targets = list(dict.fromkeys(r["target"] for r in rows))  # in row order
    pages = max(1, -(-len(targets) // PAGE_SIZE))
    page = min(page, pages)
    shown = set(targets[(page - 1) * PAGE_SIZE:page * PAGE_SIZE])
    return [r for r in rows if r["target"] in shown], {
        "sort": sort, "sorts": list(SORTS), "page": page, "pages": pages, "page_size": PAGE_SIZE,
        "targets": len(targets), "burn_window_seconds": BURN_WINDOW}


def _classifiers(exporter: "Exporter") -> list[Any]:
    """The live SLOs' event classifiers (slo/live.py): what makes a probe a good or bad event."""
    spec = exporter.config.slo_spec if exporter.config else None
    if spec is None:
        return []
    from slo.live import EventClassifier
    from slo.model import AvailabilitySLI, LatencySLI
    return [EventClassifier(slo) for slo in spec.slos if isinstance(slo.sli, (AvailabilitySLI, LatencySLI))]


def _burn_rate(target: str, module: str, series: "SeriesState | None", classifiers: list[Any], now: float) -> float | None:
    """The fastest error-budget burn among this probe's SLOs over its history in the last
    BURN_WINDOW (the live budget's own classification); None without SLO events."""
    from slo import math as slomath

    if series is None:
        return None
    worst = None
    since = now - BURN_WINDOW
    for classifier in (k for k in classifiers if k.applies(target, module)):
        good = bad = 0
        for o in series.history:
            if o.started < since:
                continue
            # Building an entry's phase dict is most of the cost: only latency SLIs read it.
            event = classifier.outcome(target, module, o.result, o.phases if classifier.reads_phases else {})
            if event is not None:
                good, bad = good + event, bad + (not event)
        if good + bad:
            rate = slomath.burn_rate(slomath.error_ratio(bad, good + bad), classifier.slo.objective)
            worst = rate if worst is None else max(worst, rate)
    return worst


def _probe_row(exporter: "Exporter", key: tuple[str, str], now: float, classifiers: list[Any] | None = None) -> dict[str, Any]:
    redact = exporter.redactor.redact
    target_name, module_name = key
    series = exporter.state.series.get((target_name, module_name, ""))
    target = exporter.target(target_name)
    module = target.modules.get(module_name) if target else None
    last = series.history[-1] if series and series.last_result is not None else None
    window = series.windows.get(c.Phase.TOTAL) if series else None
    cached = window.cached if window else {}
    return {
        "target": redact(target_name),
        "module": redact(module_name),
        "url": redact(_display_url(target.http_url)) if target else None,
        "interval_seconds": module.interval if module else None,
        "cost": _cost(module) if module else None,  # built from numbers only: nothing to redact
        "status": "PENDING" if last is None else ("OK" if last.success else "FAIL"),
        "result": redact(last.result) if last else None,
        "message": redact(last.message) if last else None,
        "last_time": series.last_time if last else None,
        "age_seconds": max(0.0, now - series.last_time) if last else None,
        "latency_seconds": {f"p{round(q * 100)}": _finite(cached.get((LATENCY_WINDOW, q))) for q in QUANTILES},
        "latency_window": LATENCY_WINDOW,
        "gateway_version": _gateway_version([series] if series else [], redact),
        "sparkline": _sparkline(series, now),
        "burn_rate": _finite(_burn_rate(target_name, module_name, series, classifiers or [], now)),
    }


def _cost(module: Any) -> str | None:
    """The message module's cost per day at its interval (it pays the model provider)."""
    if module.name != c.Module.MESSAGE:
        return None
    from exporter.probes.message import cost_note
    return cost_note(module.interval, module.settings)


def _sparkline(series: "SeriesState | None", now: float) -> dict[str, Any]:
    """The last hour of the history: one point per probe, its success and total latency."""
    points = []
    if series is not None:
        for o in series.history:
            if o.started >= now - SPARKLINE_WINDOW:
                points.append({"t": o.started, "ok": o.success, "seconds": _finite(o.phases.get(c.Phase.TOTAL))})
    ok = sum(1 for p in points if p["ok"])
    latencies = [p["seconds"] for p in points if p["ok"] and p["seconds"] is not None]
    return {
        "window_seconds": SPARKLINE_WINDOW,
        "start": now - SPARKLINE_WINDOW,
        "end": now,
        "points": points,
        "ok": ok,
        "failed": len(points) - ok,
        "max_seconds": max(latencies) if latencies else None,
    }


def _history_entry(o: "ProbeOutcome", now: float, redact: Callable[[str], str]) -> dict[str, Any]:
    return {
        "started": o.started,
        "age_seconds": max(0.0, now - o.started),
        "status": "OK" if o.success else "FAIL",
        "result": redact(o.result),
        "message": redact(o.message),
        "timeout_phase": redact(o.timeout_phase) if o.timeout_phase else None,
        "phases_seconds": {redact(k): _finite(v) for k, v in o.phases.items()},
        "logs": [redact(line) for line in o.logs],
    }


def _gateway_version(series: list["SeriesState"], redact: Callable[[str], str]) -> str | None:
    for s in series:
        for gauge in s.gauges:
            if gauge.name == c.GATEWAY_INFO:
                version = dict(gauge.labels).get("version")
                if version:
                    return redact(version)
    return None


def _display_url(url: str) -> str:
    """Scheme, host and path only: a query string may carry a credential."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


# -- pluggable sections ------------------------------------------------------------------------
def _section(exporter: "Exporter", name: str, keys: dict[str, Callable[[Any], Any]],
             redact: Callable[[str], str]) -> dict[str, Any]:
    provider = exporter.status_sections.get(name)
    if provider is None:
        return {"enabled": False, "error": None, "rows": []}
    try:
        rows = [_coerce(raw, keys, redact) for raw in provider()]
    except Exception as exc:  # noqa: BLE001 - one broken section must not blank the whole page
        return {"enabled": True, "error": redact(f"{type(exc).__name__}: {exc}"), "rows": []}
    return {"enabled": True, "error": None, "rows": rows}


def _coerce(raw: dict[str, Any], keys: dict[str, Callable[[Any], Any]], redact: Callable[[str], str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, kind in keys.items():
        value = raw.get(key)
        if value is None:
            row[key] = None
        elif kind is str:
            row[key] = redact(str(value))
        elif kind is float:
            row[key] = _finite(float(value))
        else:
            row[key] = kind(value)
    return row


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: "unknown" and "never" are both None."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
