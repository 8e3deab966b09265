"""The pod/event state machine on its own: plain dicts in, snapshots out, a fake clock."""

from __future__ import annotations

import copy

from exporter.kube.state import (
    PENDING_EVENTS_MAX,
    KubeState,
    parse_time,
)
from openclaw_schema.names import STARTUP_BUCKETS
from kubehelpers import Clock, fixture, with_container

SCOPE = "openclaw/app=openclaw-gateway"
CRASH_POD = "openclaw-gateway-5b7a6f9d8c-m3n4b"
READY_POD = "openclaw-gateway-5b7a6f9d8c-h7j8k"


def state_at(when: str) -> tuple[KubeState, Clock]:
    clock = Clock(when)
    return KubeState(clock), clock


def pod_named(state: KubeState, name: str):
    return next((p for p in state.snapshot().pods if p.name == name), None)


def not_ready(pod: dict) -> dict:
    pod = copy.deepcopy(pod)
    pod["status"]["conditions"][2]["status"] = "False"
    return pod


def test_relist_replaces_pods_and_forgets_their_history():
    state, _ = state_at("2026-11-20T10:00:00Z")  # watching before the BackOff event (10:00:23)
    state.replace_pods(SCOPE, [fixture("pod_crashloop"), fixture("pod_ready")])
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(fixture("pod_crashloop"), restartCount=2))
    state.replace_events("openclaw", [fixture("event_backoff")])
    assert {p.name for p in state.snapshot().pods} == {CRASH_POD, READY_POD}

    state.replace_pods(SCOPE, [fixture("pod_ready")])
    snap = state.snapshot()
    assert [p.name for p in snap.pods] == [READY_POD]
    assert snap.messages == ()  # the gone pod's event messages go with it
    assert snap.event_counts[("openclaw", "BackOff")] == 1  # counters never go down


def test_deleted_and_bookmark_events():
    state, _ = state_at("2026-11-20T12:00:00Z")
    state.apply_pod_event(SCOPE, "ADDED", fixture("pod_ready"))
    state.apply_pod_event(SCOPE, "BOOKMARK", {"metadata": {"resourceVersion": "9"}})
    assert pod_named(state, READY_POD) is not None
    state.apply_pod_event(SCOPE, "DELETED", fixture("pod_ready"))
    assert state.snapshot().pods == ()


def test_event_counts_are_not_doubled_by_relists():
    state, _ = state_at("2026-11-20T08:00:00Z")  # watching before the FailedMount (08:00:10)
    state.replace_pods(SCOPE, [fixture("pod_containercreating")])
    ev = fixture("event_failedmount")
    state.replace_events("openclaw", [ev])
    state.replace_events("openclaw", [ev])  # the same event, listed again after a 410
    state.apply_event("openclaw", "MODIFIED", ev)  # and re-sent by a watch
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 1

    ev3 = dict(ev, count=3)
    state.replace_events("openclaw", [ev3])
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 3  # only the increase

    state.apply_event("openclaw", "DELETED", ev3)  # expired
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 3


def test_series_count_of_new_style_events():
    state, _ = state_at("2026-11-20T08:00:00Z")
    state.replace_pods(SCOPE, [fixture("pod_containercreating")])
    ev = fixture("event_failedmount")
    del ev["count"]
    ev["series"] = {"count": 7, "lastObservedTime": "2026-11-20T08:01:59.000000Z"}
    state.apply_event("openclaw", "ADDED", ev)
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 7


def test_event_before_its_pod_is_counted_when_the_pod_appears():
    state, _ = state_at("2026-11-20T10:00:00Z")
    state.apply_event("openclaw", "ADDED", fixture("event_backoff"))
    assert state.snapshot().event_counts == {}
    state.apply_pod_event(SCOPE, "ADDED", fixture("pod_crashloop"))
    assert state.snapshot().event_counts == {("openclaw", "BackOff"): 1}


def test_pending_events_are_bounded():
    state, _ = state_at("2026-11-20T10:01:00Z")
    for i in range(PENDING_EVENTS_MAX + 50):
        ev = fixture("event_browser_unhealthy")
        ev["metadata"]["uid"] = f"uid-{i}"
        state.apply_event("openclaw", "ADDED", ev)
    assert len(state._pending) == PENDING_EVENTS_MAX


def test_event_of_an_earlier_pod_with_the_same_name_is_ignored():
    state, _ = state_at("2026-11-20T10:01:00Z")
    state.apply_pod_event(SCOPE, "ADDED", fixture("pod_crashloop"))
    ev = fixture("event_backoff")
    ev["involvedObject"]["uid"] = "00000000-0000-4000-8000-000000000000"
    state.apply_event("openclaw", "ADDED", ev)
    assert state.snapshot().event_counts == {}


def test_startup_observed_once_when_the_first_ready_was_witnessed():
    state, clock = state_at("2026-11-20T11:00:20Z")
    state.apply_pod_event(SCOPE, "ADDED", not_ready(fixture("pod_ready")))
    clock.now = parse_time("2026-11-20T11:00:51Z")
    state.apply_pod_event(SCOPE, "MODIFIED", fixture("pod_ready"))
    state.apply_pod_event(SCOPE, "MODIFIED", fixture("pod_ready"))
    state.replace_pods(SCOPE, [fixture("pod_ready")])
    hist = state.snapshot().startup["openclaw"]
    assert hist.count == 1 and hist.sum == 50  # the user's 50 s
    assert dict(hist.buckets)[45.0] == 0 and dict(hist.buckets)[60.0] == 1
    assert [b for b, _ in hist.buckets] == [*map(float, STARTUP_BUCKETS), float("inf")]


def test_startup_of_old_pods_first_seen_ready_is_not_observed():
    state, _ = state_at("2026-11-26T00:00:00Z")  # days after the pod started
    state.replace_pods(SCOPE, [fixture("pod_ready")])
    assert state.snapshot().startup == {}
    # ... but a pod born after the watcher started is, even if first seen Ready.
    young = fixture("pod_ready")
    young["metadata"].update(uid="new-uid", name="openclaw-gateway-5b7a6f9d8c-n3w00",
                             creationTimestamp="2026-11-26T00:01:00Z")
    young["status"]["conditions"][2]["lastTransitionTime"] = "2026-11-26T00:01:40Z"
    state.apply_pod_event(SCOPE, "ADDED", young)
    assert state.snapshot().startup["openclaw"].sum == 40


def test_waiting_since_survives_a_reason_flip_and_resets_after_running():
    state, clock = state_at("2026-11-20T09:01:00Z")
    pod = fixture("pod_errimagepull")
    state.apply_pod_event(SCOPE, "ADDED", pod)
    c = pod_named(state, "openclaw-gateway-6c8b7a5f4e-q9w8e").containers[0]
    assert c.waiting_reason == "ErrImagePull" and c.waiting_since == parse_time("2026-11-20T09:00:00Z")

    clock.now += 30
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, state={"waiting": {"reason": "ImagePullBackOff"}}))
    c = pod_named(state, "openclaw-gateway-6c8b7a5f4e-q9w8e").containers[0]
    assert c.waiting_reason == "ImagePullBackOff" and c.waiting_since == parse_time("2026-11-20T09:00:00Z")

    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, state={"running": {"startedAt": "2026-11-20T09:01:30Z"}}))
    assert pod_named(state, "openclaw-gateway-6c8b7a5f4e-q9w8e").containers[0].waiting_reason is None
    clock.now += 60  # it ran, exited, and now waits again: a new spell, since the exit
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(
        pod, state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-20T09:02:00Z"}}))
    c = pod_named(state, "openclaw-gateway-6c8b7a5f4e-q9w8e").containers[0]
    assert c.waiting_since == parse_time("2026-11-20T09:02:00Z")


def test_restarts_last_hour_counts_only_increments_seen():
    state, clock = state_at("2026-11-20T10:00:30Z")
    pod = fixture("pod_crashloop")
    state.apply_pod_event(SCOPE, "ADDED", with_container(pod, restartCount=3))  # history unknown
    assert pod_named(state, CRASH_POD).containers[0].restarts_last_hour == 0
    clock.now += 600
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, restartCount=5))
    assert pod_named(state, CRASH_POD).containers[0].restarts_last_hour == 2
    clock.now += 3000
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, restartCount=6))
    assert pod_named(state, CRASH_POD).containers[0].restarts_last_hour == 3
    clock.now += 600  # the first two are now more than an hour old
    assert pod_named(state, CRASH_POD).containers[0].restarts_last_hour == 1


def test_same_name_new_uid_starts_afresh():
    state, clock = state_at("2026-11-20T10:00:30Z")
    pod = fixture("pod_crashloop")
    state.apply_pod_event(SCOPE, "ADDED", pod)
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, restartCount=4))
    assert pod_named(state, CRASH_POD).containers[0].restarts_last_hour == 3
    reborn = with_container(pod, restartCount=0)
    reborn["metadata"]["uid"] = "d0d0d0d0-0000-4000-8000-000000000001"
    state.apply_pod_event(SCOPE, "MODIFIED", reborn)
    c = pod_named(state, CRASH_POD).containers[0]
    assert c.restart_count == 0 and c.restarts_last_hour == 0


def test_last_terminated_from_last_state():
    state, _ = state_at("2026-11-20T10:00:30Z")
    state.apply_pod_event(SCOPE, "ADDED", fixture("pod_crashloop"))
    c = pod_named(state, CRASH_POD).containers[0]
    assert (c.last_terminated_reason, c.last_exit_code) == ("Error", 1)
    oom = with_container(fixture("pod_crashloop"), lastState={"terminated": {
        "exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-20T10:00:20Z", "finishedAt": "2026-11-20T10:00:25Z"}})
    state.apply_pod_event(SCOPE, "MODIFIED", oom)
    c = pod_named(state, CRASH_POD).containers[0]
    assert (c.last_terminated_reason, c.last_exit_code) == ("OOMKilled", 137)


def test_a_pod_matched_by_two_selectors_shows_once_and_stays_until_both_drop_it():
    state, _ = state_at("2026-11-20T12:00:00Z")
    state.replace_pods("openclaw/app=openclaw-gateway", [fixture("pod_crashloop")])
    state.replace_pods("openclaw/pod-template-hash=5b7a6f9d8c", [fixture("pod_crashloop")])
    assert len(state.snapshot().pods) == 1
    state.replace_pods("openclaw/app=openclaw-gateway", [])
    assert len(state.snapshot().pods) == 1
    state.replace_pods("openclaw/pod-template-hash=5b7a6f9d8c", [])
    assert state.snapshot().pods == ()


def test_watch_errors_and_sync_times():
    state, clock = state_at("2026-11-20T12:00:00Z")
    state.record_error("pods", "gone")
    state.record_error("pods", "gone")
    state.mark_synced("events")
    snap = state.snapshot()
    assert snap.watch_errors == {("pods", "gone"): 2}
    assert snap.last_sync == {"events": clock.now}


def test_a_restart_between_two_waits_starts_a_new_spell():
    state, clock = state_at("2026-11-20T10:00:30Z")
    pod = fixture("pod_crashloop")  # waiting since its exit at 10:00:22
    state.apply_pod_event(SCOPE, "ADDED", pod)
    assert pod_named(state, CRASH_POD).containers[0].waiting_since == parse_time("2026-11-20T10:00:22Z")
    clock.now += 60  # ran and crashed again between two updates we saw
    again = with_container(pod, restartCount=2, lastState={"terminated": {
        "exitCode": 1, "reason": "Error", "finishedAt": "2026-11-20T10:01:20Z"}})
    state.apply_pod_event(SCOPE, "MODIFIED", again)
    assert pod_named(state, CRASH_POD).containers[0].waiting_since == parse_time("2026-11-20T10:01:20Z")


def test_null_fields_in_real_objects_are_tolerated():
    state, _ = state_at("2026-11-20T10:00:30Z")
    pod = with_container(fixture("pod_crashloop"), lastState={"terminated": None}, state={"waiting": {"reason": None}})
    pod["status"]["conditions"] = None
    state.apply_pod_event(SCOPE, "ADDED", pod)
    c = pod_named(state, CRASH_POD).containers[0]
    assert c.waiting_reason == "Unknown" and c.last_terminated_reason is None


def test_a_new_watcher_does_not_count_old_events_it_relists_but_counts_new_ones():
    # The exporter pod was replaced (or restarted) at 08:05, after a FailedMount at 08:00:10.
    state, clock = state_at("2026-11-20T08:05:00Z")
    state.replace_pods(SCOPE, [fixture("pod_containercreating")])
    ev = fixture("event_failedmount")
    state.replace_events("openclaw", [ev])
    assert state.snapshot().event_counts == {("openclaw", "FailedMount"): 0}  # exists, at 0
    assert [m.reason for m in state.snapshot().messages] == ["FailedMount"]  # still on the debug page

    # The kubelet retries: the same Event, count 2, last seen after the watcher started.
    clock.now += 60
    state.apply_event("openclaw", "MODIFIED", dict(ev, count=2, lastTimestamp="2026-11-20T08:05:40Z"))
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 1
    # A new Event object after the start counts in full.
    fresh = dict(ev, count=3, firstTimestamp="2026-11-20T08:05:50Z", lastTimestamp="2026-11-20T08:05:55Z",
                 metadata={**ev["metadata"], "uid": "fresh-uid", "name": "fresh"})
    state.apply_event("openclaw", "ADDED", fresh)
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 4


def test_an_event_that_started_before_the_watcher_counts_its_latest_occurrence():
    state, _ = state_at("2026-11-20T08:05:00Z")
    state.replace_pods(SCOPE, [fixture("pod_containercreating")])
    ev = dict(fixture("event_failedmount"), count=5, lastTimestamp="2026-11-20T08:05:30Z")  # first: 08:00:10
    state.replace_events("openclaw", [ev])
    assert state.snapshot().event_counts[("openclaw", "FailedMount")] == 1
