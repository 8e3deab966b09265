"""Series are rendered ahead of the scrape, in slices, and at most about once per scrape."""

from __future__ import annotations

import asyncio
import time

from exporter import prerender
from exporter.exposition import render_state
from exporter.prerender import Prerenderer, render_stale
from exporter.probes import PROBERS
from exporter.probes.base import ProbeOutcome
from exporter.state import ProbeState
from support.loop import LoopTurns

BUCKETS = PROBERS["readiness"].buckets


def recorded_state(n: int) -> ProbeState:
    state = ProbeState()
    for i in range(n):
        state.record(ProbeOutcome(f"t{i}", "readiness", "success", "", {"total": 0.01}, time.time()), BUCKETS)
    return state


async def test_render_stale_renders_each_changed_series_once_and_yields_between_slices():
    state = recorded_state(3 * prerender.BATCH + 1)
    with LoopTurns() as turns:
        await asyncio.sleep(0)
        before = turns.count
        assert await render_stale(list(state.series.values())) == 3 * prerender.BATCH + 1
    assert turns.count - before >= 3, "the loop ran other tasks between slices"
    assert all(s.cache is not None for s in state.series.values())
    assert await render_stale(list(state.series.values())) == 0  # nothing changed: nothing rendered
    text = render_state(state)
    assert text.count('openclaw_probe_success{target="t') == 3 * prerender.BATCH + 1


def test_sweeps_follow_the_scrape_interval():
    pr = Prerenderer(ProbeState())
    # Before any scrape: DEFAULT_PERIOD after the last sweep.
    pr._last_sweep = 100.0
    assert pr.next_sweep() == 100.0 + prerender.LEAD * prerender.DEFAULT_PERIOD
    # Two scrapes 15 s apart: the next sweep is 12 s after the last scrape.
    pr.scraped(200.0)
    pr.scraped(215.0)
    assert pr.next_sweep() == 215.0 + prerender.LEAD * 15.0
    # After that sweep, the next one waits for the next scrape's interval, not sooner.
    pr._last_sweep = 227.0
    assert pr.next_sweep() == 227.0 + prerender.LEAD * 15.0
    pr.scraped(230.0)
    assert pr.next_sweep() == 230.0 + prerender.LEAD * 15.0


async def test_the_sweep_runs_before_the_next_scrape(monkeypatch):
    monkeypatch.setattr(prerender, "DEFAULT_PERIOD", 0.2)
    state = recorded_state(10)
    pr = Prerenderer(state)
    task = asyncio.ensure_future(pr.run())
    try:
        for _ in range(100):
            if pr.sweeps:
                break
            await asyncio.sleep(0.02)
        assert pr.sweeps >= 1
        assert all(s.cache is not None for s in state.series.values())
        # A probe records: its series is stale until the next sweep renders it.
        state.record(ProbeOutcome("t0", "readiness", "refused", "x", {}, time.time()), BUCKETS)
        assert state.series[("t0", "readiness", "")].cache is None
        seen = pr.sweeps
        for _ in range(100):
            if pr.sweeps > seen:
                break
            await asyncio.sleep(0.02)
        assert state.series[("t0", "readiness", "")].cache is not None
        assert 'result="refused"} 1.0' in state.series[("t0", "readiness", "")].cache["openclaw_probe_attempts_total"]
    finally:
        task.cancel()


def test_start_up_objects_leave_the_collectors_sight():
    import gc

    from exporter.cli import settle_heap

    try:
        settle_heap()
        assert gc.get_freeze_count() > 1000  # modules, config, validators: never scanned again
    finally:
        gc.unfreeze()
