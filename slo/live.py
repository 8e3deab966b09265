"""Live error budget inside the exporter: probe outcomes -> per-minute buckets -> gauges.

Why: Prometheus' recording rules are the durable source of truth for long windows, but the
exporter can show its own view right away (a fresh install, a Prometheus without the rules).
`families()` runs inside a scrape, so it only reads memory; SQLite is touched by `flush()`
(called by the owner every few seconds) and at start-up. A crash, even kill -9, loses at most
the events recorded since the last flush.

The state file is a convenience, never a reason not to run: a corrupt file is moved aside
(kept as `<file>.corrupt-<unix time>` for inspection) and the budget starts empty; a path that
cannot be opened or written leaves the budget in memory. Either way the exporter keeps probing,
logs why, and `openclaw_slo_state_file_ok` says 0.

Sample exposition:
    openclaw_slo_state_file_ok 1
    openclaw_slo_objective_ratio{slo="websocket-availability"} 0.999
    openclaw_slo_sli_ratio{slo="websocket-availability",window="1h"} 0.9995
    openclaw_slo_burn_rate{slo="websocket-availability",window="1h"} 0.5
    openclaw_slo_error_budget_remaining_ratio{slo="websocket-availability"} 0.82

An SLO without events (its probe not configured, or nothing in the window) has no SLI and no
remaining budget: "no data", never 100 %.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily

from openclaw_schema import names
from slo import math as slomath
from slo.model import SLO, AvailabilitySLI, LatencySLI, Spec

if TYPE_CHECKING:
    import sqlite3  # imported where a state file is opened: without one, no SQLite (~1 MB of RSS)

log = logging.getLogger("exporter.slo")

# SQLite's answers for a file that is there but is not (or no longer) a sound database.
_CORRUPT = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}


def state_file_problem(path: str) -> str | None:
    """Why `path` cannot hold the live budget (for `check`), or None. A corrupt file is not a
    problem here: `run` moves it aside and starts empty."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"{path} is a directory, not a file"
    if not os.path.exists(parent):
        return f"directory {parent} does not exist"
    if not os.path.isdir(parent):
        return f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable (SQLite creates the file and its -wal journal there)"
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        return f"{path} is not readable and writable"
    return None

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slo_buckets (
    slo TEXT NOT NULL,
    minute INTEGER NOT NULL,
    good INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (slo, minute)
)
"""


class EventClassifier:
    """Whether a probe outcome is a good event, a bad event or no event of one SLO (the live
    budget counts them; the status page ranks targets by their recent burn with it)."""

    def __init__(self, slo: SLO):
        self.slo = slo
        self.sli: AvailabilitySLI | LatencySLI = slo.sli  # type: ignore[assignment]
        self.target = re.compile(self.sli.target) if self.sli.target is not None else None

    @property
    def reads_phases(self) -> bool:
        """Whether ``outcome`` looks at the phase timings (latency SLIs do; availability does not)."""
        return isinstance(self.sli, LatencySLI)

    def applies(self, target: str, module: str) -> bool:
        return module == self.sli.module and (self.target is None or self.target.fullmatch(target) is not None)

    def outcome(self, target: str, module: str, result: str, phases: dict[str, float]) -> bool | None:
        """True good, False bad, None not an event of this SLO."""
        if not self.applies(target, module):
            return None
        if isinstance(self.sli, AvailabilitySLI):
            if result in names.PROBE_CONFIG_RESULTS:
                return None  # the probe is misconfigured: says nothing about the gateway
            return result == names.Result.SUCCESS
        if result != names.Result.SUCCESS or self.sli.phase not in phases:
            return None  # latency SLIs count successful probes only
        return phases[self.sli.phase] <= self.sli.threshold_seconds


class _Tracked(EventClassifier):
    """One SLO's matcher and buckets: minute -> [good, total].

    ``totals`` answers from running sums, one per window: each window holds the buckets from
    its own edge in ``_keys`` (ascending minutes) on, and moving to a later minute only
    subtracts the buckets that left it. A refresh costs the buckets that expired since the
    last one, not the up to 43,200 minutes of a 30-day period. Change buckets only through
    ``add``, ``expire`` and ``replace`` (anything else: ``_stale = True`` rebuilds the sums).
    """

    def __init__(self, slo: SLO):
        super().__init__(slo)
        self.windows = slomath.sli_windows(slo.period_seconds)  # ascending seconds
        self._limits = [w // 60 for w in self.windows]
        self.buckets: dict[int, list[int]] = {}
        self._keys: list[int] = []  # the buckets' minutes, ascending
        self._edges = [0] * len(self.windows)  # per window: index in _keys of its oldest bucket
        self._sums = [[0, 0] for _ in self.windows]  # per window: [good, total] of _keys[edge:]
        self._minute: int | None = None  # the minute the edges were last moved to
        self._stale = False

    def add(self, minute: int, good: bool) -> None:
        bucket = self.buckets.get(minute)
        if bucket is None:
            if self._keys and minute < self._keys[-1]:
                self._stale = True  # the clock went back: rare, rebuild at the next read
            bucket = self.buckets[minute] = [0, 0]
            self._keys.append(minute)
        bucket[0] += int(good)
        bucket[1] += 1
        if self._stale:
            return
        index = len(self._keys) - 1 if self._keys[-1] == minute else bisect.bisect_left(self._keys, minute)
        for edge, sums in zip(self._edges, self._sums):
            if index >= edge:
                sums[0] += int(good)
                sums[1] += 1

    def expire(self, oldest: int) -> None:
        """Forget buckets at or before minute ``oldest`` (the oldest ones: a prefix of _keys)."""
        if self._stale:
            for m in [m for m in self.buckets if m <= oldest]:
                del self.buckets[m]
            return
        keys = self._keys
        count = bisect.bisect_right(keys, oldest)
        if not count:
            return
        for i, (edge, sums) in enumerate(zip(self._edges, self._sums)):
            for m in keys[edge:count]:  # still counted in this window: take them out
                good, total = self.buckets[m]
                sums[0] -= good
                sums[1] -= total
            self._edges[i] = max(edge - count, 0)
        for m in keys[:count]:
            del self.buckets[m]
        del keys[:count]

    def replace(self, buckets: dict[int, list[int]]) -> None:
        self.buckets = buckets
        self._stale = True

    def _rebuild(self) -> None:
        self._keys = sorted(self.buckets)
        self._edges = [0] * len(self.windows)
        self._sums = [[0, 0] for _ in self.windows]
        for good, total in self.buckets.values():
            for sums in self._sums:
                sums[0] += good
                sums[1] += total
        self._minute = None
        self._stale = False

    def totals(self, minute: int) -> list[tuple[int, int]]:
        """(good, total) per window, windows ending at `minute` inclusive (a bucket counts in a
        window when minute - bucket < the window's minutes)."""
        if self._stale or (self._minute is not None and minute < self._minute):
            self._rebuild()
        keys, buckets = self._keys, self.buckets
        for i, limit in enumerate(self._limits):
            edge, sums = self._edges[i], self._sums[i]
            while edge < len(keys) and minute - keys[edge] >= limit:
                good, total = buckets[keys[edge]]
                sums[0] -= good
                sums[1] -= total
                edge += 1
            self._edges[i] = edge
        self._minute = minute
        return [(good, total) for good, total in self._sums]


class LiveBudget:
    """Per-SLO good/total events over the SLO window, optionally persisted to SQLite."""

    def __init__(self, spec: Spec, db_path: str | None = None, now: float | None = None):
        # Raw-PromQL SLIs have no probe events to count: Prometheus alone tracks them.
        self._tracked = {s.name: _Tracked(s) for s in spec.slos if isinstance(s.sli, (AvailabilitySLI, LatencySLI))}
        self._dirty: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.db_path = db_path
        # None: no state file configured; else whether the file was usable at start (False after
        # moving a corrupt one aside: the history is gone) and whether the last write worked.
        self._started_ok: bool | None = None
        self._write_ok = True
        if db_path is not None:
            self._started_ok = self._open(db_path, time.time() if now is None else now)

    def _connect(self, db_path: str, now: float) -> None:
        import sqlite3

        self._db = sqlite3.connect(db_path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")  # a commit survives kill -9 of the process
        self._db.execute(_SCHEMA)
        self._load(now)

    def _open(self, db_path: str, now: float) -> bool:
        """Open and load the state file; never raises for a bad file. True when it was usable."""
        import sqlite3

        try:
            self._connect(db_path, now)
            return True
        except sqlite3.Error as exc:
            self._drop_db()
            error = exc
        if getattr(error, "sqlite_errorname", "") in _CORRUPT and os.path.isfile(db_path):
            aside = f"{db_path}.corrupt-{int(time.time())}"
            try:
                os.replace(db_path, aside)
                for suffix in ("-wal", "-shm"):  # the journal belongs to the corrupt file
                    if os.path.exists(db_path + suffix):
                        os.replace(db_path + suffix, aside + suffix)
                self._connect(db_path, now)
                log.error("slo state file is corrupt: moved aside, the live budget starts empty",
                          extra={"file": db_path, "moved_to": aside, "error": str(error)})
                return False
            except (OSError, sqlite3.Error) as exc:
                self._drop_db()
                error = exc  # type: ignore[assignment]
        for tracked in self._tracked.values():
            tracked.replace({})
        log.error("slo state file unusable: the live budget is kept in memory only",
                  extra={"file": db_path, "error": str(error)})
        return False

    def _drop_db(self) -> None:
        if self._db is not None:
            import sqlite3

            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    @property
    def state_file_ok(self) -> bool | None:
        """None without a state file; True while the budget is loaded from and saved to it."""
        if self._started_ok is None:
            return None
        return self._started_ok and self._write_ok and self._db is not None

    def _load(self, now: float) -> None:
        assert self._db is not None
        minute = int(now // 60)
        with self._db:  # SLOs removed from the spec: their history means nothing any more
            gone = {row[0] for row in self._db.execute("SELECT DISTINCT slo FROM slo_buckets")} - set(self._tracked)
            self._db.executemany("DELETE FROM slo_buckets WHERE slo = ?", [(name,) for name in gone])
        for name, tracked in self._tracked.items():
            oldest = minute - tracked.slo.period_seconds // 60
            rows = self._db.execute("SELECT minute, good, total FROM slo_buckets WHERE slo = ? AND minute > ?", (name, oldest))
            tracked.replace({m: [g, t] for m, g, t in rows})

    def record(self, target: str, module: str, result: str, phase_seconds: dict[str, float], now: float) -> None:
        minute = int(now // 60)
        with self._lock:
            for name, tracked in self._tracked.items():
                good = tracked.outcome(target, module, result, phase_seconds)
                if good is None:
                    continue
                tracked.add(minute, good)
                self._dirty.add((name, minute))

    def flush(self, now: float | None = None) -> int:
        """Write buckets changed since the last flush and drop expired ones; returns rows written."""
        minute = int((time.time() if now is None else now) // 60)
        with self._lock:
            rows = [(n, m, *self._tracked[n].buckets[m]) for n, m in sorted(self._dirty) if m in self._tracked[n].buckets]
            self._dirty.clear()
            expiry = []
            for name, tracked in self._tracked.items():
                oldest = minute - tracked.slo.period_seconds // 60
                tracked.expire(oldest)
                expiry.append((name, oldest))
        if self._db is not None:
            import sqlite3

            try:
                with self._db:  # one transaction: all of a flush or none of it
                    self._db.executemany("INSERT OR REPLACE INTO slo_buckets VALUES (?, ?, ?, ?)", rows)
                    self._db.executemany("DELETE FROM slo_buckets WHERE slo = ? AND minute <= ?", expiry)
            except sqlite3.Error as exc:  # a full disk, a file removed underneath: keep counting
                with self._lock:
                    self._dirty.update((n, m) for n, m, *_ in rows)  # retried at the next flush
                if self._write_ok:
                    log.error("cannot write the slo state file; retrying at the next flush",
                              extra={"file": self.db_path, "error": str(exc)})
                self._write_ok = False
                return 0
            self._write_ok = True
        return len(rows)

    async def flush_periodically(self, interval: float = 15.0) -> None:
        """Run `flush` every `interval` seconds until cancelled: off the event loop when it
        writes the state file; without one it only drops expired buckets, on the loop (a
        thread hand-off would cost more than the work)."""
        while True:
            await asyncio.sleep(interval)
            if self._db is None:
                self.flush()
            else:
                await asyncio.to_thread(self.flush)

    def families(self, now: float | None = None) -> list[GaugeMetricFamily]:
        """Gauges computed from memory only (safe inside a scrape)."""
        minute = int((time.time() if now is None else now) // 60)
        window_labels = [names.LABEL_SLO, names.LABEL_WINDOW]
        objective = GaugeMetricFamily(names.SLO_OBJECTIVE, names.SLO_OBJECTIVE.help, labels=[names.LABEL_SLO])
        sli = GaugeMetricFamily(names.SLO_SLI_RATIO, names.SLO_SLI_RATIO.help, labels=window_labels)
        burn = GaugeMetricFamily(names.SLO_BURN_RATE, names.SLO_BURN_RATE.help, labels=window_labels)
        remaining = GaugeMetricFamily(names.SLO_BUDGET_REMAINING, names.SLO_BUDGET_REMAINING.help, labels=[names.LABEL_SLO])
        families: list[GaugeMetricFamily] = []
        if self.state_file_ok is not None and self._tracked:  # nothing tracked, nothing kept
            ok = GaugeMetricFamily(names.SLO_STATE_FILE_OK, names.SLO_STATE_FILE_OK.help)
            ok.add_metric([], 1.0 if self.state_file_ok else 0.0)
            families.append(ok)
        with self._lock:
            snapshot = [(name, t, t.totals(minute)) for name, t in self._tracked.items()]
        for name, tracked, totals in snapshot:
            slo = tracked.slo
            objective.add_metric([name], slo.objective)
            for seconds, (good, total) in zip(tracked.windows, totals):
                window = slomath.format_duration(seconds)
                ratio = slomath.error_ratio(total - good, total)
                if ratio is not None:  # no events: no SLI, rather than a made-up 100 %
                    sli.add_metric([name, window], 1.0 - ratio)
                burn.add_metric([name, window], slomath.burn_rate(ratio, slo.objective))
            good, total = totals[-1]  # the last window is the period
            if total:  # no events in the period: no data, never a made-up full budget
                remaining.add_metric([name], slomath.budget_remaining(slomath.error_ratio(total - good, total), slo.objective))
        return families + [objective, sli, burn, remaining]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """prometheus_client collector protocol: `registry.register(live)` works."""
        yield from self.families()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
