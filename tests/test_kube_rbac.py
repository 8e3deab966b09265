"""deploy/rbac.yaml grants exactly what the watcher uses: read Pods and Events, one namespace."""

from __future__ import annotations

from pathlib import Path

import yaml

from exporter.kube.config import DEFAULT_NAMESPACE

RBAC = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"


def test_rbac_is_least_privilege():
    docs = {d["kind"]: d for d in yaml.safe_load_all(RBAC.read_text())}
    assert set(docs) == {"ServiceAccount", "Role", "RoleBinding"}  # no ClusterRole
    assert {d["metadata"]["namespace"] for d in docs.values()} == {DEFAULT_NAMESPACE}
    assert docs["ServiceAccount"]["metadata"]["name"] == "openclaw-slo-exporter"
    (rule,) = docs["Role"]["rules"]
    assert rule == {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]}
    binding = docs["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": docs["Role"]["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "openclaw-slo-exporter",
                                    "namespace": DEFAULT_NAMESPACE}]
