"""The `sharding:` config section: how many exporter replicas split the targets, which one
this is, and how many replicas probe each target (docs/fleet.md).

    sharding:
      replicas: 3        # the StatefulSet's replica count
      replication: 2     # each target probed by 2 replicas (HA); default 1
      # ordinal: 0       # default: the trailing -<n> of $POD_NAME, else of the hostname

Without an explicit ordinal it comes from the StatefulSet pod name (``exporter-2`` -> 2), read
from the POD_NAME environment variable (the downward API) or else the hostname, which a
StatefulSet sets to the pod name.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exporter.sharding import Shard

POD_NAME_ENV = "POD_NAME"
_ORDINAL_SUFFIX = re.compile(r"-(\d+)$")


class ShardingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    replicas: int = Field(ge=1, description="Exporter replicas splitting the targets (the StatefulSet's replicas).")
    replication: int = Field(1, ge=1, description="Replicas probing each target: 1, or 2 for HA.")
    ordinal: int | None = Field(None, ge=0, description="This replica's index, 0..replicas-1; default: "
                                "the trailing -<n> of $POD_NAME, else of the hostname.")

    @model_validator(mode="after")
    def _within_replicas(self) -> "ShardingConfig":
        if self.replication > self.replicas:
            raise _Located("replication", f"must be <= replicas ({self.replicas})")
        if self.ordinal is not None and self.ordinal >= self.replicas:
            raise _Located("ordinal", f"must be < replicas ({self.replicas}): ordinals are 0..{self.replicas - 1}")
        return self


class _Located(ValueError):
    """A cross-field problem that belongs to one field (pydantic would report it at the model)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def ordinal_from_environment(environ: Mapping[str, str] | None = None, hostname: str | None = None) -> tuple[int | None, str]:
    """The ordinal suffix of $POD_NAME, else of the hostname; and the name it was read from."""
    environ = os.environ if environ is None else environ
    name = environ.get(POD_NAME_ENV) or (hostname if hostname is not None else socket.gethostname())
    match = _ORDINAL_SUFFIX.search(name)
    return (int(match.group(1)) if match else None), name


def parse_sharding(raw: Any, where: str = "sharding", environ: Mapping[str, str] | None = None,
                   hostname: str | None = None) -> tuple[Shard | None, list[str]]:
    """The shard this replica is, or None and located problems (``sharding.replication: ...``)."""
    if not isinstance(raw, dict):
        return None, [f"{where}: must be a mapping with replicas (and optionally replication, ordinal)"]
    try:
        config = ShardingConfig.model_validate(raw)
    except ValidationError as exc:
        return None, [_problem(where, error) for error in exc.errors()]
    ordinal = config.ordinal
    if ordinal is None:
        ordinal, source = ordinal_from_environment(environ, hostname)
        if ordinal is None:
            return None, [(f"{where}.ordinal: not set, and the pod name {source!r} (${POD_NAME_ENV}, else the "
                           "hostname) has no -<n> ordinal suffix: run as a StatefulSet or set sharding.ordinal")]
        if ordinal >= config.replicas:
            return None, [(f"{where}.ordinal: {ordinal} (from the pod name {source!r}) must be < replicas "
                           f"({config.replicas}): is sharding.replicas the StatefulSet's replica count?")]
    return Shard(replicas=config.replicas, ordinal=ordinal, replication=config.replication), []


def _problem(where: str, error: Any) -> str:
    context = error.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, _Located):
        return f"{where}.{cause.field}: {cause}"
    loc = ".".join(str(part) for part in error["loc"])
    path = f"{where}.{loc}" if loc else where
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key (valid keys: {', '.join(ShardingConfig.model_fields)})"
    if kind in ("int_type", "int_parsing"):
        return f"{path}: must be a whole number"
    if kind == "greater_than_equal":
        return f"{path}: must be >= {context.get('ge')}"
    if kind == "missing":
        return f"{path}: required"
    return f"{path}: {error['msg']}"
