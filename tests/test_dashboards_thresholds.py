"""A panel turns red (or orange) exactly where its alert fires: every colour step that mirrors an
alert equals that alert's threshold, read from the committed dashboard JSON and the committed
rule files (both generated from the one monitoring config)."""

from __future__ import annotations

import json

import promql_parser
import pytest
import yaml

from dashboards import catalog
from openclaw_schema import names
from slohelpers import ALERTS_FILE, ROOT, RULES_FILE

OUT = ROOT / "dashboards" / "dashboards_out"


def alerts() -> dict[str, str]:
    """alert name -> expression, from both generated rule files (the first of a name)."""
    found: dict[str, str] = {}
    for path in (RULES_FILE, ALERTS_FILE):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found.setdefault(rule["alert"], rule["expr"])
    return found


def firing_threshold(alert: str) -> float:
    """The number the alert's top-level comparison compares with (`... > 0.9`)."""
    tree = promql_parser.parse(alerts()[alert])
    assert isinstance(tree, promql_parser.BinaryExpr) and str(tree.op) in (">", "<"), alert
    assert isinstance(tree.rhs, promql_parser.NumberLiteral), alert
    return tree.rhs.val


def matcher_value(expr: str, label: str) -> float:
    """The value of the (only) `label="..."` matcher of any selector in `expr`."""
    values: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            values.update(m.value for m in node.matchers.matchers if m.name == label)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    (value,) = values
    return float(value)


def steps(uid: str, title: str) -> dict[str, float]:
    """colour -> the value it starts at, of the panel titled `title` (first match)."""
    dashboard = json.loads((OUT / f"{uid}.json").read_text())
    panel = next(p for p in dashboard["panels"] if p.get("title") == title)
    return {s["color"]: s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]}


# (dashboard, panel title, colour, alert, how to read the alert's threshold from its expression)
FIRING = "firing"
MIRRORS = [
    (catalog.KUBERNETES, "Restarts in the last hour", "red", names.ALERT_POD_RESTARTS, FIRING),
    (catalog.KUBERNETES, "Restarts per hour", "red", names.ALERT_POD_RESTARTS, FIRING),
    (catalog.KUBERNETES, "CPU usage of limit", "red", names.ALERT_CPU_HIGH, FIRING),
    (catalog.KUBERNETES, "Memory usage of limit", "red", names.ALERT_MEMORY_HIGH, FIRING),
    (catalog.KUBERNETES, "Startup time P95 (range)", "red", names.ALERT_STARTUP_SLOW, "le"),
    (catalog.KUBERNETES, "Storage latency by phase", "orange", names.ALERT_STORAGE_LATENCY, FIRING),
    (catalog.KUBERNETES, "Time since the last successful backup", "orange", names.ALERT_BACKUP_OVERDUE, FIRING),
    (catalog.KUBERNETES, "Time since the last successful backup", "red", names.ALERT_BACKUP_MISSING, FIRING),
    (catalog.INTERNALS, "Message processing P95", "red", names.ALERT_MESSAGE_LATENCY, FIRING),
    (catalog.INTERNALS, "Model call failure rate (range)", "red", names.ALERT_MODEL_CALL_FAILURES, FIRING),
    (catalog.MODELS, "Warm turn P50 / P95 / P99 (1h)", "red", names.ALERT_MESSAGE_LATENCY, FIRING),
    (catalog.MODELS, "Message probe success ratio", "green", names.ALERT_MODEL_PROBE_FAILURES, "1 -"),
    (catalog.PROBES, "Latency across targets (histogram)", "red", "OpenClawWebsocketHandshakeLatencyBurnRatePage",
     "threshold_seconds"),
    *[(catalog.SLO, f"Burn rate {long} / {short}", "red",
       f"OpenClawWebsocketAvailabilityBurnRate{'Page' if long in ('1h', '6h') else 'Ticket'}", f"long={long}")
      for long, short in (("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h"))],
]


def alert_value(alert: str, how: str) -> float:
    if how == FIRING:
        return firing_threshold(alert)
    if how == "1 -":  # a success ratio panel: green from 1 - the failure-rate threshold
        return 1 - firing_threshold(alert)
    if how == "le":  # a histogram-bucket alert: its bound is the `le` it reads
        return matcher_value(alerts()[alert], names.LABEL_LE)
    if how == "threshold_seconds":  # a latency SLO: the exporter's threshold counter it reads
        group = next(g for g in yaml.safe_load(RULES_FILE.read_text())["groups"]
                     if any(r.get("alert") == alert for r in g["rules"]))
        first = next(r for r in group["rules"] if "record" in r)
        return matcher_value(first["expr"], names.LABEL_THRESHOLD)
    # A burn-rate pair: the factor its long window's burn rate is compared with.
    long = how.split("=", 1)[1]
    rules = [r for g in yaml.safe_load(RULES_FILE.read_text())["groups"] for r in g["rules"]
             if r.get("alert") == alert and r["labels"]["long"] == long]
    (rule,) = rules
    factor = next(line for line in rule["expr"].splitlines() if f'window="{long}"' in line).rsplit(">", 1)[1]
    return float(factor)


@pytest.mark.parametrize("uid, title, colour, alert, how", MIRRORS, ids=lambda v: str(v)[:40])
def test_the_panel_colour_starts_where_the_alert_fires(uid, title, colour, alert, how):
    assert steps(uid, title)[colour] == pytest.approx(alert_value(alert, how), rel=1e-12)
