"""Every panel of every dashboard shows data when its inputs exist.

The exporter cannot yet produce most inputs (the WebSocket and model probes, the Kubernetes
watcher, the SLO rules, kube-state-metrics, cAdvisor, the gateway's diagnostics plugin), so
this test writes two hours of plausible samples of each into a real Prometheus TSDB with
`promtool tsdb create-blocks-from openmetrics` and runs every panel's queries against it.
Where a panel falls back from one source to another, half of the objects exist only in the
primary source and half only in the fallback, and the panel must show both halves.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import pytest
import yaml

from dashboardhelpers import content_panels, dashboards, substitute, variable_values
from dashboards import catalog
from openclaw_schema import names as c
from promhelpers import backfill, running_prometheus
from slohelpers import RULES_FILE, promtool_test_rules

pytestmark = pytest.mark.prometheus

STEP = 15  # seconds between samples
SPAN = 2 * 3600  # seconds of history
NS, GW, BROWSER = "openclaw", "openclaw-gateway-a", "openclaw-browser-b"
SLO_RULES, SLO_LIVE = "websocket-availability", "readiness-availability"
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
PROBE_PHASES = {c.Module.READINESS: ("connect", "first_byte", c.Phase.TOTAL),
                c.Module.WEBSOCKET: ("connect", "challenge", "handshake", "rpc", c.Phase.TOTAL),
                c.Module.MODEL: (c.Phase.CATALOG, c.Phase.GATEWAY_CATALOG, c.Phase.FIRST_BYTE, c.Phase.COMPLETION,
                                 c.Phase.TOTAL),
                c.Module.MESSAGE: (c.Phase.ADMIT, c.Phase.PREPARE, c.Phase.MODEL, c.Phase.COMPLETE, c.Phase.WARM,
                                   c.Phase.COLD, c.Phase.TOTAL)}
PROBE_FAILURES = {c.Module.READINESS: "not_ready", c.Module.WEBSOCKET: "timeout", c.Module.MODEL: "model_not_found",
                  c.Module.MESSAGE: "rate_limited"}

Value = Callable[[int], float]  # sample number -> value


def const(v: float) -> Value:
    return lambda i: v


def counter(per_step: float) -> Value:
    return lambda i: i * per_step


class Samples:
    """OpenMetrics text: each series' samples in time order, one family after another."""

    def __init__(self, end: float) -> None:
        self.times = [end - SPAN + k * STEP for k in range(SPAN // STEP + 1)]
        self.lines: list[str] = []

    def add(self, name: str, labels: dict[str, str], value: Value) -> None:
        rendered = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for i, t in enumerate(self.times):
            self.lines.append(f"{name}{{{rendered}}} {value(i)} {t:.3f}")

    def histogram(self, name: str, labels: dict[str, str], bounds: Iterable[float], per_step: float) -> None:
        bounds = list(bounds)
        for k, le in enumerate([*bounds, "+Inf"]):
            share = (k + 1) / (len(bounds) + 1) if le != "+Inf" else 1.0
            self.add(name + "_bucket", {**labels, c.LABEL_LE: str(le)}, counter(per_step * share))
        self.add(name + "_count", labels, counter(per_step))
        self.add(name + "_sum", labels, counter(per_step * 0.3))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n# EOF\n"


def probe_series(s: Samples) -> None:
    target = {c.LABEL_TARGET: "gateway"}
    for module, phases in PROBE_PHASES.items():
        tm = {**target, c.LABEL_MODULE: module}
        s.add(c.PROBE_SUCCESS, tm, const(1))
        s.add(c.PROBE_ATTEMPTS_TOTAL, {**tm, c.LABEL_RESULT: c.Result.SUCCESS}, counter(4))
        s.add(c.PROBE_ATTEMPTS_TOTAL, {**tm, c.LABEL_RESULT: PROBE_FAILURES[module]}, counter(1))
        s.add(c.PROBE_TIMEOUTS_TOTAL, {**tm, c.LABEL_PHASE: phases[0]}, counter(0.5))
        s.add(c.PROBE_SKIPPED_TOTAL, tm, counter(0))
        s.add(c.PROBE_LAST_TIMESTAMP, tm, lambda i: s.times[i])
        for phase in phases:
            s.histogram(c.PROBE_DURATION, {**tm, c.LABEL_PHASE: phase}, (0.05, 0.25, 1, 5), 4)
            for q in ("0.5", "0.95", "0.99"):
                # The message module's panels read the 1h window (a turn every few minutes).
                for window in ("5m", "1h") if module == c.Module.MESSAGE else ("5m",):
                    s.add(c.PROBE_LATENCY, {**tm, c.LABEL_PHASE: phase, c.LABEL_WINDOW: window, c.LABEL_QUANTILE: q},
                          const(0.01 + float(q) / 10))
    s.add(c.GATEWAY_READY, target, const(1))
    s.add(c.GATEWAY_READINESS_FAILING, {**target, c.LABEL_SUBSYSTEM: "plugin-reload"}, const(1))
    for name, v in ((c.GATEWAY_EVENT_LOOP_DELAY_P99, 0.02), (c.GATEWAY_EVENT_LOOP_DELAY_MAX, 0.03),
                    (c.GATEWAY_EVENT_LOOP_UTILIZATION, 0.1), (c.GATEWAY_CPU_CORE_RATIO, 0.25),
                    (c.GATEWAY_PLUGINS_LOADED, 3), (c.GATEWAY_PLUGIN_ERRORS, 0)):
        s.add(name, target, const(v))
    s.add(c.GATEWAY_UPTIME, target, lambda i: 600 + i * STEP)
    s.add(c.GATEWAY_INFO, {**target, c.LABEL_VERSION: "2026.9.6", c.LABEL_PROTOCOL: "4"}, const(1))


def model_series(s: Samples) -> None:
    target = {c.LABEL_TARGET: "gateway"}
    for model, listed in (("qwen3.5-plus", 1), ("qwen-plus", 0)):
        s.add(c.MODEL_AVAILABLE, {**target, c.LABEL_PROVIDER: "bailian", c.LABEL_MODEL: model}, const(listed))
    calls = {**target, c.LABEL_PROVIDER: "bailian", c.LABEL_MODEL: "qwen3.5-plus"}
    s.add(c.MODEL_SYNTHETIC_CALLS_TOTAL, calls, counter(1))
    s.add(c.MODEL_SYNTHETIC_CAP_REMAINING, calls, const(50))
    s.add(c.MESSAGE_CAP_REMAINING, target, const(200))
    s.add(c.MODEL_GATEWAY_LISTED, {**target, c.LABEL_MODEL: "bailian/qwen3.5-plus"}, const(1))
    s.add(c.MODEL_PROVIDER_POSTPONED_UNTIL, {**target, c.LABEL_PROVIDER: "bailian"}, lambda i: s.times[i] + 30)


def slo_series(s: Samples) -> None:
    """One SLO only in the recording rules, another only in the exporter's live gauges. The
    rules' SLI series are per target (slo_group_by); objective and budget are per SLO."""
    rules = {c.LABEL_SLO: SLO_RULES}
    s.add(c.RULE_OBJECTIVE, rules, const(0.999))
    s.add(c.RULE_ERROR_BUDGET, rules, const(0.001))
    rules = {**rules, c.LABEL_TARGET: "gateway"}
    s.add(c.RULE_BUDGET_REMAINING, rules, const(0.6))
    live = {c.LABEL_SLO: SLO_LIVE}
    s.add(c.SLO_OBJECTIVE, live, const(0.999))
    s.add(c.SLO_BUDGET_REMAINING, live, const(0.7))
    for window in WINDOWS:
        s.add(c.RULE_SLI_ERROR_RATIO.format(window=window), rules, const(0.0005))
        s.add(c.SLO_SLI_RATIO, {**live, c.LABEL_WINDOW: window}, const(0.9995))
        s.add(c.SLO_BURN_RATE, {**live, c.LABEL_WINDOW: window}, const(0.5))
    s.add(c.ALERTS, {c.LABEL_ALERTNAME: "OpenClawWebsocketAvailabilityBurnRateTicket",
                     c.LABEL_ALERTSTATE: c.ALERT_STATE_FIRING, c.LABEL_SLO: SLO_RULES}, const(1))


# More tenants' SLO rule series: (error ratio 1h, budget left) per tenant, below gateway's
# 0.0005 so the SLO overview's burn rates (the worst target's) stay as they are.
TENANTS = {"tenant-b/openclaw-gateway": (0.0001, 0.9), "tenant-a/openclaw-gateway": (0.0004, 0.2),
           "tenant-c/openclaw-gateway": (0.0002, 0.5)}


def fleet_series(s: Samples) -> None:
    """Two exporter replicas' shares and per-tenant SLO rule series (the fleet overview)."""
    for pod, share in (("openclaw-slo-exporter-0", 340), ("openclaw-slo-exporter-1", 327)):
        s.add(c.EXPORTER_SHARD_TARGETS, {c.LABEL_POD: pod}, const(share))
    for tenant, (ratio, left) in TENANTS.items():
        labels = {c.LABEL_SLO: SLO_RULES, c.LABEL_TARGET: tenant}
        s.add(c.RULE_SLI_ERROR_RATIO.format(window="1h"), labels, const(ratio))
        s.add(c.RULE_BUDGET_REMAINING, labels, const(left))


def kubernetes_series(s: Samples) -> None:
    """The gateway pod in the exporter's watcher metrics, the browser pod only in kube-state-metrics."""
    ns = {c.LABEL_NAMESPACE: NS}
    gw = {**ns, c.LABEL_POD: GW, c.LABEL_CONTAINER: "gateway"}
    browser = {**ns, c.LABEL_POD: BROWSER, c.LABEL_CONTAINER: "browser"}
    s.add(c.POD_RESTARTS_LAST_HOUR, gw, const(1))
    s.add(c.POD_CONTAINER_WAITING, {**gw, c.LABEL_REASON: "ContainerCreating"}, const(1))
    s.add(c.POD_CONTAINER_WAITING_SECONDS, {**gw, c.LABEL_REASON: "ContainerCreating"}, lambda i: i * STEP)
    s.add(c.POD_CONTAINER_LAST_TERMINATED, {**gw, c.LABEL_REASON: "OOMKilled", c.LABEL_EXIT_CODE: "137"}, const(1))
    s.add(c.POD_READY, {**ns, c.LABEL_POD: GW}, const(1))
    s.add(c.KSM_RESTARTS_TOTAL, browser, counter(1 / 60))
    s.add(c.KSM_WAITING_REASON, {**browser, c.LABEL_REASON: "CrashLoopBackOff"}, const(1))
    s.add(c.KSM_LAST_TERMINATED_REASON, {**browser, c.LABEL_REASON: "Error"}, const(1))
    for labels in (gw, browser):
        s.add(c.CADVISOR_CPU_SECONDS_TOTAL, labels, counter(0.25 * STEP))
        s.add(c.CADVISOR_MEMORY_WORKING_SET, labels, const(1.2e9))
        for resource, request, limit in ((c.KSM_RESOURCE_CPU, 0.5, 2), (c.KSM_RESOURCE_MEMORY, 2e9, 4e9)):
            s.add(c.KSM_RESOURCE_REQUESTS, {**labels, c.LABEL_RESOURCE: resource}, const(request))
            s.add(c.KSM_RESOURCE_LIMITS, {**labels, c.LABEL_RESOURCE: resource}, const(limit))
    # cAdvisor's pod cgroup and pause container: the panels must leave them out.
    s.add(c.CADVISOR_CPU_SECONDS_TOTAL, {**ns, c.LABEL_POD: GW, c.LABEL_CONTAINER: c.CADVISOR_POD_CONTAINER},
          counter(100))
    for reason, per_step in ((c.REASON_FAILED_MOUNT, 0.1), ("BackOff", 0.2)):
        s.add(c.POD_EVENTS_TOTAL, {**ns, c.LABEL_REASON: reason}, counter(per_step))
    s.histogram(c.POD_STARTUP, ns, (30, 60, 300), 0.05)
    for resource in ("pods", "events"):
        s.add(c.KUBE_LAST_SYNC, {c.LABEL_RESOURCE: resource}, lambda i: s.times[i])
        s.add(c.KUBE_WATCH_ERRORS_TOTAL, {c.LABEL_RESOURCE: resource, c.LABEL_KIND: "gone"}, counter(0.1))


def storage_series(s: Samples) -> None:
    """The storage sidecar (scraped with the gateway pod's namespace) and one backup CronJob."""
    target = {c.LABEL_NAMESPACE: NS, c.LABEL_TARGET: "gateway"}
    tm = {**target, c.LABEL_MODULE: c.Module.STORAGE}
    s.add(c.PROBE_ATTEMPTS_TOTAL, {**tm, c.LABEL_RESULT: c.Result.SUCCESS}, counter(4))
    s.add(c.PROBE_ATTEMPTS_TOTAL, {**tm, c.LABEL_RESULT: "read_only"}, counter(0.01))
    for phase in (c.Phase.WRITE, c.Phase.FSYNC, c.Phase.READ, c.Phase.DELETE, c.Phase.TOTAL):
        s.histogram(c.PROBE_DURATION, {**tm, c.LABEL_PHASE: phase}, (0.005, 0.02, 0.05), 4)
    for name, v in ((c.STORAGE_AVAILABLE_BYTES, 4e9), (c.STORAGE_CAPACITY_BYTES, 1e10), (c.STORAGE_INODES_FREE, 6e5),
                    (c.STORAGE_INODES, 6.5e5), (c.STORAGE_MARKER_OK, 1)):
        s.add(name, target, const(v))
    cron = {c.LABEL_NAMESPACE: NS, c.LABEL_CRONJOB: "openclaw-workspace-backup"}
    s.add(c.BACKUP_LAST_SUCCESS, cron, lambda i: s.times[i] - 3600)


def diagnostics_series(s: Samples) -> None:
    pod = {c.LABEL_NAMESPACE: NS, c.LABEL_POD: GW}
    s.histogram(c.DIAG_MESSAGE_PROCESSED, pod, (0.2, 0.8, 1.5, 5), 3)
    call = {**pod, c.LABEL_PROVIDER: "bailian", c.LABEL_MODEL: "qwen3.5-plus"}
    s.add(c.DIAG_MODEL_CALLS_TOTAL, {**call, c.LABEL_OUTCOME: c.OUTCOME_SUCCESS}, counter(10))
    s.add(c.DIAG_MODEL_CALLS_TOTAL, {**call, c.LABEL_OUTCOME: "error", c.LABEL_ERROR_CATEGORY: "rate_limit"},
          counter(1))
    s.histogram(c.DIAG_MODEL_CALL_DURATION, call, (1.2, 3.5, 5.8), 11)
    s.histogram(c.DIAG_RPC_HANDLER, {**pod, c.LABEL_METHOD: "health"}, (0.003, 0.03, 0.3), 5)
    s.add(c.GATEWAY_EVENT_LOOP_DELAY_MAX, pod, const(0.02))
    s.add(c.DIAG_MEMORY, {**pod, c.LABEL_KIND: "rss"}, const(3e8))


@pytest.fixture(scope="module")
def filled_prometheus(tmp_path_factory):
    work = tmp_path_factory.mktemp("prometheus-filled")
    end = time.time() - 30
    samples = Samples(end)
    for fill in (probe_series, model_series, slo_series, fleet_series, kubernetes_series, storage_series,
                 diagnostics_series):
        fill(samples)
    backfill(samples.text(), work)
    with running_prometheus(work) as prom:
        prom.end = end
        yield prom


def _run(prom, target: dict, expr: str) -> list:
    if target["instant"]:
        answer = prom.query(expr, at=prom.end)
    else:
        answer = prom.query_range(expr, prom.end - 1800, prom.end, "60")
    assert answer["status"] == "success", f"{answer} for {expr}"
    return answer["data"]["result"]


def _results(prom) -> dict[tuple[str, str, str], list]:
    out = {}
    for uid, d in dashboards().items():
        values = variable_values(d, __rate_interval="1m", __interval=f"{STEP}s", __range="1h")
        for panel in content_panels(d):
            for target in panel["targets"]:
                out[uid, panel["title"], target["refId"]] = _run(prom, target, substitute(target["expr"], values))
    return out


@pytest.fixture(scope="module")
def results(filled_prometheus):
    return _results(filled_prometheus)


def test_every_query_of_every_panel_returns_data(results):
    empty = [" / ".join(key) for key, result in results.items() if not result]
    assert len(results) > 80
    assert not empty, "queries without data:\n" + "\n".join(empty)


def _label_values(result: list, label: str) -> set[str]:
    return {series["metric"].get(label) for series in result}


def test_slo_panels_show_slos_from_the_rules_and_from_the_exporter(results):
    for title in ("Objective", "SLI (30d)", "Error budget remaining", "Burn rate 1h / 5m", "Burn rate 3d / 6h"):
        assert _label_values(results[catalog.SLO, title, "A"], c.LABEL_SLO) == {SLO_RULES, SLO_LIVE}, title


def test_burn_rate_is_error_ratio_over_budget(results):
    by_slo = {s["metric"][c.LABEL_SLO]: float(s["values"][-1][1]) if "values" in s else float(s["value"][1])
              for s in results[catalog.SLO, "Burn rate 1h / 5m", "A"]}
    assert by_slo == pytest.approx({SLO_RULES: 0.5, SLO_LIVE: 0.5})


def test_kubernetes_panels_show_pods_from_the_watcher_and_from_kube_state_metrics(results):
    for title in ("Restarts in the last hour", "Waiting reasons", "Last termination reasons"):
        assert _label_values(results[catalog.KUBERNETES, title, "A"], c.LABEL_POD) == {GW, BROWSER}, title


def test_cpu_leaves_out_the_pause_container_and_the_pod_cgroup(results):
    used = results[catalog.KUBERNETES, "CPU usage vs requests and limits (cores)", "A"]
    assert _label_values(used, c.LABEL_CONTAINER) == {"gateway", "browser"}
    for series in used:
        assert float(series["values"][-1][1]) == pytest.approx(0.25, rel=0.05)


def test_thresholded_values_come_out_as_the_samples_say(results):
    def last(key):
        (series,) = results[key]
        return float(series["value"][1]) if "value" in series else float(series["values"][-1][1])
    assert last((catalog.MODELS, "Missing models", "A")) == 1
    assert last((catalog.KUBERNETES, "FailedMount events (range)", "A")) > 0
    assert last((catalog.INTERNALS, "Model call failure rate (range)", "A")) == pytest.approx(1 / 11, rel=0.01)
    assert last((catalog.SLO, "OpenClaw alerts firing", "A")) == 1
    assert last((catalog.MODELS, "Provider postponed (Retry-After)", "A")) == pytest.approx(30, abs=1)


def test_fleet_tables_rank_tenants_by_burn_and_budget_left(results):
    def rows(title):
        return {series["metric"].get(c.LABEL_TARGET, ""): float(series["value"][1])
                for series in results[catalog.FLEET, title, "A"] if series["metric"].get(c.LABEL_SLO) == SLO_RULES}
    burn = rows("Tenants by error-budget burn (1h), fastest first")
    # error ratio / error budget (0.001), one row per target.
    assert burn == pytest.approx({"gateway": 0.5, **{t: ratio / 0.001 for t, (ratio, _) in TENANTS.items()}})
    left = rows("Tenants by error budget left (30d), least first")
    assert left == pytest.approx({"gateway": 0.6, **{t: budget for t, (_, budget) in TENANTS.items()}})
    shares = {s["metric"][c.LABEL_POD]: float(s["values"][-1][1])
              for s in results[catalog.FLEET, "Gateways per exporter replica", "A"]}
    assert shares == {"openclaw-slo-exporter-0": 340, "openclaw-slo-exporter-1": 327}
    # Grafana opens the tables worst first: fastest burn, least budget left.
    tables = {p["title"]: p["options"]["sortBy"] for p in content_panels(dashboards()[catalog.FLEET]) if p["type"] == "table"}
    assert tables == {"Tenants by error-budget burn (1h), fastest first": [{"displayName": "Value", "desc": True}],
                      "Tenants by error budget left (30d), least first": [{"displayName": "Value", "desc": False}]}


# Two exporter replicas (replication 2) probing three tenants, 20 probes a minute each (a whole
# number of failures); the share of failed probes per tenant, constant over the 90 minutes.
REPLICA_INSTANCES = ("10.1.2.3:9115", "10.1.2.4:9115")
TENANT_ERRORS = {"tenant-a/gw": 0.1, "tenant-b/gw": 0.0, "tenant-c/gw": 0.05}


def test_fleet_tables_show_one_row_per_tenant_from_the_generated_rules(tmp_path):
    """The shipped SLO rules (alerts/prometheus_rules.yaml), evaluated by promtool over the raw
    probe counters, then the fleet tables' own queries: one row per tenant, each its own burn
    and budget. With rules summed over the fleet it was one row without a target."""
    series = []
    for instance in REPLICA_INSTANCES:
        for tenant, errors in TENANT_ERRORS.items():
            labels = (f'job="openclaw-slo-exporter",instance="{instance}",target="{tenant}",'
                      f'module="{c.Module.WEBSOCKET}"')
            bad = 20 * errors
            series.append({"series": f'{c.PROBE_ATTEMPTS_TOTAL}{{{labels},result="{c.Result.SUCCESS}"}}',
                           "values": f"0+{20 - bad:g}x90"})
            series.append({"series": f'{c.PROBE_ATTEMPTS_TOTAL}{{{labels},result="timeout"}}',
                           "values": f"0+{bad:g}x90"})
    fleet = dashboards()[catalog.FLEET]
    values = variable_values(fleet)
    queries = {p["title"]: substitute(p["targets"][0]["expr"], values)
               for p in content_panels(fleet) if p["type"] == "table"}
    burn = queries["Tenants by error-budget burn (1h), fastest first"]
    left = queries["Tenants by error budget left (30d), least first"]

    def rows(value_of) -> list[dict]:
        return [{"labels": f'{{slo="{SLO_RULES}",target="{t}"}}', "value": value_of(e)}
                for t, e in TENANT_ERRORS.items()]

    # Burn = error ratio / 0.001; budget left = 1 - error ratio / 0.001 (all 90 minutes count).
    promtool_test_rules(tmp_path, yaml.safe_load(RULES_FILE.read_text()), series, [], exprs=[
        (f"round({burn})", "90m", rows(lambda e: round(e / 0.001))),
        (f"round({left})", "90m", rows(lambda e: round(1 - e / 0.001))),
    ])
