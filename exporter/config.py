"""The exporter's configuration: strict YAML -> validated, immutable objects.

Valid module names come from the prober table (exporter/probes/__init__.py), never a second
list. Every problem is collected and reported with its location; nothing is half-loaded.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from exporter import yamlfile
from exporter.fields import Field, Problems, parse_fields, positive, secret_ref
from exporter.kube.config import parse_kubernetes_config
from exporter.probes import PROBERS
from exporter.secrets import SecretRef
from exporter.sharding import SINGLE, Shard

DEFAULT_PORT = 18789


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists every problem as ``path: message``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True)
class ModuleConfig:
    name: str
    enabled: bool
    interval: float
    timeout: float
    settings: Any
    # Export every phase's histogram and the percentile summary (exporter/exposition.py).
    detail: bool = False


@dataclass(frozen=True, eq=False)
class TargetConfig:
    name: str
    http_url: str
    ws_url: str
    token: SecretRef | None
    tls_ca_file: str | None
    tls_insecure_skip_verify: bool
    modules: dict[str, ModuleConfig]
    pod: str = ""  # set on per-pod copies made by for_pod(); "" for the configured target
    device: Any = None  # exporter.device.DeviceConfig when the config has a `device:` section

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | bool:
        """True for the system trust store; a context for a CA file or for skip-verify."""
        if not (self.tls_ca_file or self.tls_insecure_skip_verify):
            return True
        ctx = ssl.create_default_context(cafile=self.tls_ca_file)
        if self.tls_insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def for_pod(self, pod: str, ip: str) -> "TargetConfig":
        """This target probed on one pod's IP (same scheme, port and path), labelled with the pod."""
        host = f"[{ip}]" if ":" in ip else ip

        def swap(url: str) -> str:
            parts = urlsplit(url)
            return urlunsplit((parts.scheme, f"{host}:{parts.port}", parts.path, parts.query, ""))
        return replace(self, http_url=swap(self.http_url), ws_url=swap(self.ws_url), pod=pod)



@dataclass(frozen=True)
class Config:
    targets: tuple[TargetConfig, ...]
    max_concurrency: int = 64
    slo_spec_file: str | None = None
    slo_state_file: str | None = None
    slo_flush_interval: float = 10.0
    slo_spec: Any = None  # slo.model.Spec: the SLOs the exporter tracks live and counts thresholds for
    kubernetes: Any = None
    device: Any = None  # exporter.device.DeviceConfig: the identity every target's WebSocket signs with
    sharding: Shard = SINGLE  # which targets this replica probes (exporter/sharding.py)
    source: str = "<memory>"

    def target(self, name: str) -> TargetConfig | None:
        for target in self.targets:
            if target.name == name:
                return target
        return None


_TOP_FIELDS = {
    "max_concurrency": Field("int", 64, check=positive),
    "defaults": Field("mapping", {}),
    "slo": Field("mapping", {}),
    "kubernetes": Field("mapping", None),
    "device": Field("mapping", None),
    "sharding": Field("mapping", None),
}

_DEVICE_FIELDS = {
    "identity_file": Field("str", required=True),
    "token_file": Field("str"),
}

_SLO_FIELDS = {
    "spec_file": Field("str"),
    "state_file": Field("str"),
    "flush_interval": Field("duration", 10.0, check=positive),
}

_TARGET_FIELDS = {
    "name": Field("str", required=True),
    "url": Field("str", required=True),
    "ws_url": Field("str"),
    "token_file": Field("str"),
    "token_env": Field("str"),
    "tls_ca_file": Field("str"),
    "tls_insecure_skip_verify": Field("bool", False),
}

_COMMON_MODULE_FIELDS = {
    "enabled": Field("bool"),
    "interval": Field("duration", check=positive),
    "timeout": Field("duration", check=positive),
    "detail": Field("bool"),  # None: the prober's own default (Prober.detail_by_default)
}


def _split_url(url: str, where: str, problems: Problems) -> SplitResult | None:
    """urlsplit() with its ValueErrors (bad IPv6 brackets, bad port) as located problems."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        message = str(exc)
        if "Port" in message:
            raw_port = url.split("//", 1)[-1].split("/", 1)[0].rpartition(":")[2]
            problems.add(where, f"port {raw_port!r} is not a number from 1 to 65535")
        elif message == "Invalid IPv6 URL":
            problems.add(where, "is not a valid URL: unbalanced [ ] around the host (an IPv6 host is written "
                                "in brackets, e.g. http://[::1]:18789)")
        else:
            problems.add(where, f"is not a valid URL: {message}")
        return None
    if port == 0:
        problems.add(where, "port 0 is not a number from 1 to 65535")
        return None
    return parts


def _normalise_urls(url: str, ws_url: str | None, where: str, problems: Problems) -> tuple[str, str]:
    parts = _split_url(url, f"{where}.url", problems)
    if parts is None:
        return url, ws_url or url
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        problems.add(f"{where}.url", "must be an absolute http(s):// or ws(s):// URL with a host, e.g. http://127.0.0.1:18789")
        return url, ws_url or url
    if parts.username or parts.password:
        problems.add(f"{where}.url", "must not carry credentials; use token_file or token_env")
    secure = parts.scheme in ("https", "wss")
    # No port: the gateway's own 18789 for plain schemes, 443 behind TLS (an ingress).
    port = parts.port or (443 if secure else DEFAULT_PORT)
    host = parts.hostname or ""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = parts.path.rstrip("/")
    http = urlunsplit(("https" if secure else "http", netloc, path, "", ""))
    if ws_url:
        wparts = _split_url(ws_url, f"{where}.ws_url", problems)
        if wparts is not None and (wparts.scheme not in ("ws", "wss") or not wparts.hostname):
            problems.add(f"{where}.ws_url", "must be an absolute ws:// or wss:// URL")
        ws = ws_url
    else:
        ws = urlunsplit(("wss" if secure else "ws", netloc, path + "/", "", ""))
    return http, ws


def _parse_module(name: str, raw: Any, defaults: Any, where: str, problems: Problems) -> ModuleConfig:
    prober = PROBERS[name]
    merged: dict[str, Any] = {}
    if isinstance(defaults, dict):
        merged.update(defaults)
    if isinstance(raw, dict):
        merged.update(raw)
    elif raw is not None:
        problems.add(where, "must be a mapping")
    fields = {**_COMMON_MODULE_FIELDS, **prober.fields}
    values = parse_fields(merged, where, fields, problems)
    if values["enabled"] is not None:
        enabled = values["enabled"]
    else:
        # defaults.<module> only supplies values; the target's own section is what enables.
        enabled = prober.enabled_by_default or (prober.enabled_when_present and isinstance(raw, dict))
    interval = values["interval"] or prober.default_interval
    timeout = values["timeout"] or prober.default_timeout
    if timeout > interval:
        problems.add(f"{where}.timeout", f"must not exceed the interval ({interval:g}s)")
    specific = {k: v for k, v in values.items() if k not in _COMMON_MODULE_FIELDS}
    try:
        settings = prober.build_settings(specific)
    except ValueError as exc:
        problems.add(where, str(exc))
        settings = None
    if enabled and settings is not None and prober.check_enabled is not None:
        for message in prober.check_enabled(settings):
            problems.add(where, message)
    return ModuleConfig(name=name, enabled=enabled, interval=interval, timeout=timeout, settings=settings,
                        detail=values["detail"] if values["detail"] is not None else prober.detail_by_default)


def _parse_target(raw: Any, defaults: dict[str, Any], where: str, problems: Problems) -> TargetConfig | None:
    values = parse_fields(raw, where, _TARGET_FIELDS, problems, allow=tuple(PROBERS))
    if not isinstance(raw, dict) or not values["name"] or not values["url"]:
        return None
    http_url, ws_url = _normalise_urls(values["url"], values["ws_url"], where, problems)
    token = secret_ref(values, "token", where, problems)
    modules = {
        name: _parse_module(name, raw.get(name), defaults.get(name), f"{where}.{name}", problems)
        for name in PROBERS
    }
    return TargetConfig(
        name=values["name"], http_url=http_url, ws_url=ws_url, token=token,
        tls_ca_file=values["tls_ca_file"], tls_insecure_skip_verify=values["tls_insecure_skip_verify"],
        modules=modules,
    )


def parse_config(raw: Any, source: str = "<memory>") -> Config:
    """Validate a decoded YAML document; raise ConfigError listing every problem."""
    problems = Problems()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, ["(top level): must be a mapping"])
    top = parse_fields(raw, "config", _TOP_FIELDS, problems, allow=("targets",))
    # Strip the "config." prefix: top-level keys are reported by their own name.
    problems[:] = [p.removeprefix("config.") for p in problems]
    defaults = top["defaults"] or {}
    for key in defaults:
        if key not in PROBERS:
            problems.add(f"defaults.{key}", f"unknown module (valid modules: {', '.join(PROBERS)})")
    targets: list[TargetConfig] = []
    raw_targets = raw.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        problems.add("targets", "must be a non-empty list of gateways")
        raw_targets = []
    seen: set[str] = set()
    for i, item in enumerate(raw_targets):
        target = _parse_target(item, defaults, f"targets[{i}]", problems)
        if target is None:
            continue
        if target.name in seen:
            problems.add(f"targets[{i}].name", f"duplicate target name {target.name!r}")
        seen.add(target.name)
        targets.append(target)
    slo = parse_fields(top["slo"], "slo", _SLO_FIELDS, problems)
    slo_spec = _load_slo_spec(slo["spec_file"], problems)
    kube = None
    if top["kubernetes"] is not None:
        kube = _parse_kubernetes(top["kubernetes"], problems)
    device = None
    if top["device"] is not None:
        device = _parse_device(top["device"], slo["state_file"], problems)
    shard = SINGLE
    if top["sharding"] is not None:
        from exporter.sharding_config import parse_sharding  # pydantic only for fleets

        parsed, errors = parse_sharding(top["sharding"])
        problems.extend(errors)
        shard = parsed or SINGLE
    if problems:
        raise ConfigError(source, problems)
    if device is not None:
        targets = [replace(t, device=device) for t in targets]
    return Config(
        targets=tuple(targets), device=device, max_concurrency=top["max_concurrency"], slo_spec_file=slo["spec_file"],
        slo_state_file=slo["state_file"], slo_flush_interval=slo["flush_interval"], slo_spec=slo_spec, kubernetes=kube,
        sharding=shard, source=source,
    )


def _load_slo_spec(path: str | None, problems: Problems) -> Any:
    """The SLO spec (the shipped default when no file is named); its problems are config problems."""
    from slo import spec as slo_spec
    from slo.model import SpecError

    try:
        return slo_spec.load(path)
    except SpecError as exc:
        for error in exc.errors:
            problems.add("slo.spec_file", error)
    except OSError as exc:
        problems.add("slo.spec_file", f"cannot read {path}: {exc.strerror}")
    return None


def _parse_device(raw: Any, state_file: str | None, problems: Problems) -> Any:
    """The device identity (read now: a bad key is a config error, not a probe failure)."""
    from exporter.device import DeviceError, load_device_config

    values = parse_fields(raw, "device", _DEVICE_FIELDS, problems)
    if not values["identity_file"]:
        return None
    try:
        return load_device_config(values["identity_file"], values["token_file"], state_file)
    except DeviceError as exc:
        problems.add("device.identity_file", str(exc))
    return None


def _parse_kubernetes(raw: Any, problems: Problems) -> Any:
    kube, errors = parse_kubernetes_config(raw, "kubernetes")
    problems.extend(errors)
    return kube


def load_config(path: str) -> Config:
    """Read and validate a config file; raise ConfigError naming every problem."""
    try:
        raw = yamlfile.load_file(path)
    except OSError as exc:
        raise ConfigError(path, [f"cannot read file: {exc.strerror}"]) from None
    except yamlfile.YAMLFileError as exc:
        raise ConfigError(path, [str(exc)]) from None
    return parse_config(raw, source=path)
