"""The `discovery:` section: which Kubernetes objects become targets, and how (docs/fleet-discovery.md).

A Section of the config framework (exporter/settings/base.py): its errors read like every other
section's (``discovery.label_selector: ...``), every problem at once. The API-connection keys
are the `kubernetes:` section's, with its types.
The annotation keys a Service or Pod may carry are declared here, under one prefix.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, ClassVar

from pydantic import PlainValidator, WithJsonSchema

from exporter.settings.base import Section, cross_check, validate
from exporter.settings.fields import Bool, PositiveDuration, Str, fail, one_of
from exporter.settings.kubernetes import (
    DEFAULT_LABEL_SELECTOR,
    InCluster,
    OptionalName,
    Seconds,
    _label_selector,
    _namespace,
    _number,
    connection_problems,
)

# Per-object annotations (all optional), one prefix so `kubectl get svc -o yaml` shows them together.
ANNOTATION_PREFIX = "openclaw.ai/"
ANNOTATION_PROBE = ANNOTATION_PREFIX + "probe"  # "false": selected, but not a target
ANNOTATION_PORT = ANNOTATION_PREFIX + "port"  # port name or number, instead of discovery.port_name
ANNOTATION_PATH = ANNOTATION_PREFIX + "path"  # the gateway's base path behind a proxy, e.g. /openclaw
ANNOTATION_SCHEME = ANNOTATION_PREFIX + "scheme"  # http or https
ANNOTATION_MODULES = ANNOTATION_PREFIX + "modules"  # comma list: exactly these modules are enabled
ANNOTATION_TOKEN_SECRET = ANNOTATION_PREFIX + "token-secret"  # name[/key] of a Secret, same namespace
ANNOTATIONS = (ANNOTATION_PROBE, ANNOTATION_PORT, ANNOTATION_PATH, ANNOTATION_SCHEME, ANNOTATION_MODULES,
               ANNOTATION_TOKEN_SECRET)

DEFAULT_PORT_NAME = "gateway"  # the container port name of examples/gateway/deployment.yaml
DEFAULT_SECRET_KEY = "token"  # the key of deploy/'s openclaw-gateway-token Secret

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# IANA_SVC_NAME, what Kubernetes allows as a port name.
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def parse_secret_ref(value: str) -> tuple[str, str]:
    """`name` or `name/key` -> (name, key); ValueError naming what is wrong."""
    name, _, key = value.strip().partition("/")
    key = key or DEFAULT_SECRET_KEY
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        raise ValueError(f"{value!r}: {name!r} is not a Secret name (DNS-1123 subdomain); write name or name/key")
    if not _SECRET_KEY.match(key):
        raise ValueError(f"{value!r}: {key!r} is not a Secret key (letters, digits, '-', '_', '.')")
    return name, key


def check_port_name(value: str) -> str:
    if len(value) > 15 or not _PORT_NAME.match(value):
        raise ValueError(f"{value!r} is not a port name (up to 15 lowercase letters, digits and '-')")
    return value


def check_path(value: str) -> str:
    if value and (not value.startswith("/") or any(c in value for c in "?# ")):
        raise ValueError(f"{value!r} must be empty or a URL path starting with / (no query, no spaces)")
    return value.rstrip("/")


def _as_fail(check: Any) -> Any:
    """A check raising ValueError as a field validator (the same checks judge annotations)."""
    def run(value: Any) -> Any:
        if not isinstance(value, str):
            raise fail("must be a string")
        try:
            return check(value)
        except ValueError as exc:
            raise fail(str(exc)) from None
    return run


def _namespaces(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise fail("must be a list of namespace names (empty: every namespace)")
    names = tuple(_namespace(v) for v in value)
    dup = sorted({ns for ns in names if names.count(ns) > 1})
    if dup:
        raise fail(f"{dup[0]!r} is listed twice")
    return names


def _secret_ref(value: str) -> str:
    parse_secret_ref(value)
    return value


Role = Annotated[str, one_of("service", "pod")]
Address = Annotated[str, one_of("dns", "cluster_ip")]
Scheme = Annotated[str, one_of("http", "https")]
Namespaces = Annotated[tuple[str, ...], PlainValidator(_namespaces),
                       WithJsonSchema({"type": "array", "items": {"type": "string"}, "uniqueItems": True})]
LabelSelector = Annotated[str, PlainValidator(_label_selector), WithJsonSchema({"type": "string", "minLength": 1})]
PortName = Annotated[str, PlainValidator(_as_fail(check_port_name)), WithJsonSchema({"type": "string", "maxLength": 15})]
UrlPath = Annotated[str, PlainValidator(_as_fail(check_path)), WithJsonSchema({"type": "string"})]
SecretName = Annotated[str, PlainValidator(_as_fail(_secret_ref)), WithJsonSchema({"type": "string"})]


class DiscoveryConfig(Section):
    """Gateways found through the Kubernetes API; each selected object is one target
    named ``<namespace>/<name>`` (docs/fleet-discovery.md)."""

    valid_keys_are: ClassVar[str] = "allowed"
    # What to select, like Prometheus' kubernetes_sd_configs roles.
    role: Role = "service"
    # Empty: every namespace (one cluster-wide list/watch); else one list/watch per namespace.
    namespaces: Namespaces = ()
    label_selector: LabelSelector = DEFAULT_LABEL_SELECTOR
    # The gateway port: the Service (or container) port of this name, unless annotated.
    port_name: PortName = DEFAULT_PORT_NAME
    # Services: by DNS name (<name>.<namespace>.svc, what TLS certificates name) or by cluster IP
    # (no DNS lookup per probe). Pods are always probed on their IP.
    address: Address = "dns"
    scheme: Scheme = "http"
    path: UrlPath = ""
    # The token Secret of an object without the annotation (`name` or `name/key`, same namespace);
    # None: such targets are probed without a token.
    token_secret: SecretName | None = None
    # Every referenced Secret is read again this often (a rotated token is used from then on).
    token_refresh_interval: PositiveDuration = 60.0
    tls_ca_file: Str | None = None
    tls_insecure_skip_verify: Bool = False
    # Connection to the API server: the `kubernetes:` section's keys and types.
    in_cluster: InCluster = None
    kubeconfig: OptionalName | None = None
    context: OptionalName | None = None
    watch_timeout_seconds: Annotated[int, PlainValidator(partial(_number, positive=True, whole=True)),
                                     WithJsonSchema({"type": "integer", "exclusiveMinimum": 0})] = 300
    request_timeout_seconds: Seconds = 10.0
    resync_seconds: Annotated[float, PlainValidator(_number), WithJsonSchema({"type": "number", "minimum": 0})] = 1800.0
    backoff_initial_seconds: Seconds = 1.0
    backoff_max_seconds: Seconds = 60.0
    backoff_jitter_ratio: Annotated[float, PlainValidator(partial(_number, below_one=True)), WithJsonSchema(
        {"type": "number", "minimum": 0, "exclusiveMaximum": 1})] = 0.2

    def cross_check(self) -> list[tuple[str, str]]:
        problems = connection_problems(self)
        if self.role == "pod" and self.address != "dns":
            problems.append(("address", "applies to role: service only (pods are probed on their IP)"))
        return problems

    @property
    def default_secret(self) -> tuple[str, str] | None:
        return parse_secret_ref(self.token_secret) if self.token_secret else None


def parse_discovery_config(raw: Any, where: str = "discovery") -> tuple[DiscoveryConfig | None, list[str]]:
    """Validate the raw mapping; the config (None when invalid) and every problem, located."""
    problems: list[str] = []
    config = validate(DiscoveryConfig, raw, where, problems)
    if config is None or problems or not cross_check(config, where, problems):
        return None, problems
    return config, []
