"""The `kubernetes:` section: which pods and backup CronJobs the watcher follows, and how."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, ClassVar

from pydantic import PlainValidator, ValidationError, WithJsonSchema, WrapValidator

from exporter.settings.base import Section, explain
from exporter.settings.fields import Bool, Loc, fail, fail_many

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


def _namespace(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise fail("must be a non-empty string")
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise fail(f"{value!r} is not a valid namespace name (DNS-1123 label)")
    return value


def valid_label_selector(value: str) -> bool:
    """Whether every term of ``value`` is an equality- or set-based label selector term."""
    return bool(value.strip()) and all(_SELECTOR_TERM.match(term) for term in re.split(r",(?![^()]*\))", value))


def _label_selector(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        # An empty selector would watch every pod of the namespace: make that explicit, never silent.
        raise fail("must be a non-empty string")
    if not valid_label_selector(value):
        raise fail(f"{value!r} is not a valid label selector")
    return value.strip()


class Selector(Section):
    """One set of pods to watch: a namespace and a label selector inside it."""

    not_a_mapping: ClassVar[str] = "must be a mapping with namespace and label_selector"
    valid_keys_are: ClassVar[str] = "allowed"
    namespace: Annotated[str, PlainValidator(_namespace), WithJsonSchema(
        {"type": "string", "pattern": _DNS1123_LABEL.pattern, "maxLength": 63})] = DEFAULT_NAMESPACE
    label_selector: Annotated[str, PlainValidator(_label_selector),
                              WithJsonSchema({"type": "string", "minLength": 1})] = DEFAULT_LABEL_SELECTOR

    def __init__(self, namespace: Any = DEFAULT_NAMESPACE, label_selector: Any = DEFAULT_LABEL_SELECTOR,
                 **unknown: Any) -> None:
        # Positional for code (Selector("ns", "app=x")); unknown keys reach validation and fail there.
        super().__init__(**{"namespace": namespace, "label_selector": label_selector, **unknown})


def _selectors(key: str, default_selector: str) -> WrapValidator:
    """A non-empty list of selectors without duplicates; every bad item is reported. A wrap
    validator that never calls pydantic's own, so the schema still comes from the type."""
    def check(items: Any, _handler: Any) -> tuple[Selector, ...]:
        if not isinstance(items, (list, tuple)) or not items:  # a tuple: built in code
            raise fail("must be a non-empty list")
        problems: list[tuple[Loc, str]] = []
        seen: dict[Selector, int] = {}  # selector -> its index in the list
        for i, item in enumerate(items):
            raw = {"label_selector": default_selector, **item} if isinstance(item, dict) else item
            try:
                selector = raw if isinstance(raw, Selector) else Selector.model_validate(raw)
            except ValidationError as exc:
                problems.extend(((i, *loc), message) for loc, message in explain(exc, Selector))
                continue
            if selector in seen:
                problems.append(((i,), f"duplicates {key}[{seen[selector]}]"))
                continue
            seen[selector] = i
        if problems:
            raise fail_many(problems)
        return tuple(seen)
    return WrapValidator(check)


def _number(value: Any, *, positive: bool = False, below_one: bool = False, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail("must be a number")
    if positive and value <= 0:
        raise fail("must be greater than 0")
    if not positive and value < 0:
        raise fail("must be 0 (never) or greater")
    if below_one and not 0 <= value < 1:
        raise fail("must be between 0 and 1 (exclusive)")
    if whole and value != int(value):
        raise fail("must be a whole number of seconds")
    return int(value) if whole else float(value)


def _optional_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise fail("must be a non-empty string or null")
    return value


def _in_cluster(value: Any) -> bool | None:
    if value == "auto":
        return None
    if not isinstance(value, bool):
        raise fail('must be true, false or "auto"')
    return value


OptionalName = Annotated[str, PlainValidator(_optional_name), WithJsonSchema({"type": "string", "minLength": 1})]
Seconds = Annotated[float, PlainValidator(partial(_number, positive=True)),
                    WithJsonSchema({"type": "number", "exclusiveMinimum": 0})]
InCluster = Annotated[bool | None, PlainValidator(_in_cluster), WithJsonSchema({"enum": [True, False, "auto", None]})]


class KubernetesConfig(Section):
    """The pod watcher: gateway pods' restarts, events and backups (docs/kubernetes.md)."""

    valid_keys_are: ClassVar[str] = "allowed"
    # Declared in the order problems are listed: switches, client, timings (by name), lists.
    enabled: Bool = False
    pod_probing: Bool = False
    kubeconfig: OptionalName | None = None  # None: the client's default (~/.kube/config, $KUBECONFIG)
    context: OptionalName | None = None  # None: the kubeconfig's current-context
    # None ("auto"): in-cluster when the pod env says so
    in_cluster: InCluster = None
    backoff_initial_seconds: Seconds = 1.0
    backoff_jitter_ratio: Annotated[float, PlainValidator(partial(_number, below_one=True)), WithJsonSchema(
        {"type": "number", "minimum": 0, "exclusiveMaximum": 1})] = 0.2  # +-20 %: no retries in lockstep
    backoff_max_seconds: Seconds = 60.0
    # Connect timeout, and read timeout of list calls.
    request_timeout_seconds: Seconds = 10.0
    # Full re-list even without errors, as a safety net against missed events (0: never).
    resync_seconds: Annotated[float, PlainValidator(_number), WithJsonSchema({"type": "number", "minimum": 0})] = 1800.0
    # Server-side length of one watch request; the watch then resumes from its resourceVersion.
    watch_timeout_seconds: Annotated[int, PlainValidator(partial(_number, positive=True, whole=True)),
                                     WithJsonSchema({"type": "integer", "exclusiveMinimum": 0})] = 300
    selectors: Annotated[tuple[Selector, ...], _selectors("selectors", DEFAULT_LABEL_SELECTOR)] = (Selector(),)
    # Backup CronJobs and their Jobs to follow (read-only); empty: none.
    backups: Annotated[tuple[Selector, ...], _selectors("backups", DEFAULT_BACKUP_LABEL_SELECTOR)] = ()

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The distinct namespaces, in config order (one Event watch each)."""
        return tuple(dict.fromkeys(s.namespace for s in self.selectors))

    def cross_check(self) -> list[tuple[str, str]]:
        return connection_problems(self)


def connection_problems(section: Any) -> list[tuple[str, str]]:
    """The API-connection keys' rules, shared by `kubernetes:` and `discovery:`."""
    problems = []
    if section.in_cluster is True:
        problems += [(key, "cannot be set together with in_cluster: true")
                     for key in ("kubeconfig", "context") if getattr(section, key) is not None]
    if section.backoff_initial_seconds > section.backoff_max_seconds:
        problems.append(("backoff_max_seconds",
                         f"must be >= backoff_initial_seconds ({section.backoff_initial_seconds:g})"))
    return problems

