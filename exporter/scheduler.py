"""Runs every enabled (target, module) pair on its own interval.

One asyncio task per pair: a start jitter spreads the first runs, a run never overlaps the
previous run of the same pair, ticks missed while a run was still going are counted as
skipped (never queued), and a global semaphore bounds how many probes run at once.

A config reload calls ``update``: a pair whose probe would run exactly as before keeps its
task and its schedule; only changed pairs are restarted, new ones started, removed ones stopped.
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
Job = tuple[TargetConfig, ModuleConfig]


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

