"""`python -m exporter` with two bench-only hooks, both off unless their variable is set.

    BENCH_TAP=<file>          append "<record time> <target> <module> <total seconds>" for every
                              successful probe of targets whose name starts with BENCH_TAP_PREFIX:
                              the exact samples behind the exporter's percentiles, for checking them
    BENCH_CPROFILE=<file>     profile the whole process with cProfile; stats are dumped at exit

With neither set this runs exactly what `python -m exporter` runs, so CPU figures stay honest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exporter import app, cli  # noqa: E402
from exporter.app import Exporter  # noqa: E402


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
