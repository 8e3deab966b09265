"""The watcher with the real `kubernetes` client against a local API server.

Each test scripts what the cluster does (the article's incidents, a 410, a cut connection,
a garbage line, a failing API) and checks what /metrics would show after each step.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time

import pytest
import yaml
from kubernetes import config as k8s_config
from prometheus_client import generate_latest

from openclaw_schema import names as c
from exporter.kube.config import Selector
from exporter.kube.watcher import PodWatcher
from kube_api_server import FakeKubeApi
from kubehelpers import Clock, Metrics, api_client, eventually, fixture, kube_config, with_container

NS = "openclaw"
MOUNT_POD = "openclaw-gateway-7d9f8c6b5d-x2k4p"
PULL_POD = "openclaw-gateway-6c8b7a5f4e-q9w8e"
CRASH_POD = "openclaw-gateway-5b7a6f9d8c-m3n4b"
READY_POD = "openclaw-gateway-5b7a6f9d8c-h7j8k"


@pytest.fixture
async def start_watcher(api):
    """start_watcher(clock=..., **config) -> a running PodWatcher; all are stopped at teardown."""
    started: list[tuple[PodWatcher, object]] = []

    def start(clock=time.time, **overrides) -> PodWatcher:
        client = api_client(api.url)
        watcher = PodWatcher(kube_config(**overrides), api_client=client, clock=clock)
        started.append((watcher, client))
        watcher.start()
        return watcher

    try:
        yield start
    finally:
        stopped = [await w.aclose(timeout=5) for w, _ in started]
        for _, client in started:
            client.close()
        assert all(stopped), "watch threads did not stop"


async def watching(api: FakeKubeApi, *resources: str) -> None:
    """Wait until the watcher holds live watch streams (lists done)."""
    await eventually(lambda: all(api.live_watches(r) for r in resources or ("pods", "events")))


def container(pod: str, **extra: str) -> dict[str, str]:
    return {c.LABEL_NAMESPACE: NS, c.LABEL_POD: pod, c.LABEL_CONTAINER: "gateway", **extra}


def replay(api: FakeKubeApi, start_watcher, pod: str, event: str, when: str):
    """The cluster as the incident left it, and a watcher started at `when`."""
    obj = api.put("pods", fixture(pod))
    api.put("events", fixture(event))
    clock = Clock(when)
    watcher = start_watcher(clock=clock)
    return obj, clock, watcher, Metrics(watcher)


def event_update(name: str, count: int, last: str) -> dict:
    ev = fixture(name)
    ev["count"], ev["lastTimestamp"] = count, last
    return ev


# --- the article's incidents ---------------------------------------------------------------

async def test_failed_mount_incident_then_recovery(api, start_watcher):
    # 2 min after the pod was created
    pod, _, watcher, m = replay(api, start_watcher, "pod_containercreating", "event_failedmount", "2026-11-20T08:02:00Z")

    # The first FailedMount (08:00:10) happened before the watcher started: listed, not counted
    # (a replaced exporter re-lists it), but the counter exists at 0 so the next one is seen.
    await eventually(lambda: m(c.POD_EVENTS_TOTAL, namespace=NS, reason="FailedMount") == 0)
    assert m(c.POD_CONTAINER_WAITING, **container(MOUNT_POD, reason="ContainerCreating")) == 1
    assert m(c.POD_CONTAINER_WAITING_SECONDS, **container(MOUNT_POD, reason="ContainerCreating")) == 120
    assert m(c.POD_PHASE, namespace=NS, pod=MOUNT_POD, phase="Pending") == 1
    assert m(c.POD_READY, namespace=NS, pod=MOUNT_POD) == 0

    # The kubelet keeps retrying the mount: the same Event, its count growing.
    await watching(api)
    api.put("events", event_update("event_failedmount", 2, "2026-11-20T08:02:12Z"))
    api.put("events", event_update("event_failedmount", 3, "2026-11-20T08:02:55Z"))
    await eventually(lambda: m(c.POD_EVENTS_TOTAL, namespace=NS, reason="FailedMount") == 2)  # seen happen

    # The message is there for the debug page, never as a label.
    (msg,) = [x for x in watcher.snapshot().messages if x.reason == "FailedMount"]
    assert "mount failed: exit status 32" in msg.message and "Connection timed out" in msg.message
    assert msg.pod == MOUNT_POD and msg.count == 3
    assert b"exit status 32" not in generate_latest(m.registry)

    # Fixed (one PVC + subPath): the gateway starts and is Ready 3 min after creation.
    ready = fixture("pod_ready")
    ready["metadata"] = pod["metadata"]
    ready["status"]["conditions"][2]["lastTransitionTime"] = "2026-11-20T08:03:00Z"
    api.put("pods", ready)
    await eventually(lambda: m(c.POD_READY, namespace=NS, pod=MOUNT_POD) == 1)
    assert m(c.POD_CONTAINER_WAITING, **container(MOUNT_POD, reason="ContainerCreating")) is None
    assert m(c.POD_STARTUP + "_count", namespace=NS) == 1
    assert m(c.POD_STARTUP + "_sum", namespace=NS) == 180
    assert m(c.POD_STARTUP + "_bucket", namespace=NS, le="120.0") == 0
    assert m(c.POD_STARTUP + "_bucket", namespace=NS, le="180.0") == 1
    assert m(c.POD_STARTUP + "_bucket", namespace=NS, le="300.0") == 1  # the user's 5 min target


async def test_image_pull_incident(api, start_watcher):
    pod, _, _, m = replay(api, start_watcher, "pod_errimagepull", "event_failed_pull", "2026-11-20T09:05:00Z")
    await eventually(lambda: m(c.POD_CONTAINER_WAITING, **container(PULL_POD, reason="ErrImagePull")) == 1)
    assert m(c.POD_EVENTS_TOTAL, namespace=NS, reason="Failed") is None  # 09:00:05, before the watcher
    await watching(api)

    # The kubelet alternates ErrImagePull and ImagePullBackOff; the wait is one spell.
    backoff = with_container(pod, state={"waiting": {
        "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{pod["spec"]["containers"][0]["image"]}"'}})
    api.put("pods", backoff)
    api.put("events", event_update("event_failed_pull", 4, "2026-11-20T09:05:30Z"))
    await eventually(lambda: m(c.POD_CONTAINER_WAITING, **container(PULL_POD, reason="ImagePullBackOff")) == 1)
    assert m(c.POD_CONTAINER_WAITING, **container(PULL_POD, reason="ErrImagePull")) is None
    assert m(c.POD_CONTAINER_WAITING_SECONDS, **container(PULL_POD, reason="ImagePullBackOff")) == 300
    await eventually(lambda: m(c.POD_EVENTS_TOTAL, namespace=NS, reason="Failed") == 3)  # 1 -> 4 while watching
    assert m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(PULL_POD)) == 0
    assert m(c.POD_STARTUP + "_count", namespace=NS) is None  # never Ready, nothing observed


async def test_crash_loop_incident_restarts_climb(api, start_watcher):
    pod, clock, _, m = replay(api, start_watcher, "pod_crashloop", "event_backoff", "2026-11-20T10:00:30Z")
    await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 1)
    await watching(api)
    # Waiting since the last exit, not since creation.
    assert m(c.POD_CONTAINER_WAITING_SECONDS, **container(CRASH_POD, reason="CrashLoopBackOff")) == 8

    for restarts in (2, 3, 4):
        clock.now += 20
        api.put("pods", with_container(pod, restartCount=restarts))
        api.put("events", event_update("event_backoff", restarts, "2026-11-20T10:01:00Z"))
        await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == restarts)

    assert m(c.POD_RESTARTS_LAST_HOUR, **container(CRASH_POD)) == 3  # seen happen: 2, 3, 4
    assert m(c.POD_CONTAINER_WAITING, **container(CRASH_POD, reason="CrashLoopBackOff")) == 1
    assert m(c.POD_CONTAINER_LAST_TERMINATED, **container(CRASH_POD, reason="Error", exit_code="1")) == 1
    await eventually(lambda: m(c.POD_EVENTS_TOTAL, namespace=NS, reason="BackOff") == 3)  # 1 -> 4 while watching
    assert m(c.POD_PHASE, namespace=NS, pod=CRASH_POD, phase="Running") == 1
    assert m(c.POD_READY, namespace=NS, pod=CRASH_POD) == 0

    clock.now += 3600  # an hour later the restarts leave the window, the total stays
    assert m(c.POD_RESTARTS_LAST_HOUR, **container(CRASH_POD)) == 0
    assert m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 4


# --- the watch machinery ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["error_event_on_resume", "http_410_on_resume", "error_event_in_live_stream"])
async def test_gone_relists_and_drops_deleted_pods(api, start_watcher, how):
    api.gone_as_http = how == "http_410_on_resume"
    crash = api.put("pods", fixture("pod_crashloop"))
    api.put("pods", fixture("pod_ready"))
    watcher = start_watcher()
    m = Metrics(watcher)
    await eventually(lambda: m(c.POD_READY, namespace=NS, pod=READY_POD) == 1)
    await watching(api)

    # Changes the watcher misses, then the history they were in is compacted away.
    api.delete("pods", NS, READY_POD, deliver=False)
    api.put("pods", with_container(crash, restartCount=5), deliver=False)
    if how == "error_event_in_live_stream":
        api.expire_watches("pods")
    else:
        api.compact()
        api.drop_connections("pods")

    await eventually(lambda: m(c.POD_READY, namespace=NS, pod=READY_POD) is None)
    assert m(c.POD_PHASE, namespace=NS, pod=READY_POD, phase="Running") is None
    await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 5)
    assert m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="gone") >= 1
    assert len(api.lists("pods")) == 2
    assert [p.name for p in watcher.snapshot().pods] == [CRASH_POD]
    # The restarts that happened during the gap still count as seen.
    assert m(c.POD_RESTARTS_LAST_HOUR, **container(CRASH_POD)) == 4


async def test_dropped_stream_resumes_from_last_resource_version(api, start_watcher):
    crash = api.put("pods", fixture("pod_crashloop"))
    watcher = start_watcher()
    m = Metrics(watcher)
    await watching(api, "pods")
    api.put("pods", with_container(crash, restartCount=2))
    await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 2)
    position = api.resource_version

    api.drop_connections("pods")
    api.put("pods", with_container(crash, restartCount=3), deliver=False)  # while disconnected

    await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 3)
    assert len(api.lists("pods")) == 1, "a resumable watch must not re-list"
    assert api.watches("pods")[-1].query["resourceVersion"] == position
    assert m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="connection") == 1


async def test_garbage_line_is_counted_and_skipped(api, start_watcher):
    crash = api.put("pods", fixture("pod_crashloop"))
    watcher = start_watcher()
    m = Metrics(watcher)
    await watching(api, "pods")
    api.inject_garbage("pods")
    api.inject_garbage("pods", b'{"type": "ADDED"}')  # JSON, but not a watch event
    api.put("pods", with_container(crash, restartCount=2))

    await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 2)
    assert m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="decode") == 2
    assert len(api.watches("pods")) == 1, "the stream survives a bad line"
    assert len(api.lists("pods")) == 1


async def test_api_errors_back_off_then_recover(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    api.fail_next("pods", 500, times=3, on="list")
    api.fail_next("events", 503, times=1, on="watch")
    watcher = start_watcher()
    m = Metrics(watcher)

    await eventually(lambda: m(c.POD_READY, namespace=NS, pod=READY_POD) == 1)
    assert m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="http") == 3
    at = [r.at for r in api.lists("pods")]
    gaps = [b - a for a, b in zip(at, at[1:])]
    # Backoff 0.05 -> 0.1 -> 0.2 s (jitter off in tests): each wait longer than the last.
    assert gaps[0] >= 0.045 and gaps[1] >= 0.09 and gaps[2] >= 0.18, gaps
    assert gaps[2] > gaps[0]

    await eventually(lambda: m(c.KUBE_WATCH_ERRORS_TOTAL, resource="events", kind="http") == 1)
    await watching(api, "events")
    assert len(api.lists("events")) == 1, "a failed watch resumes, it does not re-list"
    assert m(c.KUBE_LAST_SYNC, resource="pods") is not None


async def test_connection_refused_is_counted():
    dead = FakeKubeApi()
    url = await dead.start()
    await dead.close()  # nothing listens there now
    client = api_client(url)
    watcher = PodWatcher(kube_config(), api_client=client)
    watcher.start()
    try:
        m = Metrics(watcher)
        await eventually(lambda: (m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="connection") or 0) >= 2)
    finally:
        assert await watcher.aclose()
        client.close()


async def test_bookmarks_are_requested_and_move_the_resume_point(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    start_watcher()
    await watching(api, "pods")
    assert api.watches("pods")[0].query["allowWatchBookmarks"] == "true"

    other = fixture("pod_ready")  # changes the watcher does not match still move the version
    other["metadata"].update(name="coredns-5d78c9869d-abcde", labels={"k8s-app": "kube-dns"})
    api.put("pods", other)
    mark = api.bookmark("pods")
    api.drop_connections("pods")  # after the bookmark line, in the same stream
    await eventually(lambda: len(api.watches("pods")) == 2)
    assert api.watches("pods")[1].query["resourceVersion"] == mark


async def test_stop_is_prompt(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    idle = start_watcher()
    await watching(api)
    started = time.monotonic()
    assert await idle.aclose(timeout=5)
    assert time.monotonic() - started < 2, "stop must not wait for the watch timeout"

    api.fail_next("pods", 500, times=1, on="list")
    backing_off = start_watcher(backoff_initial_seconds=30, backoff_max_seconds=60)
    await eventually(lambda: len(api.lists("pods")) >= 2)  # the failed list of the 2nd watcher
    started = time.monotonic()
    assert await backing_off.aclose(timeout=5)
    assert time.monotonic() - started < 2, "stop must interrupt a backoff wait"


async def test_only_warning_events_of_watched_pods_count(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    api.put("events", fixture("event_normal_pulled"))  # Normal
    api.put("events", fixture("event_browser_unhealthy"))  # the browser pod: not selected
    watcher = start_watcher(clock=Clock("2026-11-20T10:00:00Z"))  # before every event
    m = Metrics(watcher)
    await watching(api)
    assert m(c.POD_EVENTS_TOTAL, namespace=NS, reason="Unhealthy") is None
    assert m(c.POD_EVENTS_TOTAL, namespace=NS, reason="Pulled") is None

    # An Event can arrive before its Pod (two streams): it counts once the pod shows up.
    api.put("events", fixture("event_backoff"))
    await eventually(lambda: watcher.snapshot().last_sync.get("events"))
    api.put("pods", fixture("pod_crashloop"))
    await eventually(lambda: m(c.POD_EVENTS_TOTAL, namespace=NS, reason="BackOff") == 1)


async def test_ready_pod_ips_and_snapshot(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    api.put("pods", fixture("pod_crashloop"))
    watcher = start_watcher(pod_probing=True)
    await eventually(lambda: len(watcher.snapshot().pods) == 2)
    assert watcher.ready_pod_ips() == [(NS, READY_POD, "10.244.2.20")]
    snap = watcher.snapshot()
    crash = next(p for p in snap.pods if p.name == CRASH_POD)
    assert crash.containers[0].waiting_reason == "CrashLoopBackOff"
    assert "back-off 10s" in crash.containers[0].waiting_message
    with pytest.raises(AttributeError):
        crash.ready = True  # frozen: the status page cannot change the state


async def test_several_selectors_one_event_watch_per_namespace(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    browser = copy.deepcopy(fixture("pod_ready"))
    browser["metadata"].update(name="openclaw-browser-84f6d9c7b-z5x6c", uid="2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
                               labels={"app": "openclaw-browser"})
    api.put("pods", browser)
    api.put("events", fixture("event_browser_unhealthy"))
    watcher = start_watcher(selectors=(Selector(), Selector(NS, "app=openclaw-browser")),
                            clock=Clock("2026-11-20T11:00:00Z"))  # before the Unhealthy events
    m = Metrics(watcher)
    await eventually(lambda: m(c.POD_EVENTS_TOTAL, namespace=NS, reason="Unhealthy") == 4)
    assert m(c.POD_READY, namespace=NS, pod="openclaw-browser-84f6d9c7b-z5x6c") == 1
    assert m(c.POD_READY, namespace=NS, pod=READY_POD) == 1
    await watching(api)
    assert len(api.lists("pods")) == 2 and len(api.lists("events")) == 1


async def test_error_event_other_than_410_backs_off_and_resumes(api, start_watcher):
    crash = api.put("pods", fixture("pod_crashloop"))
    watcher = start_watcher()
    m = Metrics(watcher)
    await watching(api, "pods")
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": "etcdserver: leader changed", "reason": "InternalError", "code": 500}
    api.inject_garbage("pods", json.dumps({"type": "ERROR", "object": status}).encode())
    await eventually(lambda: m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="http") == 1)
    await eventually(lambda: len(api.watches("pods")) == 2)
    api.put("pods", with_container(crash, restartCount=2))
    await eventually(lambda: m(c.POD_CONTAINER_RESTARTS_TOTAL, **container(CRASH_POD)) == 2)
    assert len(api.lists("pods")) == 1
    assert m(c.KUBE_WATCH_ERRORS_TOTAL, resource="pods", kind="gone") == 0


async def test_kubeconfig_and_context_from_config(api, tmp_path):
    """No api_client given: the watcher builds one from a real kubeconfig file and context."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
        "clusters": [{"name": "local", "cluster": {"server": api.url}},
                     {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "exporter", "user": {"token": "test-token"}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "exporter"}},
                     {"name": "elsewhere", "context": {"cluster": "nowhere", "user": "exporter"}}],
    }))
    api.put("pods", fixture("pod_ready"))
    watcher = PodWatcher(kube_config(kubeconfig=str(kubeconfig), context="local", in_cluster=False))
    watcher.start()
    try:
        m = Metrics(watcher)
        await eventually(lambda: m(c.POD_READY, namespace=NS, pod=READY_POD) == 1)
        assert api.requests[0].headers.get("Authorization") == "Bearer test-token"
    finally:
        assert await watcher.aclose()


def test_no_credentials_fails_at_start(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    watcher = PodWatcher(kube_config())  # in_cluster auto: not in a pod, no ~/.kube/config
    with pytest.raises(k8s_config.ConfigException):
        watcher.start()
    assert watcher.stop(timeout=1)


async def test_resync_relists_on_schedule(api, start_watcher):
    api.put("pods", fixture("pod_ready"))
    start_watcher(resync_seconds=1.0)
    await watching(api, "pods")
    assert api.watches("pods")[0].query["timeoutSeconds"] == "1"  # the watch ends when the re-list is due
    await eventually(lambda: len(api.lists("pods")) >= 2, timeout=5)


async def test_backoff_waits_are_jittered_and_capped(api):
    waits: list[float] = []

    class RecordingStop(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            return super().wait(timeout)

    api.fail_next("pods", 500, times=6, on="list")
    client = api_client(api.url)
    watcher = PodWatcher(kube_config(backoff_initial_seconds=0.02, backoff_max_seconds=0.08,
                                     backoff_jitter_ratio=0.5), api_client=client, rng=random.Random(7))
    watcher._stop = RecordingStop()  # observe the waits without timing them
    watcher.start()
    try:
        await eventually(lambda: len(api.lists("pods")) == 7)
    finally:
        assert await watcher.aclose()
        client.close()
    bases = [0.02, 0.04, 0.08, 0.08, 0.08, 0.08]  # doubling, capped at the maximum
    assert len(waits) == len(bases)  # only the failing Pods loop waited
    for wait, base in zip(waits, bases):
        assert base * 0.5 <= wait <= base * 1.5
    assert len({round(w / b, 6) for w, b in zip(waits, bases)}) > 1, "jitter varies the waits"


def test_disabled_watcher_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no credentials anywhere: not even looked for
    watcher = PodWatcher(kube_config(enabled=False))
    watcher.start()
    assert watcher.snapshot().pods == () and watcher.ready_pod_ips() == []
    assert watcher.stop(timeout=1)
