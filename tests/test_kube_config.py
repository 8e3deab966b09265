"""The `kubernetes:` config section: defaults, a full valid file, and every invalid case
(fixture file) with its exact messages."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from exporter.kube.config import KubernetesConfig, Selector, parse_kubernetes_config
from kubehelpers import FIXTURES

INVALID = yaml.safe_load((FIXTURES / "config_invalid.yml").read_text())


def test_absent_section_is_disabled_with_the_article_defaults():
    cfg, errors = parse_kubernetes_config(None, "kubernetes")
    assert errors == []
    assert cfg == KubernetesConfig()
    assert cfg.enabled is False and cfg.pod_probing is False and cfg.in_cluster is None
    assert cfg.selectors == (Selector("openclaw", "app=openclaw-gateway"),)


def test_enabled_only_uses_defaults():
    cfg, errors = parse_kubernetes_config({"enabled": True, "in_cluster": "auto", "selectors": [{}]}, "kubernetes")
    assert errors == []
    assert cfg.enabled and cfg.selectors == (Selector(),) and cfg.in_cluster is None


def test_full_valid_section():
    raw = yaml.safe_load((FIXTURES / "config_valid.yml").read_text())["kubernetes"]
    cfg, errors = parse_kubernetes_config(raw, "kubernetes")
    assert errors == []
    assert cfg == KubernetesConfig(
        enabled=True, kubeconfig="/etc/openclaw-exporter/kubeconfig", context="prod-cluster",
        in_cluster=False,
        selectors=(Selector("openclaw", "app=openclaw-gateway"),
                   Selector("openclaw", "app in (openclaw-browser), tier!=canary")),
        watch_timeout_seconds=240, request_timeout_seconds=5.0, resync_seconds=0.0,
        backoff_initial_seconds=0.5, backoff_max_seconds=30.0, backoff_jitter_ratio=0.1,
        pod_probing=True,
    )
    assert cfg.namespaces == ("openclaw",)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.enabled = False  # type: ignore[misc]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_section_lists_every_problem(case):
    _, errors = parse_kubernetes_config(case["kubernetes"], "kubernetes")
    assert errors == case["errors"]


def test_where_prefixes_every_message():
    _, errors = parse_kubernetes_config({"selectors": [{"namespace": ""}]}, "targets[2].kubernetes")
    assert errors == ["targets[2].kubernetes.selectors[0].namespace: must be a non-empty string"]
