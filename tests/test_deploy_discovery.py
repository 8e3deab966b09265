"""deploy/components/discovery, built by kustomize (kubectl's) as a user builds it: the
discovery config it ships is valid, it may list/watch Services and nothing else cluster-wide
(no Secret anywhere in it), and each tenant's token-reader grants `get` on one Secret by name."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from test_deploy import API_SERVER, DEPLOY, DNS, Built, build

from exporter.settings.discovery import DEFAULT_SECRET_KEY, parse_secret_ref


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return Built(build(tmp_path_factory.mktemp("kustomize"), ["discovery"]))


def test_the_shipped_discovery_config_is_valid_and_has_no_static_targets(built):
    d = built.config.discovery
    assert d is not None and built.config.targets == ()
    assert (d.role, d.namespaces, d.in_cluster) == ("service", (), True)
    # The same Secret (name and key) the base install mounts for its one gateway.
    volume = built.volumes["gateway-token"]["secret"]
    assert parse_secret_ref(d.token_secret) == (volume["secretName"], DEFAULT_SECRET_KEY)
    assert [i["key"] for i in volume["items"]] == [DEFAULT_SECRET_KEY]


def test_cluster_wide_it_may_only_list_and_watch_services(built):
    (role,) = built.all("ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]}]
    (binding,) = built.all("ClusterRoleBinding")
    account = built.one("ServiceAccount")["metadata"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}]
    # No Secret access at all in the exporter's own install (the tenant/ Roles grant it).
    for obj in built.all("ClusterRole") + built.all("Role"):
        assert all("secrets" not in rule["resources"] for rule in obj["rules"])
    assert built.pod["automountServiceAccountToken"] is True


def test_egress_is_dns_the_api_server_and_the_gateways_in_every_namespace(built):
    assert built.egress() == DNS | API_SERVER | {(18789, "TCP")}
    policy = next(p for p in built.all("NetworkPolicy") if p["metadata"]["name"] == "openclaw-slo-exporter-discovery")
    (gateways,) = [r for r in policy["spec"]["egress"] if any("namespaceSelector" in t for t in r["to"])]
    key, value = built.config.discovery.label_selector.split("=")
    assert gateways["to"] == [{"namespaceSelector": {}, "podSelector": {"matchLabels": {key: value}}}]


def test_a_tenants_token_reader_grants_get_on_its_one_secret_by_name(tmp_path, built):
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to build deploy/")
    tenant = tmp_path / "tenant-acme"
    shutil.copytree(DEPLOY / "components" / "discovery" / "tenant", tenant)
    kustomization = yaml.safe_load((tenant / "kustomization.yaml").read_text())
    kustomization["namespace"] = "tenant-acme"  # what `kustomize edit set namespace tenant-acme` does
    (tenant / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    out = subprocess.run(["kubectl", "kustomize", str(tenant)], check=True, capture_output=True, text=True, timeout=60)
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    (role,) = [d for d in docs if d["kind"] == "Role"]
    (binding,) = [d for d in docs if d["kind"] == "RoleBinding"]
    secret_name, _ = parse_secret_ref(built.config.discovery.token_secret)
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "tenant-acme"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret_name],
                              "verbs": ["get"]}]
    account = built.one("ServiceAccount")["metadata"]
    # The subject stays the exporter's account in its own namespace, not the tenant's.
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}]
