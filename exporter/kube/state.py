"""What the watcher knows about the watched pods and their events: a pure state machine.

The watch threads feed it raw API objects (the JSON dicts of Pods and Events); the collector
and the status page read immutable snapshots. No I/O here, only a lock, so every rule
below is unit-testable with plain dicts and a fake clock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Callable, Mapping

from openclaw_schema import names as c

log = logging.getLogger(__name__)

RESTART_WINDOW_SECONDS = 3600.0
PENDING_EVENTS_MAX = 1000  # events whose pod we have not seen (yet): bounded, see apply_event
OBSERVED_UIDS_MAX = 10000

# Event reasons whose counter exists at 0 from the first events list of a namespace on, so a
# plain increase() sees the first one (the FailedMount alert reads it).
PRECREATED_EVENT_REASONS = (c.REASON_FAILED_MOUNT,)

RESOURCE_PODS = "pods"
RESOURCE_EVENTS = "events"
RESOURCE_CRONJOBS = "cronjobs"  # batch/v1, backups only (kubernetes.backups)
RESOURCE_JOBS = "jobs"
PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")

PodKey = tuple[str, str]  # (namespace, pod name)


def parse_time(value: Any) -> float | None:
    """RFC 3339 timestamp from the API (``2026-11-20T08:00:00Z``) -> unix seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class ContainerView:
    name: str
    restart_count: int
    waiting_reason: str | None
    waiting_message: str | None
    waiting_since: float | None
    last_terminated_reason: str | None
    last_exit_code: int | None
    restarts_last_hour: int = 0


@dataclass(frozen=True)
class PodView:
    namespace: str
    name: str
    uid: str
    phase: str
    ready: bool
    ip: str | None
    created: float | None
    containers: tuple[ContainerView, ...]


@dataclass(frozen=True)
class EventMessage:
    """Latest message of one (pod, reason): for the debug page and logs, never a label."""

    namespace: str
    pod: str
    reason: str
    message: str
    count: int
    last_seen: float | None


@dataclass(frozen=True)
class HistogramView:
    buckets: tuple[tuple[float, int], ...]  # (upper bound, cumulative count), +Inf last
    count: int
    sum: float


@dataclass(frozen=True)
class JobView:
    """One Job of a backup CronJob: when it succeeded or failed (None: not (yet))."""

    namespace: str
    name: str
    cronjob: str | None  # from ownerReferences; None for a Job no CronJob owns
    succeeded_at: float | None
    failed_at: float | None


@dataclass(frozen=True)
class BackupView:
    """One backup CronJob with what its status and its Jobs say."""

    namespace: str
    name: str
    suspended: bool
    last_schedule: float | None  # status.lastScheduleTime
    last_success: float | None  # status.lastSuccessfulTime, or a later completed Job
    last_failure: float | None  # the latest Failed condition of its Jobs still in the API
    failed_jobs: int  # its Jobs in the API whose Failed condition is True
    active_jobs: int


@dataclass(frozen=True)
class KubeSnapshot:
    taken_at: float
    pods: tuple[PodView, ...]
    event_counts: Mapping[tuple[str, str], int]  # (namespace, reason) -> Warning events seen
    messages: tuple[EventMessage, ...]
    startup: Mapping[str, HistogramView]  # namespace -> histogram
    watch_errors: Mapping[tuple[str, str], int]  # (resource, kind) -> errors
    last_sync: Mapping[str, float]  # resource -> unix time of last list/event/bookmark
    backups: tuple[BackupView, ...] = ()


def _job_view(obj: Mapping[str, Any]) -> JobView:
    meta = obj.get("metadata") or {}
    owner = next((o.get("name") for o in meta.get("ownerReferences") or []
                  if o.get("kind") == "CronJob" and o.get("name")), None)
    status = obj.get("status") or {}
    true = {cond.get("type"): cond for cond in status.get("conditions") or [] if cond.get("status") == "True"}
    succeeded = failed = None
    if "Complete" in true:
        succeeded = parse_time(status.get("completionTime")) or parse_time(true["Complete"].get("lastTransitionTime"))
    if "Failed" in true:
        failed = parse_time(true["Failed"].get("lastTransitionTime")) or parse_time(status.get("startTime")) or 0.0
    return JobView(namespace=meta.get("namespace", ""), name=meta.get("name", ""), cronjob=owner,
                   succeeded_at=succeeded, failed_at=failed)


@dataclass
class _Pod:
    view: PodView
    saw_not_ready: bool


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(c.STARTUP_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(c.STARTUP_BUCKETS):
            if value <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += value

    def view(self) -> HistogramView:
        cum, out = 0, []
        for bound, n in zip((*c.STARTUP_BUCKETS, float("inf")), self.counts):
            cum += n
            out.append((float(bound), cum))
        return HistogramView(tuple(out), cum, self.total)


def _ready(status: Mapping[str, Any]) -> tuple[bool, float | None]:
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True", parse_time(cond.get("lastTransitionTime"))
    return False, None


def _last_occurrence(obj: Mapping[str, Any]) -> float | None:
    """When the event last happened: series.lastObservedTime, lastTimestamp or eventTime."""
    return (parse_time((obj.get("series") or {}).get("lastObservedTime")) or parse_time(obj.get("lastTimestamp"))
            or parse_time(obj.get("eventTime")))


def _event_count(obj: Mapping[str, Any]) -> int:
    # core/v1 Events carry `count`; events created through events.k8s.io carry `series.count`.
    n = obj.get("count") or (obj.get("series") or {}).get("count") or 1
    return n if isinstance(n, int) and n > 0 else 1


class KubeState:
    """Thread-safe; every public method takes the lock, snapshot() copies out."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started_at = clock()
        self._scopes: dict[str, dict[PodKey, _Pod]] = {}
        self._restart_times: dict[tuple[str, str, str], deque[float]] = {}
        self._observed_uids: OrderedDict[str, None] = OrderedDict()
        self._startup: dict[str, _Histogram] = {}
        self._event_seen: dict[str, dict[str, int]] = {}  # namespace -> event uid -> count
        self._pending: OrderedDict[str, tuple[str, dict]] = OrderedDict()
        self._event_counts: dict[tuple[str, str], int] = {}
        self._messages: dict[tuple[str, str, str], EventMessage] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self._last_sync: dict[str, float] = {}
        # Backups: scope -> (namespace, name) -> raw-derived views; two scopes may overlap.
        self._cronjobs: dict[str, dict[PodKey, dict]] = {}
        self._jobs: dict[str, dict[PodKey, JobView]] = {}

    # --- pods ------------------------------------------------------------------------------
    def replace_pods(self, scope: str, items: list[dict]) -> None:
        """A (re-)list result: the new truth for this scope; pods not in it are forgotten."""
        with self._lock:
            old = self._scopes.get(scope, {})
            new: dict[PodKey, _Pod] = {}
            for obj in items:
                pod = self._build_pod(obj, old.get(self._key(obj)))
                new[(pod.view.namespace, pod.view.name)] = pod
            self._scopes[scope] = new
            for key in old.keys() - new.keys():
                self._forget_pod(key)
            for pod in new.values():
                self._drain_pending(pod.view)

    def apply_pod_event(self, scope: str, event_type: str, obj: dict) -> None:
        """One watch event: ADDED / MODIFIED / DELETED (BOOKMARK and others change nothing)."""
        with self._lock:
            pods = self._scopes.setdefault(scope, {})
            key = self._key(obj)
            if event_type == "DELETED":
                if pods.pop(key, None) is not None:
                    self._forget_pod(key)
            elif event_type in ("ADDED", "MODIFIED"):
                pods[key] = pod = self._build_pod(obj, pods.get(key))
                self._drain_pending(pod.view)

    @staticmethod
    def _key(obj: Mapping[str, Any]) -> PodKey:
        meta = obj.get("metadata") or {}
        return meta.get("namespace") or "", meta.get("name") or ""

    def _find_pod(self, key: PodKey) -> PodView | None:
        for pods in self._scopes.values():
            if key in pods:
                return pods[key].view
        return None

    def _forget_pod(self, key: PodKey, force: bool = False) -> None:
        if not force and self._find_pod(key) is not None:  # still matched by another selector
            return
        for rkey in [k for k in self._restart_times if k[:2] == key]:
            del self._restart_times[rkey]
        for mkey in [k for k in self._messages if k[:2] == key]:
            del self._messages[mkey]

    def _build_pod(self, obj: Mapping[str, Any], prev: _Pod | None) -> _Pod:
        now = self._clock()
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        ns, name = self._key(obj)
        uid = meta.get("uid") or ""
        if prev is not None and prev.view.uid != uid:
            self._forget_pod((ns, name), force=True)  # same name, new pod (StatefulSet): afresh
            prev = None
        created = parse_time(meta.get("creationTimestamp"))
        ready, ready_since = _ready(status)
        prev_containers = {c.name: c for c in prev.view.containers} if prev else {}
        statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
        containers = tuple(
            self._build_container(ns, name, cs, prev_containers.get(cs.get("name", "")), created, now)
            for cs in statuses
        )
        saw_not_ready = (prev.saw_not_ready if prev else False) or not ready
        if ready and uid not in self._observed_uids:
            # Observe only a first Ready we witnessed (or of a pod born after we started):
            # an old pod's Ready time may be a later flap, not its startup.
            if saw_not_ready or (created is not None and created >= self._started_at):
                if created is not None:
                    duration = max(0.0, (ready_since or now) - created)
                    self._startup.setdefault(ns, _Histogram()).observe(duration)
            self._observed_uids[uid] = None
            if len(self._observed_uids) > OBSERVED_UIDS_MAX:
                self._observed_uids.popitem(last=False)
        view = PodView(
            namespace=ns, name=name, uid=uid,
            phase=status.get("phase") or "Unknown",
            ready=ready, ip=status.get("podIP") or None, created=created,
            containers=containers,
        )
        return _Pod(view, saw_not_ready)

    def _build_container(
        self, ns: str, pod: str, cs: Mapping[str, Any], prev: ContainerView | None,
        created: float | None, now: float,
    ) -> ContainerView:
        name = cs.get("name") or ""
        restarts = cs.get("restartCount") or 0
        if prev is not None and restarts > prev.restart_count:
            # Our own count: only increments we saw happen (the API keeps no restart history).
            times = self._restart_times.setdefault((ns, pod, name), deque())
            times.extend([now] * (restarts - prev.restart_count))
        state = cs.get("state") or {}
        last_state = cs.get("lastState") or {}
        waiting = state.get("waiting")
        terminated = last_state.get("terminated") or state.get("terminated") or {}
        reason = message = since = None
        if waiting is not None:
            reason = waiting.get("reason") or "Unknown"
            message = waiting.get("message")
            if prev is not None and prev.waiting_since is not None and restarts == prev.restart_count:
                since = prev.waiting_since  # same waiting spell, even if the reason flips
            else:
                # The API has no "waiting since": the last exit, else pod creation (never ran).
                since = parse_time((last_state.get("terminated") or {}).get("finishedAt")) or created or now
                since = min(since, now)
        exit_code = terminated.get("exitCode")
        return ContainerView(
            name=name, restart_count=restarts,
            waiting_reason=reason, waiting_message=message, waiting_since=since,
            last_terminated_reason=(terminated.get("reason") or "Unknown") if terminated else None,
            last_exit_code=exit_code if isinstance(exit_code, int) else None,
        )

    # --- events ----------------------------------------------------------------------------
    def replace_events(self, namespace: str, items: list[dict]) -> None:
        """A (re-)list of Pod events in a namespace. Counts only grow: an event already seen
        adds only its count increase; events gone from the list are forgotten."""
        with self._lock:
            for reason in PRECREATED_EVENT_REASONS:
                self._event_counts.setdefault((namespace, reason), 0)
            seen = self._event_seen.setdefault(namespace, {})
            uids = set()
            for obj in items:
                uids.add(self._event_uid(obj))
                self._ingest_event(namespace, obj)
            for uid in set(seen) - uids:
                del seen[uid]
            for uid in [u for u, (ns, _) in self._pending.items() if ns == namespace and u not in uids]:
                del self._pending[uid]

    def apply_event(self, namespace: str, event_type: str, obj: dict) -> None:
        with self._lock:
            if event_type == "DELETED":  # expired (TTL): forget it, counters never go down
                uid = self._event_uid(obj)
                self._event_seen.get(namespace, {}).pop(uid, None)
                self._pending.pop(uid, None)
            elif event_type in ("ADDED", "MODIFIED"):
                self._ingest_event(namespace, obj)

    @staticmethod
    def _event_uid(obj: Mapping[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        return meta.get("uid") or meta.get("name") or ""

    def _ingest_event(self, namespace: str, obj: dict) -> None:
        if obj.get("type") != "Warning":
            return
        involved = obj.get("involvedObject") or {}
        if involved.get("kind") != "Pod":
            return
        key = (involved.get("namespace") or namespace, involved.get("name") or "")
        pod = self._find_pod(key)
        uid = self._event_uid(obj)
        if pod is None:
            # The Events and Pods watches race: keep it until its pod shows up (or it expires).
            self._pending[uid] = (namespace, obj)
            self._pending.move_to_end(uid)
            while len(self._pending) > PENDING_EVENTS_MAX:
                self._pending.popitem(last=False)
            return
        if involved.get("uid") and pod.uid and involved["uid"] != pod.uid:
            return  # about an earlier pod of the same name
        self._pending.pop(uid, None)
        reason = obj.get("reason") or "Unknown"
        count = _event_count(obj)
        seen = self._event_seen.setdefault(namespace, {})
        new = uid not in seen
        if new:
            # Occurrences from before this watcher started are history, not news: a replaced or
            # restarted exporter re-lists them, and counting them again would re-alert. Their
            # message is still kept for the debug page.
            seen[uid] = self._occurred_before_start(obj, count)
        delta = count - seen[uid]
        if delta <= 0 and not new:
            return  # a re-listed or re-sent event we already counted
        if delta > 0:
            seen[uid] = count
            ckey = (key[0], reason)
            self._event_counts[ckey] = self._event_counts.get(ckey, 0) + delta
        message = obj.get("message") or ""
        last_seen = parse_time(obj.get("lastTimestamp")) or parse_time(obj.get("eventTime")) or self._clock()
        self._messages[(key[0], key[1], reason)] = EventMessage(key[0], key[1], reason, message, count, last_seen)
        log.warning("pod %s/%s: %s (x%d): %s", key[0], key[1], reason, count, message)

    def _occurred_before_start(self, obj: Mapping[str, Any], count: int) -> int:
        """How many of an event's `count` occurrences (a guess from its timestamps) predate our start."""
        last = _last_occurrence(obj)
        if last is not None and last < self._started_at:
            return count  # all of them
        first = parse_time(obj.get("firstTimestamp")) or parse_time(obj.get("eventTime"))
        if last is not None and first is not None and first < self._started_at:
            return count - 1  # at least the last one is new
        return 0  # all new (or no timestamps: counted, as before)

    def _drain_pending(self, pod: PodView) -> None:
        matches = [
            (uid, ns, obj) for uid, (ns, obj) in self._pending.items()
            if ((obj.get("involvedObject") or {}).get("namespace") or ns, (obj.get("involvedObject") or {}).get("name"))
            == (pod.namespace, pod.name)
        ]
        for uid, ns, obj in matches:
            del self._pending[uid]
            self._ingest_event(ns, obj)

    # --- backups (CronJobs and their Jobs) ---------------------------------------------------
    def replace_cronjobs(self, scope: str, items: list[dict]) -> None:
        with self._lock:
            self._cronjobs[scope] = {self._key(o): o for o in items}

    def apply_cronjob_event(self, scope: str, event_type: str, obj: dict) -> None:
        with self._lock:
            known = self._cronjobs.setdefault(scope, {})
            if event_type == "DELETED":
                known.pop(self._key(obj), None)
            else:
                known[self._key(obj)] = obj

    def replace_jobs(self, scope: str, items: list[dict]) -> None:
        with self._lock:
            self._jobs[scope] = {self._key(o): _job_view(o) for o in items}

    def apply_job_event(self, scope: str, event_type: str, obj: dict) -> None:
        with self._lock:
            known = self._jobs.setdefault(scope, {})
            if event_type == "DELETED":
                known.pop(self._key(obj), None)
            else:
                known[self._key(obj)] = _job_view(obj)

    def _backups(self) -> tuple[BackupView, ...]:
        cronjobs: dict[PodKey, dict] = {}
        for scope in self._cronjobs.values():
            cronjobs.update(scope)
        jobs: dict[PodKey, JobView] = {}
        for scoped in self._jobs.values():
            jobs.update(scoped)
        out = []
        for (ns, name), obj in sorted(cronjobs.items()):
            mine = [j for j in jobs.values() if j.namespace == ns and j.cronjob == name]
            status = obj.get("status") or {}
            successes = [t for t in [parse_time(status.get("lastSuccessfulTime"))] + [j.succeeded_at for j in mine]
                         if t is not None]
            failures = [j.failed_at for j in mine if j.failed_at is not None]
            out.append(BackupView(
                namespace=ns, name=name, suspended=bool((obj.get("spec") or {}).get("suspend")),
                last_schedule=parse_time(status.get("lastScheduleTime")),
                last_success=max(successes) if successes else None,
                last_failure=max(failures) if failures else None,
                failed_jobs=len(failures),
                active_jobs=len(status.get("active") or []),
            ))
        return tuple(out)

    # --- watch health -----------------------------------------------------------------------
    def record_error(self, resource: str, kind: str) -> None:
        with self._lock:
            self._errors[(resource, kind)] = self._errors.get((resource, kind), 0) + 1

    def mark_synced(self, resource: str) -> None:
        with self._lock:
            self._last_sync[resource] = self._clock()

    # --- reading ----------------------------------------------------------------------------
    def snapshot(self) -> KubeSnapshot:
        with self._lock:
            now = self._clock()
            horizon = now - RESTART_WINDOW_SECONDS
            for times in self._restart_times.values():
                while times and times[0] <= horizon:  # the window is (now - 1h, now]
                    times.popleft()
            pods: dict[PodKey, PodView] = {}
            for scope in self._scopes.values():
                for key, pod in scope.items():
                    pods.setdefault(key, pod.view)  # a pod matched by two selectors shows once
            views = tuple(
                replace(p, containers=tuple(
                    replace(c, restarts_last_hour=len(self._restart_times.get((p.namespace, p.name, c.name), ())))
                    for c in p.containers))
                for _, p in sorted(pods.items())
            )
            return KubeSnapshot(
                taken_at=now,
                pods=views,
                event_counts=MappingProxyType(dict(self._event_counts)),
                messages=tuple(m for _, m in sorted(self._messages.items())),
                startup=MappingProxyType({ns: h.view() for ns, h in self._startup.items()}),
                watch_errors=MappingProxyType(dict(self._errors)),
                last_sync=MappingProxyType(dict(self._last_sync)),
                backups=self._backups(),
            )
