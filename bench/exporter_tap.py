"""`python -m exporter` with two bench-only hooks, both off unless their variable is set.

    BENCH_TAP=<file>          append "<record time> <target> <module> <total seconds>" for every
                              successful probe of targets whose name starts with BENCH_TAP_PREFIX:
                              the exact samples behind the exporter's percentiles, for checking them
    BENCH_CPROFILE=<file>     profile the whole process with cProfile; stats are dumped at exit
    BENCH_PREFILL_SECONDS=<s> start at steady state: before the first scheduled probe, each
                              pair's state gets <s> seconds of probes at its interval (history,
                              percentile window, histograms, counters), copies of one real probe
                              of each module; the RSS of an exporter that has run that long

With neither set this runs exactly what `python -m exporter` runs, so CPU figures stay honest.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exporter import app, cli  # noqa: E402
from exporter.app import Exporter  # noqa: E402
from exporter.config_child import load_config  # noqa: E402 (as `run` loads it: pydantic stays out)
from exporter.settings.resolved import Config  # noqa: E402
from exporter.http_client import make_session  # noqa: E402
from exporter.probes import PROBERS  # noqa: E402
from exporter.probes.base import ProbeOutcome  # noqa: E402
from exporter.state import HISTORY_WITH_LOGS  # noqa: E402


class TappedExporter(Exporter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        path = os.environ.get("BENCH_TAP")
        if not path:
            return
        prefix = os.environ.get("BENCH_TAP_PREFIX", "")
        out = open(path, "a", buffering=1, encoding="utf-8")  # closed by process exit

        def tap(outcome) -> None:
            if outcome.success and outcome.target.startswith(prefix):
                # The state's own record time: the 1m window ends exactly there.
                recorded = self.state.series[(outcome.target, outcome.module, outcome.gateway_pod)].last_time
                out.write(f"{recorded!r} {outcome.target} {outcome.module} {outcome.phases['total']!r}\n")

        self.result_listeners.append(tap)

    async def start(self, config: Config | None = None) -> None:
        seconds = float(os.environ.get("BENCH_PREFILL_SECONDS") or 0)
        if seconds <= 0:
            return await super().start(config)
        config = config or load_config(self.config_path)
        self.session = make_session()  # probe() needs one; start() makes the exporter's own
        samples: dict[str, ProbeOutcome] = {}
        for target in config.targets:
            for module in target.modules.values():
                if module.enabled and module.name not in samples:
                    samples[module.name] = await self.probe(target, module)
        await self.session.close()
        await super().start(config)
        # No await from here on: no scheduled probe runs before the state is an hour old.
        now = time.time()
        for target in config.targets:
            for module in target.modules.values():
                if module.enabled:
                    self._prefill(target.name, samples[module.name], module.interval, seconds, now)

    def _prefill(self, target: str, sample: ProbeOutcome, interval: float, seconds: float, now: float) -> None:
        buckets = PROBERS[sample.module].buckets
        count = int(seconds / interval)
        for k in range(count, 0, -1):
            t = now - k * interval
            kept = k <= HISTORY_WITH_LOGS  # the entries whose lines and gauges the state keeps
            self.state.record(ProbeOutcome(
                target, sample.module, sample.result, sample.message,
                {phase: seconds * (1 + (k % 7) / 10) for phase, seconds in sample.phases.items()},
                t - sample.phases.get("total", 0.0), sample.timeout_phase,
                [copy.copy(g) for g in sample.gauges] if kept else sample.gauges,
                [line[:1] + line[1:] for line in sample.logs] if kept else sample.logs), buckets, now=t)


def main() -> int:
    app.Exporter = TappedExporter  # cmd_run imports it from exporter.app when it runs
    profile_path = os.environ.get("BENCH_CPROFILE")
    if not profile_path:
        return cli.main()
    import cProfile
    import time
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: idle waits cost nothing
    profiler.enable()
    try:
        return cli.main()
    finally:
        profiler.disable()
        profiler.dump_stats(profile_path)


if __name__ == "__main__":
    sys.exit(main())
