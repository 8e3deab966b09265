"""The exporter's configuration: strict YAML -> validated, immutable objects.

The types live in exporter/settings/ (a leaf the probers are typed against); this module
reads the file, merges ``defaults``, applies each prober's defaults and checks, and collects
every problem with its location. Nothing is half-loaded.

It imports pydantic: ``exporter check`` and ``probe`` run it in-process, ``exporter run`` in a
child process (exporter/config_child.py), so the running exporter holds no pydantic.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from pydantic import BaseModel

from openclaw_schema import yamlfile
from exporter.kube.config import parse_kubernetes_config
from exporter.probes import PROBERS
from exporter.settings.base import cross_check, validate
from exporter.settings.file import ConfigFile, Defaults, DeviceSection, SloSection, TargetSection
from exporter.settings.modules import MODULES
from exporter.settings.resolved import Config, ConfigError, ModuleConfig, TargetConfig
from exporter.sharding import SINGLE

__all__ = ["Config", "ConfigError", "ModuleConfig", "TargetConfig", "load_config", "parse_config"]

DEFAULT_PORT = 18789
# The sections of ConfigFile, each validated on its own (the rest of the top level at once).
SECTIONS = ("defaults", "targets", "slo", "kubernetes", "device", "discovery", "sharding")


class Problems(list):
    """The problems found so far, as ``path: message`` strings."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _fingerprint(value: Any) -> Any:
    """A hashable key equal only for interchangeable values: same types all the way down (1,
    1.0 and True compare equal but are not the same setting); TypeError for what it cannot key."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if isinstance(value, BaseModel):
        return (kind, tuple((k, _fingerprint(v)) for k, v in value.__dict__.items()),
                frozenset(value.model_fields_set))
    if isinstance(value, dict):
        return (dict, tuple((_fingerprint(k), _fingerprint(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (kind, tuple(_fingerprint(v) for v in value))
    if is_dataclass(value) and not isinstance(value, type):
        return (kind, tuple(_fingerprint(getattr(value, f.name)) for f in fields(value)))
    hash(value)
    return (kind, value)


class Shared:
    """One object per distinct value: a fleet's targets mostly take their modules from
    `defaults:`, so 1,000 targets hold 5 module settings, not 5,000 (~4 MB of RSS). The
    values are frozen; the probers and the scheduler compare them by value, never by identity."""

    def __init__(self) -> None:
        self._seen: dict[Any, Any] = {}
        self._mappings: dict[tuple[tuple[str, int], ...], dict[str, Any]] = {}

    def __call__(self, value: Any, key: Any = None) -> Any:
        """``value``'s shared copy; ``key``, when given, stands for its fingerprint."""
        try:
            key = _fingerprint(value) if key is None else key
        except TypeError:  # an unhashable leaf (a set in a mapping setting): kept as it is
            return value
        return self._seen.setdefault(key, value)

    def mapping(self, values: dict[str, Any]) -> dict[str, Any]:
        """One dict for equal dicts of shared values (a target's modules; read, never written)."""
        return self._mappings.setdefault(tuple((k, id(v)) for k, v in values.items()), values)


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


def _parse_module(name: str, raw: Any, defaults: Any, where: str, problems: Problems,
                  shared: Shared | None = None) -> ModuleConfig:
    prober = PROBERS[name]
    merged: dict[str, Any] = {}
    if isinstance(defaults, dict):
        merged.update(defaults)
    if isinstance(raw, dict):
        merged.update(raw)
    elif raw is not None:
        problems.add(where, "must be a mapping")
    settings = validate(MODULES[name], merged, where, problems) or MODULES[name]()
    if settings.enabled is not None:
        enabled = settings.enabled
    else:
        # defaults.<module> only supplies values; the target's own section is what enables.
        enabled = prober.enabled_by_default or (prober.enabled_when_present and isinstance(raw, dict))
    interval = settings.interval or prober.default_interval
    timeout = settings.timeout or prober.default_timeout
    if timeout > interval:
        problems.add(f"{where}.timeout", f"must not exceed the interval ({interval:g}s)")
    if cross_check(settings, where, problems) and enabled and prober.check_enabled is not None:
        for message in prober.check_enabled(settings):
            problems.add(where, message)
    detail = settings.detail if settings.detail is not None else prober.detail_by_default
    shared = shared or Shared()
    settings = shared(settings)
    # The settings are shared already: the same object is the same settings (it stays alive in `shared`).
    key = (ModuleConfig, name, _fingerprint(enabled), _fingerprint(interval), _fingerprint(timeout), id(settings),
           _fingerprint(detail))
    return shared(ModuleConfig(name=name, enabled=enabled, interval=interval, timeout=timeout, settings=settings,
                               detail=detail), key)


def _parse_target(raw: Any, defaults: dict[str, Any], where: str, problems: Problems,
                  shared: Shared) -> TargetConfig | None:
    own = {k: v for k, v in raw.items() if k not in MODULES} if isinstance(raw, dict) else raw
    spec: TargetSection | None = validate(TargetSection, own, where, problems)
    if spec is None or not isinstance(raw, dict):
        return None
    http_url, ws_url = _normalise_urls(spec.url, spec.ws_url, where, problems)
    cross_check(spec, where, problems)
    modules = {
        name: _parse_module(name, raw.get(name), defaults.get(name), f"{where}.{name}", problems, shared)
        for name in PROBERS
    }
    modules = shared.mapping(modules)
    return TargetConfig(
        name=spec.name, http_url=http_url, ws_url=ws_url, token=spec.token,
        tls_ca_file=spec.tls_ca_file, tls_insecure_skip_verify=spec.tls_insecure_skip_verify, modules=modules,
    )


def parse_config(raw: Any, source: str = "<memory>") -> Config:
    """Validate a decoded YAML document; raise ConfigError listing every problem."""
    problems = Problems()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, ["(top level): must be a mapping"])
    top = validate(ConfigFile, {k: v for k, v in raw.items() if k not in SECTIONS}, "", problems) or ConfigFile()
    defaults = raw.get("defaults") or {}
    # defaults.<module> is validated merged into each target; here only its shape.
    validate(Defaults, {k: {} if isinstance(v, dict) else v for k, v in defaults.items()}
             if isinstance(defaults, dict) else defaults, "defaults", problems)
    if not isinstance(defaults, dict):
        defaults = {}
    targets: list[TargetConfig] = []
    discovery = None
    has_discovery = raw.get("discovery") is not None
    if has_discovery:
        from exporter.settings.discovery import parse_discovery_config

        discovery, errors = parse_discovery_config(raw["discovery"], "discovery")
        problems.extend(errors)
        has_discovery = isinstance(raw["discovery"], dict)  # a bad mapping is its own problem; targets stay optional
    raw_targets = raw.get("targets")
    if raw_targets is None and has_discovery:
        raw_targets = []  # every target is discovered
    elif not isinstance(raw_targets, list) or (not raw_targets and not has_discovery):
        problems.add("targets", "must be a non-empty list of gateways (or configure discovery:)")
        raw_targets = []
    seen: set[str] = set()
    shared = Shared()
    for i, item in enumerate(raw_targets):
        target = _parse_target(item, defaults, f"targets[{i}]", problems, shared)
        if target is None:
            continue
        if target.name in seen:
            problems.add(f"targets[{i}].name", f"duplicate target name {target.name!r}")
        seen.add(target.name)
        targets.append(target)
    slo = validate(SloSection, raw.get("slo") or {}, "slo", problems) or SloSection()
    slo_spec = _load_slo_spec(slo.spec_file, problems)
    kube = None
    if raw.get("kubernetes") is not None:
        kube, errors = parse_kubernetes_config(raw["kubernetes"], "kubernetes")
        problems.extend(errors)
    if has_discovery and not targets:  # no static target checked the defaults: the discovered ones will use them
        problems.extend(discovered_modules(defaults, None, "defaults")[1])
    device = None
    if raw.get("device") is not None:
        device = _parse_device(raw["device"], slo.state_file, problems)
    shard = SINGLE
    if raw.get("sharding") is not None:
        from exporter.settings.sharding import parse_sharding  # pydantic models built only for fleets

        parsed, errors = parse_sharding(raw["sharding"])
        problems.extend(errors)
        shard = parsed or SINGLE
    if problems:
        raise ConfigError(source, problems)
    if device is not None:
        targets = [replace(t, device=device) for t in targets]
    return Config(
        targets=tuple(targets), device=device, max_concurrency=top.max_concurrency, slo_spec_file=slo.spec_file,
        slo_state_file=slo.state_file, slo_flush_interval=slo.flush_interval, slo_spec=slo_spec, kubernetes=kube,
        sharding=shard, source=source, discovery=discovery, defaults=defaults,
    )


def discovered_modules(defaults: dict[str, Any] | None, enabled: frozenset[str] | None,
                       where: str = "discovery") -> tuple[dict[str, ModuleConfig], list[str]]:
    """The modules of a discovered target: `defaults:` as for a static target without module
    sections; ``enabled`` (the openclaw.ai/modules annotation) turns exactly those on."""
    problems = Problems()
    for name in sorted(enabled - set(PROBERS)) if enabled is not None else ():
        problems.add(where, f"unknown module {name!r} (valid modules: {', '.join(PROBERS)})")
    modules = {
        name: _parse_module(name, None if enabled is None else {"enabled": name in enabled},
                            (defaults or {}).get(name), f"{where}.{name}", problems)
        for name in PROBERS
    }
    return modules, list(problems)


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

    section: DeviceSection | None = validate(DeviceSection, raw, "device", problems)
    if section is None:
        return None
    try:
        return load_device_config(section.identity_file, section.token_file, state_file)
    except DeviceError as exc:
        problems.add("device.identity_file", str(exc))
    return None


def load_config(path: str) -> Config:
    """Read and validate a config file; raise ConfigError naming every problem."""
    try:
        raw = yamlfile.load_file(path)
    except OSError as exc:
        raise ConfigError(path, [f"cannot read file: {exc.strerror}"]) from None
    except yamlfile.YAMLFileError as exc:
        raise ConfigError(path, [str(exc)]) from None
    return parse_config(raw, source=path)
