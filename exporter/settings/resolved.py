"""The config as the runtime uses it: every target with its modules resolved (defaults merged,
prober defaults applied, URLs normalised). Built by exporter/config.py; probers take these."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from exporter.secrets import SecretRef
from exporter.settings.modules import ModuleSettings
from exporter.sharding import SINGLE, Shard

if TYPE_CHECKING:  # pydantic sections: loaded only when the config has them
    from exporter.device import DeviceConfig
    from exporter.settings.discovery import DiscoveryConfig
    from exporter.settings.kubernetes import KubernetesConfig


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
    settings: ModuleSettings
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
    device: "DeviceConfig | None" = None  # when the config has a `device:` section

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
    kubernetes: "KubernetesConfig | None" = None
    device: "DeviceConfig | None" = None  # the identity every target's WebSocket signs with
    source: str = "<memory>"
    discovery: "DiscoveryConfig | None" = None  # targets from the Kubernetes API (docs/fleet-discovery.md)
    defaults: dict[str, Any] | None = None  # the raw `defaults:` mapping: discovered targets' modules start from it
    sharding: Shard = SINGLE  # which targets this replica probes (exporter/sharding.py)

    def target(self, name: str) -> TargetConfig | None:
        for target in self.targets:
            if target.name == name:
                return target
        return None
