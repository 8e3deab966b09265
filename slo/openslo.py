"""Import OpenSLO v1 `kind: SLO` documents into the SLO model.

Supported: ratioMetric (good/total or bad/total) with Prometheus queries, Occurrences
budgeting, one rolling time window of 7d/28d/30d, one objective. Everything else is an
error that says so, rather than an SLO that silently means something else.
Errors are prefixed with the document index and the OpenSLO path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slo.checks import NAME_PATTERN, Errors, check_objective
from slo.model import SLO, WINDOW_PLACEHOLDER, Alerting, RatioSLI, Spec, SpecError

API_VERSION = "openslo/v1"
# OpenSLO spells durations with w too.
_DURATIONS = {"7d": "7d", "1w": "7d", "28d": "28d", "4w": "28d", "30d": "30d"}
_SLO_SPEC_KEYS = ("description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies")


def _query(err: Errors, raw: Any, path: str) -> str:
    body = err.mapping(raw, path, ("metricSource",), ("metricSource",))
    source = err.mapping(body.get("metricSource", {}), f"{path}.metricSource", ("metricSourceRef", "type", "spec"), ("type", "spec"))
    if "type" in source and str(source["type"]).lower() != "prometheus":
        err.add(f"{path}.metricSource.type", f"unsupported source {source['type']!r} (only Prometheus)")
        return ""
    query_spec = err.mapping(source.get("spec", {}), f"{path}.metricSource.spec", ("query",), ("query",))
    query = err.string(query_spec["query"], f"{path}.metricSource.spec.query") if "query" in query_spec else ""
    if query and WINDOW_PLACEHOLDER not in query:
        err.add(f"{path}.metricSource.spec.query", f"must contain {WINDOW_PLACEHOLDER} where the rate window goes")
    return query


def _indicator(err: Errors, raw: Any, path: str) -> RatioSLI | None:
    body = err.mapping(raw, path, ("metadata", "spec"), ("spec",))
    sli_spec = err.mapping(body.get("spec", {}), f"{path}.spec", ("ratioMetric", "thresholdMetric"))
    if "thresholdMetric" in sli_spec:
        err.add(f"{path}.spec.thresholdMetric", "is not supported (only ratioMetric)")
        return None
    if "ratioMetric" not in sli_spec:
        err.add(f"{path}.spec.ratioMetric", "is required")
        return None
    rpath = f"{path}.spec.ratioMetric"
    ratio = err.mapping(sli_spec["ratioMetric"], rpath, ("counter", "good", "bad", "total", "rawType", "raw"), ("total",))
    if "raw" in ratio or "rawType" in ratio:
        err.add(f"{rpath}.raw", "is not supported (use good/total or bad/total counters)")
    if ratio.get("counter", True) is not True:
        err.add(f"{rpath}.counter", "must be true (queries are rates of counters)")
    if ("good" in ratio) == ("bad" in ratio):
        err.add(rpath, "needs exactly one of good or bad")
        return None
    total = _query(err, ratio.get("total", {}), f"{rpath}.total")
    if "bad" in ratio:
        return RatioSLI(_query(err, ratio["bad"], f"{rpath}.bad"), total)
    good = _query(err, ratio["good"], f"{rpath}.good")
    return RatioSLI(f"({total}) - ({good})", total)


def _window(err: Errors, raw: Any, path: str) -> str:
    if not isinstance(raw, list) or len(raw) != 1:
        err.add(path, "must be a list with exactly one window")
        return "30d"
    body = err.mapping(raw[0], f"{path}[0]", ("duration", "isRolling", "calendar"), ("duration",))
    if "calendar" in body or body.get("isRolling") is False:
        err.add(f"{path}[0]", "calendar windows are not supported (use isRolling: true)")
    duration = body.get("duration")
    if "duration" in body and duration not in _DURATIONS:
        err.add(f"{path}[0].duration", f"must be one of: {', '.join(_DURATIONS)}")
    return _DURATIONS.get(str(duration), "30d")


def _slo(err: Errors, doc: dict, path: str, indicators: dict[str, tuple[str, dict]]) -> SLO | None:
    meta = err.mapping(doc.get("metadata", {}), f"{path}.metadata", ("name", "displayName", "labels", "annotations"), ("name",))
    name = err.string(meta["name"], f"{path}.metadata.name") if "name" in meta else ""
    if name and not NAME_PATTERN.match(name):
        err.add(f"{path}.metadata.name", "must be lower-case letters, digits and dashes")
    labels = err.labels(meta.get("labels"), f"{path}.metadata.labels")
    spec = err.mapping(doc.get("spec", {}), f"{path}.spec", _SLO_SPEC_KEYS, ("timeWindow", "budgetingMethod", "objectives"))
    if "alertPolicies" in spec:
        err.add(f"{path}.spec.alertPolicies", "is not supported (alerts come from the burn-rate table)")
    method = spec.get("budgetingMethod")
    if "budgetingMethod" in spec and method != "Occurrences":
        err.add(f"{path}.spec.budgetingMethod", f"{method!r} is not supported (only Occurrences)")
    window = _window(err, spec.get("timeWindow"), f"{path}.spec.timeWindow") if "timeWindow" in spec else "30d"
    if "indicator" in spec:
        sli = _indicator(err, spec["indicator"], f"{path}.spec.indicator")
    elif "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if ref not in indicators:
            err.add(f"{path}.spec.indicatorRef", f"no kind: SLI document named {ref!r} in this file")
            sli = None
        else:
            ref_path, ref_doc = indicators[ref]
            sli = _indicator(err, {k: v for k, v in ref_doc.items() if k in ("metadata", "spec")}, ref_path)
    else:
        err.add(f"{path}.spec.indicator", "is required (or indicatorRef)")
        sli = None
    objective = 0.0
    objectives = spec.get("objectives")
    if "objectives" in spec:
        if not isinstance(objectives, list) or len(objectives) != 1:
            err.add(f"{path}.spec.objectives", "must be a list with exactly one objective")
        else:
            opath = f"{path}.spec.objectives[0]"
            obj = err.mapping(objectives[0], opath, ("displayName", "target", "targetPercent", "op", "value", "timeSliceTarget", "timeSliceWindow"))
            for key in ("op", "value", "timeSliceTarget", "timeSliceWindow"):
                if key in obj:
                    err.add(f"{opath}.{key}", "is not supported (ratio objectives only)")
            if "targetPercent" in obj:
                percent = err.number(obj["targetPercent"], f"{opath}.targetPercent")
                if percent is not None and not 0 < percent < 100:
                    err.add(f"{opath}.targetPercent", "must be > 0 and < 100 (a percentage like 99.9)")
                # Decimal: 99.9 / 100 must be 0.999, not 0.9990000000000001.
                objective = float(Decimal(repr(percent or 0.0)) / 100)
            elif "target" in obj:
                objective = check_objective(err, obj["target"], f"{opath}.target")
            else:
                err.add(f"{opath}.target", "is required")
    if "service" in spec:
        labels = {**labels, "service": err.string(spec["service"], f"{path}.spec.service")}
    description = spec.get("description") or meta.get("displayName") or ""
    if sli is None or not name:
        return None
    return SLO(name, str(description).strip(), objective, sli, window, dict(sorted(labels.items())), Alerting())


def parse(documents: list[Any], source: str) -> Spec:
    err = Errors()
    indicators: dict[str, tuple[str, dict]] = {}
    for i, doc in enumerate(documents):
        if isinstance(doc, dict) and doc.get("kind") == "SLI":
            name = (doc.get("metadata") or {}).get("name")
            indicators[name] = (f"documents[{i}]", doc)
    slos = []
    for i, doc in enumerate(documents):
        path = f"documents[{i}]"
        if not isinstance(doc, dict):
            err.add(path, "must be a mapping")
            continue
        err.mapping(doc, path, ("apiVersion", "kind", "metadata", "spec"), ("apiVersion", "kind", "spec"))
        if doc.get("apiVersion") != API_VERSION:
            err.add(f"{path}.apiVersion", f"must be {API_VERSION}")
        kind = doc.get("kind")
        if kind == "SLO":
            slos.append(_slo(err, doc, path, indicators))
        elif kind not in ("SLI", "Service"):  # SLIs are read through indicatorRef; Services carry no SLO data
            err.add(f"{path}.kind", f"{kind!r} is not supported (SLO, SLI, Service)")
    if not slos and not err.items:
        err.add("documents", "no kind: SLO document found")
    if err.items:
        raise SpecError(err.items)
    return Spec(source=source, slos=tuple(s for s in slos if s))
