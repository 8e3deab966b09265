"""The scheduler's shared timer: runs due close together share one wakeup, none starts later
than its tick or earlier than its slack allows, and a cancelled sleeper leaves no trace.

Assertions count timer callbacks rather than timing wakeups, so a loaded machine that runs
the loop late cannot make them fail (a late loop wakes every due sleeper in one callback)."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from types import SimpleNamespace

import pytest
import uvloop

from exporter.probes.base import ProbeOutcome
from exporter.scheduler import Scheduler, Wakeups

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def run(loop_name: str, main):
    loop = LOOPS[loop_name]()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


class CountedWakeups(Wakeups):
    def __init__(self) -> None:
        super().__init__()
        self.fires = 0

    def _fire(self, loop) -> None:
        self.fires += 1
        super()._fire(loop)


def sleepers(loop_name: str, plan: dict[str, tuple[float, float]]):
    """Sleep each name until now + its offset with its slack, on one CountedWakeups; returns
    the wakeups, each name's wake time and the start time (time.monotonic())."""
    async def main():
        wakeups = CountedWakeups()
        now = time.monotonic()
        woke = {}

        async def sleeper(name, offset, slack):
            await wakeups.sleep_until(now + offset, slack)
            woke[name] = time.monotonic()

        await asyncio.gather(*(sleeper(name, offset, slack) for name, (offset, slack) in plan.items()))
        return wakeups, woke, now

    return run(loop_name, main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_run_due_within_its_slack_shares_the_earlier_runs_wakeup(loop_name):
    wakeups, woke, now = sleepers(loop_name, {"a": (0.05, 0.0), "b": (0.06, 0.02)})
    assert set(woke) == {"a", "b"}
    assert wakeups.fires == 1  # b started with a instead of waking the loop 10 ms later
    assert woke["a"] >= now + 0.05 - 0.002  # a never early (uvloop counts whole milliseconds)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_run_is_never_started_earlier_than_its_slack(loop_name):
    # b is 30 ms after a with a 10 ms slack, c 5 ms after a with none: each waits for its own tick.
    wakeups, woke, now = sleepers(loop_name, {"a": (0.05, 0.02), "b": (0.08, 0.01), "c": (0.055, 0.0)})
    assert woke["b"] >= now + 0.08 - 0.01 - 0.002
    assert woke["c"] >= now + 0.055 - 0.002
    assert wakeups.fires >= 2


@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_sleeper_wakes_on_the_first_callback_whatever_the_loops_clock_reads(loop_name):
    """uvloop's clock counts whole milliseconds: a timer may fire while loop.time() still reads
    a little before its deadline. The sleeper it fired for must wake then, not re-arm the timer
    and spin the loop until the clock catches up."""
    async def main():
        wakeups = CountedWakeups()
        for _ in range(20):
            await wakeups.sleep_until(time.monotonic() + 0.0032, 0.0)  # rounds down to 3 ms
        return wakeups

    assert run(loop_name, main).fires == 20


@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_cancelled_sleeper_neither_wakes_nor_delays_the_others(loop_name):
    async def main():
        wakeups = CountedWakeups()
        now = time.monotonic()
        async def sleeper(at):  # as a pair's task sleeps: cancelling the task cancels its future
            await wakeups.sleep_until(at, 0.0)

        early = asyncio.ensure_future(sleeper(now + 0.03))
        late = asyncio.ensure_future(sleeper(now + 0.06))
        await asyncio.sleep(0)
        early.cancel()
        await late
        return wakeups, early, time.monotonic() - now

    wakeups, early, elapsed = run(loop_name, main)
    assert early.cancelled()
    assert elapsed >= 0.06 - 0.002
    assert wakeups._heap == []  # the cancelled entry went when it came up


def test_one_timer_serves_a_second_event_loop_after_the_first_is_gone():
    """A sleeper on a new loop must not wait for a timer that was armed on a closed one."""
    wakeups = Wakeups()

    async def sleep_for(seconds):
        await wakeups.sleep_until(time.monotonic() + seconds)

    first = asyncio.new_event_loop()
    pending = first.create_task(sleep_for(0.02))  # armed on `first`, which stops before it fires
    first.run_until_complete(asyncio.sleep(0))
    pending.cancel()
    first.run_until_complete(asyncio.gather(pending, return_exceptions=True))
    first.close()
    second = asyncio.new_event_loop()
    try:
        second.run_until_complete(asyncio.wait_for(sleep_for(0.05), 5.0))  # later than the dead timer
    finally:
        second.close()


@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_pair_keeps_no_outcome_while_it_sleeps(loop_name):
    """A pair's task sleeps until its next tick for most of its life: its last outcome (log lines,
    phases, gauges: ~0.9 KB, 0.9 MB at 1,000 targets) must not stay alive in its frame meanwhile;
    the state has taken what it keeps."""
    class Tracked(ProbeOutcome):
        __slots__ = ("__weakref__",)

    async def main():
        kept = []

        async def probe(target, module):
            return Tracked(target.name, module.name, "success", "ok", {"total": 0.001}, time.time(),
                           logs=["     0.1ms GET url=http://gw:18789/readyz"])

        scheduler = Scheduler(probe, lambda outcome: kept.append(weakref.ref(outcome)), lambda *_: None,
                              max_concurrency=4, jitter=False)
        scheduler._add(SimpleNamespace(name="gw", pod=""), SimpleNamespace(name="readiness", interval=3600.0))
        try:
            deadline = time.monotonic() + 10
            while not kept and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # the pair's task is asleep until its next tick, an hour away
            gc.collect()
            return len(kept), kept[0]() if kept else None
        finally:
            await scheduler.stop()

    runs, alive = run(loop_name, main)
    assert runs == 1 and alive is None
