"""deploy/ agrees with the config it ships, built by kustomize (kubectl's) as a user builds it:
the base, and the base with each optional component (components/pod-watcher,
components/model-provider).

- every file the config names (token, state file, provider key, kubeconfig, CA) is on a mounted
  volume that provides it, and the state file's volume is writable;
- the config is mounted as a directory (no subPath), so a changed ConfigMap reaches the file;
- Kubernetes API permissions and the token exist only with the watcher, for its namespaces;
- egress is exactly what the config talks to.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VARIANTS = {"base": [], "pod-watcher": ["pod-watcher"], "model-provider": ["model-provider"],
            # both, the way docs/kubernetes.md says: a component of the user's own, listed last,
            # holding one config with both sections (each component alone replaces the file)
            "both": ["pod-watcher", "model-provider", "+both"]}
DNS = {(53, "UDP"), (53, "TCP")}
API_SERVER = {(443, "TCP"), (6443, "TCP")}


def combined_component(overlay: Path) -> str:
    """The user's own component for both: one exporter.yml with the kubernetes: and model: sections."""
    config = yaml.safe_load((DEPLOY / "components" / "model-provider" / "exporter.yml").read_text())
    config["kubernetes"] = yaml.safe_load((DEPLOY / "components" / "pod-watcher" / "exporter.yml").read_text())["kubernetes"]
    both = overlay / "both"
    both.mkdir()
    (both / "exporter.yml").write_text(yaml.safe_dump(config))
    (both / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component",
        "configMapGenerator": [{"name": "openclaw-slo-exporter-config", "behavior": "merge", "files": ["exporter.yml"]}]}))
    return "both"


def build(tmp_path: Path, components: list[str]) -> list[dict[str, Any]]:
    """`kubectl kustomize` of an overlay holding deploy/ and the given components."""
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to build deploy/")
    overlay = tmp_path / ("overlay-" + "-".join(c.lstrip("+") for c in components or ["base"]))
    overlay.mkdir()
    rel = os.path.relpath(DEPLOY, overlay)
    paths = [combined_component(overlay) if c == "+both" else f"{rel}/components/{c}" for c in components]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [rel], "components": paths}))
    out = subprocess.run(["kubectl", "kustomize", str(overlay)], check=True, capture_output=True, text=True, timeout=60)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


class Built:
    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self.deployment = self.one("Deployment")
        self.pod = self.deployment["spec"]["template"]["spec"]
        (self.container,) = self.pod["containers"]
        self.volumes = {v["name"]: v for v in self.pod["volumes"]}
        config_volume = self.volumes["config"]["configMap"]["name"]
        self.config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_volume)
        (arg,) = [a for a in self.container["args"] if a.startswith("--config.file=")]
        self.config_path = arg.split("=", 1)[1]
        self.config_raw = yaml.safe_load(self.config_map["data"][posixpath.basename(self.config_path)])
        self.config = parse_config(self.config_raw, source=self.config_path)
        self.watcher = self.config.kubernetes is not None and self.config.kubernetes.enabled

    def one(self, kind: str) -> dict[str, Any]:
        (obj,) = [o for o in self.objects if o["kind"] == kind]
        return obj

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def mount_for(self, path: str) -> tuple[dict[str, Any], str] | None:
        """The volumeMount holding `path` (the longest mountPath prefix) and the path inside it."""
        best = None
        for m in self.container.get("volumeMounts", []):
            root = m["mountPath"].rstrip("/")
            if path.startswith(root + "/") and (best is None or len(root) > len(best[0]["mountPath"].rstrip("/"))):
                best = (m, path[len(root) + 1:])
        return best

    def egress(self) -> set[tuple[int, str]]:
        labels = self.pod_labels()
        ports = set()
        for policy in self.all("NetworkPolicy"):
            if not policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items():
                continue
            for rule in policy["spec"].get("egress", []):
                ports |= {(p["port"], p.get("protocol", "TCP")) for p in rule.get("ports", [])}
        return ports

    def pod_labels(self) -> dict[str, str]:
        return self.deployment["spec"]["template"]["metadata"]["labels"]


def named_files(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every file path the config names: keys ending in `_file`, and `kubeconfig`."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{where}.{k}" if where else k
            if isinstance(v, str) and (k.endswith("_file") or k == "kubeconfig"):
                out.append((here, v))
            else:
                out += named_files(v, here)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += named_files(v, f"{where}[{i}]")
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Built]:
    tmp = tmp_path_factory.mktemp("kustomize")
    return {name: Built(build(tmp, components)) for name, components in VARIANTS.items()}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_config_is_mounted_as_a_directory_so_changes_reach_the_file(built, variant):
    b = built[variant]
    mounts = b.container["volumeMounts"]
    assert not [m for m in mounts if "subPath" in m or "subPathExpr" in m], mounts  # a subPath mount never updates
    mount, inside = b.mount_for(b.config_path)
    assert mount["name"] == "config" and inside in b.config_map["data"]
    # A stable ConfigMap name: a config change updates this ConfigMap (and the mounted file) in
    # place instead of creating a new one that replaces the pod and its state.
    assert b.config_map["metadata"]["name"] == "openclaw-slo-exporter-config"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_file_the_config_names_is_on_a_mounted_volume(built, variant):
    b = built[variant]
    files = named_files(b.config_raw)
    assert ("slo.state_file", "/var/lib/openclaw-exporter/slo.sqlite") in files  # the live budget is kept
    for key, path in files:
        found = b.mount_for(path)
        assert found is not None, f"{variant}: {key} = {path} is on no mounted volume"
        mount, inside = found
        volume = b.volumes[mount["name"]]
        if key.endswith("state_file"):
            assert not mount.get("readOnly") and ("emptyDir" in volume or "persistentVolumeClaim" in volume), \
                f"{variant}: {key} must be on a writable volume, not {volume}"
        elif "secret" in volume:
            items = volume["secret"].get("items")
            assert items is None or inside in [i["path"] for i in items], f"{variant}: {key} = {path} is not in {volume}"
            assert mount.get("readOnly") is True
        elif "configMap" in volume:
            assert inside in b.config_map["data"] or volume["configMap"]["name"] != b.config_map["metadata"]["name"]
        else:
            pytest.fail(f"{variant}: {key} = {path} is on volume {mount['name']}, which cannot hold it: {volume}")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_api_permissions_only_with_the_watcher_and_only_its_namespaces(built, variant):
    b = built[variant]
    watcher = b.watcher
    assert watcher == (variant in ("pod-watcher", "both"))
    roles, bindings = b.all("Role"), b.all("RoleBinding")
    assert not b.all("ClusterRole") and not b.all("ClusterRoleBinding")
    assert b.pod.get("automountServiceAccountToken") is watcher
    if not watcher:
        assert not roles and not bindings, f"{variant}: RBAC without the watcher"
        return
    assert {r["metadata"]["namespace"] for r in roles} == {s.namespace for s in b.config.kubernetes.selectors}
    for role in roles:
        # Pods/Events, and the backup CronJobs/Jobs (kubernetes.backups): read-only, nothing more.
        assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
                                 {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": ["get", "list", "watch"]}]
    account = b.one("ServiceAccount")["metadata"]
    assert {(s["kind"], s["name"], s["namespace"]) for bnd in bindings for s in bnd["subjects"]} == {
        ("ServiceAccount", account["name"], account["namespace"])}
    assert b.pod["serviceAccountName"] == account["name"]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_egress_is_exactly_what_the_config_talks_to(built, variant):
    b = built[variant]
    expected = set(DNS)
    for target in b.config.targets:
        for url in (target.http_url, target.ws_url):
            port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
            expected.add((port, "TCP"))
        model = target.modules.get("model")
        if model is not None and model.enabled:
            base_url = b.config_raw["targets"][b.config.targets.index(target)]["model"]["base_url"]
            assert base_url.startswith("https://")
            expected.add((443, "TCP"))
    if b.watcher:
        expected |= API_SERVER
    assert b.egress() == expected


@pytest.mark.parametrize("component,section", [("pod-watcher", "kubernetes"), ("model-provider", "model")])
def test_each_components_config_is_the_base_config_plus_its_own_section(component, section):
    base = yaml.safe_load((DEPLOY / "exporter.yml").read_text())
    mine = yaml.safe_load((DEPLOY / "components" / component / "exporter.yml").read_text())
    if section == "kubernetes":
        assert mine.pop("kubernetes")["enabled"] is True
    else:
        for target in mine["targets"]:
            assert target.pop("model")
    assert mine == base, f"deploy/components/{component}/exporter.yml drifted from deploy/exporter.yml"


def test_the_gateway_the_config_probes_is_what_the_network_policy_lets_through(built):
    b = built["base"]
    (target,) = b.config.targets
    host = target.http_url.split("//", 1)[1].split(":", 1)[0]
    service, namespace = host.split(".")[:2]
    assert namespace == b.deployment["metadata"]["namespace"]
    policy = next(p for p in b.all("NetworkPolicy") if p["metadata"]["name"] == "openclaw-slo-exporter")
    gateway_rules = [r for r in policy["spec"]["egress"] if any("podSelector" in t and "namespaceSelector" not in t for t in r["to"])]
    (rule,) = gateway_rules
    # The watcher's default selector (app=openclaw-gateway) names the same pods the policy opens.
    from exporter.kube.config import DEFAULT_LABEL_SELECTOR
    key, value = DEFAULT_LABEL_SELECTOR.split("=")
    assert rule["to"][0]["podSelector"]["matchLabels"] == {key: value}
    assert service == "openclaw-gateway"


async def test_a_configmap_update_reaches_the_exporter_through_the_directory_mount(tmp_path):
    """The kubelet updates a ConfigMap directory mount atomically: the files are symlinks through
    `..data`, which it re-points at a new timestamped directory (a subPath mount, by contrast, is
    bound to the original file and never changes). Reproduced on disk here, then SIGHUP (what
    docs/kubernetes.md tells users to send): the exporter reads the new config.
    The targets are local servers answering ready: this is about the reload, not the gateway."""
    import asyncio
    import signal

    import httpx

    from conftest import wait_for
    from localservers import fixed, serve
    from support.daemons import exporter
    from ports import free_port

    mount = tmp_path / "etc-openclaw-exporter"
    mount.mkdir()

    def publish(version: str, doc: dict[str, Any]) -> None:
        data = mount / f"..{version}"
        data.mkdir()
        (data / "exporter.yml").write_text(yaml.safe_dump(doc))
        tmp_link = mount / "..data_tmp"
        tmp_link.symlink_to(data.name)
        os.replace(tmp_link, mount / "..data")  # the atomic swap the kubelet's AtomicWriter does
        if not (mount / "exporter.yml").is_symlink():
            (mount / "exporter.yml").symlink_to("..data/exporter.yml")

    def config(*names: str, url: str) -> dict[str, Any]:
        return {"targets": [{"name": n, "url": url, "websocket": {"enabled": False},
                             "readiness": {"interval": "1s", "timeout": "500ms"}} for n in names]}

    async with serve(fixed(200, '{"ready":true}')) as url:
        publish("2026_11_30_21_00_00.000000001", config("first", url=url))
        port = free_port()
        service = await asyncio.to_thread(exporter(tmp_path, port, mount / "exporter.yml").start)
        try:
            async def targets() -> set[str]:
                async with httpx.AsyncClient() as client:
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                return {line.split('target="', 1)[1].split('"', 1)[0] for line in text.splitlines()
                        if line.startswith("openclaw_probe_success{")}
            assert await wait_for(lambda: targets(), timeout=15) == {"first"}
            publish("2026_11_30_21_05_00.000000002", config("first", "second", url=url))
            service.signal(signal.SIGHUP)

            async def both():
                return await targets() == {"first", "second"}
            await wait_for(both, timeout=15)
        finally:
            await asyncio.to_thread(service.stop)


def test_both_components_with_the_documented_combined_config_keep_both_sections(built):
    b = built["both"]
    assert b.watcher
    assert all(t.modules.get("model") is not None and t.modules["model"].enabled for t in b.config.targets)


# --- the storage sidecar component, on the example gateway (examples/gateway) ---------------------

def _gateway_with_sidecar() -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "examples" / "gateway")], check=True,
                         capture_output=True, text=True, timeout=60)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_storage_sidecar_mounts_only_a_probe_dir_of_the_gateways_workspace_volume():
    docs = _gateway_with_sidecar()
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    gateway, sidecar = containers["openclaw-gateway"], containers["storage-probe"]
    (workspace,) = [m for m in gateway["volumeMounts"] if m["mountPath"].endswith("/workspace")]
    probe_mounts = [m for m in sidecar["volumeMounts"] if m["name"] == workspace["name"]]
    # Same volume, a dedicated directory inside the workspace's subPath, read-write; nothing else of it.
    (probe,) = probe_mounts
    assert probe["subPath"].startswith(workspace["subPath"] + "/") and not probe.get("readOnly")
    assert {v["name"] for v in spec["volumes"]} >= {workspace["name"], "storage-probe-config", "storage-probe-tmp"}
    # The probe directory is handed to the sidecar's user by an init container that sees only it.
    (init,) = spec["initContainers"]
    assert [(m["name"], m["subPath"]) for m in init["volumeMounts"]] == [(probe["name"], probe["subPath"])]
    assert init["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    assert sidecar["securityContext"]["runAsUser"] == 10001 and sidecar["securityContext"]["readOnlyRootFilesystem"]
    assert "10001:10001" in init["command"]
    # Its own small resource limits.
    assert sidecar["resources"]["limits"] == {"cpu": "100m", "memory": "128Mi"}
    # Its config probes exactly the mounted directory, with the storage module only.
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    (config_mount,) = [m for m in sidecar["volumeMounts"] if m["name"] == "storage-probe-config"]
    config_file = [a.split("=", 1)[1] for a in sidecar["args"] if a.startswith("--config.file=")][0]
    assert posixpath.dirname(config_file) == config_mount["mountPath"]
    doc = yaml.safe_load(config_map["data"][posixpath.basename(config_file)])
    (target,) = doc["targets"]
    assert target["storage"]["path"] == probe["mountPath"]
    assert target["readiness"] == {"enabled": False} and target["websocket"] == {"enabled": False}


def test_storage_sidecar_podmonitor_scrapes_its_port_with_the_exporters_job():
    docs = _gateway_with_sidecar()
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (monitor,) = [d for d in docs if d["kind"] == "PodMonitor"]
    template = deployment["spec"]["template"]
    (sidecar,) = [c for c in template["spec"]["containers"] if c["name"] == "storage-probe"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in {p["name"] for p in sidecar["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    assert monitor["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    from slo import alert_rules
    job = alert_rules.load_config().selectors.exporter_selector
    assert {"action": "replace", "targetLabel": "job", "replacement": "openclaw-slo-exporter"} in endpoint["relabelings"]
    assert job == 'job="openclaw-slo-exporter"'
