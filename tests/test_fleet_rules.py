"""The shipped rules in a fleet, replayed by the real `promtool test rules`.

- Replication 2: two exporter replicas probe the same targets, so every probe series comes
  twice (instance/pod differ). The SLI ratios and the alerts must be those of one replica.
- Multi-cluster (Thanos/Mimir): series carry an external `cluster` label; every aggregation
  keeps it (aggregation_labels in slo/specs/alerts.yml), so clusters never merge or mis-join.
- Per tenant: every SLO rule keeps `target` (slo_group_by in slo/specs/alerts.yml), so each
  gateway has its own SLI, error budget, minimum-events guard and pages: one target's outage
  pages (and alerts) for that target only, once, whichever replica saw it.
Annotations are stripped from the copy under test (promtool compares them verbatim; their
templates are checked by `promtool check rules` in test_alert_rules/test_slo_rules).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from openclaw_schema import names
from slohelpers import ALERTS_FILE, RULES_FILE, require, run

pytestmark = pytest.mark.prometheus

SLO = "websocket-availability"
SLO_LABELS = {"service": "openclaw-gateway", "slo": SLO}
PAGE = "OpenClawWebsocketAvailabilityBurnRatePage"
PAGED_1H = {**SLO_LABELS, "team": "gateway", "severity": "critical", "long": "1h", "short": "5m", "target": "gw"}
# The Prometheus Operator's target labels of each exporter replica (a StatefulSet's pods).
REPLICAS = [
    {"job": "openclaw-slo-exporter", "namespace": "monitoring", "pod": f"openclaw-slo-exporter-{i}",
     "instance": f"10.1.2.{i + 3}:9115", "container": "exporter", "endpoint": "http"}
    for i in range(2)
]


def series(metric: str, values: str, replica: dict[str, str], **labels: str) -> dict:
    merged = {**replica, **labels}
    return {"series": metric + "{" + ",".join(f'{k}="{v}"' for k, v in merged.items()) + "}", "values": values}


def websocket_probes(replica: dict[str, str], good: str, bad: str, result: str = "refused", **labels: str) -> list[dict]:
    """One replica's websocket probe counters of one target: `good` successes, `bad` failures."""
    common = {"target": "gw", "module": "websocket", **labels}
    return [series(names.PROBE_ATTEMPTS_TOTAL, good, replica, result="success", **common),
            series(names.PROBE_ATTEMPTS_TOTAL, bad, replica, result=result, **common)]


def rule_file(path: Path, only_group: str | None = None) -> dict:
    rules = yaml.safe_load(path.read_text())
    if only_group is not None:
        rules["groups"] = [g for g in rules["groups"] if g["name"] == only_group]
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return rules


def promtool(tmp_path: Path, rules: dict, input_series: list[dict], exprs: list[tuple[str, str, list]] = (),
             alerts: list[tuple[str, str, list]] = ()) -> None:
    """`promtool test rules`: exprs are (expr, eval_time, exp_samples), alerts (eval_time, alertname, exp_alerts)."""
    binary = require("promtool")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": input_series,
        "promql_expr_test": [{"expr": e, "eval_time": at, "exp_samples": exp} for e, at, exp in exprs],
        "alert_rule_test": [{"eval_time": at, "alertname": a, "exp_alerts": exp} for at, a, exp in alerts],
    }]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = run([binary, "test", "rules", "test.yml"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def permille(expr: str) -> str:
    """The ratio in whole per mille: this promtool compares floats exactly, and 2/20 is 0.09999999999999999."""
    return f"round(1000 * {expr})"


def ratio(window: str, per_mille: int, slo_labels: dict[str, str] = SLO_LABELS, **labels: str) -> dict:
    """An expected sample of permille(error ratio) of target gw unless `labels` say otherwise:
    its labels (the name is gone) and value."""
    merged = sorted({**slo_labels, "window": window, "target": "gw", **labels}.items())
    return {"labels": "{" + ",".join(f'{k}="{v}"' for k, v in merged) + "}", "value": per_mille}


SLO_RULES = rule_file(RULES_FILE, names.RULE_GROUP_SLO.format(slo=SLO))


def error_ratio(window: str) -> str:
    return f'slo:sli_error:ratio_rate{window}{{slo="{SLO}"}}'


def test_two_replicas_give_the_ratio_of_one(tmp_path):
    # 18 good and 2 refused probes a minute: an error ratio of 10 %, seen by one replica or by two.
    one = websocket_probes(REPLICAS[0], "0+18x70", "0+2x70")
    two = one + websocket_probes(REPLICAS[1], "0+18x70", "0+2x70")
    for name, probes in (("one", one), ("two", two)):
        (tmp_path / name).mkdir()
        promtool(tmp_path / name, SLO_RULES, probes, exprs=[
            (permille(error_ratio("5m")), "30m", [ratio("5m", 100)]),
            (permille(error_ratio("1h")), "65m", [ratio("1h", 100)]),
        ])


def test_two_replicas_give_the_latency_ratio_of_one(tmp_path):
    # 15 of 20 successful handshakes a minute within 250 ms: 25 % slow, by one replica or two.
    group = names.RULE_GROUP_SLO.format(slo="websocket-handshake-latency")
    rules = rule_file(RULES_FILE, group)
    expected = [ratio("5m", 250, {"service": "openclaw-gateway", "slo": "websocket-handshake-latency"})]
    for count in (1, 2):
        probes = []
        for replica in REPLICAS[:count]:
            probes += websocket_probes(replica, "0+20x40", "0x40")
            probes.append(series(names.PROBE_LATENCY_GOOD_TOTAL, "0+15x40", replica, target="gw", module="websocket",
                                 phase="handshake", threshold_seconds="0.25"))
        (tmp_path / str(count)).mkdir()
        promtool(tmp_path / str(count), rules, probes,
                 exprs=[(permille('slo:sli_error:ratio_rate5m{slo="websocket-handshake-latency"}'), "30m", expected)])


def test_an_outage_seen_by_two_replicas_pages_once_like_one(tmp_path):
    # Healthy for an hour, then every probe refused. Each page comes once (no instance/pod
    # label), whether one replica or two saw it. Two replicas probe twice as often, so the 6h
    # pair's minimum-events guard (167 probes) is met after 42 minutes instead of 84: it joins
    # at once, which is right: those are real, independent probes.
    paged_6h = {**PAGED_1H, "long": "6h", "short": "30m"}
    both = [{"exp_labels": PAGED_1H}, {"exp_labels": paged_6h}]
    for count, at_62m in ((1, [{"exp_labels": PAGED_1H}]), (2, both)):
        probes = []
        for replica in REPLICAS[:count]:
            probes += websocket_probes(replica, "0+2x60 120x60", "0x60 0+2x60")
        (tmp_path / str(count)).mkdir()
        promtool(tmp_path / str(count), SLO_RULES, probes,
                 alerts=[("59m", PAGE, []), ("62m", PAGE, at_62m), ("120m", PAGE, both)])


def test_two_clusters_stay_apart(tmp_path):
    # Cluster a is healthy (and has no failure series at all: an exporter that pre-creates
    # nothing); cluster b is down from minute 60. Before, sum() merged them: b's outage read as
    # a 50 % error ratio for "the" service and paged without saying where.
    probes = [series(names.PROBE_ATTEMPTS_TOTAL, "0+2x120", REPLICAS[0], target="gw", module="websocket",
                     result="success", cluster="a")]
    probes += websocket_probes(REPLICAS[0], "0+2x60 120x60", "0x60 0+2x60", cluster="b")
    promtool(tmp_path, SLO_RULES, probes,
             exprs=[(permille(error_ratio("5m")), "90m", [ratio("5m", 0, cluster="a"), ratio("5m", 1000, cluster="b")])],
             alerts=[("62m", PAGE, [{"exp_labels": {**PAGED_1H, "cluster": "b"}}])])


def test_one_tenants_outage_alerts_for_that_tenant_only_once_across_replicas(tmp_path):
    alerts = rule_file(ALERTS_FILE, names.RULE_GROUP_ALERTS_PROBES)
    probes = []
    for replica in REPLICAS:
        # Tenant t1 refuses every handshake from minute 10 on; t2 is healthy.
        probes += websocket_probes(replica, "0+2x10 20x30", "0x10 0+2x30", target="t1")
        probes += websocket_probes(replica, "0+2x40", "0x40", target="t2")
        probes.append(series(names.GATEWAY_READY, "1x10 0x30", replica, target="t1"))
    # Only replica 1 sees t2 not ready (its own network, say): the others' view wins, no alert.
    probes.append(series(names.GATEWAY_READY, "1x40", REPLICAS[0], target="t2"))
    probes.append(series(names.GATEWAY_READY, "0x40", REPLICAS[1], target="t2"))
    for_tenant = {"service": "openclaw-gateway", "team": "gateway", "severity": "warning", "target": "t1"}
    promtool(tmp_path, alerts, probes, alerts=[
        ("25m", names.ALERT_WEBSOCKET_FAILING, [{"exp_labels": {**for_tenant, "result": "refused"}}]),
        ("25m", names.ALERT_GATEWAY_NOT_READY, [{"exp_labels": for_tenant}]),
    ])


def test_one_clusters_tenant_alerts_in_that_cluster_only(tmp_path):
    # The same tenant name in two clusters: only cluster b's is down.
    alerts = rule_file(ALERTS_FILE, names.RULE_GROUP_ALERTS_PROBES)
    probes = []
    for cluster, bad in (("a", "0x40"), ("b", "0x10 0+2x30")):
        probes += websocket_probes(REPLICAS[0], "0+2x40", bad, target="t1", cluster=cluster)
        probes.append(series(names.GATEWAY_READY, "1x40" if cluster == "a" else "1x10 0x30", REPLICAS[0],
                             target="t1", cluster=cluster))
    for_tenant = {"service": "openclaw-gateway", "team": "gateway", "severity": "warning", "target": "t1", "cluster": "b"}
    promtool(tmp_path, alerts, probes, alerts=[
        ("25m", names.ALERT_WEBSOCKET_FAILING, [{"exp_labels": {**for_tenant, "result": "refused"}}]),
        ("25m", names.ALERT_GATEWAY_NOT_READY, [{"exp_labels": for_tenant}]),
    ])


def test_one_tenants_outage_pages_for_that_tenant_only(tmp_path):
    # Two tenants probed by both replicas; t1 refuses every handshake from minute 60, t2 stays
    # healthy. Before, the SLO was one sum over the fleet: t1's outage read as a 50 % error
    # ratio of "the" gateway and paged without `target`, for every tenant at once.
    probes = []
    for replica in REPLICAS:
        probes += websocket_probes(replica, "0+2x60 120x60", "0x60 0+2x60", target="t1")
        probes += websocket_probes(replica, "0+2x120", "0x120", target="t2")
    budget = f'slo:period_error_budget_remaining:ratio{{slo="{SLO}",target="t2"}}'
    t2 = "{" + f'service="openclaw-gateway",slo="{SLO}",target="t2"' + "}"
    # Two replicas meet the 6h pair's guard early too (see the test above): both pairs, t1 only.
    paged = [{"exp_labels": {**PAGED_1H, "target": "t1"}}, {"exp_labels": {**PAGED_1H, "long": "6h", "short": "30m", "target": "t1"}}]
    promtool(tmp_path, SLO_RULES, probes, exprs=[
        (permille(error_ratio("5m")), "90m", [ratio("5m", 1000, target="t1"), ratio("5m", 0, target="t2")]),
        # t2's own error budget: untouched by t1's outage.
        (permille(budget), "90m", [{"labels": t2, "value": 1000}]),
    ], alerts=[
        ("59m", PAGE, []),
        ("62m", PAGE, paged),
        ("90m", PAGE, paged),
    ])


def test_the_minimum_events_guard_counts_each_tenants_own_probes(tmp_path):
    # t3 is probed once every 2 minutes (30 probes an hour) and fails them all; t2, probed
    # every 30 s, is healthy. The 1h page needs 70 events of the tenant's own (one failure
    # alone never pages): t3 has 30, so no page, whatever t2 adds. Summed over the fleet,
    # t3's failures read as a 20 % error ratio over 150 events and paged for everyone.
    probes = websocket_probes(REPLICAS[0], "0+2x120", "0x120", target="t2")
    probes += websocket_probes(REPLICAS[0], "0x120", "0+0.5x120", target="t3")
    promtool(tmp_path, SLO_RULES, probes,
             exprs=[(permille(error_ratio("1h")), "90m", [ratio("1h", 0, target="t2"), ratio("1h", 1000, target="t3")])],
             alerts=[("90m", PAGE, [])])
