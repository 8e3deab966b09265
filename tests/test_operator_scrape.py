"""tests/operator_scrape.py reproduces the Prometheus Operator's scrape config: compared with the
Operator's own golden files, then run by a real Prometheus against the real exporter (scraped
through deploy/servicemonitor.yaml) and the kube-state-metrics/cAdvisor stand-in (scraped through
kube-prometheus' ServiceMonitors). The labels asserted are what a user sees on the targets page
and on every series."""

from __future__ import annotations

import asyncio
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import yaml

from conftest import wait_for
from ports import free_port
from exporterhelpers import running_exporter
from kube_api_server import FakeKubeApi
from kube_prometheus import GATEWAY_CONTAINER, GATEWAY_NAMESPACE, GATEWAY_POD, KubePrometheusStandIn, kube_prometheus_scrapes
from kubehelpers import fixture
from operator_scrape import (FIXTURES_DIR, ROOT, DiscoveredPod, check_namespaces, deploy_namespace,
                             pod_monitor_scrape_configs, pod_target, scrape_config_for_file_sd,
                             service_monitor_scrape_configs, shipped_exporter_pod, shipped_exporter_scrape, shipped_monitor)
from promhelpers import get_json
from support.daemons import prometheus
from test_exporter_kube import write_kubeconfig

EXPORTER_POD = shipped_exporter_pod().name


@pytest.mark.parametrize("case", ["GenerateRelabelConfig", "SettingHonorLabels"])
def test_generated_scrape_config_equals_the_operators_golden_file(case):
    monitor = yaml.safe_load((FIXTURES_DIR / f"{case}.input.yaml").read_text())
    golden = yaml.safe_load((FIXTURES_DIR / f"{case}.golden.yaml").read_text())
    (generated,) = service_monitor_scrape_configs(monitor, shard="$(SHARD)")
    assert generated == golden


def test_a_monitor_using_an_unsupported_field_is_refused_not_half_rendered():
    monitor = shipped_monitor()
    monitor["spec"]["endpoints"][0]["tlsConfig"] = {"insecureSkipVerify": True}
    with pytest.raises(ValueError, match=r"endpoints\[0\]: unsupported keys \['tlsConfig'\]"):
        service_monitor_scrape_configs(monitor, deploy_namespace())


def test_shipped_servicemonitor_renders_the_operator_job():
    (cfg,) = service_monitor_scrape_configs(shipped_monitor(), deploy_namespace())
    assert cfg["job_name"] == "serviceMonitor/openclaw/openclaw-slo-exporter/0"
    assert cfg["kubernetes_sd_configs"] == [{"role": "endpoints", "namespaces": {"names": ["openclaw"]}}]
    assert (cfg["scrape_interval"], cfg["scrape_timeout"], cfg["metrics_path"]) == ("30s", "10s", "/metrics")
    # The exporter's pod metrics describe the gateway's pods: their namespace/pod/container must win
    # over the exporter pod's target labels, as for kube-state-metrics.
    assert cfg["honor_labels"] is True


async def _targets(base: str) -> list[dict]:
    return (await asyncio.to_thread(get_json, f"{base}/api/v1/targets?state=active"))["data"]["activeTargets"]


async def _series(base: str, expr: str) -> list[dict]:
    out = await asyncio.to_thread(get_json, f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return [r["metric"] for r in out["data"]["result"]]


async def test_real_prometheus_gives_the_operators_target_labels(tmp_path: Path, real_gateway, gateway_token):
    api = FakeKubeApi()
    url = await api.start()
    standin = await KubePrometheusStandIn().start()
    prom = None
    try:
        crash = fixture("pod_crashloop")  # the watcher's pod metrics, labelled with the gateway pod
        api.put("pods", crash)
        token = tmp_path / "token"
        token.write_text(gateway_token)
        doc = {"targets": [{"name": "openclaw-gateway", "url": real_gateway.url, "token_file": str(token),
                            "readiness": {"interval": "1s", "timeout": "900ms"},
                            "websocket": {"interval": "1s", "timeout": "900ms"}}],
               "kubernetes": {"enabled": True, "kubeconfig": write_kubeconfig(tmp_path / "kc", url), "in_cluster": False}}
        async with running_exporter(doc, tmp_path) as ex:
            port = int(ex.base.rsplit(":", 1)[1])
            scrapes = [shipped_exporter_scrape(tmp_path, port, scrape_interval="1s", scrape_timeout="900ms"),
                       *kube_prometheus_scrapes(tmp_path, standin.port, scrape_interval="1s", scrape_timeout="900ms")]
            config = tmp_path / "prometheus.yml"
            config.write_text(yaml.safe_dump({"scrape_configs": scrapes}))
            prom = await asyncio.to_thread(prometheus(tmp_path, free_port(), config).start)
            base = prom.ready_url.rsplit("/-/", 1)[0]

            async def all_up():
                targets = await _targets(base)
                return len(targets) == 3 and all(t["health"] == "up" for t in targets) and targets
            targets = {t["scrapePool"]: t for t in await wait_for(all_up, timeout=30, interval=0.5)}

            exporter_target = targets["serviceMonitor/openclaw/openclaw-slo-exporter/0"]
            assert exporter_target["labels"] == {
                "container": "exporter", "endpoint": "metrics", "instance": f"127.0.0.1:{port}",
                "job": "openclaw-slo-exporter", "namespace": "openclaw", "pod": EXPORTER_POD,
                "service": "openclaw-slo-exporter"}
            assert exporter_target["scrapeUrl"] == f"http://127.0.0.1:{port}/metrics"
            assert exporter_target["discoveredLabels"]["__meta_kubernetes_endpoint_port_name"] == "metrics"

            ksm_target = targets["serviceMonitor/monitoring/kube-state-metrics/0"]
            assert ksm_target["labels"] == {"container": "kube-rbac-proxy-main", "instance": f"127.0.0.1:{standin.port}",
                                            "job": "kube-state-metrics"}  # kube-prometheus drops pod/service/endpoint/namespace
            kubelet_target = targets["serviceMonitor/monitoring/kubelet/0"]
            assert kubelet_target["labels"] == {
                "endpoint": "https-metrics", "instance": f"127.0.0.1:{standin.port}", "job": "kubelet",
                "metrics_path": "/metrics/cadvisor", "namespace": "kube-system", "node": "node-1", "service": "kubelet"}

            async def scraped():
                return (await _series(base, 'openclaw_probe_attempts_total{module="websocket"}')
                        and await _series(base, "openclaw_pod_container_restarts_total")
                        and await _series(base, "container_cpu_usage_seconds_total"))
            await wait_for(scraped, timeout=30, interval=0.5)

            # The probe series carry the exporter pod's target labels: a rule cannot rely on `pod` being empty.
            (probe,) = await _series(base, 'openclaw_probe_attempts_total{module="websocket",result="success"}')
            assert {k: probe[k] for k in ("job", "namespace", "pod", "container", "service", "endpoint")} == {
                "job": "openclaw-slo-exporter", "namespace": "openclaw", "pod": EXPORTER_POD, "container": "exporter",
                "service": "openclaw-slo-exporter", "endpoint": "metrics"}

            # honorLabels: the pod metrics keep the watched pod's own namespace/pod/container.
            (restarts,) = await _series(base, "openclaw_pod_container_restarts_total")
            assert restarts["namespace"] == crash["metadata"]["namespace"]
            assert restarts["pod"] == crash["metadata"]["name"]
            assert restarts["container"] == crash["status"]["containerStatuses"][0]["name"]
            assert not [k for k in restarts if k.startswith("exported_")], restarts
            assert restarts["job"] == "openclaw-slo-exporter"

            # kube-state-metrics and cAdvisor series, as kube-prometheus stores them.
            (ksm,) = await _series(base, "kube_pod_container_status_restarts_total")
            assert (ksm["job"], ksm["namespace"], ksm["pod"], ksm["container"]) == (
                "kube-state-metrics", GATEWAY_NAMESPACE, GATEWAY_POD, GATEWAY_CONTAINER)
            cpu = await _series(base, f'container_cpu_usage_seconds_total{{container="{GATEWAY_CONTAINER}"}}')
            assert [(s["job"], s["metrics_path"], s["namespace"], s["pod"]) for s in cpu] == [
                ("kubelet", "/metrics/cadvisor", GATEWAY_NAMESPACE, GATEWAY_POD)]
    finally:
        if prom is not None:
            await asyncio.to_thread(prom.stop)
        await standin.stop()
        await api.close()


# --- PodMonitor: the storage sidecar (deploy/components/storage-sidecar) ---------------------------

@pytest.mark.parametrize("case", ["PodTargetLabelsFromPodMonitor", "PodMonitorEndpointEnableHttp2"])
def test_generated_podmonitor_scrape_config_equals_the_operators_golden_file(case):
    monitor = yaml.safe_load((FIXTURES_DIR / f"{case}.input.yaml").read_text())
    golden = yaml.safe_load((FIXTURES_DIR / f"{case}.golden.yaml").read_text())
    (generated,) = pod_monitor_scrape_configs(monitor, shard="$(SHARD)")
    assert generated == golden


def _sidecar_build() -> dict[str, dict]:
    """`kubectl kustomize examples/gateway`: the gateway with the storage sidecar component."""
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "examples" / "gateway")], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return {d["kind"]: d for d in yaml.safe_load_all(out)}


async def test_real_prometheus_scrapes_the_storage_sidecar_with_the_exporters_job(tmp_path: Path):
    built = _sidecar_build()
    monitor, deployment = built["PodMonitor"], built["Deployment"]
    template = deployment["spec"]["template"]
    (sidecar,) = [c for c in template["spec"]["containers"] if c["name"] == "storage-probe"]
    pod = DiscoveredPod(name="openclaw-gateway-5b7a6f9d8c-h7j8k", namespace=deployment["metadata"]["namespace"],
                        labels=template["metadata"]["labels"], container=sidecar)
    (config,) = pod_monitor_scrape_configs(monitor)
    # The sidecar's own config, with its probe directory here instead of the volume's mount path.
    doc = yaml.safe_load(built["ConfigMap"]["data"]["exporter.yml"])
    doc["targets"][0]["storage"].update(path=str(tmp_path), interval="1s", timeout="900ms")
    prom = None
    async with running_exporter(doc, tmp_path) as ex:
        port = int(ex.base.rsplit(":", 1)[1])
        target = pod_target(pod, sidecar["ports"][0]["containerPort"], port)
        check_namespaces(config, target)
        (tmp_path / "sidecar.sd.yml").write_text(yaml.safe_dump([target]))
        scrape = scrape_config_for_file_sd(config, tmp_path / "sidecar.sd.yml", scrape_interval="1s", scrape_timeout="900ms")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({"scrape_configs": [scrape]}))
        try:
            prom = await asyncio.to_thread(prometheus(tmp_path, free_port(), tmp_path / "prometheus.yml").start)
            base = prom.ready_url.rsplit("/-/", 1)[0]

            async def scraped():
                return await _series(base, 'openclaw_storage_available_bytes')
            (available,) = await wait_for(scraped, timeout=30, interval=0.5)
            (t,) = await _targets(base)
            assert t["scrapePool"] == "podMonitor/openclaw/openclaw-storage-probe/0"
            # The job the alerts and the SLOs select (exporter_selector), the gateway pod's labels.
            assert t["labels"] == {"container": "storage-probe", "endpoint": "storage-probe", "instance": f"127.0.0.1:{port}",
                                   "job": "openclaw-slo-exporter", "namespace": "openclaw", "pod": pod.name}
            assert available["target"] == "openclaw-gateway" and available["job"] == "openclaw-slo-exporter"
            modules = {s["module"] for s in await _series(base, "openclaw_probe_attempts_total")}
            assert modules == {"storage"}  # readiness/websocket stay with the exporter Deployment: no double count
        finally:
            if prom is not None:
                await asyncio.to_thread(prom.stop)
