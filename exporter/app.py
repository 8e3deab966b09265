"""The exporter runtime: config (and its reload), scheduler, probe state and collectors.

Data flows one way: config -> scheduler -> probers -> state -> collectors -> /metrics.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import replace
from typing import Any, Callable, Iterable

import aiohttp
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry
from prometheus_client.registry import Collector

from exporter.collectors import ExporterCollector
from exporter.config_child import aload_config, load_config
from exporter.http_client import make_session
from exporter.prerender import Prerenderer
from exporter.probes import PROBERS
from exporter.probes.base import ProbeOutcome
from exporter.probes.prober_state import ProberState
from exporter.runner import run_probe
from exporter.scheduler import Scheduler
from exporter.secrets import Redactor
from exporter.settings.resolved import Config, ConfigError, ModuleConfig, TargetConfig
from exporter.sharding import SINGLE, owned_targets
from exporter.state import ProbeState
from exporter.status_sources import pod_rows, slo_rows

log = logging.getLogger("exporter")


class _Delegate(Collector):
    """Collects from whatever collector the getter returns now (it changes on reload)."""

    def __init__(self, get: Callable[[], Collector | None]) -> None:
        self._get = get

    def collect(self):
        collector = self._get()
        return collector.collect() if collector is not None else ()


class _Fixed(Collector):
    """Yields the metric families the getter returns (computed elsewhere, off the scrape)."""

    def __init__(self, get: Callable[[], list]) -> None:
        self._get = get

    def collect(self):
        return list(self._get())


class Exporter:
    """Owns everything that lives as long as the process."""

    def __init__(self, config_path: str, redactor: Redactor | None = None, jitter: bool = True) -> None:
        self.config_path = config_path
        self.redactor = redactor or Redactor()
        self.jitter = jitter
        self.config: Config | None = None
        self._owned: tuple[Any, tuple[TargetConfig, ...]] = (None, ())  # (what it was cut from, the cut)
        self.state = ProbeState()
        self.prerenderer = Prerenderer(self.state)
        self._prerender_task: asyncio.Task | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.reload_ok = True
        self.reload_time = 0.0
        self.last_reload_error = ""
        self.session: aiohttp.ClientSession | None = None
        # Budgets, auth memory and HTTP clients the probers keep between runs: this exporter's own.
        self.prober_state = ProberState()
        self.scheduler: Scheduler | None = None
        self.result_listeners: list[Callable[[ProbeOutcome], None]] = []
        # Status page sections other parts plug in ("slos", "pods"): name -> rows (exporter/status.py).
        self.status_sections: dict[str, Callable[[], Any]] = {}
        self.status_sections["slos"] = lambda: slo_rows(self._slo_families, self.config.slo_spec if self.config else None)
        self._reload_lock = asyncio.Lock()
        self.pod_watcher: Any = None
        self._pod_task: asyncio.Task | None = None
        # Fleet discovery (exporter/discovery/): its targets join the static ones.
        self.discovery: Any = None  # exporter.discovery.watcher.DiscoveryWatcher
        self._discovery_sync: asyncio.Task | None = None
        self.live_budget: Any = None  # slo.live.LiveBudget
        self._slo_families: list = []
        self._slo_tasks: list[asyncio.Task] = []
        self.registry.register(ExporterCollector(self.status))
        # client_python's process_*, python_gc_* and python_info, as every Python exporter has.
        for collector in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
            self.registry.register(collector)
        self.registry.register(_Delegate(lambda: self.pod_watcher.collector() if self.pod_watcher else None))
        self.registry.register(_Fixed(lambda: self._slo_families))
        self.registry.register(_Delegate(lambda: self.discovery.collector() if self.discovery else None))

    # -- targets: the static ones, then the discovered ones -----------------------------------
    def all_targets(self) -> tuple[TargetConfig, ...]:
        """Every target of the fleet before sharding: the config's, then the discovered ones (a
        name clash: the static target wins; exporter/discovery/targets.py counts and logs it)."""
        static = self.config.targets if self.config else ()
        if self.discovery is None:
            return static
        found = self.discovery.targets.current()  # already without the static names
        return static + tuple(found[name] for name in sorted(found))

    def target(self, name: str) -> TargetConfig | None:
        """A static or discovered target by name; None for anything else (/probe relies on it)."""
        target = self.config.target(name) if self.config else None
        if target is None and self.discovery is not None:
            target = self.discovery.targets.current().get(name)
        return target

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self, config: Config | None = None) -> None:
        """Load the config (raising ConfigError before anything starts) and begin probing."""
        self.config = config or load_config(self.config_path)
        self.reload_time = time.time()
        self.session = make_session()
        await self._start_watcher(self.config.kubernetes)
        await self._start_discovery(self.config)
        await self._start_slo(self.config)
        self._start_jobs()
        self._prerender_task = asyncio.create_task(self.prerenderer.run(), name="prerender")

    async def close(self) -> None:
        if self._prerender_task is not None:
            self._prerender_task.cancel()
        if self.scheduler:
            await self.scheduler.stop()
        await self._stop_watcher()
        await self._stop_discovery()
        await self._stop_slo()
        if self.session:
            await self.session.close()
        await self.prober_state.aclose()

    # -- SLOs ---------------------------------------------------------------------------------
    async def _start_slo(self, config: Config) -> None:
        """Count latency thresholds exactly and keep each SLO's live budget (see slo/live.py)."""
        # Token digests the gateways rejected or accepted, beside the state file (or in the
        # default state dir): a restart must not turn auth throttling into timeouts.
        await asyncio.to_thread(self.prober_state.use_auth_file, config.slo_state_file)
        spec = config.slo_spec
        if spec is None:
            return
        from slo.live import LiveBudget
        from slo.model import LatencySLI

        thresholds: dict[tuple[str, str], tuple[float, ...]] = {}
        for slo in spec.slos:
            if isinstance(slo.sli, LatencySLI):
                key = (slo.sli.module, slo.sli.phase)
                thresholds[key] = tuple(sorted({*thresholds.get(key, ()), slo.sli.threshold_seconds}))
        self.state.thresholds = thresholds
        self.live_budget = await asyncio.to_thread(LiveBudget, spec, config.slo_state_file)
        self._slo_families = await asyncio.to_thread(self.live_budget.families)
        self._slo_tasks = [
            asyncio.create_task(self.live_budget.flush_periodically(config.slo_flush_interval), name="slo-flush"),
            asyncio.create_task(self._refresh_slo_families(), name="slo-families"),
        ]

    async def _refresh_slo_families(self, interval: float = 5.0) -> None:
        # Off the scrape path; the collector returns the latest result. On the loop: with the
        # running sums a refresh costs ~50 us, where handing it to a thread cost twice that and
        # more on a VM (a thread woken every 5 s, for every exporter, probing or not). A rebuild
        # of the sums (after the clock went back) is the rare slow case.
        while True:
            await asyncio.sleep(interval)
            self._slo_families = self.live_budget.families()

    async def _stop_slo(self) -> None:
        tasks, self._slo_tasks = self._slo_tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        live, self.live_budget = self.live_budget, None
        if live is not None:
            await asyncio.to_thread(live.flush)
            live.close()

    async def _start_watcher(self, kube: Any) -> None:
        if kube is None or not kube.enabled:
            return
        from exporter.kube import MISSING_CLIENT, client_missing

        if client_missing():  # start() fails, a reload is refused: as for any unusable config
            raise ConfigError(self.config_path, [MISSING_CLIENT])
        from exporter.kube.watcher import PodWatcher  # only deployments that watch pay the import

        watcher = PodWatcher(kube)
        # Loading kubeconfig/in-cluster credentials reads files: keep it off the event loop.
        await asyncio.to_thread(watcher.start)
        self.pod_watcher = watcher
        self.status_sections["pods"] = lambda: pod_rows(watcher.snapshot())
        if kube.pod_probing:
            self._pod_task = asyncio.create_task(self._probe_pods(watcher), name="pod-discovery")

    async def _probe_pods(self, watcher: Any, interval: float = 5.0) -> None:
        """Probe every Ready gateway pod by IP too (label `gateway_pod`), so one bad replica is visible
        behind a healthy Service. Pods come from the watcher's own list/watch."""
        while True:
            if self.scheduler is not None and self.config is not None:
                jobs = [(target.for_pod(pod, ip), module)
                        for _, pod, ip in watcher.ready_pod_ips()
                        for target in self.targets
                        for module in target.modules.values() if module.enabled and PROBERS[module.name].per_pod]
                pod_keys = self.scheduler.sync_pods(jobs)
                service = {k for k in self.state.series if not k[2]}
                self.state.retain(service | pod_keys)
            await asyncio.sleep(interval)

    # -- discovery ----------------------------------------------------------------------------
    async def _start_discovery(self, config: Config, replacing: bool = False) -> None:
        """``replacing``: a reload restarts discovery; wait (bounded) for the new watcher's first
        list and token reads, so the update that follows does not stop the discovered targets'
        probes and drop their series until the new watcher has found them again."""
        if config.discovery is None:
            return
        from exporter.config import discovered_modules  # pydantic validates what the annotations ask for
        from exporter.discovery.watcher import DiscoveryWatcher  # only fleets pay the kubernetes import

        modules_for = functools.partial(discovered_modules, config.defaults, where="openclaw.ai/modules")
        watcher = DiscoveryWatcher(config.discovery, modules_for, device=config.device)
        watcher.targets.set_static({t.name: f"targets[{i}]" for i, t in enumerate(config.targets)})
        loop = asyncio.get_running_loop()
        def changed() -> None:  # called from the watcher threads: hop onto the loop, where the scheduler lives
            loop.call_soon_threadsafe(self._discovery_changed)
        watcher.targets.subscribe(changed)
        await asyncio.to_thread(watcher.start)  # reads kubeconfig/service-account files
        if replacing:
            await self._first_sync(watcher, 2 * config.discovery.request_timeout_seconds)
        self.discovery = watcher

    @staticmethod
    async def _first_sync(watcher: Any, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not watcher.synced():
            if loop.time() > deadline:  # the API server is slow or away: its targets come as they resolve
                log.warning("discovery not synced within the reload; its targets follow as they are found",
                            extra={"timeout_seconds": timeout})
                return
            await asyncio.sleep(0.02)

    def _discovery_changed(self) -> None:
        # Many events in a burst (a re-list, a namespace created) make one update, not one each.
        if self._discovery_sync is None or self._discovery_sync.done():
            self._discovery_sync = asyncio.create_task(self._sync_discovered(), name="discovery-sync")

    async def _sync_discovered(self, settle: float = 0.05) -> None:
        await asyncio.sleep(settle)
        async with self._reload_lock:
            if self.scheduler is not None and self.config is not None and self.discovery is not None:
                await self._update_jobs()

    async def _stop_discovery(self) -> None:
        watcher, self.discovery = self.discovery, None
        task, self._discovery_sync = self._discovery_sync, None
        if task is not None:
            task.cancel()
        if watcher is not None:
            await watcher.aclose()

    async def _restart_discovery(self, config: Config | None) -> None:
        await self._stop_discovery()
        if config is not None:
            await self._start_discovery(config)

    async def _stop_watcher(self) -> None:
        watcher, self.pod_watcher = self.pod_watcher, None
        self.status_sections.pop("pods", None)
        task, self._pod_task = self._pod_task, None
        if task is not None:
            task.cancel()
        if watcher is not None:
            await watcher.aclose()

    def owned_targets(self, all_targets: Iterable[TargetConfig]) -> tuple[TargetConfig, ...]:
        """The one place the active target set is cut to this replica's shard (exporter/sharding.py)."""
        return owned_targets(all_targets, self.config.sharding if self.config else SINGLE)

    @property
    def targets(self) -> tuple[TargetConfig, ...]:
        """The targets this replica probes. Everything that schedules or shows probes reads
        this, never config.targets. Recomputed only when the set of all targets changes."""
        everything = self.all_targets()
        shard = self.config.sharding if self.config else SINGLE
        source, owned = self._owned
        if source is None or source[0] != everything or source[1] != shard:
            owned = self.owned_targets(everything)
            self._owned = ((everything, shard), owned)
        return owned

    def _scheduled_config(self) -> Config:
        assert self.config is not None
        return replace(self.config, targets=self.targets)

    def _set_detail(self) -> None:
        self.state.set_detail({(t.name, m.name) for t in self.targets for m in t.modules.values() if m.detail})

    def _ensure_series(self) -> None:
        for target in self.targets:
            for m in target.modules.values():
                if m.enabled:  # every result series at 0 before the first probe (not per-pod series: diagnostics)
                    self.state.ensure(target.name, m.name, PROBERS[m.name].buckets, results=PROBERS[m.name].results)

    def _start_jobs(self) -> None:
        assert self.config is not None
        self._set_detail()
        self.state.retain({(t.name, m.name, "") for t in self.targets for m in t.modules.values() if m.enabled})
        self._ensure_series()
        self.scheduler = Scheduler(self.probe, self.record, self._skip, self.config.max_concurrency, jitter=self.jitter)
        self.scheduler.start(self._scheduled_config())

    async def _update_jobs(self) -> None:
        """Keep the schedule of every pair the reload left unchanged (a reload every few
        seconds must not starve probes); only a new max_concurrency rebuilds the scheduler."""
        assert self.config is not None
        if self.scheduler is None or self.scheduler.max_concurrency != self.config.max_concurrency:
            if self.scheduler is not None:
                await self.scheduler.stop()
            self._start_jobs()
            return
        self._set_detail()
        # A discovered object deleted: its series leave /metrics with its probes.
        self.state.retain({k for k in self.state.series if k[2]}
                          | {(t.name, m.name, "") for t in self.targets for m in t.modules.values() if m.enabled})
        self._ensure_series()
        self.scheduler.update(self._scheduled_config())

    async def _apply(self, new: Config) -> None:
        """Swap in the parts of ``new`` that changed; on any failure put the old parts back and raise."""
        old = self.config
        undo: list[Callable[[], Any]] = []
        try:
            old_kube = old.kubernetes if old else None
            if new.kubernetes != old_kube:
                await self._stop_watcher()
                undo.append(lambda: self._restart_watcher(old_kube))
                await self._start_watcher(new.kubernetes)
            old_discovery = (old.discovery, old.defaults, old.device) if old else None
            if (new.discovery, new.defaults, new.device) != old_discovery:
                await self._stop_discovery()
                undo.append(lambda: self._restart_discovery(old))
                await self._start_discovery(new, replacing=old is not None and old.discovery is not None)
            elif self.discovery is not None:
                self.discovery.targets.set_static({t.name: f"targets[{i}]" for i, t in enumerate(new.targets)})
            if old is None or (new.slo_spec, new.slo_state_file) != (old.slo_spec, old.slo_state_file):
                await self._stop_slo()
                undo.append(lambda: self._restart_slo(old))
                await self._start_slo(new)
        except BaseException:
            for step in reversed(undo):
                try:
                    await step()
                except Exception as exc:  # noqa: BLE001 - restore what can be restored
                    log.error("could not restore part of the running config", extra={"error": self.redactor.redact(str(exc))})
            raise
        self.config = new
        await self._update_jobs()

    async def _restart_watcher(self, kube: Any) -> None:
        await self._stop_watcher()
        await self._start_watcher(kube)

    async def _restart_slo(self, config: Config | None) -> None:
        await self._stop_slo()
        if config is not None:
            await self._start_slo(config)

    async def reload(self) -> tuple[bool, str]:
        """Validate the new config completely, then swap it in. A reload that fails for any
        reason (bad file, unreadable file, a part that cannot start) keeps the running config,
        sets the reload metric to 0 and returns the reason; it never raises."""
        async with self._reload_lock:
            try:
                new = await aload_config(self.config_path)
                await self._apply(new)
            except ConfigError as exc:
                return self._reload_failed("; ".join(exc.problems), exc.source)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the running config
                return self._reload_failed(f"{type(exc).__name__}: {exc}", self.config_path)
            self.reload_ok = True
            self.last_reload_error = ""
            self.reload_time = time.time()
            log.info("config reloaded", extra={"file": self.config_path, "targets": len(new.targets)})
            return True, "ok"

    def _reload_failed(self, reason: str, source: str) -> tuple[bool, str]:
        self.reload_ok = False
        self.last_reload_error = self.redactor.redact(reason)
        log.error("config reload failed, keeping the running config",
                  extra={"file": source, "problems": self.last_reload_error})
        return False, self.last_reload_error

    # -- probing ------------------------------------------------------------------------------
    async def probe(self, target: TargetConfig, module: ModuleConfig) -> ProbeOutcome:
        return await run_probe(target, module, self.redactor, self.session, self.prober_state)

    def record(self, outcome: ProbeOutcome) -> None:
        # O(1): the series is only marked stale; the next scrape renders it (exporter/exposition.py).
        self.state.record(outcome, PROBERS[outcome.module].buckets)
        # The SLOs are the service's: per-pod probes are diagnostics, not SLO events.
        if self.live_budget is not None and not outcome.gateway_pod:
            self.live_budget.record(outcome.target, outcome.module, outcome.result, outcome.phases, time.time())
        for listener in self.result_listeners:
            listener(outcome)

    def _skip(self, target: TargetConfig, module: ModuleConfig, ticks: int) -> None:
        self.state.skip(target.name, module.name, PROBERS[module.name].buckets, ticks, gateway_pod=target.pod)
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
            "targets": len(self.all_targets()),
            "shard": self.config.sharding if self.config else SINGLE,
            "owned_targets": len(self.targets),
        }
