"""A corrupt or unusable `slo.state_file` never stops the exporter: it is logged, kept aside,
exposed as `openclaw_slo_state_file_ok 0`, and `check` flags a path `run` could not use."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from support.daemons import exporter, running
from ports import free_port
from openclaw_schema import names as c
from exporterhelpers import parse_samples, value
from slo import spec
from slo.live import LiveBudget
from slohelpers import ROOT

T0 = 1_800_000_000.0


def write_config(tmp_path: Path, state_file: Path) -> Path:
    config = tmp_path / "exporter.yml"
    config.write_text(f"targets:\n  - name: gw\n    url: http://127.0.0.1:{free_port()}\n"
                      f"slo:\n  state_file: {state_file}\n  flush_interval: 1s\n")
    return config


@contextmanager
def exporter_process(config: Path, tmp_path: Path):
    """The real `openclaw-exporter run`, as a container would start it; stopped by its pid."""
    port = free_port()
    with running(exporter(tmp_path, port, config), timeout=20) as daemon:
        yield f"http://127.0.0.1:{port}", daemon.proc, daemon.log_path


def scrape(base: str) -> dict:
    return parse_samples(urllib.request.urlopen(base + "/metrics", timeout=5).read().decode())


def test_run_with_a_corrupt_state_file_stays_up_and_keeps_the_file_aside(tmp_path):
    state = tmp_path / "slo.sqlite"
    garbage = os.urandom(64 * 1024)
    state.write_bytes(garbage)
    with exporter_process(write_config(tmp_path, state), tmp_path) as (base, proc, log):
        samples = scrape(base)
        assert value(samples, c.SLO_STATE_FILE_OK) == 0
        # The live budget still works (empty) and probing goes on.
        assert value(samples, c.SLO_OBJECTIVE, slo="websocket-availability") == 0.999
        time.sleep(1.5)
        assert proc.poll() is None
        text = log.read_text()
    aside = [p for p in tmp_path.glob("slo.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # kept, byte for byte, for inspection
    assert "slo state file is corrupt: moved aside" in text and str(aside[0]) in text
    # A fresh, sound database took its place and the next start is clean.
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM slo_buckets").fetchone()[0] >= 0
    with exporter_process(write_config(tmp_path, state), tmp_path) as (base, _, _):
        assert value(scrape(base), c.SLO_STATE_FILE_OK) == 1


def test_run_with_a_state_file_in_a_missing_directory_keeps_the_budget_in_memory(tmp_path):
    state = tmp_path / "no-such-dir" / "slo.sqlite"
    with exporter_process(write_config(tmp_path, state), tmp_path) as (base, proc, log):
        samples = scrape(base)
        assert value(samples, c.SLO_STATE_FILE_OK) == 0
        assert value(samples, c.SLO_OBJECTIVE, slo="websocket-availability") == 0.999
        time.sleep(1.5)  # past a flush interval: flushing to nowhere must not kill anything
        assert proc.poll() is None
        assert "slo state file unusable: the live budget is kept in memory only" in log.read_text()
    assert not state.parent.exists()


def test_check_flags_a_state_file_run_could_not_use(tmp_path):
    missing = tmp_path / "no-such-dir" / "slo.sqlite"
    proc = subprocess.run([sys.executable, "-m", "exporter", "check", "--config.file", str(write_config(tmp_path, missing))],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"slo.state_file: directory {missing.parent} does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    a_dir = tmp_path / "a-directory"
    a_dir.mkdir()
    proc = subprocess.run([sys.executable, "-m", "exporter", "check", "--config.file", str(write_config(tmp_path, a_dir))],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"slo.state_file: {a_dir} is a directory, not a file" in proc.stderr


def test_a_failing_write_keeps_counting_and_retries(tmp_path):
    db = str(tmp_path / "slo.sqlite")
    live = LiveBudget(spec.load(), db, now=T0)
    assert live.state_file_ok is True
    live.record("gw", "websocket", "success", {}, T0)
    live._db.execute("PRAGMA query_only = 1")  # the disk turned read-only underneath
    assert live.flush(T0) == 0
    assert live.state_file_ok is False
    assert [s.value for f in live.families(T0) if f.name == c.SLO_STATE_FILE_OK for s in f.samples] == [0.0]
    live._db.execute("PRAGMA query_only = 0")
    assert live.flush(T0) == 1  # the unsaved bucket was kept for the retry
    assert live.state_file_ok is True
    live.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT SUM(total) FROM slo_buckets").fetchone()[0] == 1


def test_no_state_file_no_state_file_metric():
    live = LiveBudget(spec.load())
    assert live.state_file_ok is None
    assert c.SLO_STATE_FILE_OK not in {f.name for f in live.families(T0)}
