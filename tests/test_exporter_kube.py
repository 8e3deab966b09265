"""The exporter with its `kubernetes:` section: the watcher's metrics reach /metrics (local fake
API server speaking the real list/watch protocol, since no API server can run here)."""

from __future__ import annotations

import yaml

from conftest import wait_for
from openclaw_schema import names as c
from exporterhelpers import running_exporter, value
from kube_api_server import FakeKubeApi
from kubehelpers import fixture
from localservers import fixed, serve


def write_kubeconfig(path, url: str) -> str:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "local",
        "clusters": [{"name": "local", "cluster": {"server": url}}],
        "users": [{"name": "exporter", "user": {"token": "kube-canary-token"}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "exporter"}}],
    }))
    return str(path)


async def test_pod_probing_labels_each_ready_pod_and_forgets_deleted_ones(tmp_path):
    api = FakeKubeApi()
    url = await api.start()
    try:
        pod = fixture("pod_ready")
        pod["status"]["podIP"] = "127.0.0.1"  # the "pod" is the local server below, reached by IP
        api.put("pods", pod)
        name = pod["metadata"]["name"]
        async with serve(fixed(200, '{"ready":true}')) as gw:
            doc = {"targets": [{"name": "gw", "url": gw.replace("127.0.0.1", "localhost"),
                                "readiness": {"interval": "300ms", "timeout": "300ms"}, "websocket": {"enabled": False}}],
                   "kubernetes": {"enabled": True, "kubeconfig": write_kubeconfig(tmp_path / "kc", url),
                                  "in_cluster": False, "pod_probing": True}}
            async with running_exporter(doc, tmp_path) as ex:
                async def pod_probed():
                    s = await ex.samples()
                    return (value(s, c.PROBE_SUCCESS, target="gw", module="readiness", gateway_pod=name) == 1
                            and value(s, c.PROBE_SUCCESS, target="gw", module="readiness") == 1)
                await wait_for(pod_probed, timeout=15)
                # Per-pod probes are diagnostics: the live SLO counts the service's probes only.
                series = ex.exporter.state.series
                assert series[("gw", "readiness", name)].gateway_pod == name
                api.delete("pods", pod["metadata"]["namespace"], name)

                async def forgotten():
                    s = await ex.samples()
                    return not any(metric.startswith("openclaw_probe_") and dict(labels).get(c.LABEL_GATEWAY_POD) == name
                                   for (metric, labels) in s)
                await wait_for(forgotten, timeout=15)
    finally:
        await api.close()


async def test_watcher_metrics_are_served_next_to_probe_metrics(tmp_path):
    api = FakeKubeApi()
    url = await api.start()
    try:
        crash = fixture("pod_crashloop")
        api.put("pods", crash)
        api.put("events", fixture("event_failedmount"))
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "local",
            "clusters": [{"name": "local", "cluster": {"server": url}}],
            "users": [{"name": "exporter", "user": {"token": "kube-canary-token"}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "exporter"}}],
        }))
        async with serve(fixed(200, '{"ready":true}')) as gw:
            doc = {"targets": [{"name": "gw", "url": gw, "websocket": {"enabled": False}}],
                   "kubernetes": {"enabled": True, "kubeconfig": str(kubeconfig), "in_cluster": False}}
            async with running_exporter(doc, tmp_path) as ex:
                ns, pod = crash["metadata"]["namespace"], crash["metadata"]["name"]
                container = crash["status"]["containerStatuses"][0]["name"]

                async def seen():
                    s = await ex.samples()
                    return (value(s, c.POD_CONTAINER_WAITING, namespace=ns, pod=pod, container=container,
                                  reason="CrashLoopBackOff") == 1
                            and value(s, c.PROBE_SUCCESS, target="gw", module="readiness") == 1)
                await wait_for(seen, timeout=10)
                _, text = await ex.get("/metrics")
                assert "kube-canary-token" not in text
                _, body = await ex.get("/api/status")
                rows = __import__("json").loads(body)["pods"]["rows"]
                row = next(r for r in rows if r["pod"] == pod)
                assert (row["ready"], row["waiting_reason"]) == (False, "CrashLoopBackOff")
    finally:
        await api.close()
