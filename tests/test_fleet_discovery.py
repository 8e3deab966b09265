"""Discovery and sharding together, as an operator runs them: three (then four) real exporter
processes, each with `discovery:` and `sharding:` (its ordinal from $POD_NAME), the real
`kubernetes` client watching the local Kubernetes API server (tests/kube_api_server.py, real
object JSON) that serves 300 gateway Services in 30 namespaces, each with its own token Secret.

Every discovered target is probed by exactly `replication` replicas (counted on each replica's
/metrics), the union is the whole fleet, a Service deleted stops being probed within one
interval, a Service added is probed by exactly its owners, and 3 -> 4 replicas moves about a
quarter of the targets. /probe on any replica accepts a discovered target it does not own.

The gateways are bench/targets.py (one process, one port, one path per gateway): a stand-in
chosen for scale, as in tests/test_fleet.py; the real gateway behind discovery is
tests/test_discovery.py's. The issue's full size (1,000 Services in 100 namespaces) is this test
with FLEET_NAMESPACES=100 (and FLEET_INTERVAL=10: three processes sharing two cores); its
timings are printed, and recorded in docs/fleet.md ("Fleet with discovery").
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.error
from pathlib import Path

import pytest
from conftest import wait_for
from exporterhelpers import parse_samples, running_exporter, value
from kube_api_server import FakeKubeApi
from test_discovery import FakeGateways, attempts, exporter_doc, kubeconfig, secret, service

from openclaw_schema import names as c
from exporter.sharding import owners
from exporter.web import SHARD_OWNERS_HEADER

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import fleet  # noqa: E402

NAMESPACES, PER_NAMESPACE = int(os.environ.get("FLEET_NAMESPACES", "30")), 10
INTERVAL = float(os.environ.get("FLEET_INTERVAL", "4"))  # probe interval, the bound on "a deleted Service stops"


def names_in(namespace: str) -> list[str]:
    return [f"{namespace}/gateway-{i}" for i in range(PER_NAMESPACE)]


def put_tenant(api: FakeKubeApi, namespace: str, port: int) -> list[str]:
    """One tenant namespace: PER_NAMESPACE gateway Services, each with its own token Secret and a
    path on the one stand-in process (its name, as bench/targets.py serves `/t/<name>/readyz`)."""
    for name in names_in(namespace):
        svc = name.split("/")[1]
        api.put("secrets", secret(token=f"token-{namespace}-{svc}", name=f"{svc}-token", namespace=namespace))
        api.put("services", service(name=svc, namespace=namespace, port=port, annotations={
            "openclaw.ai/token-secret": f"{svc}-token", "openclaw.ai/path": f"/t/{stand_in_name(name)}"}))
    return names_in(namespace)


def stand_in_name(target: str) -> str:
    return target.replace("/", ".")


def config(kubeconfig_file: str, replicas: int, replication: int) -> dict:
    return {
        "max_concurrency": 128,
        "defaults": {"readiness": {"interval": f"{INTERVAL:g}s", "timeout": "2s"}, "websocket": {"enabled": False}},
        "discovery": {"address": "cluster_ip", "kubeconfig": kubeconfig_file, "token_refresh_interval": "1h",
                      "backoff_initial_seconds": 0.1, "backoff_max_seconds": 1.0, "resync_seconds": 0},
        "sharding": {"replicas": replicas, "replication": replication},  # the ordinal: from $POD_NAME
    }


def stand_in_counts(base: str) -> dict[str, int]:
    return json.loads(fleet.get(base + "/_stats"))["targets"]


def probe(replica: fleet.Replica, target: str) -> tuple[int, dict[str, str], str]:
    try:
        with fleet.urllib.request.urlopen(f"{replica.base}/probe?target={target}&module=readiness", timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.fixture
def gateways():
    with fleet.gateways() as base:
        yield base


async def test_discovered_targets_are_split_across_replicas_and_follow_the_services(api, gateways, tmp_path, capsys):
    port = int(gateways.rsplit(":", 1)[1])
    names = [n for i in range(NAMESPACES) for n in put_tenant(api, f"tenant-{i:03d}", port)]
    kube = kubeconfig(tmp_path / "kubeconfig", api.url)
    replicas = [fleet.Replica(i, tmp_path) for i in range(4)]
    # The replicas' blocking HTTP calls run in threads: this loop serves the Kubernetes API.
    run = asyncio.to_thread
    timings = {}
    try:
        started = time.monotonic()
        for r in replicas[:3]:
            await run(r.start, config(kube, 3, 1))
        three = await run(fleet.wait_converged, replicas[:3], names, 1, 120 * NAMESPACES / 30)
        timings["3 replicas started, every target probed once"] = time.monotonic() - started
        for ordinal, probed in three.items():
            assert probed == {n for n in names if owners(n, 3, 1) == (int(ordinal),)}
            # Its own gauges say the same: the whole fleet discovered, its share probed.
            metric = replicas[int(ordinal)].metric
            assert await run(metric, c.DISCOVERY_TARGETS) == len(names)
            assert await run(metric, c.EXPORTER_TARGETS) == len(names)
            assert await run(metric, c.EXPORTER_SHARD_TARGETS) == len(probed)
        assert all(0.7 < len(s) / (len(names) / 3) < 1.3 for s in three.values()), {k: len(v) for k, v in three.items()}

        # /probe on a replica that does not own the target: probed on request, owners named.
        stranger = next(n for n in names if n not in three["0"])
        status, headers, text = await run(probe, replicas[0], stranger)
        assert status == 200, text
        assert headers[SHARD_OWNERS_HEADER] == ",".join(map(str, owners(stranger, 3, 1)))
        assert value(parse_samples(text), c.PROBE_SUCCESS, target=stranger, module="readiness") == 1
        for unknown in ("tenant-000/nope", f"http://127.0.0.1:{port}/t/x", "gateway-0"):
            status, _, text = await run(probe, replicas[0], unknown)
            assert status == 400 and "only configured or discovered targets" in text

        # HA: replication 2 by a reload; discovery keeps its watch, each target gains one replica.
        started = time.monotonic()
        for r in replicas[:3]:
            await run(r.reload, config(kube, 3, 2))
        pairs = await run(fleet.wait_converged, replicas[:3], names, 2, 120 * NAMESPACES / 30)
        timings["reload to replication 2, converged"] = time.monotonic() - started
        assert all(three[o] <= pairs[o] for o in three)

        # A Service deleted: its owners stop probing it within one interval.
        gone = names[7]
        api.delete("services", *gone.split("/"))
        deleted_at = time.monotonic()
        names.remove(gone)
        by_ordinal = {r.ordinal: r for r in replicas[:3]}
        def stopped() -> bool:
            return all(gone not in by_ordinal[o].listed() for o in owners(gone, 3, 2))
        await run(fleet.wait_until, stopped, 2 * INTERVAL, f"{gone} gone from its owners' /metrics")
        timings["Service deleted -> gone from its owners"] = time.monotonic() - deleted_at
        assert timings["Service deleted -> gone from its owners"] < INTERVAL
        before = (await run(stand_in_counts, gateways)).get(stand_in_name(gone), 0)
        await asyncio.sleep(1.5 * INTERVAL)
        assert (await run(stand_in_counts, gateways)).get(stand_in_name(gone), 0) == before

        # A tenant added (a new namespace): each new Service probed by exactly its two owners.
        started = time.monotonic()
        added = put_tenant(api, "tenant-new", port)
        names += added
        pairs = await run(fleet.wait_converged, replicas[:3], names, 2, 60 * NAMESPACES / 30)
        timings["tenant added -> probed by its owners"] = time.monotonic() - started
        for target in added:
            assert {o for o, s in pairs.items() if target in s} == {str(o) for o in owners(target, 3, 2)}

        # Scale 3 -> 4 (replication 1): the old replicas reload, the new one starts.
        for r in replicas[:3]:
            await run(r.reload, config(kube, 4, 1))
        started = time.monotonic()
        await run(replicas[3].start, config(kube, 4, 1))
        four = await run(fleet.wait_converged, replicas, names, 1, 120 * NAMESPACES / 30)
        timings["4th replica started, converged"] = time.monotonic() - started
        kept = [n for n in names if n not in added]  # present before and after
        moved = {n for n in kept if not any(n in three[o] and n in four[o] for o in three)}
        assert moved == four["3"] - set(added)  # only to the new replica, none between old ones
        assert 0.15 * len(kept) < len(moved) < 0.35 * len(kept), len(moved)
        assert sum(len(r.listed()) for r in replicas) == len(names)  # no stale series left behind
        # Every replica reads every token Secret (a non-owner answers /probe with the token too).
        secret_reads = len(api.gets("secrets"))
    finally:
        for r in replicas:
            await run(r.stop)
    with capsys.disabled():
        print(f"\n[fleet discovery] {len(names)} Services / {NAMESPACES + 1} namespaces, interval {INTERVAL:g}s: "
              + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
              + f"; moved 3->4: {len(moved)} of {len(kept)}; token Secret GETs: {secret_reads}")


async def test_a_reload_that_restarts_discovery_keeps_the_shards_discovered_targets_probed(api, tmp_path):
    """A changed `defaults:` rebuilds every discovered target (a new watcher): the replica's
    share must not leave /metrics meanwhile (counters reset, status page history lost, absent
    alerts) while the new watcher lists the Services and reads their Secrets."""
    gateway = FakeGateways()
    await gateway.start(1)
    try:
        names = []
        for i in range(20):
            namespace = f"tenant-{i:02d}"
            api.put("secrets", secret(token=f"token-{namespace}", namespace=namespace))
            api.put("services", service(namespace=namespace, port=gateway.ports[0]))
            names.append(f"{namespace}/openclaw-gateway")
        mine = {n for n in names if owners(n, 2, 1) == (0,)}
        doc = exporter_doc(tmp_path, api)
        doc["sharding"] = {"replicas": 2, "ordinal": 0}
        async with running_exporter(doc, tmp_path) as ex:
            async def all_probed():
                samples = await ex.samples()
                counts = {n: value(samples, c.PROBE_ATTEMPTS_TOTAL, **attempts(target=n)) for n in mine}
                return counts if all(counts.values()) else None
            before = await wait_for(all_probed, timeout=10)
            doc["defaults"]["readiness"]["timeout"] = "200ms"
            ex.write_config(doc)
            assert await ex.post("/-/reload") == (200, "reloaded\n")
            assert {t.name for t in ex.exporter.targets} == mine
            samples = await ex.samples()
            assert all(value(samples, c.PROBE_ATTEMPTS_TOTAL, **attempts(target=n)) >= before[n] for n in mine)
    finally:
        await gateway.close()
