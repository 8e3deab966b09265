"""Every generated file, by path under the repository root: rendered from the one monitoring
config, then written or compared (`--check`). Only this module writes generated files.

    alerts/prometheus_rules.yaml        the SLO groups: recording rules and their burn-rate
                                        alerts (one group per SLO, evaluated in order, so an
                                        alert reads its recordings fresh)
    alerts/prometheus_alerts.yaml       every other alert (slo/alert_rules.py REGISTRY)
    deploy/prometheusrule-slo.yaml      the same two, as prometheus-operator PrometheusRules
    deploy/prometheusrule-alerts.yaml   (what deploy/kustomization.yaml applies)
    dashboards/dashboards_out/<uid>.json
    deploy/dashboards-configmap.yaml    the dashboards for the Grafana sidecar
    docs/metrics.md                     the metrics reference (openclaw_schema/docs.py)
    exporter/config.schema.json         the config's JSON Schema (added by the exporter's CLI,
                                        which may import the config types; this layer may not)
"""

from __future__ import annotations

from pathlib import Path

from slo import render
from slo.monitoring import Monitoring

RULES = Path("alerts") / "prometheus_rules.yaml"
ALERTS = Path("alerts") / "prometheus_alerts.yaml"
DEPLOY_RULES = Path("deploy") / "prometheusrule-slo.yaml"
DEPLOY_ALERTS = Path("deploy") / "prometheusrule-alerts.yaml"
METRICS_DOC = Path("docs") / "metrics.md"


def outputs(config: Monitoring) -> dict[Path, str]:
    """Every generated file's text, by path relative to the root. Raises PromQLError (naming
    the rule) before anything is written when an expression does not parse."""
    # grafanalib only here: `openclaw-exporter run` registers `generate` but never pays for it.
    from dashboards import build

    slo_groups, alert_groups = config.slo_rules(), config.alert_rules()
    slo_source, alerts_source = config.slos.source, config.alerts.source
    files = {
        RULES: render.rule_file(slo_groups, slo_source),
        ALERTS: render.rule_file(alert_groups, alerts_source),
        DEPLOY_RULES: render.prometheus_rule(slo_groups, slo_source),
        DEPLOY_ALERTS: render.prometheus_rule(alert_groups, alerts_source, render.ALERTS_RULE_NAME, "alerts"),
    }
    files.update(build.outputs(config))
    from openclaw_schema import docs

    files[METRICS_DOC] = docs.render()
    return files


def _stale(root: Path, files: dict[Path, str]) -> list[Path]:
    """Dashboard JSON left from a dashboard that is not generated any more."""
    from dashboards import build

    folder = root / build.GENERATED_DIR
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(root) for p in folder.glob("*.json") if p.relative_to(root) not in files)


def drift(root: Path, files: dict[Path, str]) -> list[str]:
    """Generated files that differ from what is on disk under `root` (changed, missing, stale)."""
    problems = []
    for rel, text in sorted(files.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{rel}: differs from the generator's output")
    problems += [f"{rel}: not generated any more" for rel in _stale(root, files)]
    return problems


def write(root: Path, files: dict[Path, str]) -> list[Path]:
    """Write every file under `root`, remove stale dashboard JSON; returns what changed."""
    changed = []
    for rel in _stale(root, files):
        (root / rel).unlink()
        changed.append(rel)
    for rel, text in sorted(files.items()):
        path = root / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(rel)
    return changed
