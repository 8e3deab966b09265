"""Runs every enabled (target, module) pair on its own interval.

One asyncio task per pair: a start jitter spreads the first runs, a run never overlaps the
previous run of the same pair, ticks missed while a run was still going are counted as
skipped (never queued), and a global semaphore bounds how many probes run at once.

The pairs share one timer (``Wakeups``): a run due shortly after another's wakeup starts with
it, up to 2 % of its interval (at most 25 ms) early, instead of waking the process again. A
wakeup from idle is most of what a probe costs on a virtual machine (docs/benchmarks.md); the
schedule itself never drifts, as each pair's next tick is counted from its own.

A config reload calls ``update``: a pair whose probe would run exactly as before keeps its
task and its schedule; only changed pairs are restarted, new ones started, removed ones stopped.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from typing import Awaitable, Callable

from exporter.settings.resolved import Config, ModuleConfig, TargetConfig
from exporter.probes.base import ProbeOutcome

log = logging.getLogger("exporter.scheduler")

RunFunc = Callable[[TargetConfig, ModuleConfig], Awaitable[ProbeOutcome]]
OnResult = Callable[[ProbeOutcome], None]
OnSkip = Callable[[TargetConfig, ModuleConfig, int], None]
Job = tuple[TargetConfig, ModuleConfig]

# How early a run may start to share another run's wakeup: a share of its interval, capped.
SLACK_SHARE = 0.02
SLACK_MAX_SECONDS = 0.025


class Wakeups:
    """One timer for many sleepers: ``sleep_until(t, slack)`` returns at t, or up to ``slack``
    earlier when the timer fires then for another sleeper (its wakeup shared)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, float, asyncio.Future]] = []
        self._order = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._handle_at = float("inf")
        self._loop: asyncio.AbstractEventLoop | None = None

    def sleep_until(self, deadline: float, slack: float = 0.0) -> asyncio.Future:
        """A future to await: done at ``deadline`` on ``time.monotonic()``'s clock (``slack`` <=
        SLACK_MAX_SECONDS). A plain function, not a coroutine: a sleeping pair holds no second
        frame (~0.3 KB a pair). Cancelling the awaiting task cancels the future."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another loop (a restart): the old one's sleepers and timer are gone
            self._heap.clear()
            self._handle, self._handle_at, self._loop = None, float("inf"), loop
        at = loop.time() + (deadline - time.monotonic())
        future = loop.create_future()
        heapq.heappush(self._heap, (at, next(self._order), at - min(slack, SLACK_MAX_SECONDS), future))
        if at < self._handle_at:
            if self._handle is not None:
                self._handle.cancel()
            self._arm(loop, at)
        return future  # a cancelled sleeper's entry is dropped when it comes up

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        self._handle = loop.call_at(at, self._fire, loop)
        self._handle_at = at

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        # The loop's clock may read a little before the deadline it fired for (uvloop counts
        # whole milliseconds): the entry the timer was armed for is due whatever it reads.
        now = max(loop.time(), self._handle_at)
        heap = self._heap
        later = []
        while heap and heap[0][0] <= now + SLACK_MAX_SECONDS:
            entry = heapq.heappop(heap)
            if entry[3].done():
                continue
            if entry[2] <= now:
                entry[3].set_result(None)
            else:
                later.append(entry)
        for entry in later:
            heapq.heappush(heap, entry)
        self._handle, self._handle_at = None, float("inf")
        if heap:
            self._arm(loop, heap[0][0])


def probe_inputs(target: TargetConfig, module: ModuleConfig) -> tuple:
    """Everything one (target, module) probe depends on: equal inputs mean an equal probe.

    TargetConfig compares by identity (it caches its SSL context), so compare its fields.
    The model module also talks to the gateway with the websocket module's settings."""
    extra = target.modules.get("websocket") if module.name == "model" else None
    device = target.device
    # The device identity by its key (a reload reads the file again) and where its tokens go.
    signing = (device.identity.device_id, device.token_file) if device is not None else None
    return (target.name, target.pod, target.http_url, target.ws_url, target.token, target.tls_ca_file,
            target.tls_insecure_skip_verify, module, extra, signing)


class Scheduler:
    def __init__(self, run: RunFunc, on_result: OnResult, on_skip: OnSkip, max_concurrency: int,
                 jitter: bool = True) -> None:
        self._run = run
        self._on_result = on_result
        self._on_skip = on_skip
        self.max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._tasks: dict[tuple[str, str, str], asyncio.Task] = {}
        self._jobs: dict[tuple[str, str, str], Job] = {}
        self._jitter = jitter
        self._wakeups = Wakeups()
        self.in_flight = 0

    def jobs(self, config: Config) -> list[tuple[TargetConfig, ModuleConfig]]:
        return [(t, m) for t in config.targets for m in t.modules.values() if m.enabled]

    def start(self, config: Config) -> None:
        for target, module in self.jobs(config):
            self._add(target, module)
        log.info("scheduler started", extra={"jobs": len(self._tasks)})

    def _add(self, target: TargetConfig, module: ModuleConfig) -> None:
        key = (target.name, module.name, target.pod)
        self._jobs[key] = (target, module)
        self._tasks[key] = asyncio.create_task(self._loop(target, module), name="probe:" + ":".join(key))

    def _remove(self, key: tuple[str, str, str]) -> asyncio.Task:
        self._jobs.pop(key, None)
        task = self._tasks.pop(key)
        task.cancel()
        return task

    def _sync(self, wanted: dict[tuple[str, str, str], Job], owned: Callable[[tuple[str, str, str]], bool]) -> dict[str, int]:
        """Make the jobs for which ``owned(key)`` holds exactly ``wanted``, keeping unchanged ones."""
        counts = {"kept": 0, "restarted": 0, "started": 0, "stopped": 0}
        for key in [k for k in self._tasks if owned(k) and k not in wanted]:
            self._remove(key)
            counts["stopped"] += 1
        for key, (target, module) in wanted.items():
            if key in self._tasks:
                if probe_inputs(*self._jobs[key]) == probe_inputs(target, module):
                    counts["kept"] += 1
                    continue
                self._remove(key)
                counts["restarted"] += 1
            else:
                counts["started"] += 1
            self._add(target, module)
        return counts

    def update(self, config: Config) -> dict[str, int]:
        """Apply a reloaded config to the configured (not per-pod) jobs; returns what changed."""
        wanted = {(t.name, m.name, t.pod): (t, m) for t, m in self.jobs(config)}
        counts = self._sync(wanted, lambda key: not key[2])
        log.info("scheduler updated", extra=counts)
        return counts

    def sync_pods(self, jobs: list[Job]) -> set[tuple[str, str, str]]:
        """Make the per-pod jobs exactly ``jobs`` (pods come and go); returns their keys."""
        wanted = {(t.name, m.name, t.pod): (t, m) for t, m in jobs}
        self._sync(wanted, lambda key: bool(key[2]))
        return set(wanted)

    async def stop(self, timeout: float = 4.0) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._jobs.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _loop(self, target: TargetConfig, module: ModuleConfig) -> None:
        interval = module.interval
        slack = interval * SLACK_SHARE
        next_tick = time.monotonic()
        if self._jitter:
            next_tick += random.uniform(0, min(interval, 5.0))
            await self._wakeups.sleep_until(next_tick, slack)
        while True:
            try:
                async with self._semaphore:
                    self.in_flight += 1
                    try:
                        outcome = await self._run(target, module)
                    finally:
                        self.in_flight -= 1
                self._on_result(outcome)
                del outcome  # not kept through the sleep: the state took what it keeps (~0.9 KB a pair)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bug in one run must not stop this pair's probing
                log.exception("probe run failed unexpectedly", extra={"target": target.name, "probe_module": module.name})
            next_tick += interval
            now = time.monotonic()
            if now > next_tick:
                missed = int((now - next_tick) // interval) + 1
                next_tick += missed * interval
                self._on_skip(target, module, missed)
            await self._wakeups.sleep_until(next_tick, slack)

