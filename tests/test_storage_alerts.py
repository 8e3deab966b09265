"""The storage and backup alerts of alerts/prometheus_alerts.yaml, replayed by `promtool test rules`
on the exporter's REAL exposition.

Storage: each minute of the scenario is one real run of the storage probe (exporter.runner.
run_probe) on a real directory (a tmpfs mounted by the test where the scenario needs a full or
read-only volume), recorded into the exporter's ProbeState and rendered by its exposition code,
exactly what /metrics serves; the series get the labels the sidecar's PodMonitor gives them.
Backups: the watcher's KubeState fed the batch/v1 CronJob/Job fixtures, rendered by its real
collector. promtool's clock starts at Unix time 0, so backup times are moved there.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml

from alerthelpers import EXPORTER_TARGET, exposition, scrapes_to_series
from openclaw_schema import names
from exporter.exposition import render_state
from exporter.kube.state import KubeState
from exporter.probes import PROBERS, storage
from exporter.probes.prober_state import ProberState
from exporter.runner import run_probe
from exporter.secrets import Redactor
from exporter.state import ProbeState
from kubehelpers import fixture
from probehelpers import config_for
from slohelpers import ALERTS, run
from support.tools import require

pytestmark = pytest.mark.prometheus

RULES = ALERTS / "prometheus_alerts.yaml"
RUNBOOKS = "https://github.com/openclaw/openclaw-slo-exporter/blob/main/docs/runbooks/"
COMMON = {"service": "openclaw-gateway", "team": "gateway"}
# The sidecar in a gateway pod, as its PodMonitor scrapes it (job set to the exporter's job).
SIDECAR = {"job": "openclaw-slo-exporter", "instance": "10.0.0.31:9879", "namespace": "openclaw",
           "pod": "openclaw-gateway-5b7a6f9d8c-h7j8k", "container": "storage-probe", "endpoint": "metrics"}
SIDECAR_REPLACED = {**SIDECAR, "instance": "10.0.0.44:9879", "pod": "openclaw-gateway-5b7a6f9d8c-w9q2z"}
STORAGE = {"namespace": "openclaw", "target": "gw"}


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def replay(path: Path, minutes: int, each_minute: Callable[[int], None] = lambda m: None,
           restart_at: int | None = None) -> list[dict]:
    """One real storage probe run a minute; returns promtool input series of its exposition.
    `restart_at`: the sidecar restarts there (a new process on a new pod: fresh state and labels)."""
    config = config_for("http://127.0.0.1:1", readiness={"enabled": False}, websocket={"enabled": False},
                        storage={"path": str(path)})
    target = config.targets[0]
    prober = PROBERS["storage"]
    parts: list[tuple[dict, list[str | None]]] = []
    state = ProbeState()
    kept = ProberState()  # the sidecar exporter's memory between runs
    scrapes: list[str | None] = []
    labels = SIDECAR

    async def go() -> None:
        nonlocal state, scrapes, labels, kept
        for minute in range(minutes):
            if minute == restart_at:
                parts.append((labels, scrapes))
                state, kept, labels = ProbeState(), ProberState(), SIDECAR_REPLACED
                scrapes = [None] * minute
            if minute == 0 or minute == restart_at:
                # As app.py does: the module's detail setting (storage's default: on), then its results at 0.
                state.set_detail({("gw", m.name) for m in target.modules.values() if m.detail})
                state.ensure("gw", "storage", prober.buckets, results=prober.results)
            each_minute(minute)
            outcome = await run_probe(target, target.modules["storage"], Redactor(), None, kept)
            state.record(outcome, prober.buckets, now=time.time())
            scrapes.append(render_state(state))
        parts.append((labels, scrapes))

    asyncio.run(go())
    out: list[dict] = []
    for labels, texts in parts:
        texts = texts + [None] * (minutes - len(texts))
        # The old pod's series end where it stopped being scraped.
        out += scrapes_to_series(texts, labels)
    return out


def promtool_alerts(tmp_path: Path, input_series: list[dict], checks: list[tuple[str, str, list[dict]]],
                    interval: str = "1m") -> None:
    """promtool on the committed rules: (eval_time, alertname, firing alerts' labels) via ALERTS."""
    promtool = require("promtool")
    (tmp_path / "rules.yml").write_text(RULES.read_text())
    tests = [{"expr": f'{names.ALERTS}{{alertname="{alert}",alertstate="firing"}}', "eval_time": at,
              "exp_samples": [{"labels": names.ALERTS + "{" + ",".join(
                  f'{k}="{v}"' for k, v in sorted({"alertname": alert, "alertstate": "firing", **COMMON, **exp}.items()))
                  + "}", "value": 1} for exp in expected]}
             for at, alert, expected in checks]
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": interval, "input_series": input_series, "promql_expr_test": tests}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = run([promtool, "test", "rules", "test.yml"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# --- storage ----------------------------------------------------------------------------------

def test_volume_turned_read_only_fires_probe_failing_with_its_reason(tmp_path):
    alert = names.ALERT_STORAGE_PROBE_FAILING
    with tmpfs(tmp_path / "vol", "1m") as vol:
        def remount(minute: int) -> None:
            if minute == 10:
                subprocess.run(["mount", "-o", "remount,ro", str(vol)], check=True)
        inputs = replay(vol, 25, remount)
    critical = {**STORAGE, "result": "read_only", "severity": "critical"}
    promtool_alerts(tmp_path, inputs, [
        ("9m", alert, []),
        ("14m", alert, []),  # failing, but not yet for 5m
        ("22m", alert, [critical]),
    ])


def test_slow_fsync_fires_latency_and_fast_disk_does_not(tmp_path, monkeypatch):
    alert = names.ALERT_STORAGE_LATENCY
    fast = replay(tmp_path, 35)
    promtool_alerts(tmp_path, fast, [("34m", alert, [])])  # this machine's disk: well under 20 ms
    # A slow network volume cannot be made here: os.fsync is patched to take 30 ms (> the 20 ms P95 target).
    real_fsync = os.fsync
    monkeypatch.setattr(storage.os, "fsync", lambda fd: (time.sleep(0.03), real_fsync(fd)))
    slow_dir = tmp_path / "slow"
    slow_dir.mkdir()
    slow = replay(slow_dir, 35)
    promtool_alerts(tmp_path, slow, [
        ("14m", alert, []),  # for 15m not over yet
        ("34m", alert, [{**STORAGE, "phase": "fsync", "severity": "warning"}]),
    ])


def test_marker_wiped_while_running_fires_persistence_lost(tmp_path):
    alert = names.ALERT_STORAGE_PERSISTENCE_LOST

    def wipe(minute: int) -> None:
        if minute == 10:
            (tmp_path / storage.MARKER_NAME).unlink()
    inputs = replay(tmp_path, 20, wipe)
    promtool_alerts(tmp_path, inputs, [
        ("9m", alert, []),
        ("12m", alert, [{**STORAGE, "severity": "critical"}]),
    ])


def test_pod_recreated_on_an_empty_volume_fires_persistence_lost_and_a_kept_volume_does_not(tmp_path):
    alert = names.ALERT_STORAGE_PERSISTENCE_LOST
    kept = replay(tmp_path, 30, restart_at=10)  # a new pod, same volume: the marker survived
    promtool_alerts(tmp_path, kept, [("12m", alert, []), ("29m", alert, [])])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()

    def new_volume(minute: int) -> None:
        if minute == 10:
            for child in empty_dir.iterdir():
                child.unlink()
    lost = replay(empty_dir, 30, new_volume, restart_at=10)
    promtool_alerts(tmp_path, lost, [
        ("9m", alert, []),
        ("12m", alert, [{**STORAGE, "severity": "critical"}]),
    ])


def test_filling_volume_fires_both_predictions_and_a_steady_one_does_not(tmp_path):
    with tmpfs(tmp_path / "vol", "1m") as vol:
        steady = replay(vol, 75)
        promtool_alerts(tmp_path, steady, [("74m", names.ALERT_STORAGE_FULL_SOON, []),
                                           ("74m", names.ALERT_STORAGE_FILLING_UP, [])])
    with tmpfs(tmp_path / "vol2", "1m") as vol:
        fd = os.open(vol / "growing", os.O_WRONLY | os.O_CREAT)
        try:
            # 8 KiB a minute on 1 MiB: full in about two hours.
            filling = replay(vol, 75, lambda minute: os.write(fd, b"x" * 8192))
        finally:
            os.close(fd)
    promtool_alerts(tmp_path, filling, [
        ("10m", names.ALERT_STORAGE_FILLING_UP, []),
        ("20m", names.ALERT_STORAGE_FILLING_UP, [{**STORAGE, "severity": "warning"}]),
        ("20m", names.ALERT_STORAGE_FULL_SOON, [{**STORAGE, "severity": "critical"}]),
    ])


# --- backups ------------------------------------------------------------------------------------

SCOPE = "openclaw/app.kubernetes.io/component=openclaw-backup"
CRON = {"namespace": "openclaw", "cronjob": "openclaw-workspace-backup"}


def _epoch(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def backup_replay(steps: int, step_seconds: int, at: Callable[[KubeState, int], None]) -> list[dict]:
    clock = [0.0]
    state = KubeState(lambda: clock[0])
    scrapes = []
    for i in range(steps):
        clock[0] = i * step_seconds
        at(state, i)
        scrapes.append(exposition(state))
    return scrapes_to_series(scrapes, EXPORTER_TARGET)


def _cronjob(last_success: float) -> dict:
    cron = fixture("cronjob_backup")
    cron["status"] = {"lastScheduleTime": _epoch(last_success - 120), "lastSuccessfulTime": _epoch(last_success)}
    return cron


def test_no_backup_for_26h_warns_and_for_50h_pages(tmp_path):
    # The last backup succeeded at t=0 and the CronJob stopped scheduling (scraped once a minute).
    def at(state: KubeState, i: int) -> None:
        if i == 0:
            state.replace_cronjobs(SCOPE, [_cronjob(0)])
    inputs = backup_replay(52 * 60, 60, at)
    promtool_alerts(tmp_path, inputs, [
        ("25h", names.ALERT_BACKUP_OVERDUE, []),
        ("26h10m", names.ALERT_BACKUP_OVERDUE, [{**CRON, "severity": "warning"}]),
        ("49h", names.ALERT_BACKUP_MISSING, []),
        ("50h10m", names.ALERT_BACKUP_MISSING, [{**CRON, "severity": "critical"}]),
    ])


def test_daily_backups_never_alert(tmp_path):
    # A backup completes every day at 03:00 (the first at t=0).
    def at(state: KubeState, i: int) -> None:
        now = i * 60
        last = max(0, (now - 3 * 3600) // 86400 * 86400 + 3 * 3600) if now >= 3 * 3600 else 0
        state.replace_cronjobs(SCOPE, [_cronjob(last)])
    inputs = backup_replay(60 * 60, 60, at)
    promtool_alerts(tmp_path, inputs, [
        (at_, alert, []) for at_ in ("26h", "50h", "59h")
        for alert in (names.ALERT_BACKUP_OVERDUE, names.ALERT_BACKUP_MISSING, names.ALERT_BACKUP_FAILED)
    ])


def test_failed_job_after_the_last_success_fires_until_a_later_success(tmp_path):
    alert = names.ALERT_BACKUP_FAILED
    ok = fixture("job_backup_complete")
    ok["status"]["completionTime"] = _epoch(600)
    for cond in ok["status"]["conditions"]:
        cond["lastTransitionTime"] = _epoch(600)
    failed = fixture("job_backup_failed")
    for cond in failed["status"]["conditions"]:
        cond["lastTransitionTime"] = _epoch(3600)
    later = fixture("job_backup_complete")
    later["metadata"]["name"] = "openclaw-workspace-backup-29399220"
    later["status"]["completionTime"] = _epoch(7200)

    def at(state: KubeState, i: int) -> None:
        if i == 0:
            state.replace_cronjobs(SCOPE, [_cronjob(0)])
        if i == 1:
            state.replace_jobs(SCOPE, [ok])
        if i == 6:  # minute 60: the next Job fails
            state.apply_job_event(SCOPE, "ADDED", failed)
        if i == 12:  # minute 120: a manual run succeeds
            state.apply_job_event(SCOPE, "ADDED", later)
    inputs = backup_replay(18, 600, at)
    promtool_alerts(tmp_path, inputs, [
        ("50m", alert, []),
        ("70m", alert, [{**CRON, "severity": "warning"}]),
        ("130m", alert, []),
    ], interval="10m")
