"""The non-SLO alerts (alerts/prometheus_alerts.yaml): a registry of typed rule builders.

Each alert is declared once, by `@alert(entry, group, *parameters)` on its builder: the entry
of slo/specs/alerts.yml holding its thresholds, the rule group, and the keys the entry takes
besides `severity` and `for` (the thresholds parser reads them from REGISTRY). A builder
returns one AlertingRule whose summary and description carry the numbers and labels on-call
needs (looked up with `query` where the alerting series alone does not have them). Its
expression keeps the configured aggregation labels (slo/promql.py) and is parsed before
anything is written. YAML is written by slo/render.py only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

from openclaw_schema import names
from slo import alert_spec, promql
from slo.alert_spec import AlertParams, AlertsConfig
from slo.rules import AlertingRule, RuleGroup, _num

Builder = Callable[[AlertsConfig, AlertParams], AlertingRule]

# Rule groups of the alerts file, in output order.
GROUPS = (names.RULE_GROUP_ALERTS_KUBE, names.RULE_GROUP_ALERTS_GATEWAY, names.RULE_GROUP_ALERTS_PROBES,
          names.RULE_GROUP_ALERTS_EXPORTER, names.RULE_GROUP_ALERTS_STORAGE)


@dataclass(frozen=True)
class AlertDecl:
    group: str
    parameters: tuple[str, ...]  # keys of its entry besides `severity` and `for`
    build: Builder


# Entry of slo/specs/alerts.yml -> its declaration, in declaration order.
REGISTRY: dict[str, AlertDecl] = {}


def alert(entry: str, group: str, *parameters: str) -> Callable[[Builder], Builder]:
    """Declare the builder below as the alert of `entry`; `parameters` are the threshold keys
    its entry takes (threshold_ratio, threshold_seconds, threshold_count, quantile, window, source)."""
    if group not in GROUPS:
        raise ValueError(f"alert {entry}: unknown rule group {group!r}")

    def register(build: Builder) -> Builder:
        if entry in REGISTRY:
            raise ValueError(f"alert {entry} is declared twice")
        REGISTRY[entry] = AlertDecl(group, parameters, build)
        return build

    return register


def parameters() -> dict[str, tuple[str, ...]]:
    """Entry -> the keys it takes besides `severity` and `for`, for the thresholds parser."""
    return {entry: decl.parameters for entry, decl in REGISTRY.items()}


def load_config(overrides: str | None = None) -> AlertsConfig:
    """The shipped thresholds (with an overrides file merged over them), validated against
    every registered alert."""
    return alert_spec.load(parameters(), overrides)

_CONFIG_RESULTS = "|".join(names.PROBE_CONFIG_RESULTS)
_POD_LABELS = f"{names.LABEL_NAMESPACE}, {names.LABEL_POD}, {names.LABEL_CONTAINER}"
_POD_NAME = "{{ $labels.namespace }}/{{ $labels.pod }}"


def _eq(label: str, value: str) -> str:
    return f"{label}={json.dumps(value)}"


def _re(label: str, value: str) -> str:
    # JSON string escaping is valid PromQL string escaping (see slo.rules._probe_matchers).
    return f"{label}=~{json.dumps(value)}"


def _sel(metric: str, *matchers: str) -> str:
    return f"{metric}{{{','.join(matchers)}}}"


def _from_labels(*labels: str) -> tuple[str, ...]:
    """Matchers filled in by the template's printf from the alert's own labels, in this order."""
    return tuple(f'{label}="%s"' for label in labels)


def _pct(ratio: float) -> str:
    return f"{_num(ratio * 100)}%"


def _gateway(cfg: AlertsConfig, job: str, *extra: str) -> tuple[str, ...]:
    """Matchers of the gateway's containers in one input (cAdvisor, kube-state-metrics and the
    watcher agree on namespace/pod/container); `job` is that input's selector."""
    s = cfg.selectors
    return (job, _eq(names.LABEL_NAMESPACE, s.namespace), _re(names.LABEL_POD, s.gateway_pod_regex),
            _eq(names.LABEL_CONTAINER, s.gateway_container), *extra)


# Each input is selected by its scrape job, so a second scrape of it does not double count.
def _exporter(cfg: AlertsConfig) -> str:
    return cfg.selectors.exporter_selector


def _ksm(cfg: AlertsConfig) -> str:
    return cfg.selectors.kube_state_metrics_selector


def _cadvisor(cfg: AlertsConfig) -> str:
    return cfg.selectors.cadvisor_selector


def _lookup(query: str, args: str, each: str, otherwise: str) -> str:
    """Go template: run `printf query args` when the alert is rendered; `each` per series, comma-separated.

    Series come sorted by the label `each` shows (query results have no stable order).
    """
    label = re.search(r"\.Labels\.(\w+)", each)
    order = f' | sortByLabel "{label.group(1)}"' if label else ""
    return (f"{{{{ range $i, $s := printf `{query}` {args} | query{order} }}}}{{{{ if $i }}}}, {{{{ end }}}}{each}"
            f"{{{{ else }}}}{otherwise}{{{{ end }}}}")


def _last_terminated(cfg: AlertsConfig) -> str:
    query = _sel(names.POD_CONTAINER_LAST_TERMINATED, _exporter(cfg),
                 *_from_labels(names.LABEL_NAMESPACE, names.LABEL_POD, names.LABEL_CONTAINER))
    return _lookup(query, "$labels.namespace $labels.pod $labels.container",
                   "{{ .Labels.reason }} (exit code {{ .Labels.exit_code }})", "unknown")


def _new_or_increase(series: str, window: str) -> str:
    """Counter increase over `window`, counting a series born inside the window from 0.

    The watcher's event counters and startup histogram appear with their first observation,
    so plain increase() would never see that first FailedMount or slow start.
    """
    return f"({series} unless {series} offset {window})\nor\nincrease({series}[{window}])"


def _promql(cfg: AlertsConfig, p: AlertParams, template: str, **values: object) -> str:
    """A PromQL template (slo/promql.py) filled in for this alert: `$exporter` (the exporter's
    selector), `$window`, `$threshold`, the probe counter `$attempts` and `$config_results`
    (credential results) are always there; `values` add the rest."""
    common = {
        "exporter": cfg.selectors.exporter_selector, "attempts": names.PROBE_ATTEMPTS_TOTAL,
        "config_results": _CONFIG_RESULTS, "window": p.window or "", "success": names.Result.SUCCESS,
        "threshold": _num(p.threshold) if p.threshold is not None else "",
    }
    return promql.fill(template, cfg.aggregation_labels, **{**common, **values})


def _rule(cfg: AlertsConfig, p: AlertParams, alert: str, expr: str, summary: str, description: str) -> AlertingRule:
    return AlertingRule(
        alert=alert,
        expr=promql.keep_labels(expr, cfg.aggregation_labels),
        for_=p.for_,
        labels={**cfg.labels, names.LABEL_SEVERITY: p.severity},
        annotations={"summary": summary, "description": description,
                     "runbook_url": f"{cfg.runbook_base_url}/{alert}.md"},
    )


# --- the article's alert table -----------------------------------------------------------------

@alert("pod_restarts", names.RULE_GROUP_ALERTS_KUBE, "threshold_count")
def pod_restarts(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    # increase() extrapolates to the window's edges (3 restarts read as 3.05): counts are whole.
    ksm = f"round(increase({_sel(names.KSM_RESTARTS_TOTAL, *_gateway(cfg, _ksm(cfg)))}[1h]))"
    own = _sel(names.POD_RESTARTS_LAST_HOUR, *_gateway(cfg, _exporter(cfg)))
    return _rule(
        cfg, p, names.ALERT_POD_RESTARTS,
        f"max by({_POD_LABELS}) (\n  {ksm}\n  or\n  {own}\n) > {_num(p.threshold)}",
        f"Container {{{{ $labels.container }}}} of {_POD_NAME} restarted {{{{ $value }}}} times in the last hour",
        f"{{{{ $value }}}} restarts of container {{{{ $labels.container }}}} in pod {_POD_NAME} within one hour "
        f"(alert above {_num(p.threshold)}). Last termination: {_last_terminated(cfg)}. "
        "A crash loop of the gateway drops every WebSocket session at each restart.",
    )


def _resource(cfg: AlertsConfig, metric: str, resource: str) -> str:
    """kube-state-metrics' limit or request of the gateway's containers, one series per container."""
    return f"sum by({_POD_LABELS}) ({_sel(metric, *_gateway(cfg, _ksm(cfg), _eq(names.LABEL_RESOURCE, resource)))})"


def _usage_of_limit(cfg: AlertsConfig, usage: str, resource: str) -> str:
    limit = _resource(cfg, names.KSM_RESOURCE_LIMITS, resource)
    return f"sum by({_POD_LABELS}) ({usage})\n/\n{limit}"


@alert("cpu_high", names.RULE_GROUP_ALERTS_KUBE, "threshold_ratio", "window")
def cpu_high(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    """Usage over the CPU limit; a container without a limit is measured against its request
    (label cpu_basis says which); one with neither has nothing to compare with and never fires."""
    usage = f"rate({_sel(names.CADVISOR_CPU_SECONDS_TOTAL, *_gateway(cfg, _cadvisor(cfg)))}[{p.window}])"
    basis = names.LABEL_CPU_BASIS

    def labelled(metric: str, value: str) -> str:
        return f'label_replace(\n    {_resource(cfg, metric, names.KSM_RESOURCE_CPU)},\n    "{basis}", "{value}", "", ""\n  )'

    divisor = (f"(\n  {labelled(names.KSM_RESOURCE_LIMITS, names.CPU_BASIS_LIMIT)}\n  or on({_POD_LABELS})\n"
               f"  {labelled(names.KSM_RESOURCE_REQUESTS, names.CPU_BASIS_REQUEST)}\n)")
    return _rule(
        cfg, p, names.ALERT_CPU_HIGH,
        f"sum by({_POD_LABELS}) ({usage})\n/ on({_POD_LABELS}) group_left({basis})\n{divisor}\n> {_num(p.threshold)}",
        f"Gateway {_POD_NAME} uses {{{{ $value | humanizePercentage }}}} of its CPU {{{{ $labels.{basis} }}}}",
        f"Container {{{{ $labels.container }}}} of {_POD_NAME} averaged {{{{ $value | humanizePercentage }}}} of its CPU "
        f"{{{{ $labels.{basis} }}}} over {p.window} (alert above {_pct(p.threshold)} for {p.for_}; measured against the "
        "request only when the container has no CPU limit). Near a limit the kernel throttles it; above its request it "
        "competes for the node's CPU: message handling and WebSocket handshakes slow down.",
    )


@alert("memory_high", names.RULE_GROUP_ALERTS_KUBE, "threshold_ratio")
def memory_high(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    usage = _sel(names.CADVISOR_MEMORY_WORKING_SET, *_gateway(cfg, _cadvisor(cfg)))
    return _rule(
        cfg, p, names.ALERT_MEMORY_HIGH,
        f"{_usage_of_limit(cfg, usage, 'memory')}\n> {_num(p.threshold)}",
        f"Gateway {_POD_NAME} uses {{{{ $value | humanizePercentage }}}} of its memory limit",
        f"Container {{{{ $labels.container }}}} of {_POD_NAME} has a working set of {{{{ $value | humanizePercentage }}}} "
        f"of its memory limit (alert above {_pct(p.threshold)} for {p.for_}). At the limit the kernel OOM-kills it "
        "(last termination reason OOMKilled) and every session on it drops.",
    )


@alert("message_latency", names.RULE_GROUP_ALERTS_GATEWAY, "quantile", "threshold_seconds", "window", "source")
def message_latency(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    if p.source == "plugin":
        return _message_latency_plugin(cfg, p)
    # The exporter's message probe: its warm turns (docs/message-probe.md), one series per target.
    expr = _promql(cfg, p, """
        histogram_quantile($quantile, sum by(le, target) (rate($duration_bucket{$exporter,module="message",phase="warm"}[$window])))
        > $threshold
    """, quantile=_num(p.quantile), duration_bucket=f"{names.PROBE_DURATION}_bucket")
    return _rule(
        cfg, p, names.ALERT_MESSAGE_LATENCY, expr,
        f"Message turns through {{{{ $labels.target }}}} take {{{{ $value | humanizeDuration }}}} at P{_num(p.quantile * 100)}",
        f"P{_num(p.quantile * 100)} of the exporter's warm message-probe turns through {{{{ $labels.target }}}} (chat.send "
        f"to the final answer) over {p.window} is {{{{ $value | humanizeDuration }}}} (alert above {_num(p.threshold)}s "
        f"for {p.for_}; the article's normal P95 is 800ms). Compare the probe's prepare and model phases: a slow "
        "model phase is the provider, a slow prepare phase is the gateway.",
    )


def _message_latency_plugin(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    expr = _promql(cfg, p, """
        histogram_quantile($quantile, sum by(le, job, namespace) (rate($duration_bucket[$window])))
        > $threshold
    """, quantile=_num(p.quantile), duration_bucket=f"{names.DIAG_MESSAGE_PROCESSED}_bucket")
    return _rule(
        cfg, p, names.ALERT_MESSAGE_LATENCY, expr,
        f"Gateway message processing P{_num(p.quantile * 100)} is {{{{ $value | humanizeDuration }}}}",
        f"P{_num(p.quantile * 100)} of {names.DIAG_MESSAGE_PROCESSED} (the gateway's diagnostics plugin, job "
        f"{{{{ $labels.job }}}}) over {p.window} is {{{{ $value | humanizeDuration }}}} (alert above {_num(p.threshold)}s "
        f"for {p.for_}; the article's normal P95 is 800ms). Usually the model provider is slow: compare "
        f"{names.DIAG_MODEL_CALLS_TOTAL} and the model probe.",
    )


@alert("model_call_failures", names.RULE_GROUP_ALERTS_GATEWAY, "threshold_ratio", "window")
def model_call_failures(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    calls = names.DIAG_MODEL_CALLS_TOTAL
    categories = _sel(calls, *_from_labels(names.LABEL_PROVIDER, names.LABEL_MODEL), _eq(names.LABEL_OUTCOME, names.OUTCOME_ERROR))
    expr = _promql(cfg, p, """
        sum by(provider, model) (rate($calls{outcome="$error"}[$window]))
        /
        sum by(provider, model) (rate($calls[$window]))
        > $threshold
    """, calls=calls, error=names.OUTCOME_ERROR)
    return _rule(
        cfg, p, names.ALERT_MODEL_CALL_FAILURES, expr,
        "{{ $value | humanizePercentage }} of the gateway's calls to {{ $labels.provider }}/{{ $labels.model }} fail",
        f"The gateway's own model calls (diagnostics plugin) to {{{{ $labels.provider }}}}/{{{{ $labels.model }}}} failed "
        f"{{{{ $value | humanizePercentage }}}} of the time over {p.window} (alert above {_pct(p.threshold)} for {p.for_}). "
        "Failures by category: "
        + _lookup(f"sum by({names.LABEL_ERROR_CATEGORY}) (increase({categories}[{p.window}]))", "$labels.provider $labels.model",
                  "{{ .Labels.error_category }} {{ .Value | humanize }}", "none recorded")
        + ". Users get errors instead of answers.",
    )


# Results of the model and message probes that say nothing about model calls: credentials
# (OpenClawProbeAuthFailing) and the message probe's own daily cap.
_NOT_MODEL_RESULTS = "|".join((*names.PROBE_CONFIG_RESULTS, "daily_cap_reached"))
_MODEL_MODULES = "model|message"


@alert("model_probe_failures", names.RULE_GROUP_ALERTS_PROBES, "threshold_ratio", "window")
def model_probe_failures(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    results = _sel(names.PROBE_ATTEMPTS_TOTAL, _exporter(cfg), *_from_labels(names.LABEL_TARGET, names.LABEL_MODULE),
                   f'{names.LABEL_RESULT}!="{names.Result.SUCCESS}"')
    expr = _promql(cfg, p, """
        sum by(target, module) (rate($attempts{$exporter,module=~"$modules",result!~"$success|$not_model"}[$window]))
        /
        sum by(target, module) (rate($attempts{$exporter,module=~"$modules",result!~"$not_model"}[$window]))
        > $threshold
    """, modules=_MODEL_MODULES, not_model=_NOT_MODEL_RESULTS)
    return _rule(
        cfg, p, names.ALERT_MODEL_PROBE_FAILURES, expr,
        "{{ $value | humanizePercentage }} of {{ $labels.module }} probes of {{ $labels.target }} fail",
        f"The exporter's {{{{ $labels.module }}}} probe of {{{{ $labels.target }}}} failed {{{{ $value | humanizePercentage }}}} "
        f"of its runs over {p.window} (alert above {_pct(p.threshold)} for {p.for_}; credential failures are excluded, see "
        f"{names.ALERT_PROBE_AUTH}). Results: "
        + _lookup(f"sum by({names.LABEL_RESULT}) (increase({results}[{p.window}]))", "$labels.target $labels.module",
                  "{{ .Labels.result }} {{ .Value | humanize }}", "none")
        + ". Check the provider's status and the configured model.",
    )


# --- the article's incidents ---------------------------------------------------------------------

def _waiting(cfg: AlertsConfig, reasons: str) -> str:
    """The container waits with one of `reasons`, by kube-state-metrics or the exporter's watcher.

    max by() drops `reason`, so a flip ErrImagePull <-> ImagePullBackOff keeps the alert's `for`.
    """
    match = _re(names.LABEL_REASON, reasons)
    return (f"max by({_POD_LABELS}) (\n  {_sel(names.KSM_WAITING_REASON, *_gateway(cfg, _ksm(cfg), match))} == 1\n  or\n"
            f"  {_sel(names.POD_CONTAINER_WAITING, *_gateway(cfg, _exporter(cfg), match))} == 1\n)")


@alert("crash_loop", names.RULE_GROUP_ALERTS_KUBE)
def crash_loop(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    restarts = _sel(names.POD_CONTAINER_RESTARTS_TOTAL, _exporter(cfg), *_from_labels(names.LABEL_NAMESPACE, names.LABEL_POD, names.LABEL_CONTAINER))
    return _rule(
        cfg, p, names.ALERT_CRASH_LOOP, _waiting(cfg, names.REASON_CRASH_LOOP),
        f"Gateway {_POD_NAME} is in CrashLoopBackOff",
        f"Container {{{{ $labels.container }}}} of {_POD_NAME} has been waiting in {names.REASON_CRASH_LOOP} for "
        f"{p.for_}: it exits soon after every start. Last termination: {_last_terminated(cfg)}; restarts so far: "
        + _lookup(restarts, "$labels.namespace $labels.pod $labels.container", "{{ .Value }}", "unknown")
        + ". Read the previous container's log: a missing config file "
        "(configuration file not found at /root/.openclaw/openclaw.json) was the article's cause.",
    )


@alert("image_pull", names.RULE_GROUP_ALERTS_KUBE)
def image_pull(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    reasons = "|".join(names.REASONS_IMAGE_PULL)
    return _rule(
        cfg, p, names.ALERT_IMAGE_PULL, _waiting(cfg, reasons),
        f"Gateway {_POD_NAME} cannot pull its image",
        f"Container {{{{ $labels.container }}}} of {_POD_NAME} has been waiting in {' or '.join(names.REASONS_IMAGE_PULL)} "
        f"for {p.for_}: the node cannot fetch the image (registry DNS, credentials, or a wrong tag). "
        "kubectl describe pod shows the kubelet's exact error.",
    )


@alert("volume_mount", names.RULE_GROUP_ALERTS_KUBE, "window")
def volume_mount(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    events = _sel(names.POD_EVENTS_TOTAL, _exporter(cfg), _eq(names.LABEL_NAMESPACE, cfg.selectors.namespace),
                  _eq(names.LABEL_REASON, names.REASON_FAILED_MOUNT))
    creating = _sel(names.POD_CONTAINER_WAITING, _exporter(cfg), *_from_labels(names.LABEL_NAMESPACE),
                    _eq(names.LABEL_REASON, names.REASON_CONTAINER_CREATING))
    by = f"sum by({names.LABEL_NAMESPACE})"
    # The watcher counts only events that happen while it runs and pre-creates the counter at 0,
    # so increase() sees the first one. The "born" part is per namespace, not per series: a
    # replaced exporter pod (new pod/instance labels) starts a new series, and that must not
    # read as new events while the namespace already had a count before.
    return _rule(
        cfg, p, names.ALERT_VOLUME_MOUNT,
        f"(\n  ({by} ({events}) unless {by} ({events} offset {p.window}))\n  or\n"
        f"  {by} (increase({events}[{p.window}]))\n) > 0",
        f"Volume mounts fail in namespace {{{{ $labels.namespace }}}} ({{{{ $value | humanize }}}} FailedMount events in {p.window})",
        f"{{{{ $value | humanize }}}} Warning events with reason {names.REASON_FAILED_MOUNT} about the gateway's pods in "
        f"namespace {{{{ $labels.namespace }}}} in the last {p.window}. Pods waiting in {names.REASON_CONTAINER_CREATING}: "
        + _lookup(creating, "$labels.namespace", "{{ .Labels.pod }}", "none")
        + ". The article's cause: several CephFS PVCs created at once raced the CSI driver (mount exit status 32).",
    )


@alert("container_creating", names.RULE_GROUP_ALERTS_KUBE)
def container_creating(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _rule(
        cfg, p, names.ALERT_CONTAINER_CREATING, _waiting(cfg, names.REASON_CONTAINER_CREATING),
        f"Gateway {_POD_NAME} has been stuck in ContainerCreating for more than {p.for_}",
        f"Container {{{{ $labels.container }}}} of {_POD_NAME} has waited in {names.REASON_CONTAINER_CREATING} for "
        f"more than {p.for_}. Usually a volume that does not mount (see {names.ALERT_VOLUME_MOUNT}); "
        "kubectl describe pod lists the events.",
    )


@alert("startup_slow", names.RULE_GROUP_ALERTS_KUBE, "threshold_seconds", "window")
def startup_slow(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    ns = _exporter(cfg), _eq(names.LABEL_NAMESPACE, cfg.selectors.namespace)
    # The bucket's `le` spelled by the function the watcher's collector writes it with.
    le = names.bucket_le(next(b for b in names.STARTUP_BUCKETS if b == p.threshold))
    count = _new_or_increase(_sel(f"{names.POD_STARTUP}_count", *ns), p.window).replace("\n", "\n  ")
    fast = _new_or_increase(_sel(f"{names.POD_STARTUP}_bucket", *ns, _eq(names.LABEL_LE, le)), p.window).replace("\n", "\n  ")
    return _rule(
        cfg, p, names.ALERT_STARTUP_SLOW,
        # Half a pod: increase() of a whole count is only ever a little off.
        f"sum by({names.LABEL_NAMESPACE}) (\n  {count}\n)\n-\nsum by({names.LABEL_NAMESPACE}) (\n  {fast}\n)\n> 0.5",
        f"Gateway pods in {{{{ $labels.namespace }}}} took more than {_num(p.threshold)}s to become Ready",
        f"{{{{ $value | printf \"%.0f\" }}}} gateway pod(s) in namespace {{{{ $labels.namespace }}}} took longer than "
        f"{_num(p.threshold)}s from creation to Ready in the last {p.window} (target: under 5 minutes; the article "
        "got 3 minutes, then 50s). Slow image pulls and volume mounts are the usual causes.",
    )


@alert("model_missing", names.RULE_GROUP_ALERTS_PROBES)
def model_missing(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _rule(
        cfg, p, names.ALERT_MODEL_MISSING,
        # Aggregated: the alert is about the provider's catalog, not about which exporter pod saw it.
        _promql(cfg, p, "max by(target, provider, model) ($available{$exporter}) == 0", available=names.MODEL_AVAILABLE),
        "Model {{ $labels.model }} is missing from provider {{ $labels.provider }}'s catalog",
        f"The model probe of {{{{ $labels.target }}}} has not found {{{{ $labels.model }}}} in the /models list of "
        f"provider {{{{ $labels.provider }}}} for {p.for_}. The provider has probably retired it (the article's "
        "qwen-plus): every request using it fails. Point the gateway at a listed model.",
    )


# --- the probes and the exporter ------------------------------------------------------------------

@alert("gateway_not_ready", names.RULE_GROUP_ALERTS_PROBES)
def gateway_not_ready(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    failing = _sel(names.GATEWAY_READINESS_FAILING, _exporter(cfg), *_from_labels(names.LABEL_TARGET))
    return _rule(
        cfg, p, names.ALERT_GATEWAY_NOT_READY,
        # max over the exporter replicas: not ready only when every replica probing it says so.
        _promql(cfg, p, "max by(target) ($ready{$exporter}) == 0", ready=names.GATEWAY_READY),
        "Gateway {{ $labels.target }} is not ready; failing: "
        + _lookup(failing, "$labels.target", "{{ .Labels.subsystem }}", "(not reported)"),
        f"The gateway's /readyz on {{{{ $labels.target }}}} has answered not ready for {p.for_}. Failing subsystems: "
        + _lookup(failing, "$labels.target", "{{ .Labels.subsystem }}", "none reported (the body had no details)")
        + ". Clients connecting now are refused or degraded.",
    )


@alert("websocket_failing", names.RULE_GROUP_ALERTS_PROBES, "threshold_ratio", "window")
def websocket_failing(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    # Summed over the exporter replicas: a second replica adds to both sides of the ratio alike.
    expr = _promql(cfg, p, """
        sum by(target, result) (rate($attempts{$exporter,module="websocket",result!~"$success|$config_results"}[$window]))
        / ignoring(result) group_left
        sum by(target) (rate($attempts{$exporter,module="websocket",result!~"$config_results"}[$window]))
        > $threshold
    """)
    return _rule(
        cfg, p, names.ALERT_WEBSOCKET_FAILING, expr,
        "WebSocket probes of {{ $labels.target }} fail with {{ $labels.result }}",
        f"{{{{ $value | humanizePercentage }}}} of the exporter's WebSocket probes of {{{{ $labels.target }}}} over "
        f"{p.window} ended with {{{{ $labels.result }}}} (alert above {_pct(p.threshold)} for {p.for_}). Clients "
        "connecting the same way fail too. Credential results alert separately as " + names.ALERT_PROBE_AUTH + ".",
    )


@alert("probe_auth", names.RULE_GROUP_ALERTS_PROBES, "window")
def probe_auth(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _rule(
        cfg, p, names.ALERT_PROBE_AUTH,
        _promql(cfg, p, 'sum by(target, module, result) (increase($attempts{$exporter,result=~"$config_results"}[$window])) > 0'),
        "The exporter's {{ $labels.module }} probe of {{ $labels.target }} is refused its credentials ({{ $labels.result }}): not an outage",
        f"The {{{{ $labels.module }}}} probe of {{{{ $labels.target }}}} ended with {{{{ $labels.result }}}} "
        f"{{{{ $value | humanize }}}} times in the last {p.window}, for {p.for_}: the probe's token, scopes or device "
        "pairing are wrong, not the gateway. These probes count neither for nor against the SLOs, so the gateway's "
        "SLIs are partly blind until the probe is fixed.",
    )


@alert("exporter_down", names.RULE_GROUP_ALERTS_EXPORTER)
def exporter_down(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    up = _sel(names.SCRAPE_UP, _exporter(cfg))
    return _rule(
        cfg, p, names.ALERT_EXPORTER_DOWN,
        _promql(cfg, p, """
            $up == 0
            or
            absent($up)
        """, up=up),
        "The OpenClaw exporter (job {{ $labels.job }}) is not scraped",
        f"Prometheus has not scraped the exporter ({up}) successfully for {p.for_} "
        "(instance {{ $labels.instance }}; no instance means no target is discovered at all). "
        "Every probe, SLO and pod alert of the gateway is blind meanwhile.",
    )


@alert("reload_failed", names.RULE_GROUP_ALERTS_EXPORTER)
def reload_failed(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _rule(
        cfg, p, names.ALERT_RELOAD_FAILED,
        _promql(cfg, p, "$reload_ok{$exporter} == 0", reload_ok=names.EXPORTER_RELOAD_SUCCESS),
        "The exporter {{ $labels.instance }} rejected its new config",
        f"The last config reload of the exporter {{{{ $labels.instance }}}} failed {p.for_} ago or more; it keeps "
        "probing with the previous config, so the change you made is not in effect. "
        "openclaw-exporter check --config.file lists every problem.",
    )


@alert("kube_watch_stale", names.RULE_GROUP_ALERTS_EXPORTER, "threshold_seconds")
def kube_watch_stale(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _rule(
        cfg, p, names.ALERT_KUBE_WATCH_STALE,
        _promql(cfg, p, "time() - $last_sync{$exporter} > $threshold", last_sync=names.KUBE_LAST_SYNC),
        "The exporter has not heard from the Kubernetes API about {{ $labels.resource }} for {{ $value | humanizeDuration }}",
        f"The exporter {{{{ $labels.instance }}}} last received a list, watch event or bookmark for "
        f"{{{{ $labels.resource }}}} {{{{ $value | humanizeDuration }}}} ago (alert above {_num(p.threshold)}s for "
        f"{p.for_}). Its pod metrics are stale, so the pod alerts cannot fire.",
    )


@alert("kube_watch_errors", names.RULE_GROUP_ALERTS_EXPORTER, "threshold_count", "window")
def kube_watch_errors(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _rule(
        cfg, p, names.ALERT_KUBE_WATCH_ERRORS,
        _promql(cfg, p, 'sum by(job, resource, kind) (increase($errors{$exporter,kind!="$gone"}[$window])) > $threshold',
                errors=names.KUBE_WATCH_ERRORS_TOTAL, gone=names.KubeWatchErrorKind.GONE),
        "The exporter's Kubernetes watch of {{ $labels.resource }} fails ({{ $labels.kind }} errors)",
        f"{{{{ $value | humanize }}}} {{{{ $labels.kind }}}} errors of the exporter's list/watch of "
        f"{{{{ $labels.resource }}}} in {p.window} (alert above {_num(p.threshold)} for {p.for_}; 410 Gone is a "
        "normal re-list and not counted). Pod metrics may be stale.",
    )


@alert("probe_ticks_skipped", names.RULE_GROUP_ALERTS_EXPORTER, "threshold_count", "window")
def probe_ticks_skipped(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    # By instance: an overloaded exporter replica is the thing to fix, whichever targets it skips.
    return _rule(
        cfg, p, names.ALERT_PROBE_TICKS_SKIPPED,
        _promql(cfg, p, "sum by(instance, target, module) (increase($skipped{$exporter}[$window])) > $threshold",
                skipped=names.PROBE_SKIPPED_TOTAL),
        "The exporter {{ $labels.instance }} skips {{ $labels.module }} probes of {{ $labels.target }}",
        f"{{{{ $value | humanize }}}} {{{{ $labels.module }}}} probes of {{{{ $labels.target }}}} were due while the "
        f"previous one still ran, and skipped, on the exporter {{{{ $labels.instance }}}} in the last {p.window} (alert "
        f"above {_num(p.threshold)} for {p.for_}). The target's SLIs get fewer events. Raise the module's interval or "
        "lower its timeout; when one replica skips for many targets, it is overloaded: add replicas.",
    )


# --- the storage module (sidecar) and the backups ---------------------------------------------

def _storage(cfg: AlertsConfig) -> str:
    """The storage sidecar's scrape: its PodMonitor (deploy/components/storage-sidecar) sets the
    exporter's job, so the exporter selector selects it too (and its opt-in SLO works alike)."""
    return cfg.selectors.exporter_selector


_STORAGE_PHASES = "|".join((names.Phase.WRITE, names.Phase.FSYNC, names.Phase.READ))


@alert("storage_latency", names.RULE_GROUP_ALERTS_STORAGE, "quantile", "threshold_seconds", "window")
def storage_latency(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    q = f"P{_num(p.quantile * 100)}"
    expr = _promql(cfg, p, """
        histogram_quantile($quantile, sum by(le, namespace, target, phase) (rate($duration_bucket{$exporter,module="storage",phase=~"$phases"}[$window])))
        > $threshold
    """, quantile=_num(p.quantile), duration_bucket=f"{names.PROBE_DURATION}_bucket", phases=_STORAGE_PHASES)
    return _rule(
        cfg, p, names.ALERT_STORAGE_LATENCY, expr,
        f"Storage {{{{ $labels.phase }}}} {q} of {{{{ $labels.target }}}} is {{{{ $value | humanizeDuration }}}}",
        f"The storage probe's {{{{ $labels.phase }}}} phase on the volume of {{{{ $labels.target }}}} (namespace "
        f"{{{{ $labels.namespace }}}}) has a {q} of {{{{ $value | humanizeDuration }}}} over {p.window} (alert above "
        f"{_num(p.threshold * 1000)}ms for {p.for_}; the article's file read/write targets are 5/20/50 ms at "
        "P50/P95/P99). The gateway reads and writes its sessions and memory on this volume: every message waits "
        "on it. A slow CephFS/NFS volume: check the storage cluster's health and the CSI driver's logs.",
    )


@alert("storage_probe_failing", names.RULE_GROUP_ALERTS_STORAGE, "threshold_ratio", "window")
def storage_probe_failing(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    expr = _promql(cfg, p, """
        sum by(namespace, target, result) (rate($attempts{$exporter,module="storage",result!="$success"}[$window]))
        / ignoring(result) group_left
        sum by(namespace, target) (rate($attempts{$exporter,module="storage"}[$window]))
        > $threshold
    """)
    return _rule(
        cfg, p, names.ALERT_STORAGE_PROBE_FAILING, expr,
        "The volume of {{ $labels.target }} fails the storage probe with {{ $labels.result }}",
        f"{{{{ $value | humanizePercentage }}}} of the storage probe's runs on the volume of {{{{ $labels.target }}}} "
        f"(namespace {{{{ $labels.namespace }}}}) over {p.window} ended with {{{{ $labels.result }}}} (alert above "
        f"{_pct(p.threshold)} for {p.for_}). read_only: the volume was remounted read-only; no_space: it is full; "
        "timeout: the mount hangs; path_missing: the probe directory or the subPath is gone. The gateway cannot save "
        "sessions meanwhile.",
    )


@alert("storage_persistence_lost", names.RULE_GROUP_ALERTS_STORAGE, "window")
def storage_persistence_lost(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:

    # The marker's creation time changes only when a new one had to be written: across pods
    # (max by drops pod/instance), a pod recreated on an empty volume shows as that change.
    return _rule(
        cfg, p, names.ALERT_STORAGE_PERSISTENCE_LOST,
        _promql(cfg, p, """
            max by(namespace, target) (increase($lost{$exporter}[$window])) > 0
            or
            changes((max by(namespace, target) ($created{$exporter}))[$window:1m]) > 0
        """, lost=names.STORAGE_PERSISTENCE_LOST_TOTAL, created=names.STORAGE_MARKER_CREATED),
        "The volume of {{ $labels.target }} lost its data (persistence marker vanished or replaced)",
        f"The storage probe's persistence marker on the volume of {{{{ $labels.target }}}} (namespace "
        f"{{{{ $labels.namespace }}}}) vanished or was replaced within the last {p.window}: what the gateway stored "
        "there (sessions, memory, workspace) is gone, or the pod now mounts another, empty volume. The target is "
        "storage persistence 100 %. Check the PVC binding and subPath before the gateway writes more, then restore "
        "from the last backup.",
    )


def _filling(cfg: AlertsConfig, p: AlertParams, alert: str) -> AlertingRule:
    now = _sel(names.STORAGE_AVAILABLE_BYTES, _storage(cfg), *_from_labels(names.LABEL_NAMESPACE, names.LABEL_TARGET))
    hours = _num(p.threshold / 3600)
    return _rule(
        cfg, p, alert,
        _promql(cfg, p, "min by(namespace, target) (predict_linear($available{$exporter}[$window], $threshold)) < 0",
                available=names.STORAGE_AVAILABLE_BYTES),
        f"The volume of {{{{ $labels.target }}}} is predicted to be full within {hours}h",
        f"Extrapolating the last {p.window}, the volume of {{{{ $labels.target }}}} (namespace {{{{ $labels.namespace }}}}) "
        f"runs out of space within {hours}h (as kubernetes-mixin's KubePersistentVolumeFillingUp). Available now: "
        + _lookup(f"min({now})", "$labels.namespace $labels.target", "{{ .Value | humanize1024 }}B", "unknown")
        + ". A full volume makes the gateway fail to save sessions; grow the PVC or clean up the workspace.",
    )


@alert("storage_filling_up", names.RULE_GROUP_ALERTS_STORAGE, "threshold_seconds", "window")
def storage_filling_up(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _filling(cfg, p, names.ALERT_STORAGE_FILLING_UP)


@alert("storage_full_soon", names.RULE_GROUP_ALERTS_STORAGE, "threshold_seconds", "window")
def storage_full_soon(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _filling(cfg, p, names.ALERT_STORAGE_FULL_SOON)




def _backup_age(cfg: AlertsConfig, p: AlertParams, alert: str) -> AlertingRule:
    return _rule(
        cfg, p, alert,
        _promql(cfg, p, "time() - max by(namespace, cronjob) ($last_success{$exporter}) > $threshold",
                last_success=names.BACKUP_LAST_SUCCESS),
        "The last successful backup of {{ $labels.namespace }}/{{ $labels.cronjob }} is {{ $value | humanizeDuration }} old",
        f"The backup CronJob {{{{ $labels.namespace }}}}/{{{{ $labels.cronjob }}}} last completed a Job "
        f"{{{{ $value | humanizeDuration }}}} ago (alert above {_num(p.threshold / 3600)}h for {p.for_}; it runs daily). "
        "A lost volume now would lose everything since. Check whether the CronJob is suspended, scheduling "
        f"({names.BACKUP_LAST_SCHEDULE}) and whether its Jobs fail ({names.ALERT_BACKUP_FAILED}).",
    )


@alert("backup_overdue", names.RULE_GROUP_ALERTS_STORAGE, "threshold_seconds")
def backup_overdue(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _backup_age(cfg, p, names.ALERT_BACKUP_OVERDUE)


@alert("backup_missing", names.RULE_GROUP_ALERTS_STORAGE, "threshold_seconds")
def backup_missing(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    return _backup_age(cfg, p, names.ALERT_BACKUP_MISSING)


@alert("backup_failed", names.RULE_GROUP_ALERTS_STORAGE)
def backup_failed(cfg: AlertsConfig, p: AlertParams) -> AlertingRule:
    # A failure newer than the last success, or failures and never a success.
    expr = _promql(cfg, p, """
        max by(namespace, cronjob) ($failure{$exporter})
        > on(namespace, cronjob)
        max by(namespace, cronjob) ($success_at{$exporter})
        or
        max by(namespace, cronjob) ($failure{$exporter}) unless on(namespace, cronjob) max by(namespace, cronjob) ($success_at{$exporter})
    """, failure=names.BACKUP_LAST_FAILURE, success_at=names.BACKUP_LAST_SUCCESS)
    return _rule(
        cfg, p, names.ALERT_BACKUP_FAILED, expr,
        "A backup Job of {{ $labels.namespace }}/{{ $labels.cronjob }} failed",
        "The latest Job of the backup CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} failed (at "
        "{{ $value | humanizeTimestamp }}) and no backup has succeeded since. kubectl logs job/<name> shows why "
        "(MinIO credentials, bucket, network policy, a volume it cannot mount read-only).",
    )


def generate(cfg: AlertsConfig) -> tuple[RuleGroup, ...]:
    """Every registered alert, grouped (GROUPS order, then declaration order); each expression
    parsed, and checked to keep the aggregation labels, before anything is written."""
    groups: dict[str, list[AlertingRule]] = {group: [] for group in GROUPS}
    for key, decl in REGISTRY.items():
        rule = decl.build(cfg, cfg.alerts[key])
        promql.check(rule.expr, f"{rule.alert} (alerts.{key})", cfg.aggregation_labels)
        groups[decl.group].append(rule)
    return tuple(RuleGroup(name, tuple(rules)) for name, rules in groups.items() if rules)
