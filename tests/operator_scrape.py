"""The Prometheus Operator's scrape config for a ServiceMonitor, reproduced for tests.

What the Operator (pkg/prometheus/promcfg.go, generateServiceMonitorConfig; its golden files in
pkg/prometheus/testdata) generates for one ServiceMonitor endpoint, in its order:

- job_name `serviceMonitor/<namespace>/<name>/<endpoint index>`, `honor_labels` always written
  (the endpoint's `honorLabels`, default false), `honor_timestamps` when set;
- `kubernetes_sd_configs` with role `endpoints` (the default `serviceDiscoveryRole`; `endpointslice`
  only when asked) restricted to the monitor's namespace (or `namespaceSelector.matchNames`);
- scrape_interval / scrape_timeout / metrics_path / params / scheme from the endpoint when set;
- relabel_configs: `job` -> `__tmp_prometheus_job_name`; keep on the Service's labels for each
  `selector.matchLabels` (and matchExpressions); keep on the endpoint port name; `node`/`pod` from the
  address' target ref; `namespace`, `service`, `pod`, `container` from the meta labels; drop pods in
  phase Failed/Succeeded; the monitor's `targetLabels` (Service labels) and `podTargetLabels`;
  `job` = Service name, overridden by the Service's `jobLabel` label when it has one; `endpoint` = the
  port name; then the endpoint's own `relabelings`; then the sharding rules (hashmod of `__address__`,
  keep shard `$(SHARD)`, which the config reloader substitutes: 0 with one shard);
- metric_relabel_configs: the endpoint's `metricRelabelings`.

No Kubernetes API server runs in the tests, so :func:`scrape_config_for_file_sd` swaps the
`kubernetes_sd_configs` for a `file_sd_configs` whose targets carry exactly the `__meta_kubernetes_*`
labels Prometheus' kubernetes_sd gives an Endpoints address backed by a Pod
(discovery/kubernetes/endpoints.go: endpoint, pod, container-port and service labels). The
relabel_configs stay as generated, so the REAL Prometheus does the relabeling.

Only what the shipped and test monitors use is supported; anything else raises, rather than being
silently ignored (TLS, authorization, proxies, limits).

PodMonitors (generatePodMonitorConfig, same file), used by deploy/components/storage-sidecar:
job_name `podMonitor/<namespace>/<name>/<index>`; `kubernetes_sd_configs` role `pod`; the
`__tmp_prometheus_job_name` copy; the Failed/Succeeded phase drop (unless `filterRunning: false`);
keeps on the POD's labels for the selector; keep on the container port name (`port`) or number
(`portNumber`); `namespace`, `container`, `pod` from the meta labels (no `service`, no `node`);
`podTargetLabels`; `job` = "<namespace>/<name>", overridden by the pod's `jobLabel` label; `endpoint`
= the port name; then the endpoint's own `relabelings` (so they may set `job`); then sharding.
:func:`pod_target` gives the `__meta_kubernetes_pod_*` labels of kubernetes_sd `role: pod`
(discovery/kubernetes/pod.go: one target per container port).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
FIXTURES_DIR = ROOT / "tests" / "fixtures" / "operator"

# Endpoint fields this helper reproduces. The Operator supports more; a monitor using one of
# them must not pass silently with a config that differs from the Operator's.
SUPPORTED_ENDPOINT_KEYS = {"port", "path", "interval", "scrapeTimeout", "honorLabels", "honorTimestamps",
                           "relabelings", "metricRelabelings", "scheme", "params", "targetPort"}
SUPPORTED_SPEC_KEYS = {"selector", "endpoints", "jobLabel", "targetLabels", "podTargetLabels",
                       "namespaceSelector", "serviceDiscoveryRole"}
OPERATOR_DEFAULT_SHARD = "0"  # one shard: what the config reloader writes for $(SHARD)


def sanitize_label_name(name: str) -> str:
    """Prometheus' strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_`."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)

def selector_relabelings(selector: dict[str, Any], meta: str) -> list[dict[str, Any]]:
    """The keep/drop relabelings the Operator generates for a label selector, on the labels of
    the discovered Service (meta `__meta_kubernetes_service`) or Pod (`__meta_kubernetes_pod`)."""
    rules: list[dict[str, Any]] = []
    for key in sorted(selector.get("matchLabels") or {}):
        k = sanitize_label_name(key)
        rules.append({"action": "keep", "source_labels": [f"{meta}_label_{k}", f"{meta}_labelpresent_{k}"],
                      "regex": f"({selector['matchLabels'][key]});true"})
    for exp in selector.get("matchExpressions") or []:
        k = sanitize_label_name(exp["key"])
        both = [f"{meta}_label_{k}", f"{meta}_labelpresent_{k}"]
        present = [f"{meta}_labelpresent_{k}"]
        values = "|".join(exp.get("values") or [])
        rules.append({"In": {"action": "keep", "source_labels": both, "regex": f"({values});true"},
                      "NotIn": {"action": "drop", "source_labels": both, "regex": f"({values});true"},
                      "Exists": {"action": "keep", "source_labels": present, "regex": "true"},
                      "DoesNotExist": {"action": "drop", "source_labels": present, "regex": "true"}}[exp["operator"]])
    return rules



def _relabel(rc: dict[str, Any], where: str) -> dict[str, Any]:
    """A monitoringv1.RelabelConfig (camelCase) as Prometheus config, in the Operator's key order."""
    known = {"sourceLabels", "separator", "targetLabel", "regex", "modulus", "replacement", "action"}
    unknown = set(rc) - known
    if unknown:
        raise ValueError(f"{where}: unsupported relabel keys {sorted(unknown)}")
    out: dict[str, Any] = {}
    if rc.get("sourceLabels"):
        out["source_labels"] = list(rc["sourceLabels"])
    if "separator" in rc:
        out["separator"] = rc["separator"]
    if rc.get("targetLabel"):
        out["target_label"] = rc["targetLabel"]
    if rc.get("regex"):
        out["regex"] = rc["regex"]
    if rc.get("modulus"):
        out["modulus"] = rc["modulus"]
    if "replacement" in rc:
        out["replacement"] = rc["replacement"]
    if rc.get("action"):
        out["action"] = rc["action"].lower()
    return out


def service_monitor_scrape_configs(monitor: dict[str, Any], namespace: str | None = None,
                                   shard: str = OPERATOR_DEFAULT_SHARD) -> list[dict[str, Any]]:
    """The scrape configs (one per endpoint) the Operator generates for one ServiceMonitor.

    `namespace` is the monitor's namespace when its manifest has none (kustomize sets it);
    `shard` is what the config reloader substitutes for `$(SHARD)` (pass "$(SHARD)" to compare
    with the Operator's golden files)."""
    if monitor.get("kind") != "ServiceMonitor":
        raise ValueError(f"not a ServiceMonitor: {monitor.get('kind')!r}")
    meta = monitor["metadata"]
    ns = meta.get("namespace") or namespace
    if not ns:
        raise ValueError(f"ServiceMonitor {meta['name']}: no namespace")
    spec = monitor["spec"]
    unknown = set(spec) - SUPPORTED_SPEC_KEYS
    if unknown:
        raise ValueError(f"ServiceMonitor {meta['name']}: unsupported spec keys {sorted(unknown)}")
    role = "endpointslice" if spec.get("serviceDiscoveryRole") == "EndpointSlice" else "endpoints"
    prefix = "__meta_kubernetes_endpointslice_" if role == "endpointslice" else "__meta_kubernetes_endpoint_"
    nsel = spec.get("namespaceSelector") or {}
    if nsel.get("any"):
        namespaces: list[str] = []
    else:
        namespaces = list(nsel.get("matchNames") or [ns])
    selector = spec.get("selector") or {}

    configs = []
    for i, ep in enumerate(spec["endpoints"]):
        where = f"ServiceMonitor {meta['name']} endpoints[{i}]"
        unknown = set(ep) - SUPPORTED_ENDPOINT_KEYS
        if unknown:
            raise ValueError(f"{where}: unsupported keys {sorted(unknown)} (extend tests/operator_scrape.py)")
        cfg: dict[str, Any] = {"job_name": f"serviceMonitor/{ns}/{meta['name']}/{i}",
                               "honor_labels": bool(ep.get("honorLabels", False))}
        if "honorTimestamps" in ep:
            cfg["honor_timestamps"] = bool(ep["honorTimestamps"])
        sd: dict[str, Any] = {"role": role}
        if namespaces:
            sd["namespaces"] = {"names": namespaces}
        cfg["kubernetes_sd_configs"] = [sd]
        for src, dst in (("interval", "scrape_interval"), ("scrapeTimeout", "scrape_timeout"),
                         ("path", "metrics_path"), ("params", "params"), ("scheme", "scheme")):
            if ep.get(src):
                cfg[dst] = ep[src]

        rl: list[dict[str, Any]] = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
        rl += selector_relabelings(selector, "__meta_kubernetes_service")
        if ep.get("port"):
            rl.append({"action": "keep", "source_labels": [f"{prefix}port_name"], "regex": ep["port"]})
        elif ep.get("targetPort") is not None:
            tp = ep["targetPort"]
            if isinstance(tp, int):
                rl.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": tp})
            else:
                rl.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": tp})
        kind_name = [f"{prefix}address_target_kind", f"{prefix}address_target_name"]
        rl += [
            {"source_labels": kind_name, "separator": ";", "regex": "Node;(.*)", "replacement": "${1}", "target_label": "node"},
            {"source_labels": kind_name, "separator": ";", "regex": "Pod;(.*)", "replacement": "${1}", "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
            {"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"},
        ]
        for label in spec.get("targetLabels") or []:
            rl.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitize_label_name(label)}"],
                       "target_label": sanitize_label_name(label), "regex": "(.+)", "replacement": "${1}"})
        for label in spec.get("podTargetLabels") or []:
            rl.append({"source_labels": [f"__meta_kubernetes_pod_label_{sanitize_label_name(label)}"],
                       "target_label": sanitize_label_name(label), "regex": "(.+)", "replacement": "${1}"})
        rl.append({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job", "replacement": "${1}"})
        if spec.get("jobLabel"):
            rl.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitize_label_name(spec['jobLabel'])}"],
                       "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
        if ep.get("port"):
            rl.append({"target_label": "endpoint", "replacement": ep["port"]})
        elif ep.get("targetPort") is not None:
            rl.append({"target_label": "endpoint", "replacement": str(ep["targetPort"])})
        rl += [_relabel(r, f"{where}.relabelings") for r in ep.get("relabelings") or []]
        rl += [
            {"source_labels": ["__address__", "__tmp_hash"], "target_label": "__tmp_hash", "regex": "(.+);",
             "replacement": "$1", "action": "replace"},
            {"source_labels": ["__tmp_hash"], "target_label": "__tmp_hash", "modulus": 1, "action": "hashmod"},
            {"source_labels": ["__tmp_hash", "__tmp_disable_sharding"],
             "regex": f"{shard};|.+;.+", "action": "keep"},
        ]
        cfg["relabel_configs"] = rl
        if ep.get("metricRelabelings"):
            cfg["metric_relabel_configs"] = [_relabel(r, f"{where}.metricRelabelings") for r in ep["metricRelabelings"]]
        configs.append(cfg)
    return configs


# --- what kubernetes_sd (role endpoints) would discover ---------------------------------------

@dataclass
class DiscoveredPod:
    """One Ready pod behind a Service, as the Endpoints controller lists it."""

    name: str
    namespace: str
    labels: dict[str, str]
    container: dict[str, Any]  # the pod spec's container with the port (name, ports, image)
    ip: str = "127.0.0.1"
    node: str = "node-1"
    uid: str = "00000000-0000-4000-8000-000000000001"
    controller_kind: str = "ReplicaSet"
    controller_name: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


def _labelset(prefix: str, labels: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in labels.items():
        out[f"{prefix}_label_{sanitize_label_name(k)}"] = v
        out[f"{prefix}_labelpresent_{sanitize_label_name(k)}"] = "true"
    return out


def _annotations(prefix: str, annotations: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in annotations.items():
        out[f"{prefix}_annotation_{sanitize_label_name(k)}"] = v
        out[f"{prefix}_annotationpresent_{sanitize_label_name(k)}"] = "true"
    return out


def endpoints_target(service: dict[str, Any], pod: DiscoveredPod, port: int, address_port: int | None = None) -> dict[str, Any]:
    """A file_sd target group carrying the meta labels kubernetes_sd `role: endpoints` gives the
    address of `pod` for each port of `service` (the real address is pod IP : container port;
    here it is loopback : `address_port`, where the test's process listens)."""
    svc_meta = service["metadata"]
    ns = svc_meta.get("namespace") or pod.namespace
    labels: dict[str, str] = {
        "__meta_kubernetes_namespace": ns,
        "__meta_kubernetes_endpoints_name": svc_meta["name"],
        **_labelset("__meta_kubernetes_endpoints", svc_meta.get("labels") or {}),
        "__meta_kubernetes_service_name": svc_meta["name"],
        **_labelset("__meta_kubernetes_service", svc_meta.get("labels") or {}),
        **_annotations("__meta_kubernetes_service", svc_meta.get("annotations") or {}),
        "__meta_kubernetes_pod_name": pod.name,
        "__meta_kubernetes_pod_ip": pod.ip,
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_node_name": pod.node,
        "__meta_kubernetes_pod_host_ip": "10.0.0.1",
        "__meta_kubernetes_pod_uid": pod.uid,
        "__meta_kubernetes_pod_controller_kind": pod.controller_kind,
        "__meta_kubernetes_pod_controller_name": pod.controller_name or pod.name.rsplit("-", 1)[0],
        **_labelset("__meta_kubernetes_pod", pod.labels),
        **_annotations("__meta_kubernetes_pod", pod.annotations),
        "__meta_kubernetes_endpoint_ready": "true",
        "__meta_kubernetes_endpoint_address_target_kind": "Pod",
        "__meta_kubernetes_endpoint_address_target_name": pod.name,
        "__meta_kubernetes_endpoint_node_name": pod.node,
    }
    (svc_port,) = [p for p in service["spec"]["ports"] if _container_port(pod, p["targetPort"]) == port] or [None]
    if svc_port is None:
        raise ValueError(f"Service {svc_meta['name']} has no port targeting container port {port}")
    labels["__meta_kubernetes_endpoint_port_name"] = svc_port.get("name", "")
    labels["__meta_kubernetes_endpoint_port_protocol"] = svc_port.get("protocol", "TCP")
    for cport in pod.container.get("ports") or []:
        if cport["containerPort"] == port:
            labels["__meta_kubernetes_pod_container_name"] = pod.container["name"]
            labels["__meta_kubernetes_pod_container_port_name"] = cport.get("name", "")
            labels["__meta_kubernetes_pod_container_port_number"] = str(port)
            labels["__meta_kubernetes_pod_container_port_protocol"] = svc_port.get("protocol", "TCP")
    return {"targets": [f"127.0.0.1:{address_port or port}"], "labels": labels}


def node_endpoints_target(service: dict[str, Any], node: str, port_name: str, address_port: int) -> dict[str, Any]:
    """A file_sd target group for an Endpoints address backed by a Node (the kubelet Service the
    Operator maintains): no pod, so no pod or container meta labels."""
    svc_meta = service["metadata"]
    (svc_port,) = [p for p in service["spec"]["ports"] if p.get("name") == port_name]
    labels = {
        "__meta_kubernetes_namespace": svc_meta["namespace"],
        "__meta_kubernetes_endpoints_name": svc_meta["name"],
        **_labelset("__meta_kubernetes_endpoints", svc_meta.get("labels") or {}),
        "__meta_kubernetes_service_name": svc_meta["name"],
        **_labelset("__meta_kubernetes_service", svc_meta.get("labels") or {}),
        "__meta_kubernetes_endpoint_ready": "true",
        "__meta_kubernetes_endpoint_port_name": port_name,
        "__meta_kubernetes_endpoint_port_protocol": svc_port.get("protocol", "TCP"),
        "__meta_kubernetes_endpoint_address_target_kind": "Node",
        "__meta_kubernetes_endpoint_address_target_name": node,
    }
    return {"targets": [f"127.0.0.1:{address_port}"], "labels": labels}


def _container_port(pod: DiscoveredPod, target_port: int | str) -> int | None:
    if isinstance(target_port, int):
        return target_port
    for cport in pod.container.get("ports") or []:
        if cport.get("name") == target_port:
            return cport["containerPort"]
    return None


def scrape_config_for_file_sd(config: dict[str, Any], sd_file: Path, **overrides: Any) -> dict[str, Any]:
    """The Operator's config with its kubernetes_sd_configs swapped for file_sd_configs on `sd_file`;
    `overrides` (e.g. scrape_interval="1s" to make a test fast) replace top-level keys, said aloud."""
    out = {k: v for k, v in config.items() if k != "kubernetes_sd_configs"}
    out["file_sd_configs"] = [{"files": [str(sd_file)], "refresh_interval": "1s"}]
    out.update(overrides)
    return out


# --- PodMonitors ------------------------------------------------------------------------------

SUPPORTED_POD_ENDPOINT_KEYS = {"port", "portNumber", "path", "interval", "scrapeTimeout", "honorLabels",
                               "honorTimestamps", "relabelings", "metricRelabelings", "scheme", "params",
                               "enableHttp2", "filterRunning"}
SUPPORTED_POD_SPEC_KEYS = {"selector", "podMetricsEndpoints", "jobLabel", "podTargetLabels", "namespaceSelector"}


def _sharding(shard: str) -> list[dict[str, Any]]:
    return [
        {"source_labels": ["__address__", "__tmp_hash"], "target_label": "__tmp_hash", "regex": "(.+);",
         "replacement": "$1", "action": "replace"},
        {"source_labels": ["__tmp_hash"], "target_label": "__tmp_hash", "modulus": 1, "action": "hashmod"},
        {"source_labels": ["__tmp_hash", "__tmp_disable_sharding"], "regex": f"{shard};|.+;.+", "action": "keep"},
    ]


def pod_monitor_scrape_configs(monitor: dict[str, Any], namespace: str | None = None,
                               shard: str = OPERATOR_DEFAULT_SHARD) -> list[dict[str, Any]]:
    """The scrape configs (one per podMetricsEndpoint) the Operator generates for one PodMonitor."""
    if monitor.get("kind") != "PodMonitor":
        raise ValueError(f"not a PodMonitor: {monitor.get('kind')!r}")
    meta = monitor["metadata"]
    ns = meta.get("namespace") or namespace
    if not ns:
        raise ValueError(f"PodMonitor {meta['name']}: no namespace")
    spec = monitor["spec"]
    unknown = set(spec) - SUPPORTED_POD_SPEC_KEYS
    if unknown:
        raise ValueError(f"PodMonitor {meta['name']}: unsupported spec keys {sorted(unknown)}")
    nsel = spec.get("namespaceSelector") or {}
    namespaces = [] if nsel.get("any") else list(nsel.get("matchNames") or [ns])
    selector = spec.get("selector") or {}
    configs = []
    for i, ep in enumerate(spec["podMetricsEndpoints"]):
        where = f"PodMonitor {meta['name']} podMetricsEndpoints[{i}]"
        unknown = set(ep) - SUPPORTED_POD_ENDPOINT_KEYS
        if unknown:
            raise ValueError(f"{where}: unsupported keys {sorted(unknown)} (extend tests/operator_scrape.py)")
        cfg: dict[str, Any] = {"job_name": f"podMonitor/{ns}/{meta['name']}/{i}",
                               "honor_labels": bool(ep.get("honorLabels", False))}
        if "honorTimestamps" in ep:
            cfg["honor_timestamps"] = bool(ep["honorTimestamps"])
        sd: dict[str, Any] = {"role": "pod"}
        if namespaces:
            sd["namespaces"] = {"names": namespaces}
        cfg["kubernetes_sd_configs"] = [sd]
        for src, dst in (("interval", "scrape_interval"), ("scrapeTimeout", "scrape_timeout"),
                         ("path", "metrics_path"), ("params", "params"), ("scheme", "scheme")):
            if ep.get(src):
                cfg[dst] = ep[src]
        if "enableHttp2" in ep:
            cfg["enable_http2"] = bool(ep["enableHttp2"])

        rl: list[dict[str, Any]] = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
        if ep.get("filterRunning", True):
            rl.append({"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"})
        rl += selector_relabelings(selector, "__meta_kubernetes_pod")
        if ep.get("port"):
            rl.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": ep["port"]})
        elif ep.get("portNumber"):
            rl.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                       "regex": ep["portNumber"]})
        rl += [
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ]
        for label in spec.get("podTargetLabels") or []:
            rl.append({"source_labels": [f"__meta_kubernetes_pod_label_{sanitize_label_name(label)}"],
                       "target_label": sanitize_label_name(label), "regex": "(.+)", "replacement": "${1}"})
        rl.append({"target_label": "job", "replacement": f"{ns}/{meta['name']}"})
        if spec.get("jobLabel"):
            rl.append({"source_labels": [f"__meta_kubernetes_pod_label_{sanitize_label_name(spec['jobLabel'])}"],
                       "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
        if ep.get("port"):
            rl.append({"target_label": "endpoint", "replacement": ep["port"]})
        rl += [_relabel(r, f"{where}.relabelings") for r in ep.get("relabelings") or []]
        rl += _sharding(shard)
        cfg["relabel_configs"] = rl
        if ep.get("metricRelabelings"):
            cfg["metric_relabel_configs"] = [_relabel(r, f"{where}.metricRelabelings") for r in ep["metricRelabelings"]]
        configs.append(cfg)
    return configs


def pod_target(pod: DiscoveredPod, port: int, address_port: int) -> dict[str, Any]:
    """A file_sd target group with the meta labels kubernetes_sd `role: pod` gives one container
    port of `pod` (the real address is pod IP : port; here loopback : `address_port`)."""
    (cport,) = [p for p in pod.container.get("ports") or [] if p["containerPort"] == port]
    labels = {
        "__meta_kubernetes_namespace": pod.namespace,
        "__meta_kubernetes_pod_name": pod.name,
        "__meta_kubernetes_pod_ip": pod.ip,
        **_labelset("__meta_kubernetes_pod", pod.labels),
        **_annotations("__meta_kubernetes_pod", pod.annotations),
        "__meta_kubernetes_pod_container_init": "false",
        "__meta_kubernetes_pod_container_name": pod.container["name"],
        "__meta_kubernetes_pod_container_image": pod.container.get("image", ""),
        "__meta_kubernetes_pod_container_port_name": cport.get("name", ""),
        "__meta_kubernetes_pod_container_port_number": str(port),
        "__meta_kubernetes_pod_container_port_protocol": cport.get("protocol", "TCP"),
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_node_name": pod.node,
        "__meta_kubernetes_pod_host_ip": "10.0.0.1",
        "__meta_kubernetes_pod_uid": pod.uid,
        "__meta_kubernetes_pod_controller_kind": pod.controller_kind,
        "__meta_kubernetes_pod_controller_name": pod.controller_name or pod.name.rsplit("-", 1)[0],
    }
    return {"targets": [f"127.0.0.1:{address_port}"], "labels": labels}


def check_namespaces(config: dict[str, Any], target: dict[str, Any]) -> None:
    """kubernetes_sd only watches the configured namespaces; file_sd has no such filter, so a
    target from another namespace would be scraped here but not by the Operator: refuse it
    (and a target for another discovery role than the one its meta labels are built for)."""
    sd = config["kubernetes_sd_configs"][0]
    # endpoints_target() gives role=endpoints meta labels, pod_target() role=pod ones.
    built_for = "endpoints" if "__meta_kubernetes_endpoints_name" in target["labels"] else "pod"
    if sd["role"] != built_for:
        raise ValueError(f"{config['job_name']}: role {sd['role']} targets are not reproduced here")
    names = (sd.get("namespaces") or {}).get("names")
    ns = target["labels"]["__meta_kubernetes_namespace"]
    if names and ns not in names:
        raise ValueError(f"{config['job_name']}: namespace {ns} is not watched ({names})")


# --- the shipped deploy/ --------------------------------------------------------------------

def deploy_namespace() -> str:
    return yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["namespace"]


def shipped_monitor() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "servicemonitor.yaml").read_text())


def shipped_exporter_pod(name: str = "openclaw-slo-exporter-6d4f9b7c8d-k2x7q") -> DiscoveredPod:
    """The exporter pod deploy/deployment.yaml creates (its template's labels and container)."""
    deployment = yaml.safe_load((DEPLOY / "deployment.yaml").read_text())
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    return DiscoveredPod(name=name, namespace=deploy_namespace(), labels=template["metadata"]["labels"],
                         container=container, controller_name=name.rsplit("-", 1)[0])


def shipped_service() -> dict[str, Any]:
    service = yaml.safe_load((DEPLOY / "service.yaml").read_text())
    service["metadata"].setdefault("namespace", deploy_namespace())
    return service


def shipped_exporter_scrape(sd_dir: Path, exporter_port: int, **overrides: Any) -> dict[str, Any]:
    """The Operator's scrape config for deploy/servicemonitor.yaml, aimed (through file_sd) at an
    exporter listening on loopback:`exporter_port`, with the exact meta labels of the shipped pod."""
    (config,) = service_monitor_scrape_configs(shipped_monitor(), deploy_namespace())
    pod = shipped_exporter_pod()
    (cport,) = pod.container["ports"]
    target = endpoints_target(shipped_service(), pod, cport["containerPort"], exporter_port)
    check_namespaces(config, target)
    sd_file = sd_dir / "openclaw-slo-exporter.sd.yml"
    sd_file.write_text(yaml.safe_dump([target]))
    return scrape_config_for_file_sd(config, sd_file, **overrides)
