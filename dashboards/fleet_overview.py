"""The fleet dashboard: hundreds of tenants' gateways at a glance, the worst error-budget burn first.

The tenant tables read the SLO recording rules (``slo:*``) grouped by ``target``: one row per
tenant gateway and SLO, as the shipped rules keep the target label (``slo_group_by``); one
fleet-wide row (empty target) with ``slo_group_by: []``. The fleet panels read the probe series,
deduplicated over replicas (with replication 2 each target is probed, and exported, twice),
and the exporter replicas' shard metrics (docs/fleet.md).
"""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from openclaw_schema import names as c
from slo.monitoring import Monitoring

UID = catalog.FLEET
T = c.LABEL_TARGET
ON_TARGET = s.var(T)
SERVICE_PROBES = s.eq(c.LABEL_GATEWAY_POD, "")  # the configured target's probes, not per-pod ones
PER_TENANT = (T, c.LABEL_SLO)
BURN_WINDOW = "1h"  # the page alert's long window: the burn a page fires on
PAGE_BURN = next(w.burn_rate for w in th.BURN_WINDOWS if w.long == BURN_WINDOW)
BURN_STEPS = s.steps(s.GREEN, (1, s.ORANGE), (PAGE_BURN, s.RED))
BUDGET_STEPS = s.steps(s.RED, (0, s.ORANGE), (0.25, s.YELLOW), (0.5, s.GREEN))
# A tenant's name opens the probes dashboard on that target.
TO_PROBES = {T: ("Probes of this gateway", f"/d/{catalog.PROBES}?var-target=${{__value.raw}}")}


def tenant_burn() -> str:
    """Burn rate per tenant and SLO over BURN_WINDOW: error ratio / error budget (1 - objective)."""
    errors = s.sel(c.RULE_SLI_ERROR_RATIO.format(window=BURN_WINDOW), ON_TARGET)
    budget = s.sel(c.RULE_ERROR_BUDGET)
    return (f"max {s.by(*PER_TENANT)} ({errors}) / on ({c.LABEL_SLO}) group_left "
            f"max {s.by(c.LABEL_SLO)} ({budget})")


def tenant_budget() -> str:
    return f"min {s.by(*PER_TENANT)} ({s.sel(c.RULE_BUDGET_REMAINING, ON_TARGET)})"


def probe_success() -> str:
    """Per target and module, the worst replica's last result (1 ok, 0 failed)."""
    return f"min {s.by(T, c.LABEL_MODULE)} ({s.sel(c.PROBE_SUCCESS, SERVICE_PROBES, ON_TARGET)})"


def fleet_panels() -> list[g.Panel]:
    return [
        s.row("Fleet"),
        s.stat("Gateways probed", w=4, h=5, unit=s.UNIT_COUNT,
               queries=[s.Query(f"count(count {s.by(T)} ({s.sel(c.PROBE_SUCCESS, SERVICE_PROBES, ON_TARGET)}))",
                                "gateways")],
               thresholds=s.steps(s.BLUE),
               shows="How many tenant gateways the exporter replicas probe (each counted once, whatever the replication).",
               red="never red; if it is lower than the gateways you run, check each replica's share below."),
        s.stat("Gateways failing now", w=4, h=5, unit=s.UNIT_COUNT,
               queries=[s.Query(f"count(min {s.by(T)} ({probe_success()}) == 0) or vector(0)", "failing")],
               thresholds=s.steps(s.GREEN, (1, s.RED)),
               shows="Gateways with at least one probe module whose last result failed on at least one replica.",
               red="some gateways fail their probes: the tables below rank them by how fast they burn their budget."),
        s.stat(f"Tenants burning faster than budget ({BURN_WINDOW})", w=4, h=5, unit=s.UNIT_COUNT,
               queries=[s.Query(f"count(count {s.by(T)} (({tenant_burn()}) > 1)) or vector(0)", "burning")],
               thresholds=s.steps(s.GREEN, (1, s.ORANGE)),
               shows=f"Tenants with an SLO whose {BURN_WINDOW} burn rate is above 1: spending error budget faster "
                     "than the period allows.",
               red="at this pace these tenants run out of budget before the period ends; the first table names them."),
        s.timeseries("Gateways per exporter replica", w=12, h=5, unit=s.UNIT_COUNT, low=0,
                     queries=[s.Query(f"sum {s.by(c.LABEL_POD)} ({c.EXPORTER_SHARD_TARGETS})",
                                      s.legend("{}", c.LABEL_POD))],
                     thresholds=s.steps(s.GREEN),
                     shows="Each exporter replica's share of the gateways (openclaw_exporter_shard_targets): even "
                           "lines mean an even split; after scaling, about 1/N moves to the new replica.",
                     red="never red; a missing line is a replica down: its gateways are unprobed unless replication is 2."),
    ]


def tenant_panels() -> list[g.Panel]:
    return [
        s.row("Tenants, worst first"),
        s.table(f"Tenants by error-budget burn ({BURN_WINDOW}), fastest first", w=12, h=12, unit=s.UNIT_TIMES,
                hide=[c.LABEL_NAME], sort_by=("Value", True), cell_links=TO_PROBES,
                queries=[s.Query(tenant_burn(), instant=True, table=True)], thresholds=BURN_STEPS,
                shows=f"Per tenant gateway and SLO, the {BURN_WINDOW} error ratio divided by the error budget "
                      "(slo:sli_error:ratio_rate1h / slo:error_budget:ratio), fastest burn on top. Click a "
                      "gateway for its probes.",
                red=f"at {PAGE_BURN:g} the page alert's long window fires: that tenant spends 2 % of its 30-day "
                    "budget in an hour."),
        s.table(f"Tenants by error budget left ({th.SLO_PERIOD}), least first", w=12, h=12, unit=s.UNIT_RATIO,
                hide=[c.LABEL_NAME], sort_by=("Value", False), cell_links=TO_PROBES,
                queries=[s.Query(tenant_budget(), instant=True, table=True)], thresholds=BUDGET_STEPS,
                shows=f"Per tenant gateway and SLO, the share of the {th.SLO_PERIOD} error budget not yet spent "
                      "(slo:period_error_budget_remaining:ratio), least on top.",
                red="the tenant's budget is spent: its SLO is broken for this window; review its incidents."),
    ]


def build(config: Monitoring) -> g.Dashboard:
    del config  # its numbers are the burn-rate table's and the SLO rules' own, not alert thresholds
    return s.dashboard(
        UID, "fleet_overview",
        "Many tenant gateways probed by sharded exporter replicas: how many fail now, which tenants burn "
        "their error budget fastest, and each replica's share of the gateways.",
        [*fleet_panels(), *tenant_panels()],
        [s.query_variable(T, "Target", s.label_values(c.PROBE_SUCCESS, T))],
        time_from="now-6h",
    )
