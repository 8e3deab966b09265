"""The exporter runtime: config (and its reload), scheduler, probe state and collectors.

Data flows one way: config -> scheduler -> probers -> state -> collectors -> /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

import aiohttp
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from exporter.collectors import ExporterCollector
from exporter.config import Config, ConfigError, ModuleConfig, TargetConfig, load_config
from exporter.http_client import make_session
from exporter.probes import PROBERS
from exporter.probes.base import ProbeOutcome
from exporter.runner import run_probe
from exporter.scheduler import Scheduler
from exporter.secrets import Redactor
from exporter.state import ProbeState

log = logging.getLogger("exporter")


class Exporter:
    """Owns everything that lives as long as the process."""

    def __init__(self, config_path: str, redactor: Redactor | None = None, jitter: bool = True) -> None:
        self.config_path = config_path
        self.redactor = redactor or Redactor()
        self.jitter = jitter
        self.config: Config | None = None
        self.state = ProbeState()
        self.registry = CollectorRegistry(auto_describe=False)
        self.reload_ok = True
        self.reload_time = 0.0
        self.last_reload_error = ""
        self.session: aiohttp.ClientSession | None = None
        self.scheduler: Scheduler | None = None
        self.result_listeners: list[Callable[[ProbeOutcome], None]] = []
        self._reload_lock = asyncio.Lock()
        self.registry.register(ExporterCollector(lambda: self.state, self.status))

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self, config: Config | None = None) -> None:
        """Load the config (raising ConfigError before anything starts) and begin probing."""
        self.config = config or load_config(self.config_path)
        self.reload_time = time.time()
        self.session = make_session()
        self._start_jobs()

    async def close(self) -> None:
        if self.scheduler:
            await self.scheduler.stop()
        if self.session:
            await self.session.close()

    def _start_jobs(self) -> None:
        assert self.config is not None
        self.state.retain({(t.name, m.name) for t in self.config.targets for m in t.modules.values() if m.enabled})
        self.scheduler = Scheduler(self.probe, self.record, self._skip, self.config.max_concurrency, jitter=self.jitter)
        self.scheduler.start(self.config)

    async def reload(self) -> tuple[bool, str]:
        """Validate the new config completely, then swap it in; a bad one changes nothing."""
        async with self._reload_lock:
            try:
                new = await asyncio.to_thread(load_config, self.config_path)
            except ConfigError as exc:
                self.reload_ok = False
                self.last_reload_error = "; ".join(exc.problems)
                log.error("config reload failed, keeping the running config",
                          extra={"file": exc.source, "problems": self.last_reload_error})
                return False, self.last_reload_error
            if self.scheduler:
                await self.scheduler.stop()
            self.config = new
            self._start_jobs()
            self.reload_ok = True
            self.last_reload_error = ""
            self.reload_time = time.time()
            log.info("config reloaded", extra={"file": self.config_path, "targets": len(new.targets)})
            return True, "ok"

    # -- probing ------------------------------------------------------------------------------
    async def probe(self, target: TargetConfig, module: ModuleConfig) -> ProbeOutcome:
        return await run_probe(target, module, self.redactor, self.session)

    def record(self, outcome: ProbeOutcome) -> None:
        self.state.record(outcome, PROBERS[outcome.module].buckets)
        for listener in self.result_listeners:
            listener(outcome)

    def _skip(self, target: TargetConfig, module: ModuleConfig, ticks: int) -> None:
        self.state.skip(target.name, module.name, PROBERS[module.name].buckets, ticks)
        log.warning("probe still running at its next tick; tick skipped",
                    extra={"target": target.name, "probe_module": module.name, "skipped": ticks})

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def status(self) -> dict[str, Any]:
        return {
            "reload_ok": self.reload_ok,
            "reload_time": self.reload_time,
            "reload_error": self.last_reload_error,
            "in_flight": self.scheduler.in_flight if self.scheduler else 0,
            "targets": len(self.config.targets) if self.config else 0,
        }
