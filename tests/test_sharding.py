"""Rendezvous sharding (exporter/sharding.py) and the `sharding:` config section: which replica
probes which target, what moves when the fleet grows, and the errors a bad section gives."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from exporter.config import ConfigError, parse_config
from exporter.sharding import SINGLE, Shard, owned_targets, owners, weight
from exporter.settings.sharding import parse_sharding


@dataclass(frozen=True)
class Named:
    name: str


def names(count: int, seed: int = 20) -> list[str]:
    """Target names shaped like discovered ones (`<namespace>/<service>`), not sequential."""
    rng = random.Random(seed)
    return [f"tenant-{rng.randrange(10**6)}-{''.join(rng.choices(string.ascii_lowercase, k=5))}/gateway"
            for _ in range(count)]


NAMES = names(1000)
ROOT = Path(__file__).resolve().parent.parent


def split(targets: list[str], replicas: int, replication: int) -> list[set[str]]:
    """Each replica's owned set, computed as each replica would: from its own Shard alone."""
    return [{t.name for t in owned_targets([Named(n) for n in targets], Shard(replicas, ordinal, replication))}
            for ordinal in range(replicas)]


@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("replication", [1, 2, 3])
def test_every_target_is_owned_by_exactly_min_replication_replicas(replicas, replication):
    shards = split(NAMES, replicas, replication)
    counts = Counter(name for shard in shards for name in shard)
    assert set(counts) == set(NAMES)  # the union is complete
    assert set(counts.values()) == {min(replication, replicas)}


@pytest.mark.parametrize("replicas", [3, 4, 7])
def test_targets_are_balanced_across_replicas(replicas):
    sizes = [len(s) for s in split(NAMES, replicas, 1)]
    fair = len(NAMES) / replicas
    # Binomial spread at 1,000 names: a share within 20 % of fair (about 4 standard deviations at N=7).
    assert all(abs(size - fair) < 0.2 * fair for size in sizes), sizes


def test_growing_from_3_to_4_replicas_moves_about_a_quarter_and_only_to_the_new_replica():
    before, after = split(NAMES, 3, 1), split(NAMES, 4, 1)
    owner_before = {n: i for i, s in enumerate(before) for n in s}
    owner_after = {n: i for i, s in enumerate(after) for n in s}
    moved = [n for n in NAMES if owner_before[n] != owner_after[n]]
    assert all(owner_after[n] == 3 for n in moved)  # nothing shuffles between the old replicas
    assert 0.20 < len(moved) / len(NAMES) < 0.30, len(moved)


def test_with_replication_2_growing_keeps_most_pairs_and_each_target_keeps_a_replica():
    before, after = split(NAMES, 3, 2), split(NAMES, 4, 2)
    owned_before = {n: {i for i, s in enumerate(before) if n in s} for n in NAMES}
    owned_after = {n: {i for i, s in enumerate(after) if n in s} for n in NAMES}
    # The new replica takes one of the two slots of about half the targets (2 of 4 slots).
    changed = sum(1 for n in NAMES if owned_before[n] != owned_after[n])
    assert 0.40 < changed / len(NAMES) < 0.60, changed
    # A target's probing never moves entirely: at least one old replica keeps probing it.
    assert all(owned_before[n] & owned_after[n] for n in NAMES)


def test_owners_agree_with_the_owned_sets_and_do_not_depend_on_the_process():
    shards = split(NAMES[:50], 5, 2)
    for name in NAMES[:50]:
        assert {i for i, s in enumerate(shards) if name in s} == set(owners(name, 5, 2))
    # A golden value: every replica, and every version of the exporter in a rolling update, must
    # agree on it, or targets are probed twice or not at all. (Python's hash() is salted per process.)
    assert weight("openclaw/gateway", 0) == 0x48e47ff842b3c3cb
    script = "from exporter.sharding import owners; print([owners(n, 5, 2) for n in %r])" % NAMES[:20]
    runs = {subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": seed}, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2")}
    assert runs == {str([owners(n, 5, 2) for n in NAMES[:20]]) + "\n"}


def test_one_replica_owns_everything_in_the_given_order():
    targets = [Named(n) for n in NAMES[:10]]
    assert owned_targets(targets, SINGLE) == tuple(targets)


@pytest.mark.parametrize("bad", [dict(replicas=0), dict(replicas=2, ordinal=2), dict(replicas=2, replication=0)])
def test_an_impossible_shard_is_refused(bad):
    with pytest.raises(ValueError):
        Shard(**bad)


# -- the `sharding:` section --------------------------------------------------------------------
@pytest.mark.parametrize("raw,problem", [
    ({"replicas": 3, "replication": 4}, "sharding.replication: must be <= replicas (3)"),
    ({"replicas": 3, "ordinal": 3}, "sharding.ordinal: must be < replicas (3): ordinals are 0..2"),
    ({"replicas": 0}, "sharding.replicas: must be > 0"),
    ({"replicas": 3, "replication": 0}, "sharding.replication: must be > 0"),
    ({"replicas": "3"}, "sharding.replicas: must be an integer"),
    ({"replicas": True}, "sharding.replicas: must be an integer"),
    ({"replicas": 3, "replica": 1}, "sharding.replica: unknown key (valid keys: ordinal, replicas, replication)"),
    ({}, "sharding.replicas: is required"),
    ([3], "sharding: must be a mapping with replicas (and optionally replication, ordinal)"),
])
def test_bad_sharding_sections_give_located_errors(raw, problem):
    assert parse_sharding(raw, environ={"POD_NAME": "exporter-0"}) == (None, [problem])


def test_the_ordinal_comes_from_the_statefulset_pod_name_then_the_hostname():
    assert parse_sharding({"replicas": 3}, environ={"POD_NAME": "openclaw-slo-exporter-2"}) == (Shard(3, 2, 1), [])
    assert parse_sharding({"replicas": 3}, environ={}, hostname="openclaw-slo-exporter-1") == (Shard(3, 1, 1), [])
    # An explicit ordinal wins over the pod name.
    assert parse_sharding({"replicas": 3, "ordinal": 0}, environ={"POD_NAME": "x-2"}) == (Shard(3, 0, 1), [])


def test_a_pod_name_without_an_ordinal_or_beyond_the_replicas_is_a_config_error():
    _, problems = parse_sharding({"replicas": 3}, environ={}, hostname="laptop")
    assert problems == ["sharding.ordinal: not set, and the pod name 'laptop' ($POD_NAME, else the hostname) "
                        "has no -<n> ordinal suffix: run as a StatefulSet or set sharding.ordinal"]
    _, problems = parse_sharding({"replicas": 3}, environ={"POD_NAME": "exporter-3"})
    assert problems == ["sharding.ordinal: 3 (from the pod name 'exporter-3') must be < replicas (3): "
                        "is sharding.replicas the StatefulSet's replica count?"]


def test_the_config_file_carries_the_shard_and_reports_its_problems_with_the_others(monkeypatch):
    monkeypatch.setenv("POD_NAME", "openclaw-slo-exporter-1")
    target = {"name": "gw", "url": "http://127.0.0.1:18789"}
    assert parse_config({"targets": [target]}).sharding == SINGLE
    assert parse_config({"targets": [target], "sharding": {"replicas": 2, "replication": 2}}).sharding == Shard(2, 1, 2)
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": [target], "max_concurrency": 0, "sharding": {"replicas": 1, "replication": 2}})
    assert err.value.problems == ["max_concurrency: must be > 0", "sharding.replication: must be <= replicas (1)"]
