"""The one helper every generated PromQL expression goes through: fill a template, keep the
aggregation labels, parse the result.

A template is plain PromQL with `$name` placeholders (string.Template) for what the config
decides: selectors, windows, thresholds. Its `by(...)` and `on(...)` clauses name only the
labels the expression is about (`sum by(target, result)`); `fill` adds the configured
aggregation labels (default `cluster`, an external label of Thanos/Mimir multi-cluster setups)
in front of each, so two clusters' series never merge into one and never mis-join. A label
that is absent changes nothing: `sum by(cluster, target)` over series without `cluster` is
`sum by(target)`.

`check` parses an expression with promql-parser (the Prometheus grammar, Rust port) and walks
its syntax tree: every aggregation must keep the aggregation labels (a bare `sum(...)` or a
`by()` without them drops them), every `on()` must match on them and no `ignoring()` may drop
them. Generation stops on the first broken expression, naming its rule.
"""

from __future__ import annotations

import re
import string
import textwrap
from collections.abc import Iterable
from typing import Any

from openclaw_schema import names

DEFAULT_AGGREGATION_LABELS: tuple[str, ...] = (names.LABEL_CLUSTER,)
# What one SLO is about, kept by the SLO rules on top of the aggregation labels: each target
# (tenant gateway) has its own SLI, error budget and pages. () for one SLO over all targets.
DEFAULT_SLO_GROUP_BY: tuple[str, ...] = (names.LABEL_TARGET,)

# A quoted PromQL string (skipped: a label value may contain "by(") or a by()/on() clause.
_CLAUSE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|\b(by|on)\s*\(([^()]*)\)')


class PromQLError(ValueError):
    """A generated expression that does not parse or drops an aggregation label."""


def keep_labels(expr: str, labels: Iterable[str]) -> str:
    """Every `by(...)` and `on(...)` clause of `expr` with `labels` in front (once each)."""
    keep = tuple(labels)
    if not keep:
        return expr

    def clause(match: re.Match[str]) -> str:
        if match.group(1) is None:  # a string literal: left alone
            return match.group(0)
        named = [label.strip() for label in match.group(2).split(",") if label.strip()]
        return f"{match.group(1)}({', '.join(dict.fromkeys((*keep, *named)))})"

    return _CLAUSE.sub(clause, expr)


def fill(template: str, labels: Iterable[str] = DEFAULT_AGGREGATION_LABELS, **values: object) -> str:
    """`template` (dedented, stripped) with its by()/on() clauses keeping `labels`, then its
    `$placeholders` filled from `values`. A placeholder without a value raises KeyError: a
    template and its builder disagree, which is a bug, not a config problem."""
    # Labels first, on the template's own text: values (selectors from the config) are not rewritten.
    text = keep_labels(textwrap.dedent(template).strip(), labels)
    return string.Template(text).substitute({k: str(v) for k, v in values.items()})


def _aggregation_problems(expr: Any, keep: tuple[str, ...]) -> list[str]:
    import promql_parser

    problems: list[str] = []
    if not keep:
        return problems

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            modifier = node.modifier
            if modifier is None:
                problems.append(f"{node.op}(...) aggregates away {', '.join(keep)}: write {node.op} by({', '.join(keep)}, ...)")
            elif modifier.type == promql_parser.AggModifierType.By:
                missing = [label for label in keep if label not in modifier.labels]
                if missing:
                    problems.append(f"{node.op} by({', '.join(modifier.labels)}) drops {', '.join(missing)}")
            elif any(label in modifier.labels for label in keep):
                problems.append(f"{node.op} without({', '.join(modifier.labels)}) drops an aggregation label")
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None and node.modifier.matching is not None:
            matching = node.modifier.matching
            if matching.type == promql_parser.LabelModifierType.Include:
                missing = [label for label in keep if label not in matching.labels]
                if missing:
                    problems.append(f"on({', '.join(matching.labels)}) matches across {', '.join(missing)}")
            elif any(label in matching.labels for label in keep):
                problems.append(f"ignoring({', '.join(matching.labels)}) matches across an aggregation label")

    promql_parser.walk(expr, pre_visit=visit)
    return problems


def check(expr: str, where: str, labels: Iterable[str] = DEFAULT_AGGREGATION_LABELS) -> None:
    """Raise PromQLError naming `where` (the rule) unless `expr` parses and keeps `labels`
    through every aggregation and vector match. `labels` empty: the syntax only."""
    # Imported here: only generation parses PromQL; the exporter (which reads slo.rules for
    # `slo report`) never pays for it.
    import promql_parser

    try:
        tree = promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLError(f"{where}: not valid PromQL ({exc}):\n{expr}") from None
    problems = _aggregation_problems(tree, tuple(labels))
    if problems:
        raise PromQLError(f"{where}: {'; '.join(problems)}:\n{expr}")
