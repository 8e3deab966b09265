"""Walk the generated dashboards: panels, PromQL expressions, variables, metric names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from dashboards import build
from slo import monitoring
from openclaw_schema import names as c

ROOT = Path(__file__).resolve().parent.parent

# Concrete values for Grafana's own variables when an expression is sent to Prometheus.
GRAFANA_BUILTINS = {"__rate_interval": "10s", "__interval": "1s", "__range": "1m"}

_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")
_QUERY_RESULT = re.compile(r"^query_result\((?P<expr>.+)\)$")
_METRIC = re.compile(r"(?<![\w:\"$.])([a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+|openclaw_\w+|kube_\w+|container_\w+|ALERTS)\b")


def dashboards() -> dict[str, dict]:
    """uid -> dashboard JSON, as generated (not read from disk)."""
    return {d.uid: json.loads(build.render_dashboard(d)) for d in build.build_all(monitoring.load())}


def panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def content_panels(dashboard: dict) -> Iterator[dict]:
    return (p for p in panels(dashboard) if p["type"] != "row")


def variable_values(dashboard: dict, **builtins: str) -> dict[str, str]:
    """What each variable expands to: All's regex for multi-valued ones, else the default;
    Grafana's own (``__rate_interval`` ...) as in GRAFANA_BUILTINS unless given."""
    values = {**GRAFANA_BUILTINS, **builtins}
    for var in dashboard["templating"]["list"]:
        if var["type"] == "datasource":
            continue
        values[var["name"]] = var["allValue"] if var["includeAll"] else var["current"]["value"]
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown variable ${name} in {expr!r}")
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def panel_queries(dashboard: dict) -> Iterator[tuple[str, dict, str]]:
    """(panel title, target, expression with variables substituted)."""
    values = variable_values(dashboard)
    for panel in content_panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], target, substitute(target["expr"], values)


def variable_queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(variable name, PromQL inside its query); label_values(label) has none and is skipped."""
    values = variable_values(dashboard)
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        query = var["query"]
        m = _LABEL_VALUES.match(query) or _QUERY_RESULT.match(query)
        assert m, f"variable {var['name']}: unsupported query {query!r}"
        expr = m.groupdict().get("selector") or m.groupdict().get("expr")
        if expr:
            yield var["name"], substitute(expr, values)


def metric_names(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def known_metric_names() -> set[str]:
    """Every name openclaw_schema/names.py defines, with the series a histogram or rule template implies."""
    names = set()
    for key, value in vars(c).items():
        if key.isupper() and isinstance(value, str):
            names.add(value)
            names.update(value + suffix for suffix in ("_bucket", "_count", "_sum"))
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
        names.add(c.RULE_SLI_ERROR_RATIO.format(window=window))
    return names
