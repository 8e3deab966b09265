"""The probe state's size at fleet scale: at 1,000 targets the status page's history is
100,000 entries, so its bytes per entry are most of the exporter's memory after an hour."""

from __future__ import annotations

import gc
import tracemalloc

from exporter.probes.base import ProbeOutcome
from exporter.state import HISTORY, HistoryEntry, ProbeState

BUCKETS = (0.1, 1.0)


def _outcome(target: str, i: int, logs: bool = False) -> ProbeOutcome:
    # As a prober makes them: fresh strings and floats for every run.
    lines = [f"{0.1 * i:8.1f}ms GET url=http://{target}.example:18789/readyz",
             f"{0.2 * i:8.1f}ms result result=refused detail='connection refused'"] if logs else []
    return ProbeOutcome(target=target, module="readiness", result="refused", message="".join(["connection ", "refused"]),
                        phases={"connect": 0.001 * i, "first_byte": 0.002 * i, "total": 0.003 * i},
                        started=1_000_000.0 + i, logs=lines)


def test_a_full_history_costs_under_200_bytes_per_entry():
    targets = [f"gw{n}" for n in range(50)]  # enough entries that the interpreter's free lists do not matter
    gc.collect()
    tracemalloc.start()
    try:
        state = ProbeState()
        for target in targets:
            state.record(_outcome(target, 0), BUCKETS, now=1_000_000.0)
        gc.collect()
        one = tracemalloc.get_traced_memory()[0]
        for i in range(1, HISTORY):
            for target in targets:
                state.record(_outcome(target, i), BUCKETS, now=1_000_000.0 + i)
        gc.collect()
        per_entry = (tracemalloc.get_traced_memory()[0] - one) / (len(targets) * (HISTORY - 1))
    finally:
        tracemalloc.stop()
    assert len(state.series[("gw0", "readiness", "")].history) == HISTORY
    # 1,000 targets' full history in ~16 MB (it was ~390 B an entry, ~39 MB: a float object per
    # phase, a tuple of names per entry, a copy of each failure message).
    assert per_entry < 200, per_entry


def test_a_history_entry_reads_back_what_the_probe_said():
    outcome = _outcome("gw", 7)
    outcome.timeout_phase = "connect"
    outcome.logs = ["     0.1ms GET url=http://gw:18789/readyz"]
    entry = HistoryEntry(outcome)
    assert (entry.started, entry.result, entry.message, entry.timeout_phase) == (1_000_007.0, "refused",
                                                                               "connection refused", "connect")
    assert entry.phases == {"connect": 0.007, "first_byte": 0.014, "total": 0.021}
    assert list(entry.phases) == ["connect", "first_byte", "total"] and not entry.success
    assert entry.logs == ("     0.1ms GET url=http://gw:18789/readyz",)


def test_older_entries_keep_their_log_lines():
    state = ProbeState()
    lines = [["     0.1ms GET url=http://gw:18789/readyz", "     0.3ms result result=refused"],
             ["     0.1ms error text='two\nlines'", "     0.2ms result result=error"],  # a line with a newline in it
             ["     0.2ms GET url=http://gw:18789/readyz"]]
    for i, logs in enumerate(lines):
        outcome = _outcome("gw", i)
        outcome.logs = list(logs)
        state.record(outcome, BUCKETS, now=1_000_000.0 + i)
    assert [entry.logs for entry in state.series[("gw", "readiness", "")].history] == [tuple(x) for x in lines]


def test_a_young_series_costs_under_3200_bytes():
    """A fleet's first minute: 1,000 series with a few probes each, their log lines kept (the
    bench's RSS window). It was ~4.5 KB: a deque's first block (~600 B), a dict per SeriesState,
    a tuple and a string per log line of every entry."""
    from exporter.probes import PROBERS

    prober = PROBERS["readiness"]
    targets = [f"gw{n}" for n in range(50)]
    gc.collect()
    tracemalloc.start()
    try:
        state = ProbeState()
        for target in targets:
            state.ensure(target, "readiness", prober.buckets, results=prober.results)
        for i in range(3):
            for target in targets:
                state.record(_outcome(target, i, logs=True), prober.buckets, now=1_000_000.0 + i)
        gc.collect()
        per_series = tracemalloc.get_traced_memory()[0] / len(targets)
    finally:
        tracemalloc.stop()
    assert per_series < 3200, per_series
