"""What each generated alert of alerts/prometheus_alerts.yaml does, replayed by `promtool test rules`.

Every alert has a scenario where it fires, with its labels and full annotations (what on-call
reads), and one where it must not: the boundary of its threshold, the `for` not yet over, or
series outside its selectors. Samples are one a minute (`interval: 1m`).

Series carry the labels the Prometheus Operator gives them (tests/alerthelpers.py): the
exporter's, kube-state-metrics' and cAdvisor's scrape jobs and target labels. Where the exporter
produces the metric (restarts, startup histogram, Warning events) the series come from its real
collector's exposition, rendered minute by minute from a KubeState fed the pod/event fixtures.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from alerthelpers import (
    CADVISOR_TARGET,
    EXPORTER_TARGET,
    EXPORTER_TARGET_REPLACED,
    KSM_TARGET,
    exposition,
    scraped,
    scrapes_to_series,
    series,
)
from openclaw_schema import names
from exporter.kube.state import KubeState
from kubehelpers import Clock, fixture, with_container
from slohelpers import ALERTS, promtool_test_rules

pytestmark = pytest.mark.prometheus

RULES = ALERTS / "prometheus_alerts.yaml"
RUNBOOKS = "https://github.com/openclaw/openclaw-slo-exporter/blob/main/docs/runbooks/"
COMMON = {"service": "openclaw-gateway", "team": "gateway"}
POD = "openclaw-gateway-7d9f8c6b5d-x2k4p"
OTHER_POD = "openclaw-gateway-5b7a6f9d8c-m3n4b"
GW = {"namespace": "openclaw", "pod": POD, "container": "openclaw-gateway"}
SCOPE = "openclaw/app=openclaw-gateway"


def exporter(metric: str, labels: dict[str, str], values: str) -> dict:
    return scraped(EXPORTER_TARGET, metric, labels, values)


def ksm(metric: str, labels: dict[str, str], values: str) -> dict:
    return scraped(KSM_TARGET, metric, labels, values)


def cadvisor(metric: str, labels: dict[str, str], values: str) -> dict:
    return scraped(CADVISOR_TARGET, metric, labels, values)


def gateway_pod(name: str) -> dict:
    """A fixture pod with the shipped config's gateway container name."""
    return with_container(fixture(name), name="openclaw-gateway")


def fired(alert: str, severity: str, labels: dict[str, str], summary: str, description: str) -> dict:
    return {
        "exp_labels": {**labels, **COMMON, "severity": severity},  # the rule's labels win over the series'

        "exp_annotations": {"summary": summary, "description": description, "runbook_url": f"{RUNBOOKS}{alert}.md"},
    }


def promtool_test(tmp_path: Path, input_series: list[dict], checks: list[tuple[str, str, list]], interval: str = "1m") -> None:
    """promtool on the committed alert rules, annotations included."""
    promtool_test_rules(tmp_path, yaml.safe_load(RULES.read_text()), input_series, checks, interval)


# --- the article's alert table -------------------------------------------------------------------

def _restart_replay(schedule: dict[str, tuple[int, ...]], minutes: int) -> tuple[list[str], dict[str, list[int]]]:
    """The exporter's exposition each minute while pods restart at the given minutes, and
    each pod's restartCount per minute (what kube-state-metrics reports)."""
    clock = Clock("2026-11-20T10:00:00Z")
    start = clock.now
    state = KubeState(clock)
    pods = {}
    for name in schedule:
        pod = gateway_pod("pod_crashloop")
        pod["metadata"].update(name=name, uid=f"uid-{name}")
        pods[name] = pod
    state.replace_pods(SCOPE, list(pods.values()))
    counts = {name: [] for name in schedule}
    scrapes = []
    for minute in range(minutes):
        clock.now = start + 60 * minute
        for name, at in schedule.items():
            restarts = 1 + sum(1 for m in at if m <= minute)  # the fixture has restartCount 1
            if minute in at:
                state.apply_pod_event(SCOPE, "MODIFIED", with_container(pods[name], restartCount=restarts))
            counts[name].append(restarts)
        scrapes.append(exposition(state))
    return scrapes, counts


def test_four_restarts_spread_over_59_minutes_fire_and_exactly_three_do_not(tmp_path):
    alert = names.ALERT_POD_RESTARTS
    # POD restarts at 61, 80, 100 and 120 min (4 within 59 min); OTHER_POD exactly 3 times.
    scrapes, counts = _restart_replay({POD: (61, 80, 100, 120), OTHER_POD: (61, 90, 120)}, 131)
    own = scrapes_to_series(scrapes, EXPORTER_TARGET)
    assert {"openclaw_pod_container_restarts_last_hour", "openclaw_pod_container_last_terminated"} <= {
        x["series"].split("{")[0] for x in own}
    fired_at_120 = fired(
        alert, "warning", GW,
        f"Container openclaw-gateway of openclaw/{POD} restarted 4 times in the last hour",
        f"4 restarts of container openclaw-gateway in pod openclaw/{POD} within one hour (alert above 3). "
        "Last termination: Error (exit code 1). A crash loop of the gateway drops every WebSocket session at each restart.",
    )
    for source in ("exporter", "kube-state-metrics"):
        if source == "exporter":
            inputs = own
        else:
            inputs = [ksm(names.KSM_RESTARTS_TOTAL, {**GW, "pod": name, "uid": f"uid-{name}"}, " ".join(map(str, values)))
                      for name, values in counts.items()]
            # The last termination reason comes from the exporter either way.
            inputs += [x for x in own if x["series"].startswith(names.POD_CONTAINER_LAST_TERMINATED)]
        promtool_test(tmp_path, inputs, [
            ("119m", alert, []),  # 3 restarts so far
            ("120m", alert, [fired_at_120]),  # the 4th, 59 min after the 1st: fires at once
            ("121m", alert, []),  # the 1st restart left the hour
        ])


def test_exactly_three_restarts_do_not_fire_when_scrapes_and_evaluations_are_not_aligned(tmp_path):
    # Scraped every 45s, evaluated every minute: increase() extrapolates 3 restarts to 3.025
    # at 74m (as it does in a real Prometheus); the alert counts whole restarts.
    alert = names.ALERT_POD_RESTARTS
    promtool_test(tmp_path, [
        ksm(names.KSM_RESTARTS_TOTAL, {**GW, "pod": OTHER_POD, "uid": "u1"}, "0x80 1 2 3 3x60"),
        ksm(names.KSM_RESTARTS_TOTAL, {**GW, "uid": "u2"}, "0x80 1 2 3 4 4x60"),
        # The same kube-state-metrics scraped a second time by another job: not counted twice.
        scraped({**KSM_TARGET, "job": "kube-state-metrics-federated"}, names.KSM_RESTARTS_TOTAL,
                {**GW, "pod": OTHER_POD, "uid": "u1"}, "0x80 1 2 3 3x60"),
    ], [(at, alert, [fired(
        alert, "warning", GW,
        f"Container openclaw-gateway of openclaw/{POD} restarted 4 times in the last hour",
        f"4 restarts of container openclaw-gateway in pod openclaw/{POD} within one hour (alert above 3). "
        "Last termination: unknown. A crash loop of the gateway drops every WebSocket session at each restart.",
    )]) for at in ("70m", "74m", "80m", "100m")], interval="45s")


def test_the_exporters_own_restart_count_alone_fires(tmp_path):
    alert = names.ALERT_POD_RESTARTS
    promtool_test(tmp_path, [exporter(names.POD_RESTARTS_LAST_HOUR, GW, "3x10 5x20")], [
        ("9m", alert, []),
        ("20m", alert, [fired(
            alert, "warning", GW,
            f"Container openclaw-gateway of openclaw/{POD} restarted 5 times in the last hour",
            f"5 restarts of container openclaw-gateway in pod openclaw/{POD} within one hour (alert above 3). "
            "Last termination: unknown. A crash loop of the gateway drops every WebSocket session at each restart.",
        )]),
    ])


def _cpu_fired(pod: str, percent: int, basis: str) -> dict:
    alert = names.ALERT_CPU_HIGH
    return fired(
        alert, "warning", {**GW, "pod": pod, names.LABEL_CPU_BASIS: basis},
        f"Gateway openclaw/{pod} uses {percent}% of its CPU {basis}",
        f"Container openclaw-gateway of openclaw/{pod} averaged {percent}% of its CPU {basis} over 5m (alert above 80% "
        "for 15m; measured against the request only when the container has no CPU limit). Near a limit the kernel "
        "throttles it; above its request it competes for the node's CPU: message handling and WebSocket handshakes slow down.",
    )


def test_cpu_above_80_percent_of_the_limit_for_15_minutes(tmp_path):
    alert = names.ALERT_CPU_HIGH
    other = {**GW, "pod": OTHER_POD}
    promtool_test(tmp_path, [
        cadvisor(names.CADVISOR_CPU_SECONDS_TOTAL, GW, "0+108x40"),  # 1.8 cores
        cadvisor(names.CADVISOR_CPU_SECONDS_TOTAL, other, "0+90x40"),  # 1.5 cores: 75 %
        cadvisor(names.CADVISOR_CPU_SECONDS_TOTAL, {**GW, "container": "POD"}, "0+200x40"),  # the pause container
        # OTHER_POD's cAdvisor scraped a second time by another job: summed, it would read 150 %.
        scraped({**CADVISOR_TARGET, "job": "cadvisor-standalone"}, names.CADVISOR_CPU_SECONDS_TOTAL, other, "0+90x40"),
        ksm(names.KSM_RESOURCE_LIMITS, {**GW, "resource": "cpu", "unit": "core"}, "2x40"),
        ksm(names.KSM_RESOURCE_LIMITS, {**other, "resource": "cpu", "unit": "core"}, "2x40"),
        # A request too: the limit is what counts when both are set.
        ksm(names.KSM_RESOURCE_REQUESTS, {**GW, "resource": "cpu", "unit": "core"}, "1x40"),
    ], [
        ("10m", alert, []),
        ("30m", alert, [_cpu_fired(POD, 90, "limit")]),
    ])


def test_cpu_without_a_limit_is_measured_against_the_request_and_says_so(tmp_path):
    alert = names.ALERT_CPU_HIGH
    no_limit = {**GW, "pod": OTHER_POD}
    neither = {**GW, "pod": "openclaw-gateway-5b7a6f9d8c-h7j8k"}
    promtool_test(tmp_path, [
        cadvisor(names.CADVISOR_CPU_SECONDS_TOTAL, no_limit, "0+54x40"),  # 0.9 cores of a 1-core request
        ksm(names.KSM_RESOURCE_REQUESTS, {**no_limit, "resource": "cpu", "unit": "core"}, "1x40"),
        ksm(names.KSM_RESOURCE_REQUESTS, {**no_limit, "resource": "memory", "unit": "byte"}, "1e9x40"),
        # Neither a limit nor a request: nothing to compare with, never fires, however busy.
        cadvisor(names.CADVISOR_CPU_SECONDS_TOTAL, neither, "0+600x40"),
    ], [
        ("10m", alert, []),
        ("30m", alert, [_cpu_fired(OTHER_POD, 90, "request")]),
    ])


def test_memory_above_90_percent_of_the_limit_pages(tmp_path):
    alert = names.ALERT_MEMORY_HIGH
    other = {**GW, "pod": OTHER_POD}
    promtool_test(tmp_path, [
        cadvisor(names.CADVISOR_MEMORY_WORKING_SET, GW, "3800000000x20"),
        cadvisor(names.CADVISOR_MEMORY_WORKING_SET, other, "3600000000x20"),  # exactly 90 %: not above
        # The same kubelet scraped twice: summed, OTHER_POD would read 180 %.
        scraped({**CADVISOR_TARGET, "job": "kubelet-copy"}, names.CADVISOR_MEMORY_WORKING_SET, other, "3600000000x20"),
        ksm(names.KSM_RESOURCE_LIMITS, {**GW, "resource": "memory", "unit": "byte"}, "4000000000x20"),
        ksm(names.KSM_RESOURCE_LIMITS, {**other, "resource": "memory", "unit": "byte"}, "4000000000x20"),
    ], [
        ("4m", alert, []),
        ("10m", alert, [fired(
            alert, "critical", GW,
            f"Gateway openclaw/{POD} uses 95% of its memory limit",
            f"Container openclaw-gateway of openclaw/{POD} has a working set of 95% of its memory limit (alert above 90% for 5m). "
            "At the limit the kernel OOM-kills it (last termination reason OOMKilled) and every session on it drops.",
        )]),
    ])


def _message_buckets(job: str, fast: bool) -> list[dict]:
    labels = {"job": job, "namespace": "openclaw"}
    metric = names.DIAG_MESSAGE_PROCESSED + "_bucket"
    slow_share = "0x30" if not fast else "0+60x30"
    return [
        series(metric, {**labels, "le": "1"}, slow_share),
        series(metric, {**labels, "le": "5"}, slow_share),
        series(metric, {**labels, "le": "10"}, "0+60x30"),
        series(metric, {**labels, "le": "+Inf"}, "0+60x30"),
    ]


def _rules_with(tmp_path: Path, overrides: str) -> dict:
    """The alert rules generated with an overrides file (as `--alerts-config FILE`)."""
    from slo import alert_rules, render
    path = tmp_path / "overrides.yml"
    path.write_text(overrides)
    return yaml.safe_load(render.rule_file(alert_rules.generate(alert_rules.load_config(str(path))), "test"))


def test_message_processing_p95_above_5s_from_the_plugin(tmp_path):
    # The plugin is the optional second source (`source: plugin`); its window was 5m.
    alert = names.ALERT_MESSAGE_LATENCY
    rules = _rules_with(tmp_path, "alerts:\n  message_latency:\n    source: plugin\n    window: 5m\n")
    promtool_test_rules(tmp_path, rules, [*_message_buckets("openclaw-gateway", fast=False), *_message_buckets("openclaw-gateway-fast", fast=True)], [
        ("8m", alert, []),
        ("20m", alert, [fired(
            alert, "warning", {"job": "openclaw-gateway", "namespace": "openclaw"},
            "Gateway message processing P95 is 9.75s",
            "P95 of openclaw_message_processed_duration_seconds (the gateway's diagnostics plugin, job openclaw-gateway) "
            "over 5m is 9.75s (alert above 5s for 10m; the article's normal P95 is 800ms). Usually the model provider is slow: "
            "compare openclaw_model_call_total and the model probe.",
        )]),
    ])


def _warm_turns(target: str, slow: bool) -> list[dict]:
    """The exporter's warm message-probe turns: 2 a minute, all under 1 s, or 1 in 4 over 5 s."""
    labels = {"target": target, "module": "message", "phase": names.Phase.WARM}
    metric = names.PROBE_DURATION + "_bucket"
    under = "0+1.5x90" if slow else "0+2x90"
    return [
        exporter(metric, {**labels, "le": "1.0"}, under),
        exporter(metric, {**labels, "le": "5.0"}, under),
        exporter(metric, {**labels, "le": "10.0"}, "0+2x90"),
        exporter(metric, {**labels, "le": "+Inf"}, "0+2x90"),
    ]


def test_message_latency_reads_the_exporters_warm_message_turns_by_default(tmp_path):
    alert = names.ALERT_MESSAGE_LATENCY
    promtool_test(tmp_path, [*_warm_turns("gw", slow=True), *_warm_turns("gw-fast", slow=False)], [
        ("5m", alert, []),  # above 5 s at once, but the `for` of 10m is not over
        ("30m", alert, [fired(
            alert, "warning", {"target": "gw"},
            "Message turns through gw take 9s at P95",
            "P95 of the exporter's warm message-probe turns through gw (chat.send to the final answer) over 1h is 9s "
            "(alert above 5s for 10m; the article's normal P95 is 800ms). Compare the probe's prepare and model phases: "
            "a slow model phase is the provider, a slow prepare phase is the gateway.",
        )]),
    ])


def test_gateway_model_call_failures_above_5_percent_page(tmp_path):
    alert = names.ALERT_MODEL_CALL_FAILURES
    calls = names.DIAG_MODEL_CALLS_TOTAL
    bad = {"provider": "bailian", "model": "qwen-plus"}
    good = {"provider": "bailian", "model": "qwen3.5-plus"}
    promtool_test(tmp_path, [
        # The plugin's spelling (its public source): outcome "completed" or "error".
        series(calls, {**bad, "outcome": "completed", "error_category": "none"}, "0+90x30"),
        series(calls, {**bad, "outcome": "error", "error_category": "model_not_found"}, "0+10x30"),
        series(calls, {**good, "outcome": "completed", "error_category": "none"}, "0+98x30"),
        series(calls, {**good, "outcome": "error", "error_category": "timeout"}, "0+2x30"),  # 2 %
    ], [
        ("5m", alert, []),
        ("20m", alert, [fired(
            alert, "critical", bad,
            "10% of the gateway's calls to bailian/qwen-plus fail",
            "The gateway's own model calls (diagnostics plugin) to bailian/qwen-plus failed 10% of the time over 10m "
            "(alert above 5% for 5m). Failures by category: model_not_found 100. Users get errors instead of answers.",
        )]),
    ])


def test_model_probe_failures_above_5_percent_page_but_credentials_do_not_count(tmp_path):
    # Reads the model and the message probes, by target and module (the module label is new
    # with the message probe: the alert says which probe sees the failures).
    alert = names.ALERT_MODEL_PROBE_FAILURES
    attempts = names.PROBE_ATTEMPTS_TOTAL
    promtool_test(tmp_path, [
        exporter(attempts, {"target": "gw", "module": "model", "result": "success"}, "0+1x60"),
        exporter(attempts, {"target": "gw", "module": "model", "result": "model_not_found"}, "0+1x60"),
        exporter(attempts, {"target": "gw2", "module": "model", "result": "success"}, "0+1x60"),
        exporter(attempts, {"target": "gw2", "module": "model", "result": "auth_failed"}, "0+1x60"),
        exporter(attempts, {"target": "gw", "module": "message", "result": "success"}, "0+1x60"),
        exporter(attempts, {"target": "gw", "module": "message", "result": "rate_limited"}, "0+1x60"),
        # The message probe's own daily cap says nothing about model calls.
        exporter(attempts, {"target": "gw2", "module": "message", "result": "success"}, "0+1x60"),
        exporter(attempts, {"target": "gw2", "module": "message", "result": "daily_cap_reached"}, "0+1x60"),
    ], [
        ("8m", alert, []),
        ("45m", alert, [fired(
            alert, "critical", {"target": "gw", "module": "message"},
            "50% of message probes of gw fail",
            "The exporter's message probe of gw failed 50% of its runs over 30m (alert above 5% for 10m; credential failures "
            "are excluded, see OpenClawProbeAuthFailing). Results: rate_limited 30. Check the provider's status and the configured model.",
        ), fired(
            alert, "critical", {"target": "gw", "module": "model"},
            "50% of model probes of gw fail",
            "The exporter's model probe of gw failed 50% of its runs over 30m (alert above 5% for 10m; credential failures "
            "are excluded, see OpenClawProbeAuthFailing). Results: model_not_found 30. Check the provider's status and the configured model.",
        )]),
    ])


# --- the article's incidents ---------------------------------------------------------------------

def test_crash_loop_backoff_for_5_minutes(tmp_path):
    alert = names.ALERT_CRASH_LOOP
    waiting = {**GW, "reason": "CrashLoopBackOff"}
    promtool_test(tmp_path, [
        ksm(names.KSM_WAITING_REASON, waiting, "1x20"),
        exporter(names.POD_CONTAINER_RESTARTS_TOTAL, GW, "4x20"),
        exporter(names.POD_CONTAINER_LAST_TERMINATED, {**GW, "reason": "Error", "exit_code": "1"}, "1x20"),
        # The browser in the same namespace is not the gateway.
        ksm(names.KSM_WAITING_REASON, {**waiting, "pod": "openclaw-browser-1", "container": "browser"}, "1x20"),
    ], [
        ("4m", alert, []),
        ("10m", alert, [fired(
            alert, "warning", GW,
            f"Gateway openclaw/{POD} is in CrashLoopBackOff",
            f"Container openclaw-gateway of openclaw/{POD} has been waiting in CrashLoopBackOff for 5m: it exits soon after "
            "every start. Last termination: Error (exit code 1); restarts so far: 4. Read the previous container's log: a "
            "missing config file (configuration file not found at /root/.openclaw/openclaw.json) was the article's cause.",
        )]),
    ])


def test_image_pull_failing_keeps_one_alert_across_reason_flips(tmp_path):
    alert = names.ALERT_IMAGE_PULL
    promtool_test(tmp_path, [
        exporter(names.POD_CONTAINER_WAITING, {**GW, "reason": "ErrImagePull"}, "1 1 _ _ _ _ _ _ _ _ 1 1"),
        exporter(names.POD_CONTAINER_WAITING, {**GW, "reason": "ImagePullBackOff"}, "_ _ 1 1 1 1 1 1 1 1 _ _ 1x10"),
    ], [
        ("4m", alert, []),
        ("15m", alert, [fired(
            alert, "warning", GW,
            f"Gateway openclaw/{POD} cannot pull its image",
            f"Container openclaw-gateway of openclaw/{POD} has been waiting in ImagePullBackOff or ErrImagePull for 5m: the "
            "node cannot fetch the image (registry DNS, credentials, or a wrong tag). kubectl describe pod shows the kubelet's exact error.",
        )]),
    ])


def test_failed_mount_events_fire_from_the_first_one_and_resolve_when_they_stop(tmp_path):
    alert = names.ALERT_VOLUME_MOUNT
    events = names.POD_EVENTS_TOTAL
    promtool_test(tmp_path, [
        # The counter appears with its first event (count 3), as the watcher exports it.
        exporter(events, {"namespace": "openclaw", "reason": "FailedMount"}, "_x20 3x40"),
        exporter(events, {"namespace": "openclaw", "reason": "BackOff"}, "0+1x60"),
        exporter(names.POD_CONTAINER_WAITING, {**GW, "reason": "ContainerCreating"}, "1x60"),
    ], [
        ("19m", alert, []),
        ("22m", alert, [fired(
            alert, "warning", {"namespace": "openclaw"},
            "Volume mounts fail in namespace openclaw (3 FailedMount events in 10m)",
            "3 Warning events with reason FailedMount about the gateway's pods in namespace openclaw in the last 10m. "
            f"Pods waiting in ContainerCreating: {POD}. The article's cause: several CephFS PVCs created at once raced "
            "the CSI driver (mount exit status 32).",
        )]),
        ("35m", alert, []),  # no new event for 10m
    ])


def _failed_mount(uid: str, at: str) -> dict:
    event = fixture("event_failedmount")
    event["metadata"] = {**event["metadata"], "uid": uid, "name": f"{POD}.{uid}"}
    event.update(firstTimestamp=at, lastTimestamp=at, count=1)
    return event


@pytest.mark.parametrize("how", ["pod_replaced", "container_restarted"])
def test_failed_mount_does_not_realert_when_the_exporter_restarts_and_relists_old_events(tmp_path, how):
    """The exporter's real exposition: a FailedMount at 5m; at 40m the exporter is replaced (new
    pod, new address: new series) or its container restarts (same series) and re-lists that old
    event: no alert. A new FailedMount at 60m alerts again."""
    alert = names.ALERT_VOLUME_MOUNT
    clock = Clock("2026-11-20T08:00:00Z")
    base = clock.now
    pod = fixture("pod_containercreating")  # POD, waiting in ContainerCreating
    scrapes: dict[str, list[str | None]] = {"before": [], "after": []}
    state = None
    for minute in range(75):
        clock.now = base + 60 * minute
        if minute in (0, 40):  # (re)start: a fresh watcher lists pods and events
            state = KubeState(clock)
            state.replace_pods(SCOPE, [pod])
            state.replace_events("openclaw", [_failed_mount("e1", "2026-11-20T08:05:00Z")] if minute else [])
        if minute == 5:
            state.apply_event("openclaw", "ADDED", _failed_mount("e1", "2026-11-20T08:05:00Z"))
        if minute == 60:
            state.apply_event("openclaw", "ADDED", _failed_mount("e2", "2026-11-20T09:00:00Z"))
        text = exposition(state)
        scrapes["before"].append(text if minute < 40 else None)
        scrapes["after"].append(text if minute >= 40 else None)
    after = EXPORTER_TARGET_REPLACED if how == "pod_replaced" else EXPORTER_TARGET
    keep = lambda name: name in (names.POD_EVENTS_TOTAL, names.POD_CONTAINER_WAITING)  # noqa: E731
    if how == "pod_replaced":
        inputs = scrapes_to_series(scrapes["before"], EXPORTER_TARGET, keep) + scrapes_to_series(scrapes["after"], after, keep)
    else:  # one target throughout
        inputs = scrapes_to_series([b if b is not None else a for b, a in zip(scrapes["before"], scrapes["after"])],
                                   EXPORTER_TARGET, keep)

    def mount_alert(count: int) -> dict:
        return fired(
            alert, "warning", {"namespace": "openclaw"},
            f"Volume mounts fail in namespace openclaw ({count} FailedMount events in 10m)",
            f"{count} Warning events with reason FailedMount about the gateway's pods in namespace openclaw in the last "
            f"10m. Pods waiting in ContainerCreating: {POD}. The article's cause: several CephFS PVCs created at once "
            "raced the CSI driver (mount exit status 32).",
        )

    promtool_test(tmp_path, inputs, [
        ("4m", alert, []),
        ("7m", alert, [mount_alert(1)]),
        ("30m", alert, []),
        ("41m", alert, []),  # the re-listed 08:05 event is history
        ("45m", alert, []),
        ("55m", alert, []),
        ("62m", alert, [mount_alert(1)]),  # a new one after the restart still alerts
    ])


def test_stuck_in_container_creating_for_more_than_5_minutes(tmp_path):
    alert = names.ALERT_CONTAINER_CREATING
    promtool_test(tmp_path, [
        ksm(names.KSM_WAITING_REASON, {**GW, "reason": "ContainerCreating"}, "1x20"),
        ksm(names.KSM_WAITING_REASON, {**GW, "pod": OTHER_POD, "reason": "ContainerCreating"}, "1x3 0x17"),
    ], [
        ("4m", alert, []),
        ("10m", alert, [fired(
            alert, "warning", GW,
            f"Gateway openclaw/{POD} has been stuck in ContainerCreating for more than 5m",
            f"Container openclaw-gateway of openclaw/{POD} has waited in ContainerCreating for more than 5m. Usually a volume "
            "that does not mount (see OpenClawPodVolumeMountFailing); kubectl describe pod lists the events.",
        )]),
    ])


def _startup_replay(starts: list[tuple[int, int]], minutes: int) -> list[dict]:
    """The exporter's real exposition each minute while gateway pods are created at minute
    `created` and become Ready at minute `ready` (the watcher saw them not Ready first)."""
    clock = Clock("2026-11-20T11:00:00Z")
    base = clock.now
    state = KubeState(clock)
    scrapes = []
    for minute in range(minutes):
        clock.now = base + 60 * minute
        for i, (created, ready) in enumerate(starts):
            pod = gateway_pod("pod_ready")
            pod["metadata"].update(name=f"openclaw-gateway-5b7a6f9d8c-s{i}", uid=f"uid-start-{i}",
                                   creationTimestamp=_iso(base + 60 * created))
            for condition in pod["status"]["conditions"]:
                condition["lastTransitionTime"] = _iso(base + 60 * ready)
            if minute == created:
                pod["status"]["conditions"][2]["status"] = "False"
                state.apply_pod_event(SCOPE, "ADDED", pod)
            elif minute == ready:
                state.apply_pod_event(SCOPE, "MODIFIED", pod)
        scrapes.append(exposition(state))
    out = scrapes_to_series(scrapes, EXPORTER_TARGET, keep=lambda name: name.startswith(names.POD_STARTUP))
    assert any('le="300.0"' in x["series"] for x in out), "the exporter's own spelling of the 300s bucket"
    return out


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


SLOW_START = fired(
    names.ALERT_STARTUP_SLOW, "warning", {"namespace": "openclaw"},
    "Gateway pods in openclaw took more than 300s to become Ready",
    "1 gateway pod(s) in namespace openclaw took longer than 300s from creation to Ready in the last 1h (target: under "
    "5 minutes; the article got 3 minutes, then 50s). Slow image pulls and volume mounts are the usual causes.",
)


def test_a_slow_startup_fires_even_as_the_histograms_first_observation(tmp_path):
    # The watcher's histogram appears with the first pod it saw start: here a slow one (7 min) at 8m.
    promtool_test(tmp_path, _startup_replay([(1, 8)], 90), [
        ("7m", names.ALERT_STARTUP_SLOW, []),
        ("15m", names.ALERT_STARTUP_SLOW, [SLOW_START]),
        ("80m", names.ALERT_STARTUP_SLOW, []),  # older than the 1h window
    ])


def test_a_later_slow_startup_fires_and_fast_ones_do_not(tmp_path):
    # A 1-minute start at 2m, then a 7-minute one at 37m.
    promtool_test(tmp_path, _startup_replay([(1, 2), (30, 37)], 70), [
        ("25m", names.ALERT_STARTUP_SLOW, []),  # one fast start so far
        ("40m", names.ALERT_STARTUP_SLOW, [SLOW_START]),
    ])


def test_model_missing_from_the_provider_catalog_pages(tmp_path):
    alert = names.ALERT_MODEL_MISSING
    retired = {"target": "gw", "provider": "bailian", "model": "qwen-plus"}
    promtool_test(tmp_path, [
        exporter(names.MODEL_AVAILABLE, retired, "0x20"),
        exporter(names.MODEL_AVAILABLE, {**retired, "model": "qwen3.5-plus"}, "1x20"),
    ], [
        ("4m", alert, []),
        ("10m", alert, [fired(
            alert, "critical", retired,
            "Model qwen-plus is missing from provider bailian's catalog",
            "The model probe of gw has not found qwen-plus in the /models list of provider bailian for 5m. The provider has "
            "probably retired it (the article's qwen-plus): every request using it fails. Point the gateway at a listed model.",
        )]),
    ])


# --- the probes and the exporter -------------------------------------------------------------------

def test_gateway_not_ready_names_the_failing_subsystems(tmp_path):
    alert = names.ALERT_GATEWAY_NOT_READY
    promtool_test(tmp_path, [
        exporter(names.GATEWAY_READY, {"target": "gw"}, "0x20"),
        exporter(names.GATEWAY_READY, {"target": "gw2"}, "1x20"),
        exporter(names.GATEWAY_READINESS_FAILING, {"target": "gw", "subsystem": "agent-database:main"}, "1x20"),
        exporter(names.GATEWAY_READINESS_FAILING, {"target": "gw", "subsystem": "plugin-reload"}, "1x20"),
    ], [
        ("4m", alert, []),
        ("10m", alert, [fired(
            alert, "warning", {"target": "gw"},
            "Gateway gw is not ready; failing: agent-database:main, plugin-reload",
            "The gateway's /readyz on gw has answered not ready for 5m. Failing subsystems: agent-database:main, "
            "plugin-reload. Clients connecting now are refused or degraded.",
        )]),
    ])


def test_websocket_handshakes_failing_by_reason_but_not_for_credentials(tmp_path):
    alert = names.ALERT_WEBSOCKET_FAILING
    attempts = names.PROBE_ATTEMPTS_TOTAL
    promtool_test(tmp_path, [
        exporter(attempts, {"target": "gw", "module": "websocket", "result": "success"}, "0+2x30"),
        exporter(attempts, {"target": "gw", "module": "websocket", "result": "timeout"}, "0+2x30"),
        # 5 % refused: below the 25 % threshold.
        exporter(attempts, {"target": "gw2", "module": "websocket", "result": "success"}, "0+19x30"),
        exporter(attempts, {"target": "gw2", "module": "websocket", "result": "refused"}, "0+1x30"),
        # Every probe refused its token: OpenClawProbeAuthFailing, not this.
        exporter(attempts, {"target": "gw3", "module": "websocket", "result": "auth_failed"}, "0+2x30"),
    ], [
        ("5m", alert, []),
        ("20m", alert, [fired(
            alert, "warning", {"target": "gw", "result": "timeout"},
            "WebSocket probes of gw fail with timeout",
            "50% of the exporter's WebSocket probes of gw over 5m ended with timeout (alert above 25% for 5m). Clients "
            "connecting the same way fail too. Credential results alert separately as OpenClawProbeAuthFailing.",
        )]),
    ])


def test_probe_auth_failures_are_a_ticket_that_says_not_an_outage(tmp_path):
    alert = names.ALERT_PROBE_AUTH
    attempts = names.PROBE_ATTEMPTS_TOTAL
    promtool_test(tmp_path, [
        exporter(attempts, {"target": "gw", "module": "websocket", "result": "auth_failed"}, "0+2x30"),
        exporter(attempts, {"target": "gw", "module": "model", "result": "forbidden"}, "7x30"),  # old, not increasing
    ], [
        ("8m", alert, []),
        ("20m", alert, [fired(
            alert, "warning", {"target": "gw", "module": "websocket", "result": "auth_failed"},
            "The exporter's websocket probe of gw is refused its credentials (auth_failed): not an outage",
            "The websocket probe of gw ended with auth_failed 10 times in the last 5m, for 10m: the probe's token, scopes "
            "or device pairing are wrong, not the gateway. These probes count neither for nor against the SLOs, so the "
            "gateway's SLIs are partly blind until the probe is fixed.",
        )]),
    ])


EXPORTER = EXPORTER_TARGET


def test_exporter_down_when_scrapes_fail(tmp_path):
    alert = names.ALERT_EXPORTER_DOWN
    promtool_test(tmp_path, [
        series("up", EXPORTER, "1x5 0x20"),
        # The exporter scraped a second time by another job: that one's `up` is not this alert's.
        series("up", {**EXPORTER, "job": "federate-openclaw"}, "0x25"),
        series("up", {"job": "kube-state-metrics", "instance": "10.0.0.8:8080"}, "0x25"),
    ], [
        ("8m", alert, []),
        ("15m", alert, [fired(
            alert, "warning", EXPORTER,
            "The OpenClaw exporter (job openclaw-slo-exporter) is not scraped",
            'Prometheus has not scraped the exporter (up{job="openclaw-slo-exporter"}) successfully for 5m (instance 10.0.0.7:9879; no instance '
            "means no target is discovered at all). Every probe, SLO and pod alert of the gateway is blind meanwhile.",
        )]),
    ])


def test_exporter_down_when_it_is_not_discovered_at_all(tmp_path):
    alert = names.ALERT_EXPORTER_DOWN
    promtool_test(tmp_path, [series("up", {"job": "kube-state-metrics", "instance": "10.0.0.8:8080"}, "1x20")], [
        ("4m", alert, []),
        ("10m", alert, [fired(
            alert, "warning", {"job": "openclaw-slo-exporter"},
            "The OpenClaw exporter (job openclaw-slo-exporter) is not scraped",
            'Prometheus has not scraped the exporter (up{job="openclaw-slo-exporter"}) successfully for 5m (instance ; no instance '
            "means no target is discovered at all). Every probe, SLO and pod alert of the gateway is blind meanwhile.",
        )]),
    ])


def test_config_reload_failed(tmp_path):
    alert = names.ALERT_RELOAD_FAILED
    promtool_test(tmp_path, [exporter(names.EXPORTER_RELOAD_SUCCESS, EXPORTER, "1x5 0x20")], [
        ("5m", alert, []),
        ("8m", alert, []),
        ("15m", alert, [fired(
            alert, "warning", EXPORTER,
            "The exporter 10.0.0.7:9879 rejected its new config",
            "The last config reload of the exporter 10.0.0.7:9879 failed 5m ago or more; it keeps probing with the previous "
            "config, so the change you made is not in effect. openclaw-exporter check --config.file lists every problem.",
        )]),
    ])


def test_kube_watch_stale_when_the_last_sync_is_older_than_10_minutes(tmp_path):
    alert = names.ALERT_KUBE_WATCH_STALE
    promtool_test(tmp_path, [
        exporter(names.KUBE_LAST_SYNC, {**EXPORTER, "resource": "pods"}, "0x30"),  # never heard from since t=0
        exporter(names.KUBE_LAST_SYNC, {**EXPORTER, "resource": "events"}, "0+60x30"),  # fresh every minute
    ], [
        ("14m", alert, []),
        ("20m", alert, [fired(
            alert, "warning", {**EXPORTER, "resource": "pods"},
            "The exporter has not heard from the Kubernetes API about pods for 20m 0s",
            "The exporter 10.0.0.7:9879 last received a list, watch event or bookmark for pods 20m 0s ago (alert above "
            "600s for 5m). Its pod metrics are stale, so the pod alerts cannot fire.",
        )]),
    ])


def test_kube_watch_errors_but_not_410_gone(tmp_path):
    alert = names.ALERT_KUBE_WATCH_ERRORS
    promtool_test(tmp_path, [
        exporter(names.KUBE_WATCH_ERRORS_TOTAL, {**EXPORTER, "resource": "pods", "kind": "connection"}, "0+1x45"),
        exporter(names.KUBE_WATCH_ERRORS_TOTAL, {**EXPORTER, "resource": "pods", "kind": "gone"}, "0+5x45"),
    ], [
        ("20m", alert, []),
        ("40m", alert, [fired(
            alert, "warning", {"job": "openclaw-slo-exporter", "resource": "pods", "kind": "connection"},
            "The exporter's Kubernetes watch of pods fails (connection errors)",
            "15 connection errors of the exporter's list/watch of pods in 15m (alert above 5 for 15m; 410 Gone is a normal "
            "re-list and not counted). Pod metrics may be stale.",
        )]),
    ])


def test_probe_ticks_skipped_by_one_replica_fire_for_that_replica(tmp_path):
    alert = names.ALERT_PROBE_TICKS_SKIPPED
    probe = {"target": "gw", "module": "model"}
    promtool_test(tmp_path, [
        exporter(names.PROBE_SKIPPED_TOTAL, {**EXPORTER, **probe}, "0+1x45"),  # a skip a minute
        scraped(EXPORTER_TARGET_REPLACED, names.PROBE_SKIPPED_TOTAL, probe, "0x45"),  # the other replica keeps up
    ], [
        ("15m", alert, []),  # above the threshold from minute 3, but not yet for 15m
        ("40m", alert, [fired(
            alert, "warning", {"instance": "10.0.0.7:9879", **probe},
            "The exporter 10.0.0.7:9879 skips model probes of gw",
            "15 model probes of gw were due while the previous one still ran, and skipped, on the exporter 10.0.0.7:9879 "
            "in the last 15m (alert above 2 for 15m). The target's SLIs get fewer events. Raise the module's interval or "
            "lower its timeout; when one replica skips for many targets, it is overloaded: add replicas.",
        )]),
    ])


def test_every_alert_has_a_scenario_here():
    from slo import alert_rules

    generated = {r.alert for g in alert_rules.generate(alert_rules.load_config()) for r in g.rules}
    # The storage and backup alerts' scenarios replay the storage probe: tests/test_storage_alerts.py.
    text = Path(__file__).read_text() + (Path(__file__).parent / "test_storage_alerts.py").read_text()
    constants = {getattr(names, n) for n in dir(names) if n.startswith("ALERT_") and f"names.{n}" in text}
    assert generated <= constants, sorted(generated - constants)
