"""The `discovery:` config section and the per-object rules (annotations, ports, addresses):
each bad input paired with its exact located message, as `openclaw-exporter check` prints it."""

from __future__ import annotations

import copy

import pytest
from kubehelpers import fixture
from pydantic import ValidationError

from exporter.config import ConfigError, discovered_modules, parse_config
from exporter.settings.discovery import DiscoveryConfig
from exporter.discovery.targets import Endpoint, Rejected, endpoint_of
from exporter.discovery.tokens import SecretKey


def problems(doc: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(doc)
    return exc.value.problems


def test_a_config_with_only_discovery_is_valid_and_the_defaults_apply():
    config = parse_config({"discovery": {}})
    assert config.targets == ()
    d = config.discovery
    assert (d.role, d.namespaces, d.label_selector, d.port_name, d.address, d.token_secret) == (
        "service", (), "app=openclaw-gateway", "gateway", "dns", None)
    assert d.token_refresh_interval == 60.0
    with pytest.raises(ValidationError, match="frozen"):  # the running config cannot be changed in place
        d.role = "pod"  # type: ignore[misc]


def test_durations_are_written_like_the_rest_of_the_config():
    assert parse_config({"discovery": {"token_refresh_interval": "5m"}}).discovery.token_refresh_interval == 300.0


@pytest.mark.parametrize("section,expected", [
    ({"selector": "app=x"},
     [("discovery.selector: unknown key (allowed: address, backoff_initial_seconds, backoff_jitter_ratio, "
      "backoff_max_seconds, context, in_cluster, kubeconfig, label_selector, namespaces, path, port_name, "
      "request_timeout_seconds, resync_seconds, role, scheme, tls_ca_file, tls_insecure_skip_verify, "
      "token_refresh_interval, token_secret, watch_timeout_seconds)")]),
    ({"label_selector": "  "}, ["discovery.label_selector: must be a non-empty string"]),
    ({"label_selector": "app=(x"}, ["discovery.label_selector: 'app=(x' is not a valid label selector"]),
    ({"role": "endpoints"}, ["discovery.role: must be one of service, pod"]),
    ({"namespaces": ["tenant-a", "Tenant_B"]},
     ["discovery.namespaces: 'Tenant_B' is not a valid namespace name (DNS-1123 label)"]),
    ({"namespaces": ["a", "a"]}, ["discovery.namespaces: 'a' is listed twice"]),
    ({"namespaces": "tenant-a"}, ["discovery.namespaces: must be a list of namespace names (empty: every namespace)"]),
    ({"port_name": "Gateway Port"},
     ["discovery.port_name: 'Gateway Port' is not a port name (up to 15 lowercase letters, digits and '-')"]),
    ({"path": "openclaw"}, ["discovery.path: 'openclaw' must be empty or a URL path starting with / (no query, no spaces)"]),
    ({"token_secret": "Gateway/token"},
     ["discovery.token_secret: 'Gateway/token': 'Gateway' is not a Secret name (DNS-1123 subdomain); write name or name/key"]),
    ({"token_refresh_interval": "soon"}, ["discovery.token_refresh_interval: must be a duration such as 15s, 500ms or 5m"]),
    ({"token_refresh_interval": 0}, ["discovery.token_refresh_interval: must be > 0"]),
    ({"in_cluster": "yes"}, ['discovery.in_cluster: must be true, false or "auto"']),
    ({"watch_timeout_seconds": 1.5}, ["discovery.watch_timeout_seconds: must be a whole number of seconds"]),
    ({"in_cluster": True, "kubeconfig": "/k"}, ["discovery.kubeconfig: cannot be set together with in_cluster: true"]),
    ({"backoff_initial_seconds": 10, "backoff_max_seconds": 5},
     ["discovery.backoff_max_seconds: must be >= backoff_initial_seconds (10)"]),
    ({"role": "pod", "address": "cluster_ip"},
     ["discovery.address: applies to role: service only (pods are probed on their IP)"]),
    ({"address": "ip", "scheme": "ftp"},
     ["discovery.address: must be one of dns, cluster_ip", "discovery.scheme: must be one of http, https"]),
])
def test_bad_discovery_sections_give_located_messages(section, expected):
    assert problems({"discovery": section}) == expected


def test_without_discovery_targets_are_still_required():
    assert problems({}) == ["targets: must be a non-empty list of gateways (or configure discovery:)"]
    assert problems({"discovery": "yes"}) == ["discovery: must be a mapping",
                                             "targets: must be a non-empty list of gateways (or configure discovery:)"]


def test_defaults_are_checked_even_when_no_static_target_uses_them():
    assert problems({"discovery": {}, "defaults": {"readiness": {"timeout": "20s", "interval": "10s"}}}) == [
        "defaults.readiness.timeout: must not exceed the interval (10s)"]


# --- one object -> one endpoint -------------------------------------------------------------------

def svc(**annotations: str) -> dict:
    obj = copy.deepcopy(fixture("service_gateway"))
    obj["metadata"]["annotations"] = annotations
    return obj


def test_service_by_dns_name_with_the_configured_secret():
    config = DiscoveryConfig(token_secret="gw-token/shared")
    assert endpoint_of(svc(), config) == Endpoint(
        name="tenant-acme/openclaw-gateway", http_url="http://openclaw-gateway.tenant-acme.svc:18789",
        ws_url="ws://openclaw-gateway.tenant-acme.svc:18789/", secret=SecretKey("tenant-acme", "gw-token", "shared"),
        modules=None)


def test_annotations_win_over_the_config():
    config = DiscoveryConfig(token_secret="gw-token", address="cluster_ip", path="/ignored")
    obj = svc(**{"openclaw.ai/token-secret": "own-token", "openclaw.ai/scheme": "https", "openclaw.ai/path": "/oc",
                 "openclaw.ai/port": "18789", "openclaw.ai/modules": "readiness, websocket"})
    assert endpoint_of(obj, config) == Endpoint(
        name="tenant-acme/openclaw-gateway", http_url="https://10.96.141.27:18789/oc",
        ws_url="wss://10.96.141.27:18789/oc/", secret=SecretKey("tenant-acme", "own-token", "token"),
        modules=frozenset({"readiness", "websocket"}))


@pytest.mark.parametrize("annotations,expected", [
    ({"openclaw.ai/probe": "no"}, "annotation openclaw.ai/probe: 'no' must be true or false"),
    ({"openclaw.ai/scheme": "ws"}, "annotation openclaw.ai/scheme: 'ws' must be http or https"),
    ({"openclaw.ai/path": "x?y"}, ("annotation openclaw.ai/path: 'x?y' must be empty or a URL path starting with / "
                                  "(no query, no spaces)")),
    ({"openclaw.ai/token-secret": "a/b/c"}, ("annotation openclaw.ai/token-secret: 'a/b/c': 'b/c' is not a Secret key "
                                            "(letters, digits, '-', '_', '.')")),
    ({"openclaw.ai/port": "9999"}, ("no port named '9999' (ports: gateway); set discovery.port_name or the "
                                   "openclaw.ai/port annotation")),
])
def test_bad_annotations_are_rejected_with_the_object_and_the_annotation_named(annotations, expected):
    result = endpoint_of(svc(**annotations), DiscoveryConfig())
    assert isinstance(result, Rejected)
    assert result.message == f"Service tenant-acme/openclaw-gateway: {expected}"


def test_an_opted_out_service_is_no_target_and_no_error():
    assert endpoint_of(svc(**{"openclaw.ai/probe": "false"}), DiscoveryConfig()) is None


def test_pods_are_probed_on_their_ip_and_only_while_they_have_one():
    pod = fixture("pod_ready")
    config = DiscoveryConfig(role="pod", port_name="ws")
    assert endpoint_of(pod, config) == Endpoint(
        name="openclaw/openclaw-gateway-5b7a6f9d8c-h7j8k", http_url="http://10.244.2.20:18789",
        ws_url="ws://10.244.2.20:18789/", secret=None, modules=None)
    pending = copy.deepcopy(pod)
    del pending["status"]["podIP"]
    assert endpoint_of(pending, config) is None
    done = copy.deepcopy(pod)
    done["status"]["phase"] = "Succeeded"
    assert endpoint_of(done, config) is None
    ipv6 = copy.deepcopy(pod)
    ipv6["status"]["podIP"] = "fd00::12"
    assert endpoint_of(ipv6, config).http_url == "http://[fd00::12]:18789"


def test_the_modules_annotation_enables_exactly_the_named_modules_with_the_configured_defaults():
    modules, errors = discovered_modules({"readiness": {"interval": "30s"}}, frozenset({"readiness"}), "openclaw.ai/modules")
    assert not errors
    assert [m.name for m in modules.values() if m.enabled] == ["readiness"] and modules["readiness"].interval == 30
    _, errors = discovered_modules({}, frozenset({"model"}), "openclaw.ai/modules")
    assert errors and all(e.startswith("openclaw.ai/modules.model: ") for e in errors)
