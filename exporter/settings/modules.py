"""Per-module settings: one section type per probe module, typed for its prober.

``MODULES`` is the table of module kinds the config accepts; the prober table
(exporter/probes/__init__.py) must hold exactly these names, in this order.

They are what the running exporter holds, so they are plain frozen dataclasses (``Record``)
that import without pydantic; pydantic validates them while the config loads
(exporter/settings/fields.py). Rules that fill in derived values go in ``__post_init__``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from exporter.secrets import SecretRef
from exporter.settings.fields import (
    Bool,
    Mapping,
    PositiveDuration,
    PositiveInt,
    Record,
    Str,
    StrList,
    fail,
    one_of,
    string,
)

# Client modes the protocol schema (@openclaw/gateway-protocol) accepts.
CLIENT_MODES = ("webchat", "cli", "ui", "backend", "node", "worker", "probe", "test")
ClientMode = Annotated[str, one_of(*CLIENT_MODES)]
DEFAULT_SESSION_KEY = "agent:main:openclaw-exporter-probe"


@dataclass(frozen=True)
class ModuleSettings(Record):
    """Keys every module has; None means the prober's own default (exporter/probes/base.py)."""

    enabled: Bool | None = None
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None
    # Export every phase's histogram and the percentile summary (exporter/exposition.py).
    detail: Bool | None = None


def _absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise fail("must start with /")
    return value


@dataclass(frozen=True)
class ReadinessSettings(ModuleSettings):
    """The readiness module: GET <url><path> and read the gateway's readiness body (README "What it measures")."""

    path: Annotated[str, string(_absolute_path)] = "/readyz"
    send_token: Bool = True


@dataclass(frozen=True)
class WebSocketSettings(ModuleSettings):
    """The websocket module: connect, handshake and one RPC over the gateway protocol."""

    # gateway-client/backend with the shared token gets operator.read on loopback without
    # device pairing (observed against 2026.9.6); other ids may have their scopes stripped.
    client_id: Str = "gateway-client"
    client_mode: ClientMode = "backend"
    scopes: StrList = ("operator.read",)
    rpc_method: Str = "health"
    rpc_params: Mapping = field(default_factory=dict)
    challenge_timeout: PositiveDuration = 2.0
    max_frame_bytes: PositiveInt = 4 << 20


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail("must be an absolute http(s):// URL, e.g. https://dashscope.aliyuncs.com/compatible-mode/v1")
    if parts.username or parts.password:
        raise fail("must not carry credentials; use api_key_file or api_key_env")
    return value.rstrip("/")


@dataclass(frozen=True)
class ModelSettings(ModuleSettings):
    """The model module: the provider's catalog, the gateway's catalog and a capped completion (docs/model-probe.md)."""

    provider: Str | None = None
    base_url: Annotated[str, string(_http_url)] | None = None
    api_key_file: Str | None = None
    api_key_env: Str | None = None
    models: StrList = ()
    catalog: Bool = True
    gateway_catalog: Bool = True
    gateway_model: Str | None = None  # default: provider/models[0]
    completion: Bool = False
    completion_model: Str | None = None  # default: models[0]
    completion_interval: PositiveDuration = 300.0
    completion_daily_cap: PositiveInt = 100
    completion_prompt: Str = "Reply with the single word: ok"
    completion_extra_body: Mapping = field(default_factory=dict)
    tls_ca_file: Str | None = None  # PEM CA bundle for an https base_url (default: the system's)

    def __post_init__(self) -> None:
        # Frozen: the derived defaults are written once, here, before anyone can see the object.
        if self.completion_model is None and self.models:
            object.__setattr__(self, "completion_model", self.models[0])
        if self.gateway_model is None and self.provider and self.models:
            object.__setattr__(self, "gateway_model", f"{self.provider}/{self.models[0]}")

    @property
    def api_key(self) -> SecretRef | None:
        file, env = self.api_key_file, self.api_key_env
        return SecretRef(file=file, env=env) if (file or env) else None

    @property
    def catalog_active(self) -> bool:
        return self.catalog and self.base_url is not None

    @property
    def gateway_active(self) -> bool:
        return self.gateway_catalog and self.gateway_model is not None

    @property
    def completion_active(self) -> bool:
        return self.completion and self.base_url is not None and self.completion_model is not None

    def cross_check(self) -> list[tuple[str, str]]:
        problems: list[str] = []
        if self.api_key_file and self.api_key_env:
            problems.append("set only one of api_key_file and api_key_env")
        if self.base_url and not self.provider:
            problems.append("provider is required with base_url (the provider's name, used as the provider label, e.g. bailian)")
        if self.base_url and self.catalog and not self.models:
            problems.append("models must list at least one model id for the catalog check (e.g. [qwen3.5-plus])")
        if (self.api_key or self.models) and not self.base_url:
            problems.append("base_url is required with api_key_*/models (the provider's OpenAI-compatible API, e.g. https://dashscope.aliyuncs.com/compatible-mode/v1)")
        if self.completion and not (self.base_url and self.completion_model):
            problems.append("completion needs base_url and completion_model (or models)")
        clash = sorted(set(self.completion_extra_body) & {"model", "messages", "max_tokens", "stream"})
        if clash:
            problems.append(f"completion_extra_body must not set {', '.join(clash)} (the probe sets them)")
        return [("", "; ".join(problems))] if problems else []


@dataclass(frozen=True)
class MessageSettings(ModuleSettings):
    """The message module: one real agent turn through the gateway, capped per day (docs/message-probe.md)."""

    session_key: Str = DEFAULT_SESSION_KEY
    message: Str = "Reply with the single word: ok"
    daily_cap: PositiveInt | None = None  # required when enabled (the prober says why)
    warm_within: PositiveDuration = 60.0
    roll_every: PositiveInt = 50
    # The client must get operator.write (chat.send); operator.admin lets it use sessions.reset.
    client_id: Str = "gateway-client"
    client_mode: ClientMode = "backend"
    scopes: StrList = ("operator.read", "operator.write")
    challenge_timeout: PositiveDuration = 2.0
    max_frame_bytes: PositiveInt = 4 << 20


@dataclass(frozen=True)
class StorageSettings(ModuleSettings):
    """The storage module: write, fsync and read a canary in the gateway's volume (docs/storage.md)."""

    path: Str | None = None  # required when enabled (the prober says why)
    canary_bytes: PositiveInt = 4096
    persistence: Bool = True

    max_canary_bytes: ClassVar[int] = 1 << 20

    def __post_init__(self) -> None:
        if self.path is not None and os.path.isabs(self.path):
            object.__setattr__(self, "path", os.path.normpath(self.path))

    def cross_check(self) -> list[tuple[str, str]]:
        if self.path is not None and not os.path.isabs(self.path):
            return [("", f"path {self.path!r} must be an absolute directory path")]
        if self.canary_bytes > self.max_canary_bytes:
            return [("", "canary_bytes must be at most 1048576 (1 MiB): the canary is written on every run")]
        return []


MODULES: dict[str, type[ModuleSettings]] = {
    "readiness": ReadinessSettings,
    "websocket": WebSocketSettings,
    "model": ModelSettings,
    "message": MessageSettings,
    "storage": StorageSettings,
}

