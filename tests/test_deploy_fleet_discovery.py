"""examples/fleet-discovery, as `kubectl kustomize` builds it: the sharded StatefulSet of
components/fleet with the discovery of components/discovery. Its one exporter.yml has both
sections and is accepted by `exporter check` as each replica reads it; the StatefulSet's pods get
the ServiceAccount token discovery needs, with no Secret access in the exporter's own install;
every object validates against the Kubernetes schemas (the PodMonitor against the CRD's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from test_deploy_fleet import kustomize, one
from test_packaging import CRD_KINDS, KUBE_VERSION, validate_crds

from exporter.cli import main
from exporter.config import parse_config
from exporter.sharding import Shard

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "deploy" / "components"


@pytest.fixture(scope="module")
def built() -> list[dict[str, Any]]:
    return kustomize(ROOT / "examples" / "fleet-discovery")


def exporter_yml(objects: list[dict[str, Any]]) -> str:
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "openclaw-slo-exporter-config")
    return config_map["data"]["exporter.yml"]


def test_the_config_is_the_discovery_components_plus_the_fleets_sharding(built):
    raw = yaml.safe_load(exporter_yml(built))
    discovery = yaml.safe_load((COMPONENTS / "discovery" / "exporter.yml").read_text())
    fleet = yaml.safe_load((COMPONENTS / "fleet" / "exporter.yml").read_text())
    # Neither component's file alone: the later one would replace the other's section.
    assert {k: v for k, v in raw.items() if k != "sharding"} == discovery
    assert raw["sharding"] == fleet["sharding"]
    assert raw["sharding"]["replicas"] == one(built, "StatefulSet")["spec"]["replicas"]


def test_each_replica_accepts_the_config_with_its_own_ordinal(built, tmp_path, monkeypatch, capsys):
    sts = one(built, "StatefulSet")
    raw = yaml.safe_load(exporter_yml(built))
    # The state file's directory is the pod's `state` volume (tests/test_deploy.py checks the
    # mount); here it is a directory of this machine, the only change to the shipped file.
    raw["slo"]["state_file"] = str(tmp_path / "slo.sqlite")
    path = tmp_path / "exporter.yml"
    path.write_text(yaml.safe_dump(raw))
    for ordinal in range(sts["spec"]["replicas"]):
        monkeypatch.setenv("POD_NAME", f"{sts['metadata']['name']}-{ordinal}")
        assert main(["check", "--config.file", str(path)]) == 0, capsys.readouterr()
        config = parse_config(raw)
        assert config.sharding == Shard(raw["sharding"]["replicas"], ordinal, raw["sharding"]["replication"])
        assert config.discovery is not None and config.targets == ()
    # A pod name without an ordinal (not a StatefulSet pod) is refused, saying why.
    monkeypatch.setenv("POD_NAME", "openclaw-slo-exporter-7d9f8b6c5-x2x9z")
    capsys.readouterr()
    assert main(["check", "--config.file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sharding.ordinal: not set, and the pod name" in err, err


def test_the_statefulset_pods_may_list_services_and_no_secrets(built):
    kinds = {o["kind"] for o in built}
    assert "Deployment" not in kinds and "ServiceMonitor" not in kinds
    sts = one(built, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True  # discovery talks to the API server
    (container,) = pod["containers"]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"]
    account = one(built, "ServiceAccount")["metadata"]
    assert pod["serviceAccountName"] == account["name"]
    role, binding = one(built, "ClusterRole"), one(built, "ClusterRoleBinding")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]}]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}]
    # Token Secrets are granted per tenant namespace (deploy/components/discovery/tenant), never here.
    assert all("secrets" not in rule["resources"] for o in built if o["kind"] in ("Role", "ClusterRole")
               for rule in o["rules"])
    # Every NetworkPolicy (the base's and discovery's egress) selects the StatefulSet's pods.
    labels = sts["spec"]["template"]["metadata"]["labels"]
    policies = [o for o in built if o["kind"] == "NetworkPolicy"]
    assert {p["metadata"]["name"] for p in policies} >= {"openclaw-slo-exporter-discovery"}
    assert all(p["spec"]["podSelector"]["matchLabels"].items() <= labels.items() for p in policies)


def test_every_object_validates_against_the_kubernetes_and_operator_schemas(built):
    for obj in built:
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    crds = [o for o in built if o["kind"] in CRD_KINDS]
    proc = validate_crds(crds)
    assert proc.returncode == 0 and proc.stdout.count("ok PodMonitor/") == 1, proc.stdout + proc.stderr
