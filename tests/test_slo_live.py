"""The exporter's live error budget: counting, gauges, and surviving restarts and kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from importlib import resources

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.app import Exporter
from exporter.config import parse_config
from exporter.status import SECTION_SLOS, build_status
from exporter.status_html import render_index
from exporter.status_sources import slo_rows
from slo import spec
from slo.live import LiveBudget
from slohelpers import ROOT

T0 = 1_800_000_000.0  # a whole minute


def sample(families, name, **labels):
    for family in families:
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


def test_availability_counts_success_and_failures_but_not_misconfiguration():
    live = LiveBudget(spec.load())
    for i in range(998):
        live.record("gw", "websocket", "success", {"handshake": 0.1}, T0 + i * 0.1)
    live.record("gw", "websocket", "timeout", {}, T0 + 1)
    live.record("gw", "websocket", "refused", {}, T0 + 2)
    for _ in range(50):  # a rotated token: neither good nor bad
        live.record("gw", "websocket", "auth_failed", {}, T0 + 3)
    families = live.families(T0 + 30)
    slo = "websocket-availability"
    assert sample(families, "openclaw_slo_sli_ratio", slo=slo, window="5m") == 0.998
    assert sample(families, "openclaw_slo_burn_rate", slo=slo, window="1h") == pytest.approx(2.0)
    assert sample(families, "openclaw_slo_error_budget_remaining_ratio", slo=slo) == pytest.approx(-1.0)
    assert sample(families, "openclaw_slo_objective_ratio", slo=slo) == 0.999


def test_latency_counts_only_successful_probes_against_the_threshold():
    live = LiveBudget(spec.load())
    for seconds in (0.1, 0.2, 0.25, 0.3):  # 0.25 is at the threshold: good
        live.record("gw", "websocket", "success", {"handshake": seconds}, T0)
    live.record("gw", "websocket", "timeout", {"handshake": 9.0}, T0)
    families = live.families(T0)
    assert sample(families, "openclaw_slo_sli_ratio", slo="websocket-handshake-latency", window="1h") == 0.75


def test_windows_forget_old_events_and_no_traffic_has_no_sli():
    live = LiveBudget(spec.load())
    live.record("gw", "readiness", "not_ready", {}, T0)
    later = T0 + 2 * 3600  # two hours on, nothing since
    families = live.families(later)
    slo = "readiness-availability"
    assert sample(families, "openclaw_slo_sli_ratio", slo=slo, window="1h") is None
    assert sample(families, "openclaw_slo_burn_rate", slo=slo, window="1h") == 0.0
    assert sample(families, "openclaw_slo_sli_ratio", slo=slo, window="6h") == 0.0
    assert sample(families, "openclaw_slo_error_budget_remaining_ratio", slo=slo) == pytest.approx(1 - 1 / 0.001)
    # 31 days on, the event has left the 30d window: no data (not a made-up full budget).
    families = live.families(T0 + 31 * 86400)
    assert sample(families, "openclaw_slo_error_budget_remaining_ratio", slo=slo) is None
    assert sample(families, "openclaw_slo_objective_ratio", slo=slo) == 0.999


def test_an_slo_whose_probe_never_ran_reports_no_data_never_a_full_budget():
    # A user enabled the opt-in model SLO but no target runs the model probe.
    text = resources.files("slo").joinpath("specs/openclaw-gateway.yml").read_text().replace("enabled: false", "enabled: true")
    live = LiveBudget(spec.load_text(text, "inline"))
    live.record("gw", "websocket", "success", {"handshake": 0.01}, T0)
    families = live.families(T0)
    slo = "model-catalog-availability"
    assert sample(families, "openclaw_slo_objective_ratio", slo=slo) == 0.99
    assert sample(families, "openclaw_slo_error_budget_remaining_ratio", slo=slo) is None
    assert all(sample(families, "openclaw_slo_sli_ratio", slo=slo, window=w) is None for w in ("5m", "1h", "30d"))
    assert sample(families, "openclaw_slo_error_budget_remaining_ratio", slo="websocket-availability") == 1.0
    # The status page says so in words.
    ex = Exporter("/etc/openclaw/exporter.yml", jitter=False)
    ex.config = parse_config({"targets": [{"name": "gw", "url": "http://127.0.0.1:18789"}]})
    ex.status_sections[SECTION_SLOS] = lambda: slo_rows(live.families(T0), spec.load_text(text, "inline"))
    view = build_status(ex, now=T0)
    rows = {r["name"]: r for r in view["slos"]["rows"]}
    assert (rows[slo]["status"], rows[slo]["budget_remaining"], rows[slo]["sli"], rows[slo]["burn_rate"]) == (
        "NO DATA", None, None, None)
    assert rows["websocket-availability"]["status"] == "OK"
    html = render_index(view)
    model_row = html[html.index(slo):html.index("</tr>", html.index(slo))]
    assert "NO DATA" in model_row and "no data" in model_row
    assert "100 %" not in model_row and "OK" not in model_row and "not burning" not in model_row
    assert "0.00\u00d7" not in model_row


def test_target_regex_is_anchored():
    loaded = spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: prod\n  objective: 0.99\n  sli: {kind: availability, module: websocket, target: 'prod-.*'}\n",
        "inline",
    )
    live = LiveBudget(loaded)
    live.record("prod-1", "websocket", "success", {}, T0)
    live.record("staging-prod-1", "websocket", "refused", {}, T0)
    assert sample(live.families(T0), "openclaw_slo_sli_ratio", slo="prod", window="5m") == 1.0


def test_registers_as_a_collector_on_a_private_registry():
    registry = CollectorRegistry()
    registry.register(LiveBudget(spec.load()))
    text = generate_latest(registry).decode()
    assert 'openclaw_slo_objective_ratio{slo="websocket-availability"} 0.999' in text
    assert "# TYPE openclaw_slo_burn_rate gauge" in text


def test_state_survives_a_clean_restart(tmp_path):
    db = str(tmp_path / "slo.sqlite")
    live = LiveBudget(spec.load(), db, now=T0)
    for i in range(100):
        live.record("gw", "readiness", "success" if i % 10 else "not_ready", {}, T0 + i * 30)
    assert live.flush(T0 + 3000) == 50  # one row per minute bucket
    live.close()
    again = LiveBudget(spec.load(), db, now=T0 + 3000)
    assert sample(again.families(T0 + 3000), "openclaw_slo_sli_ratio", slo="readiness-availability", window="1d") == 0.9
    again.close()


def test_flush_drops_buckets_older_than_the_window(tmp_path):
    db = str(tmp_path / "slo.sqlite")
    live = LiveBudget(spec.load(), db, now=T0)
    live.record("gw", "readiness", "not_ready", {}, T0)
    live.flush(T0)
    live.flush(T0 + 31 * 86400)
    live.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM slo_buckets").fetchone() == (0,)


CHILD = textwrap.dedent(
    """
    import sys, time
    from slo import spec
    from slo.live import LiveBudget
    T0 = 1_800_000_000.0
    live = LiveBudget(spec.load(), sys.argv[1], now=T0)
    for i in range(300):  # ten minutes of probes every 2 s, flushed every 20 events
        live.record("gw", "websocket", "success" if i % 30 else "timeout", {"handshake": 0.1}, T0 + i * 2)
        if i % 20 == 19:
            live.flush(T0 + i * 2)
    print("flushed", flush=True)
    for i in range(300, 310):  # recorded after the last flush: these may be lost
        live.record("gw", "websocket", "refused", {}, T0 + i * 2)
    print("pending", flush=True)
    time.sleep(60)
    """
)


def test_state_survives_sigkill_losing_at_most_one_flush_interval(tmp_path):
    db = str(tmp_path / "slo.sqlite")
    child = subprocess.Popen([sys.executable, "-c", CHILD, db], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "flushed"
        assert child.stdout.readline().strip() == "pending"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    restarted = LiveBudget(spec.load(), db, now=T0 + 620)
    families = restarted.families(T0 + 620)
    # 300 flushed events, 10 of them timeouts; the 10 unflushed refusals are gone.
    assert sample(families, "openclaw_slo_sli_ratio", slo="websocket-availability", window="30m") == pytest.approx(290 / 300)
    assert sample(families, "openclaw_slo_sli_ratio", slo="websocket-handshake-latency", window="30m") == 1.0
    restarted.close()


def test_history_of_slos_removed_from_the_spec_is_dropped(tmp_path):
    db = str(tmp_path / "slo.sqlite")
    live = LiveBudget(spec.load(), db, now=T0)
    live.record("gw", "model", "success", {}, T0)
    live.record("gw", "readiness", "success", {}, T0)
    live.flush(T0)
    live.close()
    only_readiness = spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: readiness-availability\n  objective: 0.999\n  sli: {kind: availability, module: readiness}\n",
        "inline",
    )
    LiveBudget(only_readiness, db, now=T0).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT slo FROM slo_buckets").fetchall() == [("readiness-availability",)]


def test_a_spec_without_probe_slis_tracks_nothing(tmp_path):
    ratio_only = spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: api\n  objective: 0.99\n"
        "  sli: {kind: ratio, error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}\n",
        "inline",
    )
    live = LiveBudget(ratio_only, str(tmp_path / "slo.sqlite"), now=T0)
    live.record("gw", "websocket", "refused", {}, T0)
    assert live.flush(T0) == 0
    assert all(not family.samples for family in live.families(T0))
    live.close()


async def test_flush_periodically_writes_without_blocking_the_loop(tmp_path):
    db = str(tmp_path / "slo.sqlite")
    live = LiveBudget(spec.load(), db)
    live.record("gw", "readiness", "success", {}, time.time())
    task = asyncio.create_task(live.flush_periodically(0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT COUNT(*) FROM slo_buckets").fetchone()[0]:
                    break
        else:
            pytest.fail("nothing flushed")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        live.close()


def _reference_totals(tracked, minute):
    """The original full re-sum over every bucket (what the running totals must equal)."""
    import bisect as _bisect
    limits = [w // 60 for w in tracked.windows]
    bands = [[0, 0] for _ in limits]
    for bucket, (good, total) in tracked.buckets.items():
        band = _bisect.bisect_right(limits, minute - bucket)
        if band < len(bands):
            bands[band][0] += good
            bands[band][1] += total
    out, g, t = [], 0, 0
    for good, total in bands:
        g, t = g + good, t + total
        out.append((g, t))
    return out


def test_running_totals_equal_a_full_resum_through_records_refreshes_flushes_and_a_clock_step_back():
    import random
    rng = random.Random(3)
    live = LiveBudget(spec.load())
    now = T0
    for step in range(3000):
        now += rng.choice((1, 7, 45, 300, 3600))
        if step == 1500:
            now -= 7200  # the clock steps back
        for _ in range(rng.randint(0, 3)):
            live.record("gw", "websocket", rng.choice(("success", "success", "timeout")), {"handshake": rng.random() * 0.5}, now)
        if step % 7 == 0:
            live.flush(now)
        if step % 3 == 0:
            minute = int(now // 60)
            for tracked in live._tracked.values():
                assert tracked.totals(minute) == _reference_totals(tracked, minute), step


class _CountingDict(dict):
    reads = 0

    def __getitem__(self, key):
        type(self).reads += 1
        return super().__getitem__(key)

    def items(self):
        type(self).reads += len(self)
        return super().items()

    def values(self):
        type(self).reads += len(self)
        return super().values()


def test_a_refresh_reads_only_the_buckets_that_left_a_window_not_the_whole_period():
    """30 days of minute buckets (43,200 per SLO): a refresh must not re-sum them all."""
    live = LiveBudget(spec.load())
    first = int(T0 // 60)
    for tracked in live._tracked.values():
        tracked.replace(_CountingDict({first + m: [59, 60] for m in range(tracked.slo.period_seconds // 60)}))
    end = first + 43_200
    live.families(end * 60)  # the first read after loading builds the sums once
    for i in range(1, 61):  # an hour of refreshes, a minute apart, with probes in between
        live.record("gw", "websocket", "success", {"handshake": 0.1}, (end + i) * 60)
        _CountingDict.reads = 0
        families = live.families((end + i) * 60)
        # Each window lost at most one minute bucket: a handful of reads, not 43,200 per SLO.
        assert _CountingDict.reads <= 8 * len(live._tracked), _CountingDict.reads
    assert sample(families, "openclaw_slo_sli_ratio", slo="websocket-availability", window="30d") == pytest.approx(
        (59 * (43_200 - 61) + 60) / (60 * (43_200 - 61) + 60))


async def test_an_exporter_without_a_state_file_wakes_no_thread_for_its_slos(monkeypatch):
    """Without a state file a flush only drops expired buckets and a refresh reads running
    sums (~50 us): a thread hand-off every 5 and 10 s cost more than that work, on every
    exporter, probing or not. Only the state file's writes go to a thread."""
    live = LiveBudget(spec.load(), None)
    live.record("gw", "readiness", "success", {}, time.time())
    handed: list = []

    async def no_thread(func, *args, **kwargs):
        handed.append(func)
        return func(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    exporter = Exporter("/dev/null")
    exporter.live_budget = live
    tasks = [asyncio.create_task(live.flush_periodically(0.01)),
             asyncio.create_task(exporter._refresh_slo_families(0.01))]
    try:
        await asyncio.sleep(0.2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        live.close()
    assert any(f.name == "openclaw_slo_objective_ratio" and f.samples for f in exporter._slo_families)
    assert handed == []
