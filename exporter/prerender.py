"""Render changed series shortly before the next /metrics scrape, a slice of the loop at a time.

At 1,000 targets rendering every series probed since the last scrape takes ~30 ms in one
piece (docs/benchmarks.md, row 3.1000c): the scrape waits for it, and so does every probe whose
response arrives meanwhile (its latency reads ~30 ms longer). Prometheus scrapes at a steady
interval, so the exporter knows when the next scrape is due: a sweep at LEAD of that interval
after the last scrape renders what changed, BATCH series at a time with the loop free in
between, and the scrape finds its text cached. A series is still rendered at most about once
per scrape (a probe that records after the sweep is rendered by the scrape itself), so the CPU
is what scrape-time rendering costs; only when nobody scrapes do sweeps run at
DEFAULT_PERIOD, rendering what changed since the last one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from exporter.exposition import render
from exporter.state import ProbeState, SeriesState

BATCH = 32  # ~1 ms of rendering between two turns of the event loop
LEAD = 0.8  # sweep this far into the interval between two scrapes
DEFAULT_PERIOD = 5.0  # until two scrapes tell the interval (and when nobody scrapes)
MIN_WAIT = 0.05


async def render_stale(series: Iterable[SeriesState]) -> int:
    """Render the series without cached text, yielding the loop every BATCH; returns how many."""
    stale = [s for s in series if s.cache is None]
    for start in range(0, len(stale), BATCH):
        for s in stale[start:start + BATCH]:
            if s.cache is None:  # a probe may have recorded (and a scrape rendered) meanwhile
                s.cache = render(s)
        if start + BATCH < len(stale):
            await asyncio.sleep(0)
    return len(stale)


class Prerenderer:
    """Sweeps ``state`` ahead of the scrapes it is told about (``scraped``)."""

    def __init__(self, state: ProbeState) -> None:
        self.state = state
        self._last_scrape: float | None = None
        self._period: float | None = None
        self._last_sweep = 0.0
        self.sweeps = 0

    def scraped(self, now: float) -> None:
        """A /metrics scrape began at loop time ``now``."""
        if self._last_scrape is not None and now - self._last_scrape > MIN_WAIT:
            self._period = now - self._last_scrape
        self._last_scrape = now

    def next_sweep(self) -> float:
        """Loop time of the next sweep: LEAD into the scrape interval, counted from the later of
        the last scrape and the last sweep (so a sweep waits for a scrape, or for a period)."""
        period = self._period or DEFAULT_PERIOD
        anchor = max(self._last_scrape or 0.0, self._last_sweep)
        return anchor + LEAD * period

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_sweep = loop.time()
        while True:
            wait = self.next_sweep() - loop.time()
            if wait > 0:
                await asyncio.sleep(max(MIN_WAIT, wait))
                continue  # a scrape may have moved the sweep meanwhile
            await render_stale(list(self.state.series.values()))
            self._last_sweep = loop.time()
            self.sweeps += 1
