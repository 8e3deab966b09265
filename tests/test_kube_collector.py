"""The collector's exposition: names from conventions, labels bounded, messages never labels."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from openclaw_schema import names as c
from exporter.kube.collector import KubeCollector
from exporter.kube.state import KubeState, parse_time
from kubehelpers import fixture, with_container

SCOPE = "openclaw/app=openclaw-gateway"


def scrape(state: KubeState) -> tuple[str, CollectorRegistry]:
    registry = CollectorRegistry()
    registry.register(KubeCollector(state.snapshot))
    return generate_latest(registry).decode(), registry


def crash_loop_state() -> KubeState:
    # Watching since 10:00, before the BackOff event (10:00:23); the FailedMount (08:00:10) is older.
    now = [parse_time("2026-11-20T10:00:00Z")]
    state = KubeState(lambda: now[0])
    pod = fixture("pod_crashloop")
    state.replace_pods(SCOPE, [pod, fixture("pod_containercreating")])
    now[0] += 60
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, restartCount=4))
    state.replace_events("openclaw", [fixture("event_backoff"), fixture("event_failedmount")])
    state.record_error("pods", "gone")
    state.mark_synced("pods")
    return state


def test_exposition_lines_for_a_crash_loop():
    text, _ = scrape(crash_loop_state())
    pod = 'namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"'
    ct = f'container="gateway",{pod}'
    for line in [
        f"openclaw_pod_container_restarts_total{{{ct}}} 4.0",
        f"openclaw_pod_container_restarts_last_hour{{{ct}}} 3.0",
        f'openclaw_pod_container_waiting{{{ct},reason="CrashLoopBackOff"}} 1.0',
        f'openclaw_pod_container_waiting_seconds{{{ct},reason="CrashLoopBackOff"}} 38.0',
        f'openclaw_pod_container_last_terminated{{container="gateway",exit_code="1",{pod},reason="Error"}} 1.0',
        f"openclaw_pod_ready{{{pod}}} 0.0",
        'openclaw_pod_phase{namespace="openclaw",phase="Running",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 1.0',
        'openclaw_pod_phase{namespace="openclaw",phase="Pending",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 0.0',
        'openclaw_pod_events_total{namespace="openclaw",reason="BackOff"} 1.0',
        # Happened before the watcher started: not counted, but the series exists at 0.
        'openclaw_pod_events_total{namespace="openclaw",reason="FailedMount"} 0.0',
        'openclaw_kube_watch_errors_total{kind="gone",resource="pods"} 1.0',
        'openclaw_kube_watch_errors_total{kind="decode",resource="events"} 0.0',
        'openclaw_pod_container_waiting{container="gateway",namespace="openclaw",'
        'pod="openclaw-gateway-7d9f8c6b5d-x2k4p",reason="ContainerCreating"} 1.0',
    ]:
        assert line in text, line
    assert "# TYPE openclaw_pod_startup_seconds histogram" in text


def test_free_text_never_becomes_a_label():
    text, _ = scrape(crash_loop_state())
    assert "exit status 32" not in text
    assert "back-off 10s" not in text
    assert "configuration file not found" not in text


def test_every_name_comes_from_conventions():
    _, registry = scrape(crash_loop_state())
    families = {family.name for family in registry.collect()}
    assert families == {
        c.POD_CONTAINER_RESTARTS, c.POD_RESTARTS_LAST_HOUR, c.POD_CONTAINER_WAITING,
        c.POD_CONTAINER_WAITING_SECONDS, c.POD_CONTAINER_LAST_TERMINATED, c.POD_READY,
        c.POD_PHASE, c.POD_STARTUP, c.POD_EVENTS, c.KUBE_WATCH_ERRORS, c.KUBE_LAST_SYNC,
    }


def test_startup_histogram_buckets():
    now = [parse_time("2026-11-20T11:00:20Z")]
    state = KubeState(lambda: now[0])
    pod = fixture("pod_ready")
    not_ready = fixture("pod_ready")
    not_ready["status"]["conditions"][2]["status"] = "False"
    state.apply_pod_event(SCOPE, "ADDED", not_ready)
    state.apply_pod_event(SCOPE, "MODIFIED", pod)
    _, registry = scrape(state)
    get = registry.get_sample_value
    assert get(c.POD_STARTUP + "_bucket", {"namespace": "openclaw", "le": "5.0"}) == 0
    assert get(c.POD_STARTUP + "_bucket", {"namespace": "openclaw", "le": "60.0"}) == 1
    assert get(c.POD_STARTUP + "_bucket", {"namespace": "openclaw", "le": "600.0"}) == 1
    assert get(c.POD_STARTUP + "_bucket", {"namespace": "openclaw", "le": "+Inf"}) == 1
    assert get(c.POD_STARTUP + "_count", {"namespace": "openclaw"}) == 1
    assert get(c.POD_STARTUP + "_sum", {"namespace": "openclaw"}) == 50


def test_empty_state_still_exports_error_counters():
    _, registry = scrape(KubeState(lambda: 0.0))
    for resource in ("pods", "events"):
        for kind in c.KubeWatchErrorKind:
            assert registry.get_sample_value(c.KUBE_WATCH_ERRORS_TOTAL, {"resource": resource, "kind": kind}) == 0
