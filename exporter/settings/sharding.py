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
from typing import Any, ClassVar, Mapping

from exporter.settings.base import Section, cross_check, validate
from exporter.settings.fields import NonNegativeInt, PositiveInt
from exporter.sharding import Shard

POD_NAME_ENV = "POD_NAME"
_ORDINAL_SUFFIX = re.compile(r"-(\d+)$")


class ShardingConfig(Section):
    """Exporter replicas splitting the targets by rendezvous hashing (docs/fleet.md)."""

    not_a_mapping: ClassVar[str] = "must be a mapping with replicas (and optionally replication, ordinal)"
    replicas: PositiveInt  # the StatefulSet's replica count
    replication: PositiveInt = 1  # replicas probing each target: 1, or 2 for HA
    ordinal: NonNegativeInt | None = None  # this replica's index; default: the -<n> of $POD_NAME, else the hostname

    def cross_check(self) -> list[tuple[str, str]]:
        if self.replication > self.replicas:
            return [("replication", f"must be <= replicas ({self.replicas})")]
        if self.ordinal is not None and self.ordinal >= self.replicas:
            return [("ordinal", f"must be < replicas ({self.replicas}): ordinals are 0..{self.replicas - 1}")]
        return []


def ordinal_from_environment(environ: Mapping[str, str] | None = None, hostname: str | None = None) -> tuple[int | None, str]:
    """The ordinal suffix of $POD_NAME, else of the hostname; and the name it was read from."""
    environ = os.environ if environ is None else environ
    name = environ.get(POD_NAME_ENV) or (hostname if hostname is not None else socket.gethostname())
    match = _ORDINAL_SUFFIX.search(name)
    return (int(match.group(1)) if match else None), name


def parse_sharding(raw: Any, where: str = "sharding", environ: Mapping[str, str] | None = None,
                   hostname: str | None = None) -> tuple[Shard | None, list[str]]:
    """The shard this replica is, or None and located problems (``sharding.replication: ...``)."""
    problems: list[str] = []
    config = validate(ShardingConfig, raw, where, problems)
    if config is None or problems or not cross_check(config, where, problems):
        return None, problems
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
