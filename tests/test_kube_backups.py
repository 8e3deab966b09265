"""Backups: the watcher follows backup CronJobs and their Jobs (kubernetes.backups) with the real
`kubernetes` client against the local API server (tests/kube_api_server.py), fed real batch/v1
CronJob and Job JSON (tests/fixtures/kube/cronjob_backup.json, job_backup_*.json)."""

from __future__ import annotations

import time

import pytest

from openclaw_schema import names as c
from exporter.kube.config import DEFAULT_BACKUP_LABEL_SELECTOR, Selector, parse_kubernetes_config
from exporter.kube.state import parse_time
from exporter.kube.watcher import PodWatcher
from kubehelpers import Metrics, api_client, eventually, fixture, kube_config

NS = "openclaw"
CRONJOB = "openclaw-workspace-backup"
BACKUPS = (Selector(NS, DEFAULT_BACKUP_LABEL_SELECTOR),)


@pytest.fixture
async def watcher(api):
    client = api_client(api.url)
    w = PodWatcher(kube_config(backups=BACKUPS), api_client=client, clock=time.time)
    w.start()
    try:
        yield w
    finally:
        await w.aclose(timeout=5)
        client.close()


async def test_successful_backup_shows_schedule_and_success_times(api, watcher):
    api.put("cronjobs", fixture("cronjob_backup"))
    api.put("jobs", fixture("job_backup_complete"))
    m = Metrics(watcher)
    labels = {"namespace": NS, "cronjob": CRONJOB}
    await eventually(lambda: m(c.BACKUP_LAST_SCHEDULE, **labels))
    await eventually(lambda: m(c.BACKUP_JOBS_FAILED, **labels) == 0)
    assert m(c.BACKUP_LAST_SCHEDULE, **labels) == parse_time("2026-11-20T03:00:00Z")
    assert m(c.BACKUP_LAST_SUCCESS, **labels) == parse_time("2026-11-20T03:02:41Z")
    assert m(c.BACKUP_LAST_FAILURE, **labels) is None  # never failed: absent, not 0
    assert m(c.BACKUP_SUSPENDED, **labels) == 0
    assert m(c.KUBE_WATCH_ERRORS_TOTAL, resource="cronjobs", kind="http") == 0


async def test_failed_job_is_counted_and_newer_than_the_last_success(api, watcher):
    api.put("cronjobs", fixture("cronjob_backup"))
    m = Metrics(watcher)
    labels = {"namespace": NS, "cronjob": CRONJOB}
    await eventually(lambda: m(c.BACKUP_LAST_SCHEDULE, **labels))
    # The next night's Job fails (live watch event); the CronJob's status moves on.
    cron = fixture("cronjob_backup")
    cron["status"]["lastScheduleTime"] = "2026-11-21T03:00:00Z"
    api.put("cronjobs", cron)
    api.put("jobs", fixture("job_backup_failed"))
    await eventually(lambda: m(c.BACKUP_JOBS_FAILED, **labels) == 1)
    assert m(c.BACKUP_LAST_FAILURE, **labels) == parse_time("2026-11-21T03:04:12Z")
    assert m(c.BACKUP_LAST_SUCCESS, **labels) == parse_time("2026-11-20T03:02:41Z")
    assert m(c.BACKUP_LAST_FAILURE, **labels) > m(c.BACKUP_LAST_SUCCESS, **labels)
    assert m(c.BACKUP_LAST_SCHEDULE, **labels) == parse_time("2026-11-21T03:00:00Z")
    # The Job history limit removes the failed Job: no failed Job left.
    api.delete("jobs", NS, "openclaw-workspace-backup-29397780")
    await eventually(lambda: m(c.BACKUP_JOBS_FAILED, **labels) == 0)


async def test_stale_schedule_keeps_its_old_times(api, watcher):
    # A CronJob that stopped scheduling (suspended, controller down, missed deadline): its times
    # stay where they were, so `time() - last success` grows and the staleness alert fires.
    cron = fixture("cronjob_backup")
    cron["spec"]["suspend"] = True
    cron["status"] = {"lastScheduleTime": "2026-11-10T03:00:00Z", "lastSuccessfulTime": "2026-11-10T03:01:05Z"}
    api.put("cronjobs", cron)
    m = Metrics(watcher)
    labels = {"namespace": NS, "cronjob": CRONJOB}
    await eventually(lambda: m(c.BACKUP_SUSPENDED, **labels) == 1)
    assert m(c.BACKUP_LAST_SUCCESS, **labels) == parse_time("2026-11-10T03:01:05Z")
    assert time.time() - m(c.BACKUP_LAST_SUCCESS, **labels) > 50 * 3600


async def test_only_label_selected_cronjobs_are_followed_and_deleted_ones_go(api, watcher):
    other = fixture("cronjob_backup")
    other["metadata"]["name"] = "unrelated-report"
    other["metadata"]["labels"] = {"app": "reports"}
    api.put("cronjobs", other)
    api.put("cronjobs", fixture("cronjob_backup"))
    m = Metrics(watcher)
    await eventually(lambda: m(c.BACKUP_JOBS_FAILED, namespace=NS, cronjob=CRONJOB) == 0)
    assert m(c.BACKUP_JOBS_FAILED, namespace=NS, cronjob="unrelated-report") is None
    assert all(r.query.get("labelSelector") == DEFAULT_BACKUP_LABEL_SELECTOR for r in api.requests
               if r.resource in ("cronjobs", "jobs"))
    api.delete("cronjobs", NS, CRONJOB)
    await eventually(lambda: m(c.BACKUP_JOBS_FAILED, namespace=NS, cronjob=CRONJOB) is None)


async def test_without_backups_no_batch_api_is_called(api):
    client = api_client(api.url)
    w = PodWatcher(kube_config(), api_client=client)
    w.start()
    try:
        await eventually(lambda: api.lists("pods"))
        assert not api.lists("cronjobs") and not api.lists("jobs")
        assert Metrics(w)(c.KUBE_WATCH_ERRORS_TOTAL, resource="cronjobs", kind="http") is None
    finally:
        await w.aclose(timeout=5)
        client.close()


def test_backups_config_defaults_and_errors():
    cfg, errors = parse_kubernetes_config({"enabled": True, "backups": [{"namespace": "openclaw"}]}, "kubernetes")
    assert errors == [] and cfg.backups == BACKUPS
    assert parse_kubernetes_config({}, "kubernetes")[0].backups == ()
    _, errors = parse_kubernetes_config({"backups": []}, "kubernetes")
    assert errors == ["kubernetes.backups: must be a non-empty list"]
    _, errors = parse_kubernetes_config({"backups": [{"namespace": "Bad_NS"}]}, "kubernetes")
    assert errors == ["kubernetes.backups[0].namespace: 'Bad_NS' is not a valid namespace name (DNS-1123 label)"]
