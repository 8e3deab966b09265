"""kube-state-metrics and cAdvisor as kube-prometheus scrapes them, for tests.

No cluster runs here, so one small local server stands in for kube-state-metrics (`/metrics`) and
the kubelet's cAdvisor (`/metrics/cadvisor`), serving the series a healthy gateway pod has (names
and labels as those projects export them). Prometheus scrapes it through the scrape configs the
Operator generates (tests/operator_scrape.py) from kube-prometheus' own ServiceMonitors
(tests/fixtures/operator/), so the series arrive with `job="kube-state-metrics"` and
`job="kubelet", metrics_path="/metrics/cadvisor"` and their own namespace/pod/container labels.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from ports import free_port
from operator_scrape import (DiscoveredPod, check_namespaces, endpoints_target, node_endpoints_target,
                             scrape_config_for_file_sd, service_monitor_scrape_configs)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "operator"

# The healthy gateway pod the stand-in reports (the alert config's selectors match it).
GATEWAY_NAMESPACE = "openclaw"
GATEWAY_POD = "openclaw-gateway-7d9f8c6b5d-x2k4p"
GATEWAY_CONTAINER = "openclaw-gateway"
GATEWAY_UID = "6f0d7e3c-1b2a-4c5d-9e8f-0a1b2c3d4e5f"
NODE = "node-1"
CPU_CORES_USED = 0.05          # a quiet gateway
CPU_LIMIT, CPU_REQUEST = 1.0, 0.25
MEMORY_WORKING_SET = 400 * 2**20
MEMORY_LIMIT, MEMORY_REQUEST = 2 * 2**30, 512 * 2**20


def ksm_exposition() -> str:
    pod = f'namespace="{GATEWAY_NAMESPACE}",pod="{GATEWAY_POD}",uid="{GATEWAY_UID}"'
    ctr = f'{pod},container="{GATEWAY_CONTAINER}"'
    return "\n".join([
        "# TYPE kube_pod_container_status_restarts_total counter",
        f"kube_pod_container_status_restarts_total{{{ctr}}} 0",
        "# TYPE kube_pod_container_status_ready gauge",
        f"kube_pod_container_status_ready{{{ctr}}} 1",
        "# TYPE kube_pod_container_status_running gauge",
        f"kube_pod_container_status_running{{{ctr}}} 1",
        "# TYPE kube_pod_container_status_waiting gauge",
        f"kube_pod_container_status_waiting{{{ctr}}} 0",
        "# TYPE kube_pod_container_resource_limits gauge",
        f'kube_pod_container_resource_limits{{{ctr},node="{NODE}",resource="cpu",unit="core"}} {CPU_LIMIT}',
        f'kube_pod_container_resource_limits{{{ctr},node="{NODE}",resource="memory",unit="byte"}} {MEMORY_LIMIT}',
        "# TYPE kube_pod_container_resource_requests gauge",
        f'kube_pod_container_resource_requests{{{ctr},node="{NODE}",resource="cpu",unit="core"}} {CPU_REQUEST}',
        f'kube_pod_container_resource_requests{{{ctr},node="{NODE}",resource="memory",unit="byte"}} {MEMORY_REQUEST}',
        "# TYPE kube_pod_status_ready gauge",
        f'kube_pod_status_ready{{{pod},condition="true"}} 1',
        f'kube_pod_status_ready{{{pod},condition="false"}} 0',
        f'kube_pod_status_ready{{{pod},condition="unknown"}} 0',
        "# TYPE kube_pod_status_phase gauge",
        *(f'kube_pod_status_phase{{{pod},phase="{p}"}} {int(p == "Running")}'
          for p in ("Pending", "Running", "Succeeded", "Failed", "Unknown")),
        "",
    ])


def cadvisor_exposition(cpu_seconds: float) -> str:
    """cAdvisor as the kubelet serves it: a container-level series and the pod-level cgroup
    (container="") for each metric; a rule must not add the two."""
    pod_cgroup = f"/kubepods/burstable/pod{GATEWAY_UID}"
    container = (f'container="{GATEWAY_CONTAINER}",id="{pod_cgroup}/0123abcd",image="ghcr.io/openclaw/openclaw:2026.9.6",'
                 f'name="0123abcd",namespace="{GATEWAY_NAMESPACE}",pod="{GATEWAY_POD}"')
    pod_level = f'container="",id="{pod_cgroup}",image="",name="",namespace="{GATEWAY_NAMESPACE}",pod="{GATEWAY_POD}"'
    return "\n".join([
        "# TYPE container_cpu_usage_seconds_total counter",
        f'container_cpu_usage_seconds_total{{{container},cpu="total"}} {cpu_seconds:.6f}',
        f'container_cpu_usage_seconds_total{{{pod_level},cpu="total"}} {cpu_seconds * 1.02:.6f}',
        "# TYPE container_memory_working_set_bytes gauge",
        f"container_memory_working_set_bytes{{{container}}} {MEMORY_WORKING_SET}",
        f"container_memory_working_set_bytes{{{pod_level}}} {MEMORY_WORKING_SET + 2**20}",
        "",
    ])


class KubePrometheusStandIn:
    """The local server playing kube-state-metrics and the kubelet's cAdvisor endpoint."""

    def __init__(self) -> None:
        self.port = free_port()
        self.started = time.time()
        self._runner: web.AppRunner | None = None

    async def start(self) -> "KubePrometheusStandIn":
        async def ksm(request: web.Request) -> web.Response:
            return web.Response(text=ksm_exposition(), content_type="text/plain")

        async def cadvisor(request: web.Request) -> web.Response:
            used = 1000.0 + CPU_CORES_USED * (time.time() - self.started)  # a counter since container start
            return web.Response(text=cadvisor_exposition(used), content_type="text/plain")
        app = web.Application()
        app.router.add_get("/metrics", ksm)
        app.router.add_get("/metrics/cadvisor", cadvisor)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _load(name: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all((FIXTURES / name).read_text())}


def kube_prometheus_scrapes(sd_dir: Path, port: int, **overrides: Any) -> list[dict[str, Any]]:
    """The Operator's scrape configs for kube-prometheus' kube-state-metrics and kubelet (cAdvisor)
    ServiceMonitors, their discovered targets aimed at the stand-in on loopback:`port`."""
    out = []
    ksm = _load("kube-state-metrics.yaml")
    (cfg,) = service_monitor_scrape_configs(ksm["ServiceMonitor"])
    pod = DiscoveredPod(name="kube-state-metrics-7f6c9d8b4-q8wz2", namespace="monitoring",
                        labels=ksm["Service"]["spec"]["selector"],
                        container={"name": "kube-rbac-proxy-main", "ports": [{"name": "https-main", "containerPort": 8443}]})
    target = endpoints_target(ksm["Service"], pod, 8443, port)
    check_namespaces(cfg, target)
    sd = sd_dir / "kube-state-metrics.sd.yml"
    sd.write_text(yaml.safe_dump([target]))
    out.append(scrape_config_for_file_sd(cfg, sd, **overrides))

    kubelet = _load("kubelet.yaml")
    (cfg,) = service_monitor_scrape_configs(kubelet["ServiceMonitor"])
    target = node_endpoints_target(kubelet["Service"], NODE, "https-metrics", port)
    check_namespaces(cfg, target)
    sd = sd_dir / "kubelet.sd.yml"
    sd.write_text(yaml.safe_dump([target]))
    out.append(scrape_config_for_file_sd(cfg, sd, **overrides))
    return out
