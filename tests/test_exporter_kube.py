"""The exporter with its `kubernetes:` section: the watcher's metrics reach /metrics (local fake
API server speaking the real list/watch protocol, since no API server can run here)."""

from __future__ import annotations

import yaml

from conftest import wait_for
from exporter import conventions as c
from exporterhelpers import running_exporter, value
from kube_api_server import FakeKubeApi
from kubehelpers import fixture
from localservers import fixed, serve


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
    finally:
        await api.close()
