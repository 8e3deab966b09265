"""The fleet deployment (deploy/components/fleet, built as examples/fleet), as `kubectl kustomize`
builds it: a StatefulSet whose pods find their shard in their own name, scraped one by one by a
PodMonitor, with the base's pod template unchanged but for POD_NAME; every object validates
against the Kubernetes schemas and the PodMonitor against the Operator's CRD schema."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from exporter.config import parse_config
from exporter.sharding import Shard
from test_packaging import CRD_KINDS, KUBE_VERSION, validate_crds

ROOT = Path(__file__).resolve().parent.parent


def kustomize(path: Path) -> list[dict[str, Any]]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to build deploy/")
    out = subprocess.run(["kubectl", "kustomize", str(path)], check=True, capture_output=True, text=True, timeout=60)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module")
def fleet() -> list[dict[str, Any]]:
    return kustomize(ROOT / "examples" / "fleet")


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize(ROOT / "deploy")


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = [o for o in objects if o["kind"] == kind]
    return obj


def test_the_fleet_runs_a_statefulset_scraped_per_pod_instead_of_the_deployment(fleet):
    kinds = {o["kind"] for o in fleet}
    assert "Deployment" not in kinds and "ServiceMonitor" not in kinds
    assert {"StatefulSet", "PodMonitor", "PodDisruptionBudget", "Service"} <= kinds
    assert all(o["metadata"].get("namespace") == "openclaw" for o in fleet)
    sts, service, monitor = one(fleet, "StatefulSet"), one(fleet, "Service"), one(fleet, "PodMonitor")
    # The governing Service is headless and selects the pods; the PodMonitor selects them too.
    assert sts["spec"]["serviceName"] == service["metadata"]["name"] and service["spec"]["clusterIP"] == "None"
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    for selector in (service["spec"]["selector"], monitor["spec"]["selector"]["matchLabels"],
                     one(fleet, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= pod_labels.items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    ports = {p["name"] for c in sts["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
    assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
    # Same job as the base's ServiceMonitor gives (the alerts select it), same label handling.
    assert {"action": "replace", "targetLabel": "job", "replacement": "openclaw-slo-exporter"} in endpoint["relabelings"]
    assert endpoint["honorLabels"] is True


def test_the_pod_template_is_the_base_deployments_plus_pod_name(fleet, base):
    sts_pod = copy.deepcopy(one(fleet, "StatefulSet")["spec"]["template"])
    (container,) = sts_pod["spec"]["containers"]
    assert container.pop("env") == [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert sts_pod == one(base, "Deployment")["spec"]["template"]


def test_each_replica_reads_its_own_shard_from_its_pod_name(fleet, monkeypatch):
    sts = one(fleet, "StatefulSet")
    config_map = next(o for o in fleet if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "openclaw-slo-exporter-config")
    raw = yaml.safe_load(config_map["data"]["exporter.yml"])
    replicas = sts["spec"]["replicas"]
    assert raw["sharding"]["replicas"] == replicas  # else a replica finds no ordinal, or targets go unprobed
    for ordinal in range(replicas):
        monkeypatch.setenv("POD_NAME", f"{sts['metadata']['name']}-{ordinal}")
        assert parse_config(raw).sharding == Shard(replicas, ordinal, raw["sharding"]["replication"])
    # The base config stays unsharded: one Deployment replica probes everything.
    base_raw = yaml.safe_load((ROOT / "deploy" / "exporter.yml").read_text())
    assert "sharding" not in base_raw
    assert {k: v for k, v in raw.items() if k != "sharding"} == base_raw


def test_fleet_objects_validate_against_the_kubernetes_and_operator_schemas(fleet):
    for obj in fleet:
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    monitors = [o for o in fleet if o["kind"] == "PodMonitor"]
    proc = validate_crds(monitors)
    assert proc.returncode == 0 and proc.stdout.count("ok PodMonitor/") == 1, proc.stdout + proc.stderr
    broken = json.loads(json.dumps(one(fleet, "StatefulSet")))
    broken["spec"]["serviceNam"] = broken["spec"].pop("serviceName")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)
