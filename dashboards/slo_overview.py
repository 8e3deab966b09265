"""The SLO dashboard: per SLO, objective, SLI, error budget, burn rates and the alerts firing.

Each number reads the SLO recording rules (``slo:*``) and falls back to the exporter's live
SLO gauges (``openclaw_slo_*``), so the dashboard works with either in Prometheus. The rules
are per target (tenant gateway): with several targets selected, each panel shows the worst
one (highest error ratio and burn, least budget left).
"""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from openclaw_schema import names as c
from slo.monitoring import Monitoring

UID = catalog.SLO
ON_SLO = s.var(c.LABEL_SLO)
ON_TARGET = s.var(c.LABEL_TARGET)  # the rules' series only: the live gauges have no target
PER_SLO = (c.LABEL_SLO,)
BY_SLO = s.legend("{}", c.LABEL_SLO)
BUDGET_STEPS = s.steps(s.RED, (0, s.ORANGE), (0.25, s.YELLOW), (0.5, s.GREEN))


def _window(window: str) -> str:
    return s.eq(c.LABEL_WINDOW, window)


def objective() -> str:
    return s.either(s.sel(c.RULE_OBJECTIVE, ON_SLO), s.sel(c.SLO_OBJECTIVE, ON_SLO), PER_SLO)


def sli(window: str = th.SLO_PERIOD) -> str:
    errors = s.sel(c.RULE_SLI_ERROR_RATIO.format(window=window), ON_SLO, ON_TARGET)
    live = s.sel(c.SLO_SLI_RATIO, ON_SLO, _window(window))
    return f"1 - max {s.by(*PER_SLO)} ({errors}) or max {s.by(*PER_SLO)} ({live})"


def budget_remaining() -> str:
    """The least budget left among the selected targets."""
    per = s.by(*PER_SLO)
    return (f"min {per} ({s.sel(c.RULE_BUDGET_REMAINING, ON_SLO, ON_TARGET)}) "
            f"or min {per} ({s.sel(c.SLO_BUDGET_REMAINING, ON_SLO)})")


def burn_rate(window: str) -> str:
    """Error ratio over ``window`` divided by the error budget (1 - objective)."""
    errors = s.sel(c.RULE_SLI_ERROR_RATIO.format(window=window), ON_SLO, ON_TARGET)
    budget = s.sel(c.RULE_ERROR_BUDGET, ON_SLO)
    live = s.sel(c.SLO_BURN_RATE, ON_SLO, _window(window))
    per = s.by(*PER_SLO)
    return f"max {per} ({errors}) / on ({c.LABEL_SLO}) max {per} ({budget}) or max {per} ({live})"


def alert_panels(runbooks: str) -> list[g.Panel]:
    """`runbooks`: where docs/runbooks/<alertname>.md are published (the config's runbook_base_url)."""
    ours = s.match(c.LABEL_ALERTNAME, c.ALERT_NAME_PREFIX + ".*")
    return [
        s.row("Alerts"),
        s.stat("OpenClaw alerts firing", w=4, h=6, unit=s.UNIT_COUNT,
               queries=[s.Query(f"count({s.sel(c.ALERTS, ours, s.eq(c.LABEL_ALERTSTATE, c.ALERT_STATE_FIRING))}) "
                                "or vector(0)", "firing")],
               thresholds=s.steps(s.GREEN, (1, s.RED)),
               shows="How many OpenClaw alerts (burn-rate pages and tickets, probe and Kubernetes alerts) fire now.",
               red="an alert fires: the table names it; click its name there for the runbook."),
        s.table("OpenClaw alerts firing or pending", w=20, h=6, unit=s.UNIT_COUNT, hide=["Value", c.LABEL_NAME],
                queries=[s.Query(s.sel(c.ALERTS, ours), instant=True, table=True)],
                thresholds=s.steps(s.RED),
                cell_links={c.LABEL_ALERTNAME: ("Runbook", runbooks + "/${__value.raw}.md")},
                shows="Every OpenClaw alert that is pending or firing, with its labels (slo, severity, target). "
                      "Click an alert name for its runbook.",
                red="rows are alerts: severity=critical needs a human now, warning within the working day; "
                    "the runbook says what to check first."),
    ]


def burn_stat(window: th.BurnWindow) -> g.Stat:
    return s.stat(
        f"Burn rate {window.long} / {window.short}", w=3, h=6, unit=s.UNIT_TIMES, decimals=1,
        text_mode="value_and_name",
        queries=[s.Query(burn_rate(window.long), window.long), s.Query(burn_rate(window.short), window.short)],
        thresholds=s.steps(s.GREEN, (window.burn_rate / 2, s.ORANGE), (window.burn_rate, s.RED)),
        shows=f"How many times faster than sustainable the error budget burns over {window.long} and "
              f"{window.short}. The {window.severity} alert fires when both reach {window.burn_rate:g}.",
        red=f"this window is at or above {window.burn_rate:g}: when both are red the {window.severity} fires; "
            "find the failing probes on the gateway probes dashboard.")


def slo_panels() -> list[g.Panel]:
    normalised = [s.Query(f"({burn_rate(w.long)}) / {w.burn_rate:g}", f"{w.long} ÷ {w.burn_rate:g} ({w.severity})")
                  for w in th.BURN_WINDOWS]
    return [
        s.row("SLO $slo", repeat=c.LABEL_SLO),
        s.stat("Objective", w=3, h=6, unit=s.UNIT_RATIO, decimals=2,
               queries=[s.Query(objective(), BY_SLO)], thresholds=s.steps(s.BLUE),
               shows="The SLO's target: the share of good events it promises over the 30-day window.",
               red="never red; compare it with the SLI next to it."),
        s.stat(f"SLI ({th.SLO_PERIOD})", w=3, h=6, unit=s.UNIT_RATIO, decimals=3,
               queries=[s.Query(sli(), BY_SLO)],
               thresholds=s.steps(s.RED, (0.99, s.ORANGE), (0.999, s.GREEN)),
               shows=f"The share of good events over the last {th.SLO_PERIOD}.",
               red="below 99 %; whether that breaks this SLO depends on its objective: the budget panels say."),
        s.stat("Error budget remaining", w=3, h=6, unit=s.UNIT_RATIO, decimals=1,
               queries=[s.Query(budget_remaining(), BY_SLO)], thresholds=BUDGET_STEPS,
               shows=f"Share of the {th.SLO_PERIOD} error budget not yet spent (negative: overspent).",
               red="the budget is spent: freeze risky changes and put reliability work first until it recovers."),
        s.gauge("Budget remaining (gauge)", w=3, h=6, unit=s.UNIT_RATIO, decimals=0,
                queries=[s.Query(budget_remaining(), BY_SLO)], thresholds=BUDGET_STEPS,
                shows="The same budget as a gauge: green above half, yellow above a quarter, orange until spent.",
                red="the budget is spent (see the stat on its left)."),
        *[burn_stat(w) for w in th.BURN_WINDOWS],
        s.timeseries("Burn rate ÷ alert threshold", w=12, h=8, unit=s.UNIT_TIMES, low=0, queries=normalised,
                     thresholds=s.steps(s.GREEN, (1, s.RED)),
                     shows="Each alert's long-window burn rate divided by its threshold (14.4, 6, 3, 1), so one "
                           "line at 1 marks every alert's firing point.",
                     red="a line above 1 means that alert's long window is burning too fast; it fires when its "
                         "short window agrees."),
        s.ratio_panel(f"Error budget burn-down ({th.SLO_PERIOD})", w=12, h=8, low=None, time_from=th.SLO_PERIOD,
                      queries=[s.Query(budget_remaining(), BY_SLO)], thresholds=BUDGET_STEPS,
                      shows=f"Budget remaining over the last {th.SLO_PERIOD}: steady burn is a straight line to 0 "
                            "at the end of the window; steps down are incidents.",
                      red="below 0 the SLO is broken for this window; a steep step shows the incident to review."),
    ]


def build(config: Monitoring) -> g.Dashboard:
    return s.dashboard(
        UID, "slo_overview",
        "Service level objectives of the OpenClaw gateway: objective, SLI, error budget, multiwindow burn "
        "rates against their alert thresholds, and the OpenClaw alerts firing.",
        [*alert_panels(config.runbook_base_url), *slo_panels()],
        [s.query_variable(c.LABEL_SLO, "SLO", f"label_values({c.LABEL_SLO})"),
         s.query_variable(c.LABEL_TARGET, "Target",
                          s.label_values(c.RULE_SLI_ERROR_RATIO.format(window=th.BURN_WINDOWS[0].short), c.LABEL_TARGET))],
        time_from="now-24h",
    )
