"""The probe state's size at fleet scale: at 1,000 targets the status page's history is
100,000 entries, so its bytes per entry are most of the exporter's memory after an hour."""

from __future__ import annotations

import gc
import tracemalloc

from exporter.probes.base import ProbeOutcome
from exporter.state import HISTORY, HISTORY_WITH_LOGS, History, ProbeState

BUCKETS = (0.1, 1.0)


def _outcome(target: str, i: int, logs: bool = False) -> ProbeOutcome:
    # As a prober makes them: fresh strings and floats for every run.
    lines = [f"{0.1 * i:8.1f}ms GET url=http://{target}.example:18789/readyz",
             f"{0.2 * i:8.1f}ms result result=refused detail='connection refused'"] if logs else []
    return ProbeOutcome(target=target, module="readiness", result="refused", message="".join(["connection ", "refused"]),
                        phases={"connect": 0.001 * i, "first_byte": 0.002 * i, "total": 0.003 * i},
                        started=1_000_000.0 + i, logs=lines)


def _traced_per_series(probes: int, dress=lambda outcome, i: None) -> tuple[float, ProbeState]:
    """Bytes traced per series after ``probes`` probes of 50 series, each outcome changed by
    ``dress(outcome, i)`` first (log lines, gauges); and the state."""
    targets = [f"gw{n}" for n in range(50)]
    gc.collect()
    tracemalloc.start()
    try:
        state = ProbeState()
        for i in range(probes):
            for target in targets:
                outcome = _outcome(target, i)
                dress(outcome, i)
                state.record(outcome, BUCKETS, now=1_000_000.0 + i)
        outcome = None
        gc.collect()
        return tracemalloc.get_traced_memory()[0] / len(targets), state
    finally:
        tracemalloc.stop()


def test_a_full_history_costs_under_64_bytes_per_entry():
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
    # 1,000 targets' full history in ~2 MB: a uint32 millisecond start, three uint32 microsecond
    # durations and a 16-bit kind number an entry, a message pointer only where the message
    # changes (~20 B). It was ~60 B (doubles, a pointer per message), ~165 B (an object per entry
    # holding a bytes object: ~16 MB), and before that ~390 B (a float object per phase, a tuple
    # of names, a copy of each message).
    assert per_entry < 22, per_entry


def test_a_history_entry_reads_back_what_the_probe_said():
    outcome = _outcome("gw", 7)
    outcome.timeout_phase = "connect"
    outcome.logs = ["     0.1ms GET url=http://gw:18789/readyz"]
    history = History()
    history.append(outcome)
    entry = history[0]
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


def test_the_history_keeps_the_newest_entries_each_with_its_own_phases():
    """Probes that stopped early (fewer phases) and a later probe with more phases (the stride
    grows) read back as recorded; the oldest go at HISTORY, log lines after HISTORY_WITH_LOGS."""
    history = History()
    short = _outcome("gw", 1)
    short.phases = {"connect": 0.5}
    short.timeout_phase = "first_byte"
    history.append(short)
    for i in range(2, HISTORY + 3):
        outcome = _outcome("gw", i)
        outcome.logs = [f"line {i}"]
        if i == 3:
            outcome.phases = dict(outcome.phases, body=0.25)
        history.append(outcome)
    assert len(history) == HISTORY
    entries = list(history)
    assert [e.started for e in entries] == [1_000_000.0 + i for i in range(3, HISTORY + 3)]
    # Durations are kept in whole microseconds.
    assert entries[0].phases == {"connect": 0.003, "first_byte": 0.006, "total": 0.009, "body": 0.25}
    assert entries[1].phases == {"connect": 0.004, "first_byte": 0.008, "total": 0.012}
    assert [e.logs for e in entries[-HISTORY_WITH_LOGS:]] == [(f"line {i}",) for i in range(HISTORY + 3 - HISTORY_WITH_LOGS, HISTORY + 3)]
    assert all(e.logs == () for e in entries[:-HISTORY_WITH_LOGS])
    assert [e.started for e in reversed(history)] == [e.started for e in entries][::-1]
    assert history[-1].started == entries[-1].started


def test_an_early_stop_reads_back_only_its_phases():
    history = History()
    history.append(_outcome("gw", 1))
    short = _outcome("gw", 2)
    short.phases = {"connect": 0.5}
    short.timeout_phase = "first_byte"
    short.result = "timeout"
    history.append(short)
    assert history[1].phases == {"connect": 0.5}
    assert (history[1].result, history[1].timeout_phase) == ("timeout", "first_byte")
    assert history[0].phases == {"connect": 0.001, "first_byte": 0.002, "total": 0.003}


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


def test_messages_are_kept_per_change_and_survive_the_oldest_going():
    """A message is stored where it differs from the entry before; when the entry that carried it
    goes, the next entry takes it over."""
    history = History()
    said = []
    for i in range(HISTORY + 40):
        outcome = _outcome("gw", i)
        outcome.message = "ok" if (i // 7) % 3 else f"refused {i // 7}"  # runs of 7 equal messages
        said.append(outcome.message)
        history.append(outcome)
    assert [e.message for e in history] == said[-HISTORY:]
    assert [e.message for e in reversed(history)] == said[-HISTORY:][::-1]
    assert [history[i].message for i in (0, 1, 50, -1)] == [said[-HISTORY], said[-HISTORY + 1], said[-HISTORY + 50], said[-1]]
    assert len(history._messages) <= HISTORY // 7 + 2


def test_durations_are_microseconds_clamped_to_what_32_bits_hold():
    history = History()
    outcome = _outcome("gw", 1)
    outcome.phases = {"connect": 1.2345674, "first_byte": -0.5, "total": 1e12, "tls": float("nan")}
    history.append(outcome)
    phases = history[0].phases
    assert phases["connect"] == 1.234567 and phases["first_byte"] == 0.0 and phases["total"] == (2**32 - 2) / 1e6
    assert phases["tls"] != phases["tls"]  # NaN stays NaN


def test_a_fleet_with_more_kinds_than_16_bits_keeps_reading_right(monkeypatch):
    """Kind numbers are 15 bits (the top bit marks a new message) until one does not fit."""
    import exporter.state as state_module

    history = History()
    first = _outcome("gw", 1)
    history.append(first)
    filler = [("x", None, (str(n),)) for n in range(0x8000)]
    monkeypatch.setattr(state_module, "_KIND_LIST", list(state_module._KIND_LIST) + filler)
    monkeypatch.setattr(state_module, "_KINDS", {**state_module._KINDS,
                                                 **{key: len(state_module._KIND_LIST) - len(filler) + n for n, key in enumerate(filler)}})
    late = _outcome("gw", 2)
    late.result, late.message = "timeout", "slow"
    history.append(late)
    assert history._kinds.typecode == "I"
    assert [(e.result, e.message) for e in history] == [("refused", "connection refused"), ("timeout", "slow")]


def test_log_lines_read_back_exactly_as_written():
    """Lines in ProbeRun.log's form are kept as text plus elapsed tenths of a ms and formatted
    again on reading; anything else (another width, a number that would not format back) whole."""
    from exporter.probes.base import ProbeRun
    from exporter.secrets import Redactor

    run = ProbeRun("gw", "readiness", Redactor(), None, None)
    run.log("GET", url="http://gw:18789/readyz")
    run.log("error", text="two\nlines")
    run._t0 -= 123.4567  # a slow probe: the elapsed time outgrows the 8-character field
    run.log("result", result="timeout", detail=repr("took long"))
    written = list(run.logs) + ["line 3", "  05.0ms leading zero", "0.25ms two decimals", "     0.1msno space",
                                "   99999999.9ms widest kept apart", "   999999999.9ms too wide for 32 bits", ""]
    history = History()
    for i in range(3):
        outcome = _outcome("gw", i)
        outcome.logs = written if i != 1 else written[:2]
        history.append(outcome)
    assert [entry.logs for entry in history] == [tuple(written), tuple(written[:2]), tuple(written)]
    assert run.logs[2].startswith("123") and history[2].logs[2] == run.logs[2]


def test_a_healthy_series_keeps_one_copy_of_its_log_texts():
    """Ten entries whose lines differ only in their elapsed times share their texts: the newest
    ten entries' four lines cost well under 1 KB a series (a joined string per entry was ~2.5 KB)."""
    def lines(target: str, i: int) -> list[str]:
        return [f"{0.1 * (i % 9):8.1f}ms GET url=http://{target}.example:18789/readyz",
                f"{0.9 + 0.1 * (i % 5):8.1f}ms response status=200 content_type=application/json bytes=118",
                f"{1.0 + 0.1 * (i % 5):8.1f}ms ready",
                f"{1.1 + 0.1 * (i % 5):8.1f}ms result result=success detail='ok'"]

    def give_lines(outcome: ProbeOutcome, i: int) -> None:
        outcome.logs = lines(outcome.target, i)

    without, _ = _traced_per_series(HISTORY)
    with_lines, state = _traced_per_series(HISTORY, give_lines)
    history = state.series[("gw0", "readiness", "")].history
    assert history[-1].logs == tuple(lines("gw0", HISTORY - 1))
    assert history[-HISTORY_WITH_LOGS].logs == tuple(lines("gw0", HISTORY - HISTORY_WITH_LOGS))
    assert len({id(texts) for texts in history._logs}) == 1
    assert with_lines - without < 800, (with_lines, without)


def test_start_times_are_kept_to_the_millisecond_whatever_the_clock_does():
    """Start times are milliseconds after a base in 32 bits: a clock set back re-bases, and a
    history spanning more than 49 days (an interval over ~12 hours) keeps doubles instead."""
    history = History()
    at = [1_800_000_000.0, 1_800_000_015.25, 1_800_000_030.5]
    for when in at:
        outcome = _outcome("gw", 0)
        outcome.started = when
        history.append(outcome)
    outcome = _outcome("gw", 0)
    outcome.started = 1_800_000_000.0 - 3600.125  # the clock was set back an hour
    history.append(outcome)
    at.append(outcome.started)
    assert history._started.typecode == "I" and [e.started for e in history] == at
    outcome = _outcome("gw", 0)
    outcome.started = 1_800_000_000.0 + 60 * 86400.0  # 60 days on: the span no longer fits
    history.append(outcome)
    at.append(outcome.started)
    assert history._started.typecode == "d" and [e.started for e in history] == at
    for i in range(HISTORY):
        outcome = _outcome("gw", i)
        outcome.started = 1_805_184_000.0 + i * 86400.0
        history.append(outcome)
    assert [e.started for e in history] == [1_805_184_000.0 + i * 86400.0 for i in range(HISTORY)]


def test_module_gauges_cost_little_more_than_their_values_and_read_back():
    """A series keeps its newest probe's gauges as values in a double array, what each gauge is
    shared between series: ~110 B a series for the readiness body's five (a list of Gauge
    objects was ~0.6 KB)."""
    from exporter.probes.base import Gauge

    def gauges(i: int) -> list[Gauge]:  # fresh objects and floats, as a probe makes them
        return [Gauge("openclaw_gateway_event_loop_delay_p99_seconds", "p99", (), float(i) / 1000),
                Gauge("openclaw_gateway_event_loop_utilization_ratio", "util", (), float(i) / 100),
                Gauge("openclaw_gateway_uptime_seconds", "up", (), float(i) * 15),
                Gauge("openclaw_gateway_info", "info", (("version", "2026.11.2"),), 1.0),
                Gauge("openclaw_gateway_reconnects", "reconnects", (), float(i), kind="counter")]

    def give_gauges(outcome: ProbeOutcome, i: int) -> None:
        outcome.gauges = gauges(i)

    without, _ = _traced_per_series(3)
    with_gauges, state = _traced_per_series(3, give_gauges)
    assert state.series[("gw7", "readiness", "")].gauges == gauges(2)
    assert with_gauges - without < 200, (with_gauges, without)
