"""The benchmark harness's own parts work: its target server and its parsers (no timings)."""

from __future__ import annotations

import json
import os

import aiohttp
import pytest
from aiohttp import web

import measure  # bench/, on pytest's pythonpath
import targets

from exporter.quantiles import quantile


@pytest.fixture
async def target_server():
    runner = web.AppRunner(targets.make_app(targets.TargetServer(token="bench-token")), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_target_server_speaks_readiness_json_and_falls_back_to_html(target_server):
    async with aiohttp.ClientSession(headers={"User-Agent": "Blackbox Exporter/0.23.0"}) as session:
        for path in ("/t/a/readyz", "/fixed/1/b/readyz", "/lognorm/7/c/readyz"):
            async with session.get(target_server + path) as resp:
                assert resp.status == 200
                body = await resp.json()
                assert body["ready"] is True and body["failing"] == []
        async with session.get(target_server + "/t/a/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
        async with session.get(target_server + "/_stats") as resp:
            assert (await resp.json())["readyz"] == {"Blackbox Exporter": 3}


async def test_target_server_speaks_websocket_protocol_v4(target_server):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(target_server.replace("http", "ws") + "/t/a/") as ws:
            challenge = json.loads((await ws.receive()).data)
            assert challenge["event"] == "connect.challenge" and "nonce" in challenge["payload"]
            await ws.send_str(json.dumps({"type": "req", "id": "1", "method": "health", "params": {}}))
            assert json.loads((await ws.receive()).data)["ok"] is False  # connect must come first
            await ws.send_str(json.dumps({"type": "req", "id": "2", "method": "connect",
                                          "params": {"minProtocol": 4, "maxProtocol": 4, "auth": {"token": "bench-token"}}}))
            hello = json.loads((await ws.receive()).data)
            assert hello["id"] == "2" and hello["ok"] is True and hello["payload"]["type"] == "hello-ok"
            # The real gateway's frames, replayed (bench/fixtures/gateway-frames.json): real sizes.
            assert hello["payload"]["protocol"] == 4 and "health" in hello["payload"]["features"]["methods"]
            assert len(json.dumps(hello)) > 10_000
            captured = targets.FRAMES["hello"]["payload"]
            assert {k: v for k, v in hello["payload"].items() if k != "server"} == {k: v for k, v in captured.items() if k != "server"}
            await ws.send_str(json.dumps({"type": "req", "id": "3", "method": "health", "params": {}}))
            health = json.loads((await ws.receive()).data)
            assert health == {"type": "res", "id": "3", "ok": True, "payload": targets.FRAMES["health"]["payload"]}


async def test_target_server_rejects_a_wrong_token(target_server):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(target_server.replace("http", "ws") + "/") as ws:
            await ws.receive()
            await ws.send_str(json.dumps({"type": "req", "id": "x", "method": "connect", "params": {"auth": {"token": "nope"}}}))
            reply = json.loads((await ws.receive()).data)
            assert reply["ok"] is False and reply["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"


def test_lognormal_delays_are_seeded_per_target():
    first = targets.parse_delay(["lognorm", "3", "x", "readyz"], {})
    rngs: dict = {}
    again = [targets.parse_delay(["lognorm", "3", "x", "readyz"], rngs) for _ in range(3)]
    assert first == again[0] and len(set(again)) == 3
    assert targets.parse_delay(["fixed", "20", "x", "readyz"], {}) == 0.02
    assert targets.parse_delay(["other", "x", "readyz"], {}) is None


def test_exposition_parser_reads_labels_and_escapes():
    text = ('# HELP m help\n# TYPE m gauge\n'
            'm{a="1",b="x\\"y",le="+Inf"} 2.5\n'
            'openclaw_probe_attempts_total{module="readiness",result="success",target="t"} 7.0\n'
            'plain 3\n')
    samples = measure.parse_exposition(text)
    assert samples[0] == measure.Sample("m", {"a": "1", "b": 'x"y', "le": "+Inf"}, 2.5)
    assert measure.parse_exposition(text, "openclaw_probe_")[0].labels["result"] == "success"
    assert samples[-1] == measure.Sample("plain", {}, 3.0)


def test_exact_quantiles_agree_with_the_exporters_and_histogram_quantile_with_prometheus():
    values = sorted([0.011, 0.013, 0.02, 0.035, 0.05, 0.08, 0.12, 0.2])
    exact = measure.exact_quantiles(values, (0.5, 0.95, 0.99))
    for q, v in exact.items():
        assert v == pytest.approx(quantile(values, q))
    # 10 observations: 4 in (0, 0.01], 6 in (0.01, 0.02] -> median at 0.01 + 0.01 * (1/6)
    buckets = [(0.01, 4), (0.02, 10), (float("inf"), 10)]
    assert measure.histogram_quantile(0.5, buckets) == pytest.approx(0.01 + 0.01 / 6)
    assert measure.histogram_quantile(0.2, buckets) == pytest.approx(0.005)
    assert measure.histogram_quantile(1.0, [(0.01, 1), (float("inf"), 2)]) == 0.01


def test_proc_readers_see_this_process():
    assert measure.cpu_seconds(os.getpid()) > 0
    assert measure.rss_bytes(os.getpid()) > 1 << 20


async def test_every_client_path_of_the_microbenchmark_completes_its_exchange():
    import clients  # bench/clients.py: the paths "Client paths" in docs/benchmarks.md compares

    runner = web.AppRunner(targets.make_app(targets.TargetServer(token=None)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        for path in clients.PATHS.values():
            await path(base + "/t/a/readyz", 2)
        for path in clients.WS_PATHS.values():
            await path(base + "/t/a", 2)
        async with aiohttp.ClientSession() as session, session.get(base + "/_stats") as resp:
            stats = await resp.json()
    finally:
        await runner.cleanup()
    assert sum(stats["readyz"].values()) == 2 * len(clients.PATHS)
    assert sum(stats["ws"].values()) == 2 * len(clients.WS_PATHS)
def test_make_bench_keeps_the_fleet_section_written_from_bench_fleet():
    import run

    previous = "# Benchmarks\n\nold table\n\n## Fleet\n\nfleet numbers\n"
    assert run.with_fleet_section("# Benchmarks\n\nnew table\n", previous) == \
        "# Benchmarks\n\nnew table\n\n## Fleet\n\nfleet numbers\n"
    assert run.with_fleet_section("# Benchmarks\n\nnew table\n", "") == "# Benchmarks\n\nnew table\n"


def test_the_memory_ledger_covers_what_a_running_exporter_loads_and_adds_up(tmp_path):
    import memory  # bench/memory.py: "Where the memory goes" in docs/benchmarks.md
    import yaml

    from support.imports import modules_of_a_running_exporter, top_level_modules

    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": "http://127.0.0.1:9"}]}))
    layers = [name for _, modules in memory.LAYERS for name in modules]
    loaded = top_level_modules("import importlib, json, sys\n"
                               f"for name in {layers!r}: importlib.import_module(name)\n"
                               "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    # A module `run` loads that no layer imports would be memory the table does not show.
    running = modules_of_a_running_exporter(config)
    assert running <= loaded
    # And the other way: pydantic is the config-loading child's, not the running exporter's.
    assert not (loaded - running) & {"pydantic", "pydantic_core", "kubernetes", "grafanalib", "yaml"}

    result = memory.measure(1)
    added = [layer["rss"] for layer in result["layers"]]
    assert sum(added) == result["total_rss"]  # each layer is what it adds: one run adds up exactly
    assert added[0] > 5 * 2**20 and result["total_rss"] > added[0] and result["modules"] > 100
    table = memory.table(result)
    assert len(table) == len(memory.LAYERS) + 3 and "aiohttp" in table[5]


def test_the_harness_writes_an_exporter_config_the_exporter_accepts(tmp_path):
    # The modules the harness disables are the prober table's keys (a StrEnum): the YAML must
    # still be plain strings, and the exporter's own loader must take the file.
    import run
    from exporter.config import load_config

    text = run.exporter_config_text([{"name": "t0", "url": "http://127.0.0.1:9/"}],
                                    {"readiness": {"interval": "15s", "timeout": "5s"}})
    path = tmp_path / "bench.yml"
    path.write_text(text)
    config = load_config(str(path))
    assert [t.name for t in config.targets] == ["t0"]
    assert config.targets[0].modules["readiness"].enabled
    assert not config.targets[0].modules["websocket"].enabled


async def test_the_prefill_starts_every_pair_an_hour_old(target_server, tmp_path, monkeypatch):
    """Row 3's RSS is read at steady state: before the first scheduled probe each pair holds an
    hour of probes (full history, full 1 h window), copies of one real probe of the module."""
    import exporter_tap
    import run
    from exporter.state import HISTORY

    path = tmp_path / "bench.yml"
    path.write_text(run.exporter_config_text(
        [{"name": f"t{i}", "url": f"{target_server}/t/t{i}"} for i in range(3)],
        {"readiness": {"interval": "15s", "timeout": "5s"}}))
    monkeypatch.setenv("BENCH_PREFILL_SECONDS", str(run.STEADY_STATE_SECONDS))
    exporter = exporter_tap.TappedExporter(str(path))
    await exporter.start()
    try:
        for i in range(3):
            series = exporter.state.series[(f"t{i}", "readiness", "")]
            assert len(series.history) == HISTORY
            assert series.attempts["success"] == run.STEADY_STATE_SECONDS // 15
            assert len(series.windows["total"]) == run.STEADY_STATE_SECONDS // 15
            newest = series.history[-1]
            assert newest.success and newest.logs and set(newest.phases) >= {"connect", "total"}
            assert series.gauges  # the readiness body's gauges, as a real probe leaves them
    finally:
        await exporter.close()


def test_the_wakeup_calibration_reports_cpu_per_wakeup():
    runs = measure.wakeup_cost(0.001, count=3, runs=2)
    assert len(runs) == 2 and all(0 <= x < 1.0 for x in runs)
    import run
    line = run.wakeup_lines({"wakeup_cost": {0.05: [0.0015, 0.0012, 0.002]}})[0]
    assert "1.500 ms (1.200-2.000, n=3) after a 0.05 s sleep" in line
