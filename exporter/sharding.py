"""Which exporter replica probes which target: rendezvous (highest-random-weight) hashing.

Every replica computes, for each target name, a weight per replica ordinal and keeps the
targets for which its own ordinal is among the ``replication`` highest. No replica talks to
another: the same names, replica count and replication give every replica the same answer.
Changing the replica count from N to N+1 moves only the targets the new replica now wins,
about 1/(N+1) of them, and every other target keeps its replicas.

The weight is a keyed hash (blake2b), never Python's ``hash()``, which is randomised per
process and would give each replica a different split.

Pure: no I/O, no configuration parsing (exporter/settings/sharding.py reads the config).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Protocol, TypeVar


@dataclass(frozen=True)
class Shard:
    """This replica's place in the fleet: ``ordinal`` of ``replicas``, each target probed by
    ``replication`` replicas (capped at ``replicas``)."""

    replicas: int = 1
    ordinal: int = 0
    replication: int = 1

    def __post_init__(self) -> None:
        if self.replicas < 1 or self.replication < 1 or not 0 <= self.ordinal < self.replicas:
            raise ValueError(f"invalid shard {self}: need replicas >= 1, replication >= 1, 0 <= ordinal < replicas")


SINGLE = Shard()  # one replica probing everything: the default without a `sharding:` section


def weight(name: str, ordinal: int) -> int:
    """The replica's random-looking but stable weight for this target name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, key=ordinal.to_bytes(8, "big")).digest()
    return int.from_bytes(digest, "big")


def owners(name: str, replicas: int, replication: int = 1) -> tuple[int, ...]:
    """The ordinals that probe ``name``, highest weight first (ties broken by ordinal)."""
    ranked = sorted(range(replicas), key=lambda ordinal: (-weight(name, ordinal), ordinal))
    return tuple(ranked[:min(replication, replicas)])


def owns(shard: Shard, name: str) -> bool:
    if shard.replication >= shard.replicas:
        return True  # every replica probes everything: skip the hashing
    return shard.ordinal in owners(name, shard.replicas, shard.replication)


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


def owned_targets(all_targets: Iterable[T], shard: Shard) -> tuple[T, ...]:
    """The targets this replica probes, in their given order: anything with a ``name``
    (configured or discovered targets alike)."""
    return tuple(t for t in all_targets if owns(shard, t.name))
