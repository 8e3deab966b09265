"""Prometheus collector for the Kubernetes watcher: renders a KubeSnapshot, never does I/O.

Sample exposition (the article's incidents: a FailedMount, an image pull, a crash loop)::

    openclaw_pod_container_restarts_total{container="gateway",namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 4.0
    openclaw_pod_container_restarts_last_hour{container="gateway",namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 3.0
    openclaw_pod_container_waiting{container="gateway",namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b",reason="CrashLoopBackOff"} 1.0
    openclaw_pod_container_waiting_seconds{container="gateway",namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b",reason="CrashLoopBackOff"} 38.0
    openclaw_pod_container_waiting{container="gateway",namespace="openclaw",pod="openclaw-gateway-7d9f8c6b5d-x2k4p",reason="ContainerCreating"} 1.0
    openclaw_pod_container_last_terminated{container="gateway",exit_code="1",namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b",reason="Error"} 1.0
    openclaw_pod_ready{namespace="openclaw",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 0.0
    openclaw_pod_phase{namespace="openclaw",phase="Running",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 1.0
    openclaw_pod_phase{namespace="openclaw",phase="Pending",pod="openclaw-gateway-5b7a6f9d8c-m3n4b"} 0.0
    openclaw_pod_startup_seconds_bucket{le="60.0",namespace="openclaw"} 1.0
    openclaw_pod_startup_seconds_sum{namespace="openclaw"} 50.0
    openclaw_pod_events_total{namespace="openclaw",reason="FailedMount"} 3.0
    openclaw_kube_watch_errors_total{kind="gone",resource="pods"} 1.0
    openclaw_kube_last_sync_timestamp_seconds{resource="events"} 1.7636328e+09
    openclaw_backup_last_schedule_timestamp_seconds{cronjob="openclaw-workspace-backup",namespace="openclaw"} 1.7636112e+09
    openclaw_backup_last_success_timestamp_seconds{cronjob="openclaw-workspace-backup",namespace="openclaw"} 1.7636113e+09
    openclaw_backup_last_failure_timestamp_seconds{cronjob="openclaw-workspace-backup",namespace="openclaw"} 1.7635248e+09
    openclaw_backup_jobs_failed{cronjob="openclaw-workspace-backup",namespace="openclaw"} 1.0
"""

from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from openclaw_schema import names as c
from exporter.kube.state import (
    PHASES, RESOURCE_CRONJOBS, RESOURCE_EVENTS, RESOURCE_JOBS, RESOURCE_PODS, KubeSnapshot)

_POD = [c.LABEL_NAMESPACE, c.LABEL_POD]
_CONTAINER = [*_POD, c.LABEL_CONTAINER]


class KubeCollector:
    """A custom collector: register it on the exporter's own registry (never the global one)."""

    def __init__(self, snapshot: Callable[[], KubeSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        restarts = CounterMetricFamily(
            c.POD_CONTAINER_RESTARTS, c.POD_CONTAINER_RESTARTS.help, labels=_CONTAINER)
        last_hour = GaugeMetricFamily(
            c.POD_RESTARTS_LAST_HOUR,
            c.POD_RESTARTS_LAST_HOUR.help, labels=_CONTAINER)
        waiting = GaugeMetricFamily(
            c.POD_CONTAINER_WAITING, c.POD_CONTAINER_WAITING.help,
            labels=[*_CONTAINER, c.LABEL_REASON])
        waiting_s = GaugeMetricFamily(
            c.POD_CONTAINER_WAITING_SECONDS, c.POD_CONTAINER_WAITING_SECONDS.help,
            labels=[*_CONTAINER, c.LABEL_REASON])
        terminated = GaugeMetricFamily(
            c.POD_CONTAINER_LAST_TERMINATED, c.POD_CONTAINER_LAST_TERMINATED.help,
            labels=[*_CONTAINER, c.LABEL_REASON, c.LABEL_EXIT_CODE])
        ready = GaugeMetricFamily(c.POD_READY, c.POD_READY.help, labels=_POD)
        phase = GaugeMetricFamily(c.POD_PHASE, c.POD_PHASE.help, labels=[*_POD, c.LABEL_PHASE])

        for pod in snap.pods:
            pl = [pod.namespace, pod.name]
            ready.add_metric(pl, 1.0 if pod.ready else 0.0)
            for name in PHASES:
                phase.add_metric([*pl, name], 1.0 if pod.phase == name else 0.0)
            if pod.phase not in PHASES:  # a phase newer than this code: still visible
                phase.add_metric([*pl, pod.phase], 1.0)
            for ct in pod.containers:
                cl = [*pl, ct.name]
                restarts.add_metric(cl, ct.restart_count)
                last_hour.add_metric(cl, ct.restarts_last_hour)
                if ct.waiting_reason is not None:
                    waiting.add_metric([*cl, ct.waiting_reason], 1.0)
                    since = ct.waiting_since if ct.waiting_since is not None else snap.taken_at
                    waiting_s.add_metric([*cl, ct.waiting_reason], max(0.0, snap.taken_at - since))
                if ct.last_terminated_reason is not None:
                    code = "" if ct.last_exit_code is None else str(ct.last_exit_code)
                    terminated.add_metric([*cl, ct.last_terminated_reason, code], 1.0)
        yield from (restarts, last_hour, waiting, waiting_s, terminated, ready, phase)

        startup = HistogramMetricFamily(
            c.POD_STARTUP, c.POD_STARTUP.help,
            labels=[c.LABEL_NAMESPACE])
        for ns, hist in sorted(snap.startup.items()):
            buckets = [(c.bucket_le(b), n) for b, n in hist.buckets]
            startup.add_metric([ns], buckets, hist.sum)
        yield startup

        events = CounterMetricFamily(
            c.POD_EVENTS, c.POD_EVENTS.help,
            labels=[c.LABEL_NAMESPACE, c.LABEL_REASON])
        for (ns, reason), n in sorted(snap.event_counts.items()):
            events.add_metric([ns, reason], n)
        yield events

        errors = CounterMetricFamily(
            c.KUBE_WATCH_ERRORS, c.KUBE_WATCH_ERRORS.help,
            labels=[c.LABEL_RESOURCE, c.LABEL_KIND])
        backups = snap.backups or any(r in snap.last_sync for r in (RESOURCE_CRONJOBS, RESOURCE_JOBS))
        resources = (RESOURCE_PODS, RESOURCE_EVENTS) + ((RESOURCE_CRONJOBS, RESOURCE_JOBS) if backups else ())
        for resource in resources:
            for kind in c.KubeWatchErrorKind:  # all present from the start, so rate() works
                errors.add_metric([resource, kind], snap.watch_errors.get((resource, kind), 0))
        yield errors

        sync = GaugeMetricFamily(
            c.KUBE_LAST_SYNC, c.KUBE_LAST_SYNC.help,
            labels=[c.LABEL_RESOURCE])
        for resource, ts in sorted(snap.last_sync.items()):
            sync.add_metric([resource], ts)
        yield sync

        if snap.backups:  # only with kubernetes.backups and a CronJob found
            yield from _backup_families(snap)


def _backup_families(snap: KubeSnapshot) -> Iterator[Metric]:
    labels = [c.LABEL_NAMESPACE, c.LABEL_CRONJOB]
    schedule = GaugeMetricFamily(c.BACKUP_LAST_SCHEDULE, c.BACKUP_LAST_SCHEDULE.help, labels=labels)
    success = GaugeMetricFamily(
        c.BACKUP_LAST_SUCCESS, c.BACKUP_LAST_SUCCESS.help,
        labels=labels)
    failure = GaugeMetricFamily(c.BACKUP_LAST_FAILURE, c.BACKUP_LAST_FAILURE.help, labels=labels)
    failed = GaugeMetricFamily(c.BACKUP_JOBS_FAILED, c.BACKUP_JOBS_FAILED.help,
                               labels=labels)
    active = GaugeMetricFamily(c.BACKUP_JOBS_ACTIVE, c.BACKUP_JOBS_ACTIVE.help, labels=labels)
    suspended = GaugeMetricFamily(c.BACKUP_SUSPENDED, c.BACKUP_SUSPENDED.help, labels=labels)
    for b in snap.backups:
        bl = [b.namespace, b.name]
        # Never-happened times are absent, not 0: `time() - 0` would read as a 56-year-old backup;
        # the staleness alert handles a missing success explicitly.
        if b.last_schedule is not None:
            schedule.add_metric(bl, b.last_schedule)
        if b.last_success is not None:
            success.add_metric(bl, b.last_success)
        if b.last_failure is not None:
            failure.add_metric(bl, b.last_failure)
        failed.add_metric(bl, b.failed_jobs)
        active.add_metric(bl, b.active_jobs)
        suspended.add_metric(bl, 1.0 if b.suspended else 0.0)
    yield from (schedule, success, failure, failed, active, suspended)
