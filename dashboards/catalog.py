"""The dashboards' stable uids and titles: links between dashboards are built from here."""

from __future__ import annotations

SLO = "openclaw-slo"
PROBES = "openclaw-probes"
MODELS = "openclaw-models"
KUBERNETES = "openclaw-kubernetes"
INTERNALS = "openclaw-internals"
FLEET = "openclaw-fleet"

TITLES: dict[str, str] = {
    SLO: "OpenClaw / SLO overview",
    PROBES: "OpenClaw / Gateway probes",
    MODELS: "OpenClaw / Model endpoints",
    KUBERNETES: "OpenClaw / Kubernetes",
    INTERNALS: "OpenClaw / Gateway internals",
    FLEET: "OpenClaw / Fleet overview",
}
