"""Generate typed Prometheus rule objects from the SLO model (no YAML here: see render.py).

Per SLO, one rule group, evaluated top to bottom so alerts read fresh recordings:
  1. slo:sli_error:ratio_rate<w> for every window the burn-rate table and the period need,
     and slo:sli_events:increase<w> (events counted) for every long window;
  2. objective, error budget, remaining budget and burn-rate series;
  3. one page or ticket alert per window pair of the multiwindow multi-burn-rate table
     (labels `long`/`short`, as Pyrra does), each guarded by a minimum number of events in its
     long window, and an input-missing alert.

Every SLI keeps `target` (`slo_group_by` in slo/specs/alerts.yml) besides the aggregation
labels: each tenant gateway has its own SLI, error budget and pages, and one tenant's outage
pages for that tenant only. Replicas' duplicate probes still sum into one ratio per target.

The exporter's probe series are selected by `gateway_pod=""` (the exporter's own label, never
set by Prometheus or the Operator: per-pod diagnostics stay out), the spec's target when it
names one, and the exporter's scrape job (`exporter_selector`), so the Operator's target labels
(namespace, service, pod, container, endpoint) change nothing and a second scrape of the
exporter by another job does not count twice.
Probes failing for want of credentials are alerted on by slo/alert_rules.py
(OpenClawProbeAuthFailing), with the other non-SLO alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from openclaw_schema import duration, names
from slo import math as slomath
from slo import promql
from slo.model import SLI, SLO, WINDOW_PLACEHOLDER, AvailabilitySLI, LatencySLI, RatioSLI, Spec


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]


# Absence is judged over this long a lookback: longer than a few missed scrapes, so a
# restart of the exporter or Prometheus does not alert, and counters that merely stop
# increasing (an idle service) never do: their series keep being scraped.
ABSENT_LOOKBACK = "10m"
ABSENT_FOR = "5m"

# kube-prometheus' job for the exporter: the Service name the ServiceMonitor selects.
DEFAULT_EXPORTER_SELECTOR = f'{names.LABEL_JOB}="openclaw-slo-exporter"'

_CONFIG_RESULTS = "|".join(names.PROBE_CONFIG_RESULTS)


def camel(name: str) -> str:
    """websocket-availability -> WebsocketAvailability (alert names are CamelCase)."""
    return "".join(part.capitalize() for part in name.split("-"))


def _num(value: float) -> str:
    """Shortest exact spelling of a number (14.4, 6, 0.001), free of float noise."""
    text = repr(round(value, 12))
    return text[:-2] if text.endswith(".0") else text


def _selector(metric: str, matchers: list[str]) -> str:
    return f"{metric}{{{','.join(matchers)}}}"


def _probe_matchers(module: str, target: str | None, exporter_selector: str) -> list[str]:
    # gateway_pod="" keeps per-pod probe series (kubernetes.pod_probing) out: the SLO is the service's.
    matchers = [f'{names.LABEL_MODULE}="{module}"', f'{names.LABEL_GATEWAY_POD}=""']
    if exporter_selector:
        matchers.append(exporter_selector)
    if target is not None:
        # JSON string escaping is valid PromQL (Go) string escaping: `\.` stays a regex escape.
        matchers.append(f"{names.LABEL_TARGET}=~{json.dumps(target)}")
    return matchers


def _counted_matchers(sli: AvailabilitySLI | LatencySLI, exporter_selector: str) -> list[str]:
    """Matchers of the attempts counted as events: all but misconfigured-probe results for
    availability (neither good nor bad), successful probes for latency."""
    base = _probe_matchers(sli.module, sli.target, exporter_selector)
    if isinstance(sli, AvailabilitySLI):
        return base + [f'{names.LABEL_RESULT}!~"{_CONFIG_RESULTS}"']
    return base + [f'{names.LABEL_RESULT}="{names.Result.SUCCESS}"']


def _sum(expr: str, keep: tuple[str, ...]) -> str:
    """Sum over exporter replicas (duplicate probes add to both sides of a ratio alike), per
    value of the `keep` labels (`cluster`, `target`): clusters and tenants never merge."""
    return f"sum by({', '.join(keep)}) ({expr})" if keep else f"sum({expr})"


def sli_events_expr(sli: SLI, window: str, exporter_selector: str = DEFAULT_EXPORTER_SELECTOR,
                    keep: tuple[str, ...] = promql.DEFAULT_AGGREGATION_LABELS) -> str:
    """PromQL for the number of events `sli` counted over `window` (the minimum-events guard)."""
    if isinstance(sli, RatioSLI):
        return f"({sli.total_query.replace(WINDOW_PLACEHOLDER, window)}) * {int(duration.parse(window))}"
    return _sum(f"increase({_selector(names.PROBE_ATTEMPTS_TOTAL, _counted_matchers(sli, exporter_selector))}[{window}])", keep)


def sli_error_expr(sli: SLI, window: str, exporter_selector: str = DEFAULT_EXPORTER_SELECTOR,
                   keep: tuple[str, ...] = promql.DEFAULT_AGGREGATION_LABELS) -> str:
    """PromQL for the error ratio of `sli` over `window`, per value of the `keep` labels."""
    if isinstance(sli, RatioSLI):
        return f"({sli.error_query.replace(WINDOW_PLACEHOLDER, window)})\n/\n({sli.total_query.replace(WINDOW_PLACEHOLDER, window)})"
    base = _probe_matchers(sli.module, sli.target, exporter_selector)
    if isinstance(sli, AvailabilitySLI):
        # Misconfigured-probe results are neither good nor bad: out of both sides.
        counted = _counted_matchers(sli, exporter_selector)
        bad = _selector(names.PROBE_ATTEMPTS_TOTAL, counted + [f'{names.LABEL_RESULT}!="{names.Result.SUCCESS}"'])
        total = _selector(names.PROBE_ATTEMPTS_TOTAL, counted)
        # The exporter pre-creates every failure series at 0; the `or` still covers an exporter
        # that has not (an older version), where absent means zero: 0 * the total, not
        # vector(0), so each cluster and target without failures gets its own zero.
        zero = "vector(0)" if not keep else f"0 * {_sum(f'rate({total}[{window}])', keep)}"
        return (f"({_sum(f'rate({bad}[{window}])', keep)} or {zero})\n/\n"
                f"{_sum(f'rate({total}[{window}])', keep)}")
    good = _selector(
        names.PROBE_LATENCY_GOOD_TOTAL,
        base + [f'{names.LABEL_PHASE}="{sli.phase}"', f'{names.LABEL_THRESHOLD}="{names.threshold_label(sli.threshold_seconds)}"'],
    )
    total = _selector(names.PROBE_ATTEMPTS_TOTAL, _counted_matchers(sli, exporter_selector))
    # No `or vector(0)` on the good side: a missing counter is an exporter problem (the
    # input-missing alert), not 100 % slow probes.
    return f"1 - (\n  {_sum(f'rate({good}[{window}])', keep)}\n  /\n  {_sum(f'rate({total}[{window}])', keep)}\n)"


def _absent_expr(sli: SLI, exporter_selector: str) -> str:
    if isinstance(sli, RatioSLI):
        return f"absent({sli.total_query.replace(WINDOW_PLACEHOLDER, ABSENT_LOOKBACK)})"
    base = _probe_matchers(sli.module, sli.target, exporter_selector)
    expr = f"absent_over_time({_selector(names.PROBE_ATTEMPTS_TOTAL, base)}[{ABSENT_LOOKBACK}])"
    if isinstance(sli, LatencySLI):
        good = base + [f'{names.LABEL_PHASE}="{sli.phase}"', f'{names.LABEL_THRESHOLD}="{names.threshold_label(sli.threshold_seconds)}"']
        # One series with stable labels whichever input is missing, so the alert keeps its
        # identity (and its `for` clock) when a second input disappears.
        expr = (
            f"max without({names.LABEL_PHASE}, {names.LABEL_THRESHOLD}) (\n  {expr}\n  or\n"
            f"  absent_over_time({_selector(names.PROBE_LATENCY_GOOD_TOTAL, good)}[{ABSENT_LOOKBACK}])\n)"
        )
    return expr


def _series(record: str, slo: SLO, window: str | None = None) -> str:
    matchers = [f'{names.LABEL_SLO}="{slo.name}"']
    if window is not None:
        matchers.append(f'{names.LABEL_WINDOW}="{window}"')
    return _selector(record, matchers)


def _remaining_query(keep: tuple[str, ...]) -> str:
    # Go template: look the remaining budget up when the alert is rendered, the alert's own
    # (its target's, its cluster's) among the many; an absent label is "" on both sides.
    labels = (names.LABEL_SLO, *keep)
    matchers = ",".join(f'{label}="%s"' for label in labels)
    args = " ".join(f"$labels.{label}" for label in labels)
    return (
        '{{ with printf `' + names.RULE_BUDGET_REMAINING + '{' + matchers + '}` ' + args + ' | query }}'
        "{{ . | first | value | humanizePercentage }}{{ else }}unknown{{ end }}"
    )


def _whose(group_by: tuple[str, ...]) -> str:
    """` of target {{ $labels.target }}` for the summary: which tenant burns."""
    return "".join(f" of {label} {{{{ $labels.{label} }}}}" for label in group_by)


def _severity(slo: SLO, action: str) -> str:
    return slo.alerting.page_severity if action == "page" else slo.alerting.ticket_severity


def _burn_alert(slo: SLO, row: slomath.BurnWindow, keep: tuple[str, ...], group_by: tuple[str, ...]) -> AlertingRule:
    """One alert per window pair (Pyrra's shape) and per target: its `long`/`short` labels
    never change while it fires, so Alertmanager sees one stable alert per pair and target and
    inhibits on `slo` and `target`."""
    period = slo.period_seconds
    long_w, short_w = slomath.format_duration(row.long_seconds), slomath.format_duration(row.short_seconds)
    factor = _num(row.factor(period))
    needed = slomath.min_events(row.factor(period), slo.objective)
    events = _series(names.RULE_SLI_EVENTS.format(window=long_w), slo)
    # `window` is dropped: the pair is in the alert's own labels. The value is the long
    # window's burn rate. The events guard: one failure alone never reaches the threshold.
    expr = (
        f"max without({names.LABEL_WINDOW}) (\n"
        f"  {_series(names.RULE_BURN_RATE, slo, long_w)} > {factor}\n  and ignoring({names.LABEL_WINDOW})\n"
        f"  {_series(names.RULE_BURN_RATE, slo, short_w)} > {factor}\n  and ignoring({names.LABEL_WINDOW})\n"
        f"  {events} >= {needed}\n)"
    )
    template = names.ALERT_BURN_PAGE if row.action == "page" else names.ALERT_BURN_TICKET
    alert = template.format(Slo=camel(slo.name))
    extra = slo.alerting.page_labels if row.action == "page" else slo.alerting.ticket_labels
    return AlertingRule(
        alert=alert,
        expr=expr,
        labels={**slo.labels, **extra, names.LABEL_SEVERITY: _severity(slo, row.action),
                names.LABEL_LONG_WINDOW: long_w, names.LABEL_SHORT_WINDOW: short_w},
        annotations={
            "summary": f"SLO {slo.name}{_whose(group_by)} is burning its error budget {{{{ printf \"%.1f\" $value }}}}x too fast",
            "description": (
                f"{(slo.description or slo.name).rstrip('.')} (objective {_num(slo.objective * 100)}% over {slo.window}). "
                f"Burn rate {{{{ printf \"%.2f\" $value }}}} over {long_w}, and over {short_w} too, both above {factor}x "
                f"(at that rate {round(row.budget_share * 100)}% of the budget goes in {long_w}). "
                f"Error budget remaining over {slo.window}: {_remaining_query(keep)}."
            ),
            "runbook_url": f"{slo.alerting.runbook_base_url}/{alert}.md",
        },
    )


def slo_group(slo: SLO, exporter_selector: str = DEFAULT_EXPORTER_SELECTOR,
              aggregation_labels: tuple[str, ...] = promql.DEFAULT_AGGREGATION_LABELS,
              group_by: tuple[str, ...] = promql.DEFAULT_SLO_GROUP_BY) -> RuleGroup:
    # Every SLI sum keeps both: one SLI, budget and page per cluster and target. The constant
    # objective and budget series stay one per SLO (nothing to keep: they are per-SLO numbers).
    keep = tuple(dict.fromkeys((*aggregation_labels, *group_by)))
    period = slo.period_seconds
    # The budget as a number, not a join with slo:error_budget:ratio: that constant series has
    # no `cluster`, and dividing by the literal keeps every cluster's series apart.
    budget = _num(slomath.error_budget(slo.objective))
    windows = [slomath.format_duration(s) for s in slomath.sli_windows(period)]
    period_w = slomath.format_duration(period)
    table = slomath.scaled_table(period)
    long_windows = sorted({r.long_seconds for r in table})
    base = {names.LABEL_SLO: slo.name, **slo.labels}
    rules: list[Rule] = [
        RecordingRule(
            names.RULE_SLI_ERROR_RATIO.format(window=w),
            sli_error_expr(slo.sli, w, exporter_selector, keep),
            {**base, names.LABEL_WINDOW: w},
        )
        for w in windows
    ]
    rules += [
        RecordingRule(
            names.RULE_SLI_EVENTS.format(window=w),
            sli_events_expr(slo.sli, w, exporter_selector, keep),
            {**base, names.LABEL_WINDOW: w},
        )
        for w in (slomath.format_duration(s) for s in long_windows)
    ]
    rules += [
        RecordingRule(names.RULE_OBJECTIVE, f"vector({_num(slo.objective)})", base),
        RecordingRule(names.RULE_ERROR_BUDGET, f"vector({_num(slomath.error_budget(slo.objective))})", base),
        RecordingRule(
            names.RULE_BUDGET_REMAINING,
            f"1 - (\n  sum without({names.LABEL_WINDOW}) ({_series(names.RULE_SLI_ERROR_RATIO.format(window=period_w), slo)})\n"
            f"  /\n  {budget}\n)",
            base,
        ),
    ]
    rules += [
        RecordingRule(
            names.RULE_BURN_RATE,
            f"{_series(names.RULE_SLI_ERROR_RATIO.format(window=w), slo)}\n/\n{budget}",
            {**base, names.LABEL_WINDOW: w},
        )
        for w in windows
    ]
    rules += [_burn_alert(slo, row, keep, group_by) for row in table]
    rules.append(
        AlertingRule(
            alert=names.ALERT_SLI_ABSENT,
            expr=_absent_expr(slo.sli, exporter_selector),
            for_=ABSENT_FOR,
            labels={**base, **slo.alerting.ticket_labels, names.LABEL_SEVERITY: slo.alerting.ticket_severity},
            annotations={
                "summary": f"SLO {slo.name} has no input data",
                "description": (
                    f"The series the SLI of {slo.name} is computed from have been absent for {ABSENT_LOOKBACK}: "
                    "the exporter is down, not scraped, or its module is not configured. "
                    "The SLO's burn-rate alerts are blind until this is fixed."
                ),
                "runbook_url": f"{slo.alerting.runbook_base_url}/{names.ALERT_SLI_ABSENT}.md",
            },
        )
    )
    # A raw-PromQL SLI's aggregations are the spec author's: parsed, not held to `keep`.
    checked = () if isinstance(slo.sli, RatioSLI) else keep
    for rule in rules:
        name = rule.record if isinstance(rule, RecordingRule) else rule.alert
        promql.check(rule.expr, f"{name} (SLO {slo.name})", checked)
    return RuleGroup(names.RULE_GROUP_SLO.format(slo=slo.name), tuple(rules))


def generate(spec: Spec, exporter_selector: str = DEFAULT_EXPORTER_SELECTOR,
             aggregation_labels: tuple[str, ...] = promql.DEFAULT_AGGREGATION_LABELS,
             group_by: tuple[str, ...] = promql.DEFAULT_SLO_GROUP_BY) -> tuple[RuleGroup, ...]:
    """Rule groups of every SLO of `spec`; `exporter_selector` is a PromQL matcher string
    (e.g. 'job="openclaw-slo-exporter"') picking the exporter's own scrape, "" for none;
    every aggregation keeps `aggregation_labels` (slo/promql.py) and `group_by` (`target`:
    one SLO per tenant gateway; () for one SLO over all targets)."""
    return tuple(slo_group(slo, exporter_selector, aggregation_labels, group_by) for slo in spec.slos)
