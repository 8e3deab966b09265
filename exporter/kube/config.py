"""The `kubernetes:` section: its types (exporter/settings/kubernetes.py) and its parser.

The parser never raises on bad input: it returns every problem at once, each as
``"<where>.<key>: <message>"``, so the exporter's config loader can list them all before
it starts (and a reload can keep the old config).
"""

from __future__ import annotations

from typing import Any

from exporter.settings.base import cross_check, validate
from exporter.settings.kubernetes import (
    DEFAULT_BACKUP_LABEL_SELECTOR,
    DEFAULT_LABEL_SELECTOR,
    DEFAULT_NAMESPACE,
    KubernetesConfig,
    Selector,
)

__all__ = ["DEFAULT_BACKUP_LABEL_SELECTOR", "DEFAULT_LABEL_SELECTOR", "DEFAULT_NAMESPACE", "KubernetesConfig",
           "Selector", "parse_kubernetes_config"]


def parse_kubernetes_config(raw: Any, where: str) -> tuple[KubernetesConfig, list[str]]:
    """Validate the raw mapping; return the config (defaults where invalid) and all problems."""
    errors: list[str] = []
    if raw is None:
        return KubernetesConfig(), errors
    config = validate(KubernetesConfig, raw, where, errors) or KubernetesConfig()
    cross_check(config, where, errors)
    return config, errors
