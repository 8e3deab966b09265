"""deploy/components/pod-watcher/rbac.yaml grants exactly what the watcher uses: read Pods and
Events, and backup CronJobs and Jobs, one namespace; the base install's ServiceAccount gets no token and no permissions."""

from __future__ import annotations

from pathlib import Path

import yaml

from exporter.kube.config import DEFAULT_NAMESPACE

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RBAC = DEPLOY / "components" / "pod-watcher" / "rbac.yaml"
SERVICE_ACCOUNT = DEPLOY / "serviceaccount.yaml"


def test_rbac_is_least_privilege():
    docs = {d["kind"]: d for d in yaml.safe_load_all(RBAC.read_text())}
    assert set(docs) == {"Role", "RoleBinding"}  # no ClusterRole
    (account,) = yaml.safe_load_all(SERVICE_ACCOUNT.read_text())
    assert account["kind"] == "ServiceAccount" and account["metadata"]["name"] == "openclaw-slo-exporter"
    assert account["automountServiceAccountToken"] is False  # no API access without the watcher
    assert {d["metadata"]["namespace"] for d in [*docs.values(), account]} == {DEFAULT_NAMESPACE}
    core, batch = docs["Role"]["rules"]
    assert core == {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]}
    # Backups (kubernetes.backups): read the CronJobs and their Jobs, never create or delete them.
    assert batch == {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": ["get", "list", "watch"]}
    binding = docs["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": docs["Role"]["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "openclaw-slo-exporter",
                                    "namespace": DEFAULT_NAMESPACE}]
