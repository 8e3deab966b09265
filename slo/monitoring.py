"""The one monitoring config every generator reads: SLO rules, alerts and dashboards.

It is the SLO spec (slo/specs/openclaw-gateway.yml, or the user's, OpenSLO too) together
with the alerts config (slo/specs/alerts.yml, with an optional overrides file): objectives,
alert thresholds, severities, selectors, aggregation labels and the runbook URL. The spec
stays its own file because the exporter reads it at runtime too (`slo.spec_file`).
Dashboards colour their panels from `threshold()` and the burn-rate table, so a stat turns
red exactly where its alert fires.
"""

from __future__ import annotations

from dataclasses import dataclass

from slo import alert_rules, rules, spec
from slo.alert_spec import AlertsConfig
from slo.model import Spec, SpecError


@dataclass(frozen=True)
class Monitoring:
    slos: Spec
    alerts: AlertsConfig

    def threshold(self, entry: str) -> float:
        """The threshold of alert `entry` (slo/specs/alerts.yml), in the unit its key names."""
        value = self.alerts.alerts[entry].threshold
        if value is None:
            raise KeyError(f"alert {entry} has no threshold")
        return value

    @property
    def runbook_base_url(self) -> str:
        return self.alerts.runbook_base_url

    def slo_rules(self) -> tuple[rules.RuleGroup, ...]:
        return rules.generate(self.slos, self.alerts.selectors.exporter_selector, self.alerts.aggregation_labels,
                              self.alerts.slo_group_by)

    def alert_rules(self) -> tuple[rules.RuleGroup, ...]:
        return alert_rules.generate(self.alerts)


def load(spec_path: str | None = None, alerts_overrides: str | None = None) -> Monitoring:
    """Both inputs, validated; SpecError lists every problem of both, each with its file."""
    problems: list[str] = []
    loaded_spec: Spec | None = None
    loaded_alerts: AlertsConfig | None = None
    try:
        loaded_spec = spec.load(spec_path)
    except SpecError as exc:
        problems += [f"{spec_path or spec.DEFAULT_SPEC}: {line}" for line in exc.errors]
    try:
        loaded_alerts = alert_rules.load_config(alerts_overrides)
    except SpecError as exc:
        from slo.alert_spec import DEFAULT_ALERTS

        problems += [f"{alerts_overrides or DEFAULT_ALERTS}: {line}" for line in exc.errors]
    if problems or loaded_spec is None or loaded_alerts is None:
        raise SpecError(problems)
    return Monitoring(loaded_spec, loaded_alerts)
