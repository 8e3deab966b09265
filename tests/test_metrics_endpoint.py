"""/metrics as Prometheus and users get it: few series per target by default (detail on request),
percentiles promtool accepts, gzip and OpenMetrics when asked, client_python's process and GC
collectors, and a real Prometheus scraping all of it."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
from collections import Counter

import aiohttp
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

from conftest import wait_for
from openclaw_schema import names as c
from exporterhelpers import parse_samples, running_exporter, value
from promhelpers import running_prometheus
from support.tools import require

OM_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
PHASES = {"readiness": ("connect", "first_byte", "total"), "websocket": ("connect", "challenge", "handshake", "rpc", "total")}


def config(gw, **websocket) -> dict:
    return {"targets": [{"name": "gw", "url": gw.url, "token_env": "GW_TOKEN",
                         "readiness": {"interval": "1s", "timeout": "900ms"},
                         "websocket": {"interval": "1s", "timeout": "900ms", **websocket}}]}


def samples_per_pair(samples: dict) -> Counter:
    """Samples labelled with target and module, not counting the result counters pre-created at 0."""
    counts: Counter = Counter()
    for name, labels in samples:
        labels = dict(labels)
        if "target" in labels and "module" in labels and name != c.PROBE_ATTEMPTS_TOTAL:
            counts[labels["module"]] += 1
    return counts


async def raw_get(base: str, path: str, **headers: str) -> tuple[dict, bytes]:
    async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("Accept-Encoding",)) as s, \
            s.get(base + path, headers=headers) as resp:
        assert resp.status == 200
        return dict(resp.headers), await resp.read()


def promtool_remarks(text: str) -> str:
    proc = subprocess.run([require("promtool"), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return (proc.stdout + proc.stderr).strip()


async def probed_twice(ex, *modules: str):
    async def ready():
        s = await ex.samples()
        return all((value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module=m, result="success") or 0) >= 2 for m in modules)
    await wait_for(ready, timeout=20)


async def test_default_is_at_most_20_samples_per_target_and_module_and_detail_adds_phases(
        real_gateway, gateway_token, tmp_path, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    async with running_exporter(config(real_gateway), tmp_path) as ex:
        await probed_twice(ex, "readiness", "websocket")
        status, text = await ex.get("/metrics")
        samples = parse_samples(text)
        counts = samples_per_pair(samples)
        # success, last run, the `total` histogram (14 buckets + +Inf + count + sum) and the SLO
        # threshold counter (websocket handshake <= 0.25 s): 19 and 20.
        assert counts == {"readiness": 19, "websocket": 20}, counts
        for module in PHASES:
            assert value(samples, c.PROBE_DURATION + "_count", target="gw", module=module, phase="total") >= 2
            assert value(samples, c.PROBE_DURATION + "_count", target="gw", module=module, phase="connect") is None
        assert not any(name == c.PROBE_LATENCY for name, _ in samples)
        assert value(samples, c.PROBE_LATENCY_GOOD_TOTAL, target="gw", module="websocket", phase="handshake",
                     threshold_seconds="0.25") >= 2
        assert promtool_remarks(text) == ""
        # The status page keeps the exact percentiles in memory whatever is exported.
        _, page = await ex.get("/api/status")
        assert '"p99": 0.' in page or '"p99": 1' in page

        # detail: true for the websocket module (defaults or per target): every phase, and the percentiles.
        ex.write_config(config(real_gateway, detail=True))
        assert (await ex.post("/-/reload"))[0] == 200

        async def detailed():
            s = await ex.samples()
            return all((value(s, c.PROBE_DURATION + "_count", target="gw", module="websocket", phase=p) or 0) >= 1
                       for p in PHASES["websocket"]) and s
        samples = await wait_for(detailed, timeout=10)
        assert value(samples, c.PROBE_LATENCY, target="gw", module="websocket", phase="handshake",
                     window="5m", quantile="0.99") > 0
        assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="connect") is None
        assert samples_per_pair(samples)["readiness"] == 19
        # 5 phases x 17 histogram samples + 5 phases x 3 windows x 3 quantiles + success, last run, threshold.
        assert samples_per_pair(samples)["websocket"] == 5 * 17 + 45 + 3
        # A summary (not a gauge with a `quantile` label): promtool has nothing to say.
        _, text = await ex.get("/metrics")
        assert f"# TYPE {c.PROBE_LATENCY} summary" in text
        assert promtool_remarks(text) == ""


async def test_gzip_openmetrics_and_process_collectors(real_gateway, gateway_token, tmp_path, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    async with running_exporter(config(real_gateway, detail=True), tmp_path) as ex:
        await probed_twice(ex, "readiness", "websocket")
        headers, plain = await raw_get(ex.base, "/metrics")
        assert "Content-Encoding" not in headers
        assert headers["Content-Type"].startswith("text/plain;")
        text = plain.decode()
        samples = parse_samples(text)
        assert value(samples, "process_cpu_seconds_total") > 0
        assert value(samples, "python_gc_collections_total", generation="0") is not None
        assert any(name == "python_info" for name, _ in samples)

        headers, body = await raw_get(ex.base, "/metrics", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip"
        assert len(body) * 3 < len(plain)
        assert parse_samples(gzip.decompress(body).decode()).keys() == samples.keys()
        _, body = await raw_get(ex.base, "/metrics", **{"Accept-Encoding": "gzip;q=0, identity"})
        assert body.startswith(b"# HELP")

        headers, body = await raw_get(ex.base, "/metrics", Accept=OM_ACCEPT)
        assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
        om = body.decode()
        assert om.endswith("# EOF\n") and om.count("# EOF") == 1
        families = {f.name: f for f in om_families(om)}  # the strict OpenMetrics parser
        assert families[c.PROBE_ATTEMPTS_TOTAL.removesuffix("_total")].type == "counter"
        assert families[c.PROBE_LATENCY].type == "summary"
        assert families[c.PROBE_DURATION].type == "histogram"
        assert families["process_cpu_seconds"].type == "counter"


async def test_real_prometheus_scrapes_gzip_openmetrics_with_percentiles(real_gateway, gateway_token, tmp_path, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    async with running_exporter(config(real_gateway, detail=True), tmp_path) as ex:
        port = ex.base.rsplit(":", 1)[1]
        job = {"job_name": "openclaw-slo-exporter", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        with running_prometheus(tmp_path, [job]) as prom:
            def ok(expr: str):
                async def check():
                    result = (await asyncio.to_thread(prom.query, expr))["data"]["result"]
                    return result and result
                return check
            await wait_for(ok(f'{c.PROBE_LATENCY}{{module="websocket",phase="handshake",window="1m",quantile="0.5"}}'), timeout=30)
            await wait_for(ok(f'{c.PROBE_DURATION}_bucket{{module="readiness",phase="total",le="+Inf"}} > 0'), timeout=10)
            await wait_for(ok('process_resident_memory_bytes{job="openclaw-slo-exporter"} > 0'), timeout=10)
            # Every sample of the scrape was accepted (no OpenMetrics parse error: up would be 0).
            up = (await asyncio.to_thread(prom.query, 'up{job="openclaw-slo-exporter"}'))["data"]["result"]
            assert up and up[0]["value"][1] == "1"
            logs = (tmp_path / "prometheus.log").read_text()
            assert "openclaw" not in logs, logs[-2000:]


async def test_probe_endpoint_follows_the_detail_setting(real_gateway, gateway_token, tmp_path, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    doc = config(real_gateway, detail=True)
    async with running_exporter(doc, tmp_path) as ex:
        status, text = await ex.get("/probe?target=gw&module=websocket")
        assert status == 200
        samples = parse_samples(text)
        assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="websocket", phase="handshake") == 1
        assert value(samples, c.PROBE_LATENCY, target="gw", module="websocket", phase="handshake", window="1m", quantile="0.5") > 0
        status, text = await ex.get("/probe?target=gw&module=readiness")
        samples = parse_samples(text)
        assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="total") == 1
        assert value(samples, c.PROBE_DURATION + "_count", target="gw", module="readiness", phase="connect") is None
        assert promtool_remarks(text) == ""
