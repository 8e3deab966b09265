"""A sharded fleet as the operator sees it: each target probed by exactly `replication` real
exporter processes (counted on each replica's /metrics), the union complete, and growing the
StatefulSet from 3 to 4 replicas moving about a quarter of the targets.

The gateways are bench/targets.py: one aiohttp process answering every target on one port,
one path per target (a stand-in chosen for scale: hundreds of real gateways do not fit on this
machine; the per-probe work is the same). The heavy version with a real Prometheus and the
production rules is bench/fleet.py (numbers in docs/benchmarks.md, "Fleet").
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from exporter.sharding import owners

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import fleet  # noqa: E402

TARGETS = 240
INTERVAL = "5s"


@pytest.fixture
def gateways():
    with fleet.gateways() as base:
        yield base


def config(base: str, replicas: int, replication: int) -> dict:
    return fleet.exporter_config(base, fleet.target_names(TARGETS), replicas, replication, INTERVAL,
                                 websocket=False, token_file=Path("/nonexistent"))


def test_three_replicas_split_the_targets_exactly_and_a_fourth_takes_a_quarter(gateways, tmp_path):
    names = fleet.target_names(TARGETS)
    replicas = [fleet.Replica(i, tmp_path) for i in range(4)]
    try:
        for r in replicas[:3]:
            r.start(config(gateways, 3, 1))
        three = fleet.wait_converged(replicas[:3], names, copies=1, timeout=90)
        # Each replica probes what the rendezvous hash gives it, reading its ordinal from $POD_NAME.
        for ordinal, probed in three.items():
            assert probed == {n for n in names if int(ordinal) in owners(n, 3, 1)}
            assert replicas[int(ordinal)].metric("openclaw_exporter_shard_targets") == len(probed)
        assert all(60 <= len(s) <= 100 for s in three.values()), {k: len(v) for k, v in three.items()}

        # HA: replication 2 by a config reload, every target now on exactly two replicas.
        for r in replicas[:3]:
            r.reload(config(gateways, 3, 2))
        pairs = fleet.wait_converged(replicas[:3], names, copies=2, timeout=90)
        assert all(three[o] <= pairs[o] for o in three)  # growing R only adds targets to a replica

        # Scale 3 -> 4 (replication 1): the old replicas reload, the new one starts.
        for r in replicas[:3]:
            r.reload(config(gateways, 4, 1))
        replicas[3].start(config(gateways, 4, 1))
        four = fleet.wait_converged(replicas, names, copies=1, timeout=90)
        moved = {n for n in names if not any(n in three[o] and n in four[o] for o in three)}
        assert moved == four["3"]  # only targets the new replica won moved; none between old replicas
        assert 0.15 * TARGETS < len(moved) < 0.35 * TARGETS, len(moved)
        # The replicas that gave targets away stopped exporting them (no stale series, no double count).
        assert sum(len(r.listed()) for r in replicas) == TARGETS
    finally:
        for r in replicas:
            r.stop()
