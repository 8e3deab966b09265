"""Runs every enabled (target, module) pair on its own interval.

One asyncio task per pair: a start jitter spreads the first runs, a run never overlaps the
previous run of the same pair, ticks missed while a run was still going are counted as
skipped (never queued), and a global semaphore bounds how many probes run at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Awaitable, Callable

from exporter.config import Config, ModuleConfig, TargetConfig
from exporter.probes.base import ProbeOutcome

log = logging.getLogger("exporter.scheduler")

RunFunc = Callable[[TargetConfig, ModuleConfig], Awaitable[ProbeOutcome]]
OnResult = Callable[[ProbeOutcome], None]
OnSkip = Callable[[TargetConfig, ModuleConfig, int], None]


class Scheduler:
    def __init__(self, run: RunFunc, on_result: OnResult, on_skip: OnSkip, max_concurrency: int,
                 jitter: bool = True) -> None:
        self._run = run
        self._on_result = on_result
        self._on_skip = on_skip
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._tasks: dict[tuple[str, str], asyncio.Task] = {}
        self._jitter = jitter
        self.in_flight = 0

    def jobs(self, config: Config) -> list[tuple[TargetConfig, ModuleConfig]]:
        return [(t, m) for t in config.targets for m in t.modules.values() if m.enabled]

    def start(self, config: Config) -> None:
        for target, module in self.jobs(config):
            key = (target.name, module.name)
            self._tasks[key] = asyncio.create_task(self._loop(target, module), name=f"probe:{key[0]}:{key[1]}")
        log.info("scheduler started", extra={"jobs": len(self._tasks)})

    async def stop(self, timeout: float = 4.0) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _loop(self, target: TargetConfig, module: ModuleConfig) -> None:
        interval = module.interval
        if self._jitter:
            await asyncio.sleep(random.uniform(0, min(interval, 5.0)))
        next_tick = time.monotonic()
        while True:
            try:
                async with self._semaphore:
                    self.in_flight += 1
                    try:
                        outcome = await self._run(target, module)
                    finally:
                        self.in_flight -= 1
                self._on_result(outcome)
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
            await asyncio.sleep(max(0.0, next_tick - now))

