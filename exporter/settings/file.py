"""The config file's top level, its targets and its small sections (slo, device, defaults)."""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import ConfigDict, Field

from exporter.secrets import SecretRef
from exporter.settings.base import Section
from exporter.settings.fields import Bool, PositiveDuration, PositiveInt, Str
from exporter.settings.discovery import DiscoveryConfig
from exporter.settings.kubernetes import KubernetesConfig
from exporter.settings.sharding import ShardingConfig
from exporter.settings.modules import (
    MODULES,
    MessageSettings,
    ModelSettings,
    ReadinessSettings,
    StorageSettings,
    WebSocketSettings,
)


class ModuleSections(Section):
    """One optional section per probe module (MODULES), as a target and `defaults:` hold them."""

    readiness: ReadinessSettings | None = None
    websocket: WebSocketSettings | None = None
    model: ModelSettings | None = None
    message: MessageSettings | None = None
    storage: StorageSettings | None = None


class TargetSection(ModuleSections):
    """One gateway. Its module sections are validated with ``defaults.<module>`` merged in."""

    name: Str
    url: Str
    ws_url: Str | None = None  # default: url's host, port and path over ws(s)://
    token_file: Str | None = None
    token_env: Str | None = None
    tls_ca_file: Str | None = None
    tls_insecure_skip_verify: Bool = False

    @classmethod
    def listed_keys(cls) -> Iterable[str]:
        return sorted(k for k in cls.model_fields if k not in MODULES)

    @property
    def token(self) -> SecretRef | None:
        file, env = self.token_file, self.token_env
        return SecretRef(file=file, env=env) if (file or env) else None

    def cross_check(self) -> list[tuple[str, str]]:
        if self.token_file and self.token_env:
            return [("token_file", "set only one of token_file and token_env")]
        return []


class Defaults(ModuleSections):
    """Values every target's module section starts from (only the target's section enables)."""

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unknown module (valid modules: {', '.join(MODULES)})"


class SloSection(Section):
    """The SLOs the exporter tracks live, and where their error budget is kept (README "Configuration")."""

    spec_file: Str | None = None  # None: the shipped spec
    state_file: Str | None = None
    flush_interval: PositiveDuration = 10.0


class DeviceSection(Section):
    """The device identity every target's WebSocket signs with (exporter/device.py)."""

    identity_file: Str
    token_file: Str | None = None


class ConfigFile(Section):
    """The exporter's config file: the gateways to probe and how (README "Configuration")."""

    # exporter/config.py validates it section by section (SECTIONS) so one bad section never
    # hides another's problems; this model is the one the JSON Schema shows.

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, title="openclaw-slo-exporter config (exporter.yml)",
                              json_schema_extra={"anyOf": [{"required": ["targets"]}, {"required": ["discovery"]}]})

    max_concurrency: PositiveInt = 64
    defaults: Defaults = Field(default_factory=Defaults)
    targets: tuple[TargetSection, ...] = Field(default=(), json_schema_extra={"minItems": 1})
    slo: SloSection = Field(default_factory=SloSection)
    kubernetes: KubernetesConfig | None = None
    device: DeviceSection | None = None
    discovery: DiscoveryConfig | None = None  # docs/fleet-discovery.md
    sharding: ShardingConfig | None = None  # docs/fleet.md

    @classmethod
    def listed_keys(cls) -> Iterable[str]:
        return sorted(k for k in cls.model_fields if k != "targets")
