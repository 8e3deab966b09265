"""What the harness reads and computes: process CPU and RSS, Prometheus text, quantiles.

Kept apart from the process juggling in run.py so the smoke test can check it quickly.
The exact quantiles here are computed independently of exporter/quantiles.py (statistics'
"inclusive" method is the same linear interpolation), so a bug there would show as an error.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its own threads, not its children), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        stat = fh.read()
    # The command name may hold spaces: fields start after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of /proc/<pid>/status in bytes: VmRSS (what the rows judge), or its
    RssAnon part (the heap, without the shared libraries' pages)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no {field} for pid {pid}")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def _parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        eq = text.index("=", i)
        key = text[i:eq].strip().lstrip(",").strip()
        j = eq + 2  # skip ="
        value = []
        while text[j] != '"':
            if text[j] == "\\":
                j += 1
                value.append({"n": "\n"}.get(text[j], text[j]))
            else:
                value.append(text[j])
            j += 1
        labels[key] = "".join(value)
        i = j + 1
        while i < n and text[i] in ", ":
            i += 1
    return labels


def parse_exposition(text: str, prefix: str = "") -> list[Sample]:
    """Samples of the Prometheus text format whose name starts with ``prefix``."""
    out: list[Sample] = []
    for line in text.splitlines():
        if not line or line[0] == "#" or not line.startswith(prefix):
            continue
        brace = line.find("{")
        if brace >= 0:
            close = line.rindex("}")
            name, labels, rest = line[:brace], _parse_labels(line[brace + 1:close]), line[close + 1:]
        else:
            name, _, rest = line.partition(" ")
            labels = {}
        out.append(Sample(name, labels, float(rest.split()[0])))
    return out


def exact_quantiles(values: list[float], qs: tuple[float, ...]) -> dict[float, float]:
    """Linear-interpolated quantiles (numpy's default) of raw samples."""
    if len(values) == 1:
        return {q: values[0] for q in qs}
    cuts = statistics.quantiles(values, n=100, method="inclusive")  # cuts[k-1] = P(k)
    out = {}
    for q in qs:
        k = q * 100
        if abs(k - round(k)) > 1e-9:
            raise ValueError("only whole percentiles")
        out[q] = min(values) if round(k) == 0 else max(values) if round(k) == 100 else cuts[round(k) - 1]
    return out


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile over (upper bound, cumulative count) pairs, +Inf last."""
    buckets = sorted(buckets)
    total = buckets[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    b = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max) of repeated measurements."""
    return statistics.median(values), min(values), max(values)


def percentile(values: list[float], q: float) -> float:
    return exact_quantiles(sorted(values), (q,))[q]


WAKEUP_PROBE = """
import sys, time
pause, count = float(sys.argv[1]), int(sys.argv[2])
start = time.process_time()
for _ in range(count):
    time.sleep(pause)
print(time.process_time() - start)
"""


def wakeup_cost(pause: float, count: int = 10, runs: int = 3) -> list[float]:
    """CPU seconds this machine charges a process for waking from a ``pause``-second sleep
    (a bare ``time.sleep`` loop in a child, one figure per run). On bare metal it is a few
    microseconds; on a VM that charges the host's rescheduling of its vCPU to the task that
    runs next, it can be milliseconds, and every figure of CPU per probe carries it once per
    wakeup a probe needs (ours and blackbox_exporter's alike)."""
    import subprocess
    import sys

    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", WAKEUP_PROBE, repr(pause), str(count)],
                              capture_output=True, text=True, check=True, timeout=60 + pause * count)
        out.append(float(done.stdout) / count)
    return out
