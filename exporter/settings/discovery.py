"""The `discovery:` section: which Kubernetes objects become targets, and how (docs/fleet-discovery.md).

Pydantic v2 models, strict and frozen; ``parse_discovery_config`` turns a validation error into
the project's located messages (``discovery.label_selector: ...``), every problem at once.
The annotation keys a Service or Pod may carry are declared here, under one prefix.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from openclaw_schema.duration import parse as parse_duration
from exporter.settings.kubernetes import DEFAULT_LABEL_SELECTOR, valid_label_selector

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


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Seconds = Annotated[float, BeforeValidator(_duration), Field(gt=0, strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiscoveryConfig(_Model):
    """Gateways found through the Kubernetes API; each selected object is one target
    named ``<namespace>/<name>``."""

    # What to select, like Prometheus' kubernetes_sd_configs roles.
    role: Literal["service", "pod"] = "service"
    # Empty: every namespace (one cluster-wide list/watch); else one list/watch per namespace.
    namespaces: tuple[StrictStr, ...] = ()
    label_selector: StrictStr = DEFAULT_LABEL_SELECTOR
    # The gateway port: the Service (or container) port of this name, unless annotated.
    port_name: StrictStr = DEFAULT_PORT_NAME
    # Services: by DNS name (<name>.<namespace>.svc, what TLS certificates name) or by cluster IP
    # (no DNS lookup per probe). Pods are always probed on their IP.
    address: Literal["dns", "cluster_ip"] = "dns"
    scheme: Literal["http", "https"] = "http"
    path: StrictStr = ""
    # The token Secret of an object without the annotation (`name` or `name/key`, same namespace);
    # None: such targets are probed without a token.
    token_secret: StrictStr | None = None
    # Every referenced Secret is read again this often (a rotated token is used from then on).
    token_refresh_interval: Seconds = 60.0
    tls_ca_file: StrictStr | None = None
    tls_insecure_skip_verify: StrictBool = False
    # Connection to the API server, as in the `kubernetes:` section.
    in_cluster: StrictBool | None = None
    kubeconfig: StrictStr | None = None
    context: StrictStr | None = None
    watch_timeout_seconds: Annotated[int, Field(gt=0, strict=True)] = 300
    request_timeout_seconds: Annotated[float, Field(gt=0, strict=True)] = 10.0
    resync_seconds: Annotated[float, Field(ge=0, strict=True)] = 1800.0
    backoff_initial_seconds: Annotated[float, Field(gt=0, strict=True)] = 1.0
    backoff_max_seconds: Annotated[float, Field(gt=0, strict=True)] = 60.0
    backoff_jitter_ratio: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.2

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [ns for ns in value if len(ns) > 63 or not _DNS1123_LABEL.match(ns)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid namespace name (DNS-1123 label)")
        dup = sorted({ns for ns in value if value.count(ns) > 1})
        if dup:
            raise ValueError(f"{dup[0]!r} is listed twice")
        return value

    @field_validator("label_selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        # An empty selector would make every Service of the cluster a target: never silently.
        if not valid_label_selector(value):
            raise ValueError(f"{value!r} is not a valid, non-empty label selector")
        return value.strip()

    @field_validator("port_name")
    @classmethod
    def _port_name(cls, value: str) -> str:
        return check_port_name(value)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_path(value)

    @field_validator("token_secret")
    @classmethod
    def _token_secret(cls, value: str | None) -> str | None:
        if value is not None:
            parse_secret_ref(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DiscoveryConfig:
        if self.in_cluster is True and (self.kubeconfig or self.context):
            raise ValueError("in_cluster: cannot be true together with kubeconfig or context")
        if self.backoff_initial_seconds > self.backoff_max_seconds:
            raise ValueError(f"backoff_max_seconds: must be >= backoff_initial_seconds ({self.backoff_initial_seconds:g})")
        if self.role == "pod" and self.address != "dns":
            raise ValueError("address: applies to role: service only (pods are probed on their IP)")
        return self

    @property
    def default_secret(self) -> tuple[str, str] | None:
        return parse_secret_ref(self.token_secret) if self.token_secret else None


def _message(error: Any) -> str:  # a pydantic ErrorDetails
    if error["type"] == "extra_forbidden":
        return f"unknown key (allowed: {', '.join(sorted(DiscoveryConfig.model_fields))})"
    message = error["msg"]
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _location(where: str, loc: tuple[Any, ...]) -> str:
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_discovery_config(raw: Any, where: str = "discovery") -> tuple[DiscoveryConfig | None, list[str]]:
    """Validate the raw mapping; the config (None when invalid) and every problem, located."""
    if not isinstance(raw, dict):
        return None, [f"{where}: must be a mapping"]
    try:
        return DiscoveryConfig.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc, message = tuple(error["loc"]), _message(error)
            # The cross-field checks name their key first ("in_cluster: ..."): locate them there.
            key, sep, rest = message.partition(": ")
            if not loc and sep and key in DiscoveryConfig.model_fields:
                loc, message = (key,), rest
            problems.append(f"{_location(where, loc)}: {message}")
        return None, problems
