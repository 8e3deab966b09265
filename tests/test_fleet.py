"""A sharded fleet as the operator sees it: each target probed by exactly `replication` real
exporter processes (counted on each replica's /metrics), the union complete, and growing the
StatefulSet from 3 to 4 replicas moving about a quarter of the targets. With replication 2, a
real Prometheus (Debian's) scraping the three replicas with the production rules sees every
target from exactly two replicas and evaluates every rule without failure.

The gateways are bench/targets.py: one aiohttp process answering every target on one port,
one path per target (a stand-in chosen for scale: hundreds of real gateways do not fit on this
machine; the per-probe work is the same). The heavy version, 1,000 targets for minutes with
rule evaluation times, is bench/fleet.py (numbers in docs/benchmarks.md, "Fleet").
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


def prometheus_sees_each_target_twice(replicas: list, names: list[str], work: Path) -> None:
    """The real Prometheus scraping the three replicas (one job, a `pod` label each, as the
    PodMonitor gives them) with the production rules: every target twice, no rule failing."""
    with fleet.prometheus(work, replicas, "2s") as prom:
        def settled():
            up = fleet.query(prom, 'sum(up{job="openclaw-slo-exporter"})')
            rounds = fleet.query(prom, "min(prometheus_rule_group_iterations_total)")
            return up and float(up[0]["value"][1]) == 3 and rounds and float(rounds[0]["value"][1]) >= 2
        fleet.wait_until(settled, 60, "prometheus scraping 3 replicas and evaluating the rules")
        per_target = fleet.query(prom, 'count by (target) (openclaw_probe_success{module="readiness"})')
        assert {s["metric"]["target"] for s in per_target} == set(names)
        assert {s["value"][1] for s in per_target} == {"2"}
        pods = fleet.query(prom, 'count by (target) (count by (target, pod) (openclaw_probe_success{module="readiness"}))')
        assert {s["value"][1] for s in pods} == {"2"}  # two different replicas, not one twice
        (share,) = fleet.query(prom, "sum(openclaw_exporter_shard_targets) / max(openclaw_exporter_targets)")
        assert float(share["value"][1]) == 2
        (failures,) = fleet.query(prom, "sum(prometheus_rule_evaluation_failures_total)")
        assert float(failures["value"][1]) == 0
        # The SLO rules evaluate over the three replicas' series: one error ratio per target
        # (per-tenant SLOs), each 0, as every readiness probe succeeded. A target whose counter
        # has not moved between its first scraped samples reads 0/0 (NaN) until it does.
        def every_target_recorded():
            ratios = fleet.query(prom, 'slo:sli_error:ratio_rate5m{slo="readiness-availability"} >= 0')
            return ratios if len(ratios) == len(names) else None
        ratios = fleet.wait_until(every_target_recorded, 60, "the readiness SLO's 5m error ratio of every target")
        assert sorted(s["metric"]["target"] for s in ratios) == sorted(names)
        assert {float(s["value"][1]) for s in ratios} == {0}


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
        prometheus_sees_each_target_twice(replicas[:3], names, tmp_path)

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
