"""Parse the openclaw-alerts/v1 thresholds file (slo/specs/alerts.yml) into a typed model.

The file is the one source of every threshold and `for` of alerts/prometheus_alerts.yaml.
Strict like the SLO spec: unknown keys, missing values and out-of-range numbers are all
reported at once, each with its path (`alerts.cpu_high.threshold_ratio: must be ...`).
An overrides file (a partial copy) is merged over the shipped file before validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping


from openclaw_schema import duration, names, yamlfile
from slo import matchers
from slo.promql import DEFAULT_AGGREGATION_LABELS, DEFAULT_SLO_GROUP_BY
from slo.model import SpecError
from slo.checks import Errors

API_VERSION = "openclaw-alerts/v1"
DEFAULT_ALERTS = "slo/specs/alerts.yml"  # how headers name the shipped file

# Which entry takes which parameters is declared with each alert (slo/alert_rules.py
# REGISTRY); parse() is handed that table, so an alert is declared in one place.
Parameters = Mapping[str, tuple[str, ...]]

_SELECTOR_KEYS = ("namespace", "gateway_pod_regex", "gateway_container",
                  "exporter_selector", "kube_state_metrics_selector", "cadvisor_selector")
# PromQL matcher strings, parsed and rendered back by slo/matchers.py.
_MATCHER_KEYS = ("exporter_selector", "kube_state_metrics_selector", "cadvisor_selector")
# Defaults: kube-prometheus' jobs, and the exporter's Service name with a ServiceMonitor.
DEFAULT_SELECTORS = {
    "exporter_selector": 'job="openclaw-slo-exporter"',
    "kube_state_metrics_selector": 'job="kube-state-metrics"',
    "cadvisor_selector": 'job="kubelet", metrics_path="/metrics/cadvisor"',
}


@dataclass(frozen=True)
class AlertParams:
    """One entry of `alerts:`; `threshold` is in the unit its key names (ratio, seconds, count)."""

    severity: str
    for_: str
    window: str | None = None
    threshold: float | None = None
    quantile: float | None = None
    source: str | None = None  # message_latency: "exporter" (the message probe) or "plugin"


# message_latency inputs: the exporter's message probe (default) or the diagnostics plugin.
MESSAGE_LATENCY_SOURCES = ("exporter", "plugin")


@dataclass(frozen=True)
class Selectors:
    """Where the gateway runs, and which scrape job each input comes from.

    The three `*_selector` fields are PromQL matchers rendered canonically
    (`job="kubelet",metrics_path="/metrics/cadvisor"`), ready to go inside `{}`.
    """

    namespace: str
    gateway_pod_regex: str
    gateway_container: str
    exporter_selector: str = matchers.render(matchers.parse(DEFAULT_SELECTORS["exporter_selector"]))
    kube_state_metrics_selector: str = matchers.render(matchers.parse(DEFAULT_SELECTORS["kube_state_metrics_selector"]))
    cadvisor_selector: str = matchers.render(matchers.parse(DEFAULT_SELECTORS["cadvisor_selector"]))


@dataclass(frozen=True)
class AlertsConfig:
    source: str  # how the generated header names the input
    runbook_base_url: str
    labels: dict[str, str]
    selectors: Selectors
    alerts: Mapping[str, AlertParams] = field(default_factory=dict)
    # Labels every aggregation and vector match of the generated rules keeps (slo/promql.py):
    # `cluster` by default, the external label of Thanos/Mimir multi-cluster setups.
    aggregation_labels: tuple[str, ...] = DEFAULT_AGGREGATION_LABELS
    # Labels the SLO rules keep besides those: `target`, one SLO per tenant gateway.
    slo_group_by: tuple[str, ...] = DEFAULT_SLO_GROUP_BY


def _duration(err: Errors, value: Any, path: str, zero: bool = False) -> str:
    """A Prometheus duration; `zero` allows 0s (a `for` of 0s fires at the first evaluation)."""
    try:
        # The one grammar's Prometheus subset: the text is copied into the generated rules.
        seconds = duration.parse(value, prometheus=True)
    except duration.DurationError:
        seconds = None
    if seconds is None or not (zero or seconds > 0):
        what = "a Prometheus duration such as 0s, 5m or 1h" if zero else "a positive Prometheus duration such as 30s, 5m or 1h"
        err.add(path, f"must be {what}")
        return "1m"
    return value


def _threshold(err: Errors, key: str, name: str, value: Any, path: str) -> float:
    number = err.number(value, path)
    if number is None:
        return 0.0
    if name == "threshold_ratio" and not 0 < number <= 1:
        err.add(path, "must be a ratio in (0, 1] (0.8 for 80 %, not 80)")
    elif name == "threshold_seconds" and number <= 0:
        err.add(path, "must be > 0 (seconds)")
    elif name == "threshold_count" and (number < 0 or number != int(number)):
        err.add(path, "must be a whole number >= 0")
    elif name == "quantile" and not 0 < number < 1:
        err.add(path, "must be in (0, 1), e.g. 0.95")
    if key == "startup_slow" and name == "threshold_seconds" and number not in names.STARTUP_BUCKETS:
        # The alert reads the histogram's bucket counts: only a bucket bound is exact.
        bounds = ", ".join(str(b) for b in names.STARTUP_BUCKETS)
        err.add(path, f"must be a bucket bound of {names.POD_STARTUP} ({bounds})")
    if key == "message_latency:exporter" and name == "threshold_seconds" and number not in names.MODEL_BUCKETS:
        bounds = ", ".join(f"{b:g}" for b in names.MODEL_BUCKETS)
        err.add(path, f"must be a bucket bound of the message probe's {names.PROBE_DURATION} ({bounds})")
    if key == "message_latency:plugin" and name == "threshold_seconds" and number not in names.DIAG_DURATION_BUCKETS:
        # histogram_quantile() interpolates inside a bucket: only at a bound is "above" exact.
        bounds = ", ".join(f"{b:g}" for b in names.DIAG_DURATION_BUCKETS)
        err.add(path, f"must be a bucket bound of {names.DIAG_MESSAGE_PROCESSED} ({bounds}; the plugin's bounds, assumed)")
    if key == "storage_latency" and name == "threshold_seconds" and number not in names.STORAGE_LATENCY_BUCKETS:
        # histogram_quantile() interpolates inside a bucket: only at a bound is "above" exact.
        bounds = ", ".join(f"{b:g}" for b in names.STORAGE_LATENCY_BUCKETS)
        err.add(path, f"must be a bucket bound of the storage module's {names.PROBE_DURATION} ({bounds})")
    return number


def _alert(err: Errors, key: str, params: tuple[str, ...], raw: Any, path: str) -> AlertParams:
    body = err.mapping(raw, path, ("severity", "for", *params), ("severity", "for", *params))
    severity = body.get("severity", names.Severity.CRITICAL.value)
    if "severity" in body and severity not in tuple(names.Severity):
        err.add(f"{path}.severity", f"must be one of: {', '.join(tuple(names.Severity))}")
    threshold_key = next((p for p in params if p.startswith("threshold_")), None)
    source = body.get("source")
    if "source" in body and source not in MESSAGE_LATENCY_SOURCES:
        err.add(f"{path}.source", f"must be one of: {', '.join(MESSAGE_LATENCY_SOURCES)}")
        source = MESSAGE_LATENCY_SOURCES[0]
    if key == "message_latency":
        key = f"{key}:{source or MESSAGE_LATENCY_SOURCES[0]}"  # the threshold's buckets depend on the source
    return AlertParams(
        source=source,
        severity=str(severity),
        for_=_duration(err, body["for"], f"{path}.for", zero=True) if "for" in body else "1m",
        window=_duration(err, body["window"], f"{path}.window") if "window" in body else None,
        threshold=(_threshold(err, key, threshold_key, body[threshold_key], f"{path}.{threshold_key}")
                   if threshold_key in body else None),
        quantile=_threshold(err, key, "quantile", body["quantile"], f"{path}.quantile") if "quantile" in body else None,
    )


def _selectors(err: Errors, raw: Any) -> Selectors:
    body = err.mapping(raw, "selectors", _SELECTOR_KEYS, _SELECTOR_KEYS)
    values = {k: err.string(body[k], f"selectors.{k}") if k in body else "" for k in _SELECTOR_KEYS}
    err.regex(values["gateway_pod_regex"] or None, "selectors.gateway_pod_regex")
    for key in _MATCHER_KEYS:
        try:
            values[key] = matchers.render(matchers.parse(values[key])) if values[key] else ""
        except ValueError as exc:
            err.add(f"selectors.{key}", f"is not a PromQL matcher list such as {DEFAULT_SELECTORS[key]} ({exc})")
            values[key] = ""
    # A value left empty by an error above: the default, so the parse can go on (it raises anyway).
    return Selectors(**{k: v for k, v in values.items() if v or k not in _MATCHER_KEYS})


_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _label_list(err: Errors, raw: Any, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and _LABEL_NAME.match(v) for v in raw):
        err.add(key, f"must be a list of Prometheus label names, e.g. [{', '.join(default)}] ([] for none)")
        return default
    return tuple(dict.fromkeys(raw))


def parse(document: Any, source: str, parameters: Parameters) -> AlertsConfig:
    """Validate one parsed document against `parameters` (alert entry -> the keys it takes
    besides `severity` and `for`); raise SpecError listing every problem."""
    err = Errors()
    top = ("apiVersion", "runbook_base_url", "labels", "aggregation_labels", "slo_group_by", "selectors", "alerts")
    body = err.mapping(document, "", top, top)
    if "apiVersion" in body and body["apiVersion"] != API_VERSION:
        err.add("apiVersion", f"must be {API_VERSION}")
    url = body.get("runbook_base_url", "")
    if "runbook_base_url" in body and (not isinstance(url, str) or not re.match(r"^https?://", url)):
        err.add("runbook_base_url", "must be an http(s) URL")
        url = ""
    labels = err.labels(body.get("labels"), "labels")
    selectors = _selectors(err, body.get("selectors", {})) if "selectors" in body else Selectors("", "", "")
    aggregation = (_label_list(err, body["aggregation_labels"], "aggregation_labels", DEFAULT_AGGREGATION_LABELS)
                   if "aggregation_labels" in body else DEFAULT_AGGREGATION_LABELS)
    group_by = (_label_list(err, body["slo_group_by"], "slo_group_by", DEFAULT_SLO_GROUP_BY)
                if "slo_group_by" in body else DEFAULT_SLO_GROUP_BY)
    keys = tuple(parameters)
    raw_alerts = err.mapping(body.get("alerts", {}), "alerts", keys, keys) if "alerts" in body else {}
    alerts = {key: _alert(err, key, parameters[key], raw_alerts[key], f"alerts.{key}") for key in keys if key in raw_alerts}
    if err.items:
        raise SpecError(err.items)
    return AlertsConfig(source, str(url).rstrip("/"), labels, selectors, alerts, aggregation, group_by)


def merge(base: Any, override: Any) -> Any:
    """Overlay `override` on `base`: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return override


def _yaml(text: str, source: str) -> Any:
    try:
        return yamlfile.loads(text)
    except yamlfile.YAMLFileError as exc:
        raise SpecError([str(exc)]) from None


def load(parameters: Parameters, overrides: str | None = None) -> AlertsConfig:
    """The shipped thresholds, with an overrides file merged over them when given."""
    text = resources.files("slo").joinpath("specs/alerts.yml").read_text(encoding="utf-8")
    document = _yaml(text, DEFAULT_ALERTS)
    if overrides is None:
        return parse(document, DEFAULT_ALERTS, parameters)
    try:
        extra_text = yamlfile.read_text(overrides)
    except yamlfile.YAMLFileError as exc:
        raise SpecError([str(exc)]) from None
    extra = _yaml(extra_text, overrides)
    if not isinstance(extra, dict):
        raise SpecError([f"{overrides}: must be a mapping (a partial copy of {DEFAULT_ALERTS})"])
    return parse(merge(document, extra), f"{DEFAULT_ALERTS} with overrides from {overrides}", parameters)
