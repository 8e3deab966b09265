"""The status page and /probe in a fleet: one replica shows its own shard of the targets,
sorted by how fast each burns its error budget, fifty targets a page; /probe still answers
for any configured target and says which replicas probe it on schedule."""

from __future__ import annotations

import json

import pytest

from openclaw_schema import names as c
from exporter.app import Exporter
from exporter.config import parse_config
from exporter.probes.base import ProbeOutcome
from exporter.sharding import owners
from exporter.status import BURN_WINDOW, PAGE_SIZE, build_status
from exporter.status_html import render_index
from exporterhelpers import parse_samples, running_exporter, value

NOW = 1_800_000_000.0
HOSTILE = "<script>alert(1)</script>"
OBJECTIVE = 0.999  # readiness-availability in the shipped spec (slo/specs/openclaw-gateway.yml)


def fleet_exporter(names: list[str], sharding: dict | None = None) -> Exporter:
    exporter = Exporter("/etc/openclaw/exporter.yml", jitter=False)
    doc = {"targets": [{"name": n, "url": "http://127.0.0.1:18789", "websocket": {"enabled": False}} for n in names]}
    if sharding:
        doc["sharding"] = sharding
    exporter.config = parse_config(doc)
    return exporter


def probes(exporter: Exporter, name: str, failed: int, total: int = 20, start: float = NOW - 1800) -> None:
    """``total`` readiness probes of ``name`` in the last half hour, the first ``failed`` of them refused."""
    for i in range(total):
        result = "refused" if i < failed else "success"
        exporter.state.record(ProbeOutcome(target=name, module="readiness", result=result, message=result,
                                           phases={c.Phase.TOTAL: 0.01}, started=start + i * 60), (0.1, 1.0), now=NOW)


def test_targets_sort_by_budget_burn_and_page_fifty_at_a_time():
    names = [f"tenant-{i:03d}/gateway" for i in range(120)]
    ex = fleet_exporter(names)
    for i, name in enumerate(names):
        probes(ex, name, failed=i % 7)  # 0..6 of 20 probes failed
    probes(ex, "tenant-005/gateway", failed=20, total=5, start=NOW - BURN_WINDOW - 600)  # older than the window: ignored

    first = build_status(ex, now=NOW, sort="burn", page=1)
    assert first["paging"] == {"sort": "burn", "sorts": ["status", "burn"], "page": 1, "pages": 3, "page_size": PAGE_SIZE,
                               "targets": 120, "burn_window_seconds": BURN_WINDOW}
    shown = [r["target"] for r in first["probes"]]
    assert len(shown) == PAGE_SIZE
    # Worst first (6 of 20 failed: burn 0.3 / 0.001 = 300x), ties by name.
    expected = sorted(names, key=lambda n: (-(names.index(n) % 7), n))
    assert shown == expected[:PAGE_SIZE]
    assert first["probes"][0]["burn_rate"] == pytest.approx((6 / 20) / (1 - OBJECTIVE))
    five = next(r for r in first["probes"] if r["target"] == "tenant-005/gateway")
    assert five["burn_rate"] == pytest.approx((5 / 20) / (1 - OBJECTIVE))
    last = build_status(ex, now=NOW, sort="burn", page=3)
    assert [r["target"] for r in last["probes"]] == expected[100:]
    # The summary counts every probe, not only the page's.
    assert last["summary"]["probes"] == 120
    # Past the last page: the last page.
    assert build_status(ex, now=NOW, sort="burn", page=9)["paging"]["page"] == 3
    json.dumps(first, allow_nan=False)

    html = render_index(first)
    assert html.index("tenant-006/gateway") < html.index("tenant-013/gateway")
    assert "300.00\u00d7" in html and "page 1 of 3 (120 targets)" in html
    assert 'href="?sort=burn&amp;page=2" rel="next"' in html and "previous" not in html
    assert 'href="?sort=status&amp;page=1"' in html  # the other order, from its first page


def test_targets_without_slo_events_come_after_every_burning_one():
    ex = fleet_exporter(["a-quiet", "b-burning", "c-fine"])
    probes(ex, "b-burning", failed=1)
    probes(ex, "c-fine", failed=0)
    view = build_status(ex, now=NOW, sort="burn")
    assert [(r["target"], r["burn_rate"]) for r in view["probes"]] == [
        ("b-burning", pytest.approx((1 / 20) / (1 - OBJECTIVE))), ("c-fine", 0.0), ("a-quiet", None)]
    assert "\u2014" in render_index(view)  # no burn shown as a dash, not as 0


def test_a_hostile_target_name_is_escaped_in_the_burn_view():
    ex = fleet_exporter([HOSTILE, "ok"])
    probes(ex, HOSTILE, failed=3)
    html = render_index(build_status(ex, now=NOW, sort="burn"))
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_replica_shows_and_probes_only_its_shard():
    names = [f"tenant-{i:03d}/gateway" for i in range(40)]
    ex = fleet_exporter(names, {"replicas": 3, "ordinal": 1, "replication": 1})
    mine = {n for n in names if owners(n, 3, 1) == (1,)}
    assert {t.name for t in ex.targets} == mine and 0 < len(mine) < len(names)
    assert {r["target"] for r in build_status(ex, now=NOW)["probes"]} == mine


async def test_sharding_over_http_metrics_probe_and_bad_listing_queries(tmp_path):
    names = [f"tenant-{i}" for i in range(12)]
    doc = {"sharding": {"replicas": 2, "ordinal": 0, "replication": 1},
           "targets": [{"name": n, "url": "http://127.0.0.1:9", "readiness": {"interval": "1h"},
                        "websocket": {"enabled": False}} for n in names]}
    mine = [n for n in names if owners(n, 2, 1) == (0,)]
    theirs = [n for n in names if n not in mine]
    async with running_exporter(doc, tmp_path) as ex:
        samples = await ex.samples()
        assert value(samples, c.EXPORTER_SHARD_INFO, ordinal="0", replicas="2", replication="1") == 1
        assert value(samples, c.EXPORTER_SHARD_TARGETS) == len(mine)
        assert value(samples, c.EXPORTER_TARGETS) == len(names)
        probed = {dict(labels)["target"] for (name, labels) in samples if name == c.PROBE_ATTEMPTS_TOTAL}
        assert probed == set(mine)
        # /probe answers for a target of the other replica (debugging, or a /probe scrape through
        # the Service) and names the replica that probes it on schedule.
        import aiohttp
        async with aiohttp.ClientSession() as s, s.get(f"{ex.base}/probe?target={theirs[0]}&module=readiness") as resp:
            assert resp.status == 200 and resp.headers["X-OpenClaw-Shard-Owners"] == "1"
            assert f'target="{theirs[0]}"' in await resp.text()
        for query, message in (("sort=worst", "unknown sort 'worst': use one of status, burn"),
                               ("page=0", "page '0' is not a page number (1, 2, ...)"),
                               ("page=%3Cb%3E", "page '<b>' is not a page number (1, 2, ...)")):
            for path in ("/", "/api/status"):
                status, text = await ex.get(f"{path}?{query}")
                assert (status, text) == (400, message + "\n"), (path, query)
        status, text = await ex.get("/api/status?sort=burn&page=1")
        assert status == 200 and json.loads(text)["paging"]["sort"] == "burn"
        # The other replica's targets have no series here: no double counting across replicas.
        assert not any(dict(labels).get("target") in theirs for (_, labels) in parse_samples((await ex.get("/metrics"))[1]))


def test_a_slow_but_successful_gateway_burns_its_latency_budget():
    """websocket-handshake-latency (shipped spec: 99 % of successful handshakes within 250 ms):
    all probes succeed, 4 of 20 are slow, so the availability burn is 0 and the latency burn
    (4/20) / 0.01 = 20x ranks the target."""
    ex = Exporter("/etc/openclaw/exporter.yml", jitter=False)
    ex.config = parse_config({"targets": [{"name": n, "url": "http://127.0.0.1:18789", "readiness": {"enabled": False}}
                                          for n in ("fast", "slow")]})
    for name, slow in (("fast", 0), ("slow", 4)):
        for i in range(20):
            handshake = 0.4 if i < slow else 0.05
            ex.state.record(ProbeOutcome(target=name, module="websocket", result="success", message="ok",
                                         phases={"handshake": handshake, c.Phase.TOTAL: handshake + 0.01},
                                         started=NOW - 1800 + i * 60), (0.1, 1.0), now=NOW)
    rows = build_status(ex, now=NOW, sort="burn")["probes"]
    assert [(r["target"], r["burn_rate"]) for r in rows] == [("slow", pytest.approx(20)), ("fast", 0.0)]
