"""The `kubernetes:` section of the exporter config: a frozen dataclass and a strict parser.

The parser never raises on bad input: it returns every problem at once, each as
``"<where>.<key>: <message>"``, so the exporter's config loader can list them all before
it starts (and a reload can keep the old config).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_NAMESPACE = "openclaw"
DEFAULT_LABEL_SELECTOR = "app=openclaw-gateway"
# Backup CronJobs (and their Jobs: the jobTemplate must carry the same labels).
DEFAULT_BACKUP_LABEL_SELECTOR = "app.kubernetes.io/component=openclaw-backup"

# A namespace name is a DNS-1123 label.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# One term of an equality- or set-based label selector (`k=v`, `k!=v`, `k in (a,b)`, `!k`, `k`).
_SELECTOR_TERM = re.compile(
    r"^\s*(!?[A-Za-z0-9][-A-Za-z0-9_./]*"
    r"|[A-Za-z0-9][-A-Za-z0-9_./]*\s*(=|==|!=)\s*[-A-Za-z0-9_.]*"
    r"|[A-Za-z0-9][-A-Za-z0-9_./]*\s+(in|notin)\s+\([-A-Za-z0-9_.,\s]*\))\s*$"
)


@dataclass(frozen=True)
class Selector:
    """One set of pods to watch: a namespace and a label selector inside it."""

    namespace: str = DEFAULT_NAMESPACE
    label_selector: str = DEFAULT_LABEL_SELECTOR


@dataclass(frozen=True)
class KubernetesConfig:
    enabled: bool = False
    kubeconfig: str | None = None  # None: the client's default (~/.kube/config, $KUBECONFIG)
    context: str | None = None  # None: the kubeconfig's current-context
    in_cluster: bool | None = None  # None ("auto"): in-cluster when the pod env says so
    selectors: tuple[Selector, ...] = (Selector(),)
    # Server-side length of one watch request; the watch then resumes from its resourceVersion.
    watch_timeout_seconds: int = 300
    # Connect timeout, and read timeout of list calls.
    request_timeout_seconds: float = 10.0
    # Full re-list even without errors, as a safety net against missed events (0: never).
    resync_seconds: float = 1800.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    backoff_jitter_ratio: float = 0.2  # +-20 % so many exporters do not retry in lockstep
    pod_probing: bool = False
    # Backup CronJobs and their Jobs to follow (read-only); empty: none.
    backups: tuple[Selector, ...] = ()

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The distinct namespaces, in config order (one Event watch each)."""
        return tuple(dict.fromkeys(s.namespace for s in self.selectors))


_SELECTOR_KEYS = {f.name for f in fields(Selector)}
_KEYS = {f.name for f in fields(KubernetesConfig)}
_POSITIVE = {
    "watch_timeout_seconds", "request_timeout_seconds",
    "backoff_initial_seconds", "backoff_max_seconds",
}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _parse_selector(raw: Any, where: str, errors: list[str],
                    default_selector: str = DEFAULT_LABEL_SELECTOR) -> Selector | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be a mapping with namespace and label_selector")
        return None
    for key in sorted(set(raw) - _SELECTOR_KEYS, key=str):
        errors.append(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_SELECTOR_KEYS))})")
    ns = raw.get("namespace", DEFAULT_NAMESPACE)
    sel = raw.get("label_selector", default_selector)
    ok = True
    if not isinstance(ns, str) or not ns:
        errors.append(f"{where}.namespace: must be a non-empty string")
        ok = False
    elif len(ns) > 63 or not _DNS1123_LABEL.match(ns):
        errors.append(f"{where}.namespace: {ns!r} is not a valid namespace name (DNS-1123 label)")
        ok = False
    if not isinstance(sel, str) or not sel.strip():
        # An empty selector would watch every pod of the namespace: make that explicit, never silent.
        errors.append(f"{where}.label_selector: must be a non-empty string")
        ok = False
    elif not all(_SELECTOR_TERM.match(term) for term in _split_selector(sel)):
        errors.append(f"{where}.label_selector: {sel!r} is not a valid label selector")
        ok = False
    return Selector(ns, sel.strip()) if ok else None


def valid_label_selector(sel: str) -> bool:
    """Whether every term of ``sel`` is an equality- or set-based label selector term."""
    return bool(sel.strip()) and all(_SELECTOR_TERM.match(term) for term in _split_selector(sel))


def _split_selector(sel: str) -> list[str]:
    """Split on commas outside `in (...)` parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in sel:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    return terms + [cur]


def parse_kubernetes_config(raw: dict | None, where: str) -> tuple[KubernetesConfig, list[str]]:
    """Validate the raw mapping; return the config (defaults where invalid) and all problems."""
    errors: list[str] = []
    if raw is None:
        return KubernetesConfig(), errors
    if not isinstance(raw, dict):
        return KubernetesConfig(), [f"{where}: must be a mapping"]
    for key in sorted(set(raw) - _KEYS, key=str):
        errors.append(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_KEYS))})")
    values: dict[str, Any] = {}

    for key in ("enabled", "pod_probing"):
        if key in raw:
            if isinstance(raw[key], bool):
                values[key] = raw[key]
            else:
                errors.append(f"{where}.{key}: must be true or false")

    for key in ("kubeconfig", "context"):
        v = raw.get(key)
        if v is None:
            continue
        if isinstance(v, str) and v:
            values[key] = v
        else:
            errors.append(f"{where}.{key}: must be a non-empty string or null")

    if "in_cluster" in raw:
        v = raw["in_cluster"]
        if v is None or v == "auto":
            values["in_cluster"] = None
        elif isinstance(v, bool):
            values["in_cluster"] = v
        else:
            errors.append(f"{where}.in_cluster: must be true, false or \"auto\"")
    if values.get("in_cluster") is True:
        for key in ("kubeconfig", "context"):
            if key in values:
                errors.append(f"{where}.{key}: cannot be set together with in_cluster: true")

    for key in sorted(_POSITIVE | {"resync_seconds", "backoff_jitter_ratio"}):
        if key not in raw:
            continue
        v = raw[key]
        if not _is_number(v):
            errors.append(f"{where}.{key}: must be a number")
        elif key in _POSITIVE and v <= 0:
            errors.append(f"{where}.{key}: must be greater than 0")
        elif key == "resync_seconds" and v < 0:
            errors.append(f"{where}.{key}: must be 0 (never) or greater")
        elif key == "backoff_jitter_ratio" and not 0 <= v < 1:
            errors.append(f"{where}.{key}: must be between 0 and 1 (exclusive)")
        elif key == "watch_timeout_seconds" and v != int(v):
            errors.append(f"{where}.{key}: must be a whole number of seconds")
        else:
            values[key] = int(v) if key == "watch_timeout_seconds" else float(v)
    lo = values.get("backoff_initial_seconds", KubernetesConfig.backoff_initial_seconds)
    hi = values.get("backoff_max_seconds", KubernetesConfig.backoff_max_seconds)
    if lo > hi:
        errors.append(f"{where}.backoff_max_seconds: must be >= backoff_initial_seconds ({lo:g})")
        values.pop("backoff_max_seconds", None)
        values.pop("backoff_initial_seconds", None)

    for key, default in (("selectors", DEFAULT_LABEL_SELECTOR), ("backups", DEFAULT_BACKUP_LABEL_SELECTOR)):
        if key not in raw:
            continue
        items = raw[key]
        if not isinstance(items, list) or not items:
            errors.append(f"{where}.{key}: must be a non-empty list")
            continue
        seen: dict[Selector, int] = {}  # selector -> its index in the raw list
        for i, item in enumerate(items):
            sel = _parse_selector(item, f"{where}.{key}[{i}]", errors, default)
            if sel is None:
                continue
            if sel in seen:
                errors.append(f"{where}.{key}[{i}]: duplicates {key}[{seen[sel]}]")
                continue
            seen[sel] = i
        if seen:
            values[key] = tuple(seen)

    return KubernetesConfig(**values), errors
