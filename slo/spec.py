"""Parse and validate the openclaw-slo/v1 YAML spec into the model.

Strict on purpose: an unknown key is a typo that would silently drop an alert, so every
problem is collected with its path (`slos[1].objective: ...`) and reported at once.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from openclaw_schema import names, yamlfile
from slo.checks import LABEL_NAME_PATTERN, NAME_PATTERN, Errors, check_objective
from slo.model import (
    DEFAULT_PERIOD,
    PERIODS,
    SLI,
    SLO,
    WINDOW_PLACEHOLDER,
    Alerting,
    AvailabilitySLI,
    LatencySLI,
    RatioSLI,
    Spec,
    SpecError,
)

API_VERSION = "openclaw-slo/v1"
DEFAULT_SPEC = "slo/specs/openclaw-gateway.yml"  # how headers name the shipped spec

_SLI_KEYS = ("kind", "module", "target", "phase", "threshold_seconds", "error_query", "total_query")


def _sli(err: Errors, raw: Any, path: str) -> SLI | None:
    kinds = ("availability", "latency", "ratio")
    body = err.mapping(raw, path, _SLI_KEYS, ("kind",))
    kind = body.get("kind")
    if "kind" in body and kind not in kinds:
        err.add(f"{path}.kind", f"must be one of: {', '.join(kinds)}")
        return None
    fields = {
        "availability": (("module",), ("target",)),
        "latency": (("module", "phase", "threshold_seconds"), ("target",)),
        "ratio": (("error_query", "total_query"), ()),
    }.get(kind)
    if fields is None:
        return None
    required, optional = fields
    for key in body:
        if key in _SLI_KEYS and key != "kind" and key not in required + optional:
            err.add(f"{path}.{key}", f"is not used by kind {kind}")
    for key in required:
        if key not in body:
            err.add(f"{path}.{key}", f"is required for kind {kind}")
    if kind == "ratio":
        queries = {}
        for key in required:
            queries[key] = err.string(body[key], f"{path}.{key}") if key in body else ""
            if queries[key] and WINDOW_PLACEHOLDER not in queries[key]:
                err.add(f"{path}.{key}", f"must contain {WINDOW_PLACEHOLDER} where the rate window goes")
        return RatioSLI(queries["error_query"], queries["total_query"])
    module = body.get("module")
    if "module" in body and module not in tuple(names.Module):
        err.add(f"{path}.module", f"must be one of: {', '.join(names.Module)}")
    target = err.regex(body.get("target"), f"{path}.target")
    if kind == "availability":
        return AvailabilitySLI(str(module), target)
    threshold = err.number(body["threshold_seconds"], f"{path}.threshold_seconds") if "threshold_seconds" in body else 1.0
    if threshold is not None and threshold <= 0:
        err.add(f"{path}.threshold_seconds", "must be > 0 (seconds)")
    phase = err.string(body["phase"], f"{path}.phase") if "phase" in body else ""
    if phase and not LABEL_NAME_PATTERN.match(phase):
        err.add(f"{path}.phase", "must be a phase name like handshake (letters, digits, underscores)")
    return LatencySLI(str(module), phase, threshold or 1.0, target)


_ALERTING_KEYS = ("runbook_base_url", "page_labels", "ticket_labels", "page_severity", "ticket_severity")


def _severity(err: Errors, body: dict, key: str, path: str, default: str) -> str:
    if key not in body:
        return default
    value = body[key]
    if value not in tuple(names.Severity):
        err.add(f"{path}.{key}", f"must be one of: {', '.join(tuple(names.Severity))} (got {value!r})")
        return default
    return value


def _alerting(err: Errors, raw: Any, path: str, base: Alerting) -> Alerting:
    if raw is None:
        return base
    body = err.mapping(raw, path, _ALERTING_KEYS)
    url = body.get("runbook_base_url", base.runbook_base_url)
    if not isinstance(url, str) or not re.match(r"^https?://", url):
        err.add(f"{path}.runbook_base_url", "must be an http(s) URL")
        url = base.runbook_base_url
    return Alerting(
        runbook_base_url=url.rstrip("/"),
        page_labels=err.labels(body["page_labels"], f"{path}.page_labels") if "page_labels" in body else base.page_labels,
        ticket_labels=err.labels(body["ticket_labels"], f"{path}.ticket_labels") if "ticket_labels" in body else base.ticket_labels,
        page_severity=_severity(err, body, "page_severity", path, base.page_severity),
        ticket_severity=_severity(err, body, "ticket_severity", path, base.ticket_severity),
    )


_SLO_KEYS = ("name", "description", "objective", "window", "sli", "labels", "alerting", "enabled")


def _enabled(err: Errors, raw: Any, path: str) -> bool:
    value = raw.get("enabled", True) if isinstance(raw, dict) else True
    if not isinstance(value, bool):
        err.add(f"{path}.enabled", "must be true or false")
        return True
    return value


def _slo(err: Errors, raw: Any, path: str, alerting: Alerting) -> SLO | None:
    body = err.mapping(raw, path, _SLO_KEYS, ("name", "objective", "sli"))
    if not body:
        return None
    name = err.string(body["name"], f"{path}.name") if "name" in body else ""
    if name and not NAME_PATTERN.match(name):
        err.add(f"{path}.name", "must be lower-case letters, digits and dashes (e.g. websocket-availability)")
    objective = check_objective(err, body["objective"], f"{path}.objective") if "objective" in body else 0.0
    window = body.get("window", DEFAULT_PERIOD)
    if window not in PERIODS:
        err.add(f"{path}.window", f"must be one of: {', '.join(PERIODS)} (rolling)")
        window = DEFAULT_PERIOD
    description = body.get("description", "")
    if not isinstance(description, str):
        err.add(f"{path}.description", "must be a string")
        description = ""
    return SLO(
        name=name,
        description=description.strip(),
        objective=objective,
        sli=_sli(err, body["sli"], f"{path}.sli") if "sli" in body else None,  # type: ignore[arg-type]
        window=window,
        labels=err.labels(body.get("labels"), f"{path}.labels"),
        alerting=_alerting(err, body.get("alerting"), f"{path}.alerting", alerting),
    )


def parse(document: Any, source: str) -> Spec:
    """Validate one parsed YAML document; raise SpecError listing every problem."""
    err = Errors()
    body = err.mapping(document, "", ("apiVersion", "alerting", "slos"), ("apiVersion", "slos"))
    if "apiVersion" in body and body["apiVersion"] != API_VERSION:
        err.add("apiVersion", f"must be {API_VERSION}")
    defaults = _alerting(err, body.get("alerting"), "alerting", Alerting())
    raw_slos = body.get("slos", [])
    if not isinstance(raw_slos, list) or ("slos" in body and not raw_slos):
        err.add("slos", "must be a non-empty list")
        raw_slos = []
    slos = [_slo(err, raw, f"slos[{i}]", defaults) for i, raw in enumerate(raw_slos)]
    # A disabled SLO is validated like any other (a typo still fails) but neither generated
    # nor tracked live: e.g. the model SLO, whose probe the shipped config does not run.
    enabled = [_enabled(err, raw, f"slos[{i}]") for i, raw in enumerate(raw_slos)]
    seen: set[str] = set()
    for i, slo in enumerate(slos):
        if slo and slo.name in seen:
            err.add(f"slos[{i}].name", f"duplicate SLO name {slo.name!r}")
        if slo:
            seen.add(slo.name)
    if err.items:
        raise SpecError(err.items)
    return Spec(source=source, slos=tuple(s for s, on in zip(slos, enabled) if s and on), alerting=defaults,
                disabled=tuple(s.name for s, on in zip(slos, enabled) if s and not on))


def load_text(text: str, source: str) -> Spec:
    """Parse YAML text in either supported format (openclaw-slo/v1 or OpenSLO v1)."""
    try:
        documents = [d for d in yamlfile.loads_all(text) if d is not None]
    except yamlfile.YAMLFileError as exc:
        raise SpecError([str(exc)]) from None
    if not documents:
        raise SpecError([f"{source}: empty document"])
    first = documents[0]
    if isinstance(first, dict) and str(first.get("apiVersion", "")).startswith("openslo/"):
        from slo import openslo  # imported lazily: only OpenSLO input needs it

        return openslo.parse(documents, source)
    if len(documents) > 1:
        raise SpecError([f"{source}: expected one YAML document, got {len(documents)}"])
    return parse(first, source)


def load(path: str | None = None) -> Spec:
    """Load a spec file, or the shipped default spec when path is None."""
    if path is None:
        text = resources.files("slo").joinpath("specs/openclaw-gateway.yml").read_text(encoding="utf-8")
        return load_text(text, DEFAULT_SPEC)
    try:
        text = yamlfile.read_text(path)
    except yamlfile.YAMLFileError as exc:
        raise SpecError([str(exc)]) from None
    return load_text(text, path)
