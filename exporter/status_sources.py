"""Rows for the status page's pluggable sections, read from state other tasks keep (no I/O)."""

from __future__ import annotations

import math
from typing import Any

from openclaw_schema import names as c
from slo import math as slomath


def slo_rows(families: list, spec: Any) -> list[dict[str, Any]]:
    """One row per SLO from the live-budget gauges last computed off the scrape path."""
    values: dict[tuple[str, str, str], float] = {}
    for family in families:
        for sample in family.samples:
            values[(sample.name, sample.labels.get(c.LABEL_SLO, ""), sample.labels.get(c.LABEL_WINDOW, ""))] = sample.value
    rows = []
    for slo in spec.slos if spec is not None else ():
        if (c.SLO_OBJECTIVE, slo.name, "") not in values:
            continue  # not tracked live (raw PromQL SLIs live in Prometheus only)
        window = slomath.format_duration(slo.period_seconds)
        remaining = values.get((c.SLO_BUDGET_REMAINING, slo.name, ""))
        # No events in the period: no data, so no burn rate either (not a reassuring 0x).
        burn = values.get((c.SLO_BURN_RATE, slo.name, "1h")) if remaining is not None else None
        exhaustion = None
        if remaining is not None and burn is not None:
            seconds = slomath.time_to_exhaustion(remaining, burn, slo.period_seconds)
            exhaustion = None if math.isinf(seconds) else seconds
        rows.append({
            "name": slo.name, "description": slo.description, "objective": slo.objective, "window": window,
            "sli": values.get((c.SLO_SLI_RATIO, slo.name, window)), "budget_remaining": remaining,
            "burn_rate": burn, "time_to_exhaustion_seconds": exhaustion,
        })
    return rows


def pod_rows(snapshot: Any) -> list[dict[str, Any]]:
    """One row per watched pod from the Kubernetes watcher's latest snapshot."""
    latest: dict[tuple[str, str], Any] = {}
    for message in snapshot.messages:
        key = (message.namespace, message.pod)
        if key not in latest or (message.last_seen or 0) >= (latest[key].last_seen or 0):
            latest[key] = message
    rows = []
    for pod in snapshot.pods:
        waiting = next((ct.waiting_reason for ct in pod.containers if ct.waiting_reason), None)
        warning = latest.get((pod.namespace, pod.name))
        rows.append({
            "namespace": pod.namespace, "pod": pod.name, "ready": pod.ready,
            "restarts_last_hour": sum(ct.restarts_last_hour for ct in pod.containers),
            "waiting_reason": waiting,
            "last_warning": f"{warning.reason}: {warning.message}" if warning else None,
        })
    return rows
