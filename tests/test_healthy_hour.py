"""A fresh `kubectl apply -k deploy/` on a healthy gateway fires nothing.

Every shipped rule (alerts/prometheus_rules.yaml, alerts/prometheus_alerts.yaml: the files deploy/'s
PrometheusRules are copies of) is evaluated by `promtool test rules` over one hour of data shaped
exactly like a healthy install's:

1. the real gateway, probed by the real exporter running the shipped deploy/exporter.yml (only its
   URL, token file and state file point at this test's);
2. scraped by a real Prometheus through the scrape config the Prometheus Operator generates from
   deploy/servicemonitor.yaml (tests/operator_scrape.py), next to kube-state-metrics and cAdvisor
   series of a healthy gateway pod scraped through kube-prometheus' ServiceMonitors;
3. every series Prometheus then holds (with its real target labels) is read twice, 45 s apart, and
   extended to an hour: counters keep the slope they had, gauges their value, timestamps follow
   the clock.

The hour is checked every 5 minutes for every alert name: no alert may fire.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import time
import urllib.parse
from pathlib import Path

import yaml

from conftest import wait_for
from ports import free_port
from kube_prometheus import KubePrometheusStandIn, kube_prometheus_scrapes
from operator_scrape import shipped_exporter_scrape
from promhelpers import get_json
from support.daemons import ROOT, exporter, prometheus
from support.tools import require

RULE_FILES = [ROOT / "alerts" / "prometheus_rules.yaml", ROOT / "alerts" / "prometheus_alerts.yaml"]
STEP_SECONDS = 30          # the ServiceMonitor's interval
HOUR_STEPS = 3600 // STEP_SECONDS
SAMPLE_GAP_SECONDS = 45    # three probes at the shipped 15 s interval
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def alert_names() -> list[str]:
    names = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names += [r["alert"] for r in group["rules"] if "alert" in r]
    return sorted(set(names))


def series_selector(metric: dict[str, str]) -> str:
    labels = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(metric.items()) if k != "__name__")
    return f"{metric['__name__']}{{{labels}}}"


def _num(value: float) -> str:
    return repr(round(value, 9))


def hour_of(first: dict[str, float], second: dict[str, float], gap: float) -> list[dict[str, str]]:
    """promtool input series: one hour at STEP_SECONDS from two reads of every series."""
    out = []
    for selector, v2 in sorted(second.items()):
        name = selector.split("{", 1)[0]
        if math.isnan(v2):
            continue
        if name.endswith("_timestamp_seconds"):
            values = f"0+{STEP_SECONDS}x{HOUR_STEPS}"  # a timestamp keeps up with the (promtool) clock
        elif name.endswith(COUNTER_SUFFIXES) and selector in first:
            slope = max(0.0, (v2 - first[selector]) / gap)
            values = f"{_num(v2)}+{_num(slope * STEP_SECONDS)}x{HOUR_STEPS}"
        else:
            values = f"{_num(v2)}+0x{HOUR_STEPS}"
        out.append({"series": selector, "values": values})
    return out


async def read_all(base: str) -> dict[str, float]:
    out = await asyncio.to_thread(get_json, f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": '{__name__=~".+"}'}))
    return {series_selector(r["metric"]): float(r["value"][1]) for r in out["data"]["result"]}


async def test_every_shipped_rule_stays_quiet_for_a_healthy_hour(tmp_path: Path, real_gateway, gateway_token):
    token = tmp_path / "token"
    token.write_text(gateway_token)
    shipped = yaml.safe_load((ROOT / "deploy" / "exporter.yml").read_text())
    (target,) = shipped["targets"]
    target.update({"url": real_gateway.url, "token_file": str(token)})
    shipped.setdefault("slo", {})["state_file"] = str(tmp_path / "slo.sqlite")
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump(shipped))

    standin = await KubePrometheusStandIn().start()
    services = []
    try:
        exporter_port = free_port()
        services.append(await asyncio.to_thread(exporter(tmp_path, exporter_port, config).start))
        prom_config = tmp_path / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump({"scrape_configs": [
            shipped_exporter_scrape(tmp_path, exporter_port, scrape_interval="1s", scrape_timeout="900ms"),
            *kube_prometheus_scrapes(tmp_path, standin.port, scrape_interval="1s", scrape_timeout="900ms")]}))
        prom = await asyncio.to_thread(prometheus(tmp_path, free_port(), prom_config).start)
        services.append(prom)
        base = prom.ready_url.rsplit("/-/", 1)[0]

        async def probed_and_scraped():
            series = await read_all(base)
            modules = {"readiness", "websocket"}
            seen = {m for m in modules if any(s.startswith("openclaw_probe_attempts_total{") and f'module="{m}"' in s
                                              and 'result="success"' in s for s in series)}
            return seen == modules and any(s.startswith("container_cpu_usage_seconds_total{") for s in series) and series
        first = await wait_for(probed_and_scraped, timeout=60, interval=1)
        started = time.monotonic()
        await asyncio.sleep(SAMPLE_GAP_SECONDS)
        second = await read_all(base)
        gap = time.monotonic() - started
    finally:
        for service in reversed(services):
            await asyncio.to_thread(service.stop)
        await standin.stop()

    inputs = hour_of(first, second, gap)
    # The input is what a healthy install has: probe successes advancing with the target labels.
    assert any(s["series"].startswith("openclaw_probe_attempts_total{") and 'pod="openclaw-slo-exporter-' in s["series"]
               and 'result="success"' in s["series"] and "+0x" not in s["values"] for s in inputs), inputs
    names = alert_names()
    assert len(names) >= 20
    test_file = tmp_path / "healthy-hour.test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": [str(p) for p in RULE_FILES],
        "evaluation_interval": f"{STEP_SECONDS}s",
        "tests": [{
            "interval": f"{STEP_SECONDS}s",
            "input_series": inputs,
            "alert_rule_test": [{"eval_time": f"{minute}m", "alertname": name, "exp_alerts": []}
                                for minute in range(5, 61, 5) for name in names],
        }],
    }, width=10_000))
    done = subprocess.run([require("promtool"), "test", "rules", str(test_file)], capture_output=True, text=True,
                          timeout=300)
    fired = sorted({line.split("alertname: ", 1)[1].split(",")[0] for line in done.stdout.splitlines()
                    + done.stderr.splitlines() if "alertname: " in line})
    assert done.returncode == 0, f"alerts fired on a healthy hour: {fired}\n" + (done.stdout + done.stderr)[-6000:]
