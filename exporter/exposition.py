"""The probe metrics in Prometheus text (or OpenMetrics) format, rendered per series.

At 1,000 targets building the probe metrics as client_python metric objects at every scrape
took 0.8-2 s. Each series instead keeps its own lines by family; a scrape renders only the
series that changed since the last scrape (never the probe task: a probe only marks its series
stale) and writes the cached chunks family by family (``iter_families``), without joining the
whole body into one string.

What a series exports by default (``detail`` off, 20 samples for a module with one SLO
latency threshold, plus the result counters pre-created at 0): success, last-run timestamp,
attempts by result, timeouts by phase (once one happened), skipped ticks (once one happened),
the SLO threshold counters and one duration histogram for the ``total`` phase. With ``detail``
on: a histogram per phase and the exact sliding-window percentiles, a ``summary`` family with
a ``window`` label (``quantile`` on a gauge is reserved; promtool rejects it).

Sample exposition::

    openclaw_probe_success{target="gateway",module="readiness"} 1.0
    openclaw_probe_attempts_total{target="gateway",module="readiness",result="refused"} 3.0
    openclaw_probe_duration_seconds_bucket{target="gateway",module="readiness",phase="total",le="0.005"} 12.0
    openclaw_probe_latency_seconds{target="gateway",module="websocket",phase="handshake",window="5m",quantile="0.99"} 0.031  (detail)

Series of per-pod probes carry one more label, ``gateway_pod`` (never ``pod``: the Prometheus
Operator sets that target label on every series it scrapes).
"""

from __future__ import annotations

import itertools
import math
from array import array
from typing import Iterable, Iterator

from exporter.state import ProbeState, SeriesState
from openclaw_schema import names as c

# (exposed name, type, help) of the common families, in exposition order.
COMMON_FAMILIES: tuple[tuple[str, str, str], ...] = tuple(
    (m.exposed, str(m.type), m.help) for m in (
        c.PROBE_SUCCESS, c.PROBE_ATTEMPTS, c.PROBE_TIMEOUTS, c.PROBE_SKIPPED, c.PROBE_LAST_TIMESTAMP,
        c.PROBE_DURATION, c.PROBE_LATENCY, c.PROBE_LATENCY_GOOD))


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)


def _value(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return repr(float(v))


_BUCKET, _COUNT, _SUM = (c.PROBE_DURATION + suffix for suffix in ("_bucket", "_count", "_sum"))
_LE_SUFFIXES: dict[tuple[float, ...], list[str]] = {}


def _le_suffixes(buckets: tuple[float, ...]) -> list[str]:
    """',le="0.005"} ' ... ',le="+Inf"} ' for a bucket layout (a handful per process)."""
    out = _LE_SUFFIXES.get(buckets)
    if out is None:
        out = _LE_SUFFIXES[buckets] = [f',le="{b}"}} ' for b in [repr(float(x)) for x in buckets] + ["+Inf"]]
    return out


_COMMON_RANK = {name: rank for rank, (name, _, _) in enumerate(COMMON_FAMILIES)}
# Every distinct list of family names a rendered series has (a handful per process), shared.
_LAYOUTS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _family_order(name: str) -> tuple[int, str]:
    """Exposition order: the common families as listed, then the module families by name."""
    rank = _COMMON_RANK.get(name)
    return (rank, "") if rank is not None else (len(_COMMON_RANK), name)


class Rendered:
    """A series' exposition lines: all its families in exposition order in one string, where
    each ends in a uint32 array, their names a tuple shared by every series with the same ones.
    A dict of a string per family was ~0.6 KB more a series (0.6 MB at 1,000 targets, all of
    them rendered at once ahead of a scrape)."""

    __slots__ = ("text", "families", "ends")

    def __init__(self, by_family: dict[str, str]) -> None:
        names = tuple(sorted(by_family, key=_family_order))
        self.families = _LAYOUTS.setdefault(names, names)
        self.text = "".join(by_family[name] for name in names)
        self.ends = array("I", itertools.accumulate(len(by_family[name]) for name in names))

    def part(self, index: int) -> str:
        return self.text[self.ends[index - 1] if index else 0:self.ends[index]]

    def get(self, family: str, default: str | None = None) -> str | None:
        return self[family] if family in self.families else default

    def __getitem__(self, family: str) -> str:
        try:
            return self.part(self.families.index(family))
        except ValueError:
            raise KeyError(family) from None


def render(series: SeriesState) -> Rendered:
    """What a series keeps until it changes (``SeriesState.cache``)."""
    return Rendered(render_series(series))


def render_series(series: SeriesState) -> dict[str, str]:
    """Lines of one series grouped by exposed family name (module families included)."""
    base = _labels([(c.LABEL_TARGET, series.target), (c.LABEL_MODULE, series.module)]
                   + ([(c.LABEL_GATEWAY_POD, series.gateway_pod)] if series.gateway_pod else []))
    out: dict[str, list[str]] = {}

    def add(family: str, sample: str, extra: str, value: float) -> None:
        labels = f"{base},{extra}" if extra else base
        out.setdefault(family, []).append(f"{sample}{{{labels}}} {_value(value)}\n")

    if series.last_result is not None:
        add(c.PROBE_SUCCESS, c.PROBE_SUCCESS, "", 1.0 if series.last_result == c.Result.SUCCESS else 0.0)
        add(c.PROBE_LAST_TIMESTAMP, c.PROBE_LAST_TIMESTAMP, "", series.last_time)
    for result, n in sorted(series.attempts.items()):
        add(c.PROBE_ATTEMPTS_TOTAL, c.PROBE_ATTEMPTS_TOTAL, _labels([(c.LABEL_RESULT, result)]), n)
    for phase, n in sorted(series.timeouts.items()):
        add(c.PROBE_TIMEOUTS_TOTAL, c.PROBE_TIMEOUTS_TOTAL, _labels([(c.LABEL_PHASE, phase)]), n)
    if series.skipped:  # rare (a probe longer than its interval): not a series per pair until it happens
        add(c.PROBE_SKIPPED_TOTAL, c.PROBE_SKIPPED_TOTAL, "", series.skipped)
    for phase, hist in sorted(series.histograms.items()):
        # The label part of a histogram's lines is built once per render, the `le` parts are
        # shared by every series with the same buckets; only counts are formatted per line.
        labels = f'{base},{c.LABEL_PHASE}="{_escape(phase)}"'
        suffixes = _le_suffixes(hist.buckets)
        lines = out.setdefault(c.PROBE_DURATION, [])
        acc = 0
        for suffix, n in zip(suffixes, hist.counts):
            acc += n
            lines.append(f"{_BUCKET}{{{labels}{suffix}{acc}.0\n")
        lines.append(f"{_COUNT}{{{labels}}} {hist.count}.0\n")
        lines.append(f"{_SUM}{{{labels}}} {_value(hist.total)}\n")
    for phase, window in sorted(series.windows.items()) if series.detail else ():
        for (name, q), value in window.cached.items():
            add(c.PROBE_LATENCY, c.PROBE_LATENCY,
                _labels([(c.LABEL_PHASE, phase), (c.LABEL_WINDOW, name), (c.LABEL_QUANTILE, repr(q))]), value)
    for (phase, threshold), n in sorted(series.latency_good.items()):
        add(c.PROBE_LATENCY_GOOD_TOTAL, c.PROBE_LATENCY_GOOD_TOTAL,
            _labels([(c.LABEL_PHASE, phase), (c.LABEL_THRESHOLD, c.threshold_label(threshold))]), n)
    # Module gauges are labelled by target (and gateway_pod), not module: they describe the gateway.
    target_labels = [(c.LABEL_TARGET, series.target)] + ([(c.LABEL_GATEWAY_POD, series.gateway_pod)] if series.gateway_pod else [])
    for (name, _, pairs, kind), value in zip(series.gauge_kinds, series.gauge_values or ()):
        name = name + "_total" if kind == "counter" and not name.endswith("_total") else name
        out.setdefault(name, []).append(f"{name}{{{_labels(target_labels + list(pairs))}}} {_value(value)}\n")
    return {family: "".join(lines) for family, lines in out.items()}


def module_family_meta(state: ProbeState) -> dict[str, tuple[str, str]]:
    """Exposed name -> (type, help) of every module family present now."""
    meta: dict[str, tuple[str, str]] = {}
    for series in state.series.values():
        for name, help, _, kind in series.gauge_kinds:
            name = name + "_total" if kind == "counter" and not name.endswith("_total") else name
            meta.setdefault(name, ("counter" if kind == "counter" else "gauge", help))
    return meta


def _om_family(name: str, typ: str) -> str:
    """OpenMetrics names a counter family without its _total suffix."""
    return name.removesuffix("_total") if typ == "counter" else name


def iter_families(state: ProbeState, openmetrics: bool = False) -> Iterator[str]:
    """The probe families in order (HELP, TYPE and every series' lines), in pieces of ~64 KB,
    rendering only series changed since their last render. The series are read now, in this call (a
    consistent snapshot even if probes record while the caller awaits between families).
    OpenMetrics: counter families are named without _total (the caller ends with ``# EOF``)."""
    chunks = []
    for series in state.series.values():
        if series.cache is None:
            series.cache = render(series)
        chunks.append(series.cache)
    families = list(COMMON_FAMILIES) + [(name, typ, help) for name, (typ, help) in sorted(module_family_meta(state).items())]
    return _families(chunks, families, openmetrics)


# A family's text is handed out in pieces of about this size: at 1,000 targets the duration
# family alone is ~1.7 MB, and joining, encoding and buffering it whole put three copies of it
# in memory at once (the allocator then keeps the peak: RSS grew by each scrape's size).
PIECE_CHARS = 64 * 1024


def _families(chunks: list[Rendered], families: list[tuple[str, str, str]], openmetrics: bool) -> Iterator[str]:
    # Each chunk's families are in the same order as ``families``: a cursor per chunk finds them.
    cursors = [0] * len(chunks)
    for name, typ, help in families:
        family = _om_family(name, typ) if openmetrics else name
        piece, size = [f"# HELP {family} {help}\n# TYPE {family} {typ}\n"], 0
        for k, chunk in enumerate(chunks):
            at = cursors[k]
            if at >= len(chunk.families) or chunk.families[at] != name:
                continue
            cursors[k] = at + 1
            text = chunk.part(at)
            if text:
                piece.append(text)
                size += len(text)
                if size >= PIECE_CHARS:
                    yield "".join(piece)
                    piece, size = [], 0
        if size == 0 and len(piece) == 1 and name == c.PROBE_LATENCY:
            continue  # no series with detail on: no empty summary family
        if piece:
            yield "".join(piece)


def render_state(state: ProbeState) -> str:
    """All probe families of the state as one text (the /probe endpoint, tests)."""
    return "".join(iter_families(state))
