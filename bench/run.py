"""`make bench`: this exporter vs blackbox_exporter, side by side, on this machine.

Every process the harness starts (target server, exporters, blackbox_exporter, Prometheus, the
real gateway) is stopped by its own pid when the run ends, also on failure. The whole run is
bounded (BUDGET_SECONDS); a phase that would not fit is reported as skipped, never run late.

    python bench/run.py            # prints the table, writes docs/benchmarks.md and .json
    python bench/run.py --quick    # shorter windows, for trying the harness out
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("OPENCLAW_CACHE", str(ROOT / ".cache" / "openclaw"))
sys.path.insert(0, str(ROOT / "scripts"))

from measure import (  # noqa: E402
    cpu_seconds, exact_quantiles, histogram_quantile, parse_exposition, percentile, rss_bytes, spread, wakeup_cost,
)

import memory  # noqa: E402 - bench/memory.py
from exporter import __version__ as EXPORTER_VERSION  # noqa: E402
from ports import free_port  # noqa: E402 - scripts/ports.py, below the ephemeral range
from openclaw_schema import names as c  # noqa: E402
from exporter.probes import PROBERS  # noqa: E402

BUDGET_SECONDS = 800.0  # the message rows (M1/M2) take ~150 s of it
DOCS = ROOT / "docs"
E2E_RESULT = ROOT / "test-artifacts" / "e2e-time-to-page.json"  # written by tests/test_e2e.py (make e2e)
QS = (0.5, 0.95, 0.99)


# ---------------------------------------------------------------------------------------------
# Results
@dataclass
class Row:
    key: str
    title: str
    kind: str  # what is measured against: local targets, the real gateway, in-process, a file
    ours: str
    target: str
    verdict: str = "-"  # met / MISSED / - (no target or not measured)
    blackbox: str = "-"
    ratio: str = "-"
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    profiles: list[tuple[str, str]] = field(default_factory=list)  # (title, text)
    skipped: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  -> {row.title}: {row.ours}" + (f" | blackbox {row.blackbox} | ratio {row.ratio}" if row.blackbox != "-" else "")
              + f" | target {row.target}: {row.verdict}", flush=True)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def finite(values) -> list[float]:
    """Drop NaN (a window without probes, or a query with no answer)."""
    return [v for v in values if v == v]


def fmt_spread(values: list[float], unit: str, digits: int = 3) -> str:
    values = finite(values)
    if not values:
        return "not measured"
    med, lo, hi = spread(values)
    return f"{med:.{digits}f} {unit} ({lo:.{digits}f}-{hi:.{digits}f}, n={len(values)})"


# ---------------------------------------------------------------------------------------------
# Processes
class Processes:
    """Every child the harness starts, stopped by pid (SIGTERM, then SIGKILL) in reverse order."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        self.procs = [(n, p) for n, p in self.procs if p is not proc]
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def stop_all(self) -> None:
        for _, proc in reversed(list(self.procs)):
            self.stop(proc)


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes, float]:
    """One GET on a fresh connection; returns (status, body, seconds to the full body)."""
    parts = urllib.parse.urlsplit(url)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body, time.perf_counter() - start
    finally:
        conn.close()


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode} (see its log)")
        try:
            if http_get(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


# ---------------------------------------------------------------------------------------------
# The systems under test
# How old the state is when RSS is read: the longest percentile window (1 h) full.
STEADY_STATE_SECONDS = 3600


def exporter_config_text(targets: list[dict], defaults: dict) -> str:
    """The exporter's YAML config: the modules ``defaults`` names, every other one disabled."""
    defaults = {str(m): {"enabled": False} for m in PROBERS if m not in defaults} | defaults
    return yaml.safe_dump({"defaults": defaults, "targets": targets}, sort_keys=False)


class Bench:
    def __init__(self, workdir: Path, quick: bool) -> None:
        self.workdir = workdir
        self.quick = quick
        self.procs = Processes(workdir)
        self.started = time.monotonic()
        self.target_port = 0
        self.ws_token = "bench-" + os.urandom(8).hex()
        self.blackbox: subprocess.Popen | None = None
        self.blackbox_port = 0
        self.counter = 0
        self.alone_tail: tuple[float, float] | None = None

    def scale(self, seconds: float) -> float:
        return max(2.0, seconds / 4) if self.quick else seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def path(self, name: str) -> Path:
        self.counter += 1
        return self.workdir / f"{self.counter:02d}-{name}"

    # -- target server and blackbox_exporter live for the whole run ---------------------------
    def start_shared(self) -> None:
        self.target_port = free_port()
        proc = self.procs.start("targets", [sys.executable, str(ROOT / "bench" / "targets.py"),
                                            "--port", str(self.target_port), "--token", self.ws_token])
        self.target_proc = proc
        wait_http(f"http://127.0.0.1:{self.target_port}/_stats", proc)
        cfg = self.path("blackbox.yml")
        cfg.write_text(yaml.safe_dump({"modules": {"openclaw_readyz": {
            "prober": "http", "timeout": "5s",
            "http": {"method": "GET", "valid_status_codes": [200], "preferred_ip_protocol": "ip4",
                     "fail_if_body_not_matches_regexp": ['"ready":\\s*true']}}}}))
        self.blackbox_port = free_port()
        self.blackbox = self.procs.start("blackbox", [
            "prometheus-blackbox-exporter", f"--config.file={cfg}",
            f"--web.listen-address=127.0.0.1:{self.blackbox_port}", "--log.level=warn"])
        wait_http(f"http://127.0.0.1:{self.blackbox_port}/-/healthy", self.blackbox)

    def target_url(self, kind: str, name: str) -> str:
        return f"http://127.0.0.1:{self.target_port}/{kind}/{name}"

    def target_stats(self) -> dict:
        return json.loads(http_get(f"http://127.0.0.1:{self.target_port}/_stats")[1])

    # -- this exporter -------------------------------------------------------------------------
    def start_exporter(self, name: str, targets: list[dict], defaults: dict, env: dict | None = None,
                       ) -> tuple[subprocess.Popen, str]:
        """Run the exporter with only the modules ``defaults`` names enabled (others are off)."""
        cfg = self.path(f"{name}.yml")
        cfg.write_text(exporter_config_text(targets, defaults))
        port = free_port()
        proc = self.procs.start(name, [sys.executable, str(ROOT / "bench" / "exporter_tap.py"), "run",
                                       "--config.file", str(cfg), "--web.listen-address", f"127.0.0.1:{port}",
                                       "--log.level", "warning"], env=env)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/-/ready", proc)
        return proc, url

    # -- Prometheus driving blackbox (and scraping the exporter) as users configure it ----------
    def start_prometheus(self, name: str, probe_urls: list[str], interval: str, exporter_url: str | None) -> tuple[subprocess.Popen, str]:
        jobs = [{
            "job_name": "blackbox", "metrics_path": "/probe", "params": {"module": ["openclaw_readyz"]},
            "static_configs": [{"targets": probe_urls}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"127.0.0.1:{self.blackbox_port}"},
            ]}]
        if exporter_url:
            jobs.append({"job_name": "openclaw-exporter",
                         "static_configs": [{"targets": [urllib.parse.urlsplit(exporter_url).netloc]}]})
        cfg = self.path(f"{name}.yml")
        cfg.write_text(yaml.safe_dump({"global": {"scrape_interval": interval, "scrape_timeout": interval},
                                       "scrape_configs": jobs}, sort_keys=False))
        port = free_port()
        data = self.path(f"{name}-data")
        proc = self.procs.start(name, ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                       f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/-/ready", proc)
        return proc, url


def prom_query(prom_url: str, query: str, at: float) -> float:
    qs = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    status, body, _ = http_get(f"{prom_url}/api/v1/query?{qs}")
    data = json.loads(body)
    if status != 200 or data.get("status") != "success":
        raise RuntimeError(f"Prometheus query {query!r} failed: {body[:200]!r}")
    result = data["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def attempts(exporter_url: str, module: str) -> tuple[float, dict[str, float]]:
    """(all probes run so far, by result) for one module, from the attempts counter."""
    text = http_get(exporter_url + "/metrics")[1].decode()
    by_result: dict[str, float] = {}
    for s in parse_exposition(text, c.PROBE_ATTEMPTS_TOTAL):
        if s.name == c.PROBE_ATTEMPTS_TOTAL and s.labels.get(c.LABEL_MODULE) == module:
            by_result[s.labels[c.LABEL_RESULT]] = by_result.get(s.labels[c.LABEL_RESULT], 0) + s.value
    return sum(by_result.values()), by_result


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


# ---------------------------------------------------------------------------------------------
# Rows
def cpu_per_probe_side_by_side(b: Bench, report: Report, name: str, exporter_targets: list[dict],
                               probe_urls: list[str], interval: str, windows: int, window_s: float,
                               kind: str, key: str, title: str, env: dict | None = None) -> dict:
    """CPU ms per readiness probe, ours vs blackbox, over repeated windows of one run."""
    defaults = {"readiness": {"interval": interval, "timeout": interval}}
    exp, exp_url = b.start_exporter(f"{name}-exporter", exporter_targets, defaults, env=env)
    prom, prom_url = b.start_prometheus(f"{name}-prometheus", probe_urls, interval, exp_url)
    try:
        time.sleep(b.scale(6))
        results = []
        for _ in range(windows):
            stats0 = b.target_stats()
            n0, r0 = attempts(exp_url, "readiness")
            ce0, cb0, t0 = cpu_seconds(exp.pid), cpu_seconds(b.blackbox.pid), time.time()
            time.sleep(window_s)
            ce1, cb1, t1 = cpu_seconds(exp.pid), cpu_seconds(b.blackbox.pid), time.time()
            n1, r1 = attempts(exp_url, "readiness")
            stats1 = b.target_stats()
            results.append({"t0": t0, "t1": t1, "exp_cpu": ce1 - ce0, "bb_cpu": cb1 - cb0, "exp_probes": n1 - n0,
                            "exp_results": delta(r1, r0),
                            "served": delta(stats1["readyz"], stats0["readyz"])})
        time.sleep(2.5)  # let the last scrapes land before asking Prometheus about the windows
        for w in results:
            rng = f"{int(round((w['t1'] - w['t0']) * 1000))}ms"
            w["bb_probes"] = prom_query(prom_url, f'sum(count_over_time(up{{job="blackbox"}}[{rng}]))', w["t1"])
            w["bb_success"] = prom_query(prom_url, f'avg(avg_over_time(probe_success{{job="blackbox"}}[{rng}]))', w["t1"])
            w["bb_duration_p50"] = prom_query(
                prom_url, f'quantile(0.5, quantile_over_time(0.5, probe_duration_seconds{{job="blackbox"}}[{rng}]))', w["t1"])
            w["exp_ms"] = w["exp_cpu"] * 1000 / w["exp_probes"] if w["exp_probes"] else float("nan")
            w["bb_ms"] = w["bb_cpu"] * 1000 / w["bb_probes"] if w["bb_probes"] else float("nan")
            w["ratio"] = w["exp_ms"] / w["bb_ms"] if w["bb_ms"] else float("nan")
        text = http_get(exp_url + "/metrics")[1].decode()
        p50 = [s.value for s in parse_exposition(text, c.PROBE_LATENCY)
               if s.labels.get(c.LABEL_PHASE) == "total" and s.labels.get(c.LABEL_WINDOW) == "1m"
               and s.labels.get(c.LABEL_QUANTILE) == "0.5"]
        probe_qs = urllib.parse.urlencode({"target": probe_urls[0], "module": "openclaw_readyz"})
        bb_body = http_get(f"http://127.0.0.1:{b.blackbox_port}/probe?{probe_qs}")[1].decode()
        out = {"windows": results, "exp_rss": rss_bytes(exp.pid), "bb_rss": rss_bytes(b.blackbox.pid),
               "bb_probe_samples": len(parse_exposition(bb_body)),
               "exp_latency_p50_1m": statistics.median(p50) if p50 else None}
        b.procs.stop(prom)
        time.sleep(1.0)
        out["exp_ms_unscraped"], _ = exporter_cpu_per_probe(b, exp, exp_url, "readiness", 2, b.scale(10))
    finally:
        b.procs.stop(prom)
        b.procs.stop(exp)
    ratios = finite(w["ratio"] for w in results)
    bb_ms = finite(w["bb_ms"] for w in results)
    ok = bool(ratios) and statistics.median(ratios) <= 0.5
    bad = {k: v for w in results for k, v in w["exp_results"].items() if k != "success"}
    note = (f"{len(exporter_targets)} targets every {interval}; probes/window: ours {int(statistics.median(finite(w['exp_probes'] for w in results) or [0]))}"
            f", blackbox {int(statistics.median(finite(w['bb_probes'] for w in results) or [0]))} (Prometheus scrape count); "
            + (f"served by the target (last window): {results[-1]['served']}; " if results[-1]["served"] else "")
            + f"RSS ours {out['exp_rss'] / 2**20:.0f} MB, blackbox {out['bb_rss'] / 2**20:.0f} MB"
            + (f"; failures ours {bad}" if bad else "")
            + f"; blackbox success {statistics.median(finite(w['bb_success'] for w in results) or [float('nan')]):.3f}")
    if out["exp_latency_p50_1m"] is not None:
        note += (f"; probe P50 ours {out['exp_latency_p50_1m'] * 1000:.1f} ms, blackbox "
                 f"{statistics.median(finite(w['bb_duration_p50'] for w in results) or [float('nan')]) * 1000:.1f} ms")
    report.add(Row(key, title, kind, fmt_spread([w["exp_ms"] for w in results], "ms"), "<= 0.5x blackbox",
                   verdict(ok), blackbox=fmt_spread([w["bb_ms"] for w in results], "ms"),
                   ratio=fmt_spread(ratios, "x", 2), note=note))
    unscraped = out["exp_ms_unscraped"]
    report.add(Row(key + "b", title.split(" (")[0] + ": ours probing only, nobody scraping /metrics", kind,
                   fmt_spread(unscraped, "ms"), "<= 0.5x blackbox",
                   verdict(statistics.median(unscraped) <= 0.5 * statistics.median(bb_ms)),
                   blackbox=fmt_spread(bb_ms, "ms"),
                   ratio=f"{statistics.median(unscraped) / statistics.median(bb_ms):.2f} x (medians)",
                   note="same exporter and targets right after the windows above, Prometheus stopped: the part of "
                        "row " + key + " that is probing rather than rendering /metrics"))
    return out


def row_cpu_readiness(b: Bench, report: Report) -> None:
    n = 50
    names = [f"r{i:03d}" for i in range(n)]
    targets = [{"name": nm, "url": b.target_url("t", nm)} for nm in names]
    urls = [b.target_url("t", nm) + "/readyz" for nm in names]
    report.raw["cpu_readiness"] = cpu_per_probe_side_by_side(
        b, report, "cpu-readiness", targets, urls, "1s", 3, b.scale(15), "local targets", "1",
        "CPU per readiness probe (whole process, Prometheus scraping both every 1s)")


def exporter_cpu_per_probe(b: Bench, exp: subprocess.Popen, url: str, module: str, windows: int,
                           window_s: float) -> tuple[list[float], dict[str, float]]:
    """CPU ms per probe of an exporter nobody scrapes (the harness reads the counter twice a window)."""
    per_probe: list[float] = []
    failures: dict[str, float] = {}
    for _ in range(windows):
        n0, r0 = attempts(url, module)
        c0 = cpu_seconds(exp.pid)
        time.sleep(window_s)
        c1 = cpu_seconds(exp.pid)
        n1, r1 = attempts(url, module)
        per_probe.append((c1 - c0) * 1000 / (n1 - n0) if n1 > n0 else float("nan"))
        for k, v in delta(r1, r0).items():
            if k != "success":
                failures[k] = failures.get(k, 0) + v
    return per_probe, failures


def websocket_targets(n: int, url_of, token_env: str) -> list[dict]:
    return [{"name": f"w{i:03d}", "url": url_of(i), "token_env": token_env} for i in range(n)]


def row_cpu_websocket(b: Bench, report: Report, key: str = "2", kind: str = "local targets", url_of=None,
                      token: str | None = None, n: int = 20, title_suffix: str = "", windows: int = 3) -> None:
    title = "CPU per WebSocket probe (handshake + health RPC)" + title_suffix
    if "websocket" not in PROBERS:
        report.add(Row(key, title, kind, "n/a (module missing)", "<= 1 ms", "-"))
        return
    url_of = url_of or (lambda i: b.target_url("t", f"w{i:03d}"))
    defaults = {"websocket": {"interval": "1s", "timeout": "1s"}}
    exp, url = b.start_exporter(f"cpu-websocket-{key}-exporter", websocket_targets(n, url_of, "BENCH_WS_TOKEN"), defaults,
                                env={"BENCH_WS_TOKEN": token or b.ws_token})
    try:
        time.sleep(b.scale(5))
        per_probe, failures = exporter_cpu_per_probe(b, exp, url, "websocket", windows, b.scale(10))
    finally:
        b.procs.stop(exp)
    report.raw[f"cpu_websocket_{key}"] = {"ms_per_probe": per_probe, "failures": failures}
    report.add(Row(key, title, kind, fmt_spread(per_probe, "ms"), "<= 1 ms", verdict(statistics.median(per_probe) <= 1.0),
                   blackbox="n/a (no WebSocket client)",
                   note=f"{n} targets every 1s, nobody scraping /metrics in the window" + (f"; failures {failures}" if failures else "")))


def read_tap(path: Path) -> list[tuple[float, str, float]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        t, target, _module, seconds = line.split()
        out.append((float(t), target, float(seconds)))
    return out


def row_scale(b: Bench, report: Report, n: int) -> dict:
    """Many targets at 15 s: CPU share, RSS, /metrics latency; plus the fixed-delay target (row 5)."""
    targets = [{"name": f"s{i:04d}", "url": b.target_url("t", f"s{i:04d}")} for i in range(n)]
    targets.append({"name": "fixed-busy", "url": b.target_url("fixed/20", "fixed-busy"),
                    "readiness": {"interval": "500ms", "timeout": "500ms"}})
    tap = b.path(f"scale-{n}.tap")
    exp, url = b.start_exporter(f"scale-{n}-exporter", targets, {"readiness": {"interval": "15s", "timeout": "5s"}},
                                env={"BENCH_TAP": str(tap), "BENCH_TAP_PREFIX": "fixed-",
                                     "BENCH_PREFILL_SECONDS": str(STEADY_STATE_SECONDS)})
    scrape_s: list[float] = []
    share, rss, anon, probes = [], [], [], []
    window_s = b.scale(15)
    try:
        time.sleep(b.scale(7))  # the start jitter spreads first runs over <= 5 s
        t_start = time.time()
        n0, _ = attempts(url, "readiness")
        for _ in range(3):
            c0, t0 = cpu_seconds(exp.pid), time.monotonic()
            status, body, secs = http_get(url + "/metrics")  # what Prometheus does every 15 s
            scrape_s.append(secs)
            time.sleep(max(0.0, window_s - (time.monotonic() - t0)))
            c1, t1 = cpu_seconds(exp.pid), time.monotonic()
            share.append((c1 - c0) / (t1 - t0))
            rss.append(rss_bytes(exp.pid))
            anon.append(rss_bytes(exp.pid, "RssAnon"))
        n1, r1 = attempts(url, "readiness")
        t_end = time.time()
        metrics_bytes, series = len(body), sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        families: dict[str, int] = {}
        per_pair: dict[tuple[str, str], int] = {}
        for sample in parse_exposition(body.decode()):
            family = sample.name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
            families[family] = families.get(family, 0) + 1
            labels = sample.labels
            if c.LABEL_TARGET in labels and c.LABEL_MODULE in labels and sample.name != c.PROBE_ATTEMPTS_TOTAL:
                key = (labels[c.LABEL_TARGET], labels[c.LABEL_MODULE])
                per_pair[key] = per_pair.get(key, 0) + 1
        probes_s = (n1 - n0) / (t_end - t_start)
        deadline = time.monotonic() + b.scale(20)
        while len(scrape_s) < 33 and time.monotonic() < deadline:
            scrape_s.append(http_get(url + "/metrics")[2])
            time.sleep(0.3)
        rss.append(rss_bytes(exp.pid))
        skipped = sum(s.value for s in parse_exposition(http_get(url + "/metrics")[1].decode(), c.PROBE_SKIPPED_TOTAL))
    finally:
        b.procs.stop(exp)
    busy = [(t, secs) for t, _, secs in read_tap(tap) if t_start <= t <= t_end]
    thirds = [[s for t, s in busy if t_start + k * (t_end - t_start) / 3 <= t < t_start + (k + 1) * (t_end - t_start) / 3]
              for k in range(3)]
    out = {"cpu_share": share, "rss": rss, "scrape_seconds": scrape_s, "metrics_bytes": metrics_bytes,
           "series": series, "families": families, "samples_per_pair": sorted(per_pair.values()), "probes_per_s": probes_s, "skipped_ticks": skipped, "results": r1,
           "busy_fixed_medians": [statistics.median(x) for x in thirds if x], "busy_fixed_samples": len(busy),
           "busy_fixed_p95_max": tail([s for _, s in busy])}
    report.raw[f"scale_{n}"] = out
    failures = {k: v for k, v in r1.items() if k != "success"}
    cpu_ms = statistics.median(share) * 1000 / probes_s if probes_s else float("nan")
    is_1000 = n >= 1000
    base_note = (f"{n} targets at 15s + 1 fixed-delay target at 500ms; {probes_s:.1f} probes/s, "
                 f"{cpu_ms:.2f} ms CPU per probe incl. one /metrics scrape per 15 s; skipped ticks {skipped:.0f}"
                 + (f"; failures {failures}" if failures else ""))
    if is_1000 and per_pair:
        counts = sorted(per_pair.values())
        report.add(Row("7", "Samples per target and module, default config (not counting the result counters pre-created at 0)",
                       "local targets", f"{statistics.median(counts):.0f} (max {counts[-1]}, {len(counts)} pairs)",
                       target="<= 20", verdict=verdict(counts[-1] <= 20), blackbox="17 per probe (with probe_http_*)",
                       note="counted in a real scrape of row 3's exporter (readiness; websocket adds one per SLO latency threshold: 20)"))
    report.add(Row(f"3.{n}a", f"Scale {n} targets: exporter CPU share (of one core)", "local targets",
                   fmt_spread([x * 100 for x in share], "%", 2), "-", "-", note=base_note))
    mb = [x / 2**20 for x in rss]
    report.add(Row(f"3.{n}b", f"Scale {n} targets: RSS (VmRSS) at steady state (an hour of probes prefilled)",
                   "local targets", fmt_spread(mb, "MB", 1),
                   "<= 60 MB" if is_1000 else "-", verdict(max(mb) <= 60) if is_1000 else "-",
                   note="the exporter starts with every pair's state an hour old (bench/exporter_tap.py "
                        "BENCH_PREFILL_SECONDS: the 100-entry history and the 1 h percentile window full, "
                        "copies of a real probe), then probes for real; "
                        "read at the end of each 15 s window and after the scrape-latency GETs"
                        + ("; the verdict is on the peak, since a memory limit is" if is_1000 else "")
                        + f"; of which anonymous (RssAnon, the heap without shared libraries' pages) "
                          f"{max(anon) / 2**20:.1f} MB at most"))
    p50, p99 = percentile(scrape_s, 0.5) * 1000, percentile(scrape_s, 0.99) * 1000
    report.add(Row(f"3.{n}c", f"Scale {n} targets: /metrics scrape latency P50 / P99", "local targets",
                   f"{p50:.1f} / {p99:.1f} ms (n={len(scrape_s)})", "P99 <= 30 ms" if is_1000 else "-",
                   verdict(p99 <= 30) if is_1000 else "-",
                   note=f"{series} samples, {metrics_bytes / 1024:.0f} KiB per scrape; timed GETs from the harness, fresh connection each"))
    return out


def row_accuracy(b: Bench, report: Report) -> None:
    n = 6
    targets = [{"name": f"acc{i}", "url": b.target_url(f"lognorm/{i + 1}", f"acc{i}")} for i in range(n)]
    tap = b.path("accuracy.tap")
    # detail: the exact percentiles are exported only with it (off by default).
    exp, url = b.start_exporter("accuracy-exporter", targets, {"readiness": {"interval": "250ms", "timeout": "250ms", "detail": True}},
                                env={"BENCH_TAP": str(tap), "BENCH_TAP_PREFIX": "acc"})
    try:
        time.sleep(b.scale(3))
        text_a = http_get(url + "/metrics")[1].decode()
        time.sleep(b.scale(63))
        text_b = http_get(url + "/metrics")[1].decode()
    finally:
        b.procs.stop(exp)
    taps: dict[str, list[tuple[float, float]]] = {}
    for t, target, secs in read_tap(tap):
        taps.setdefault(target, []).append((t, secs))

    def series(text: str) -> dict:
        out: dict = {}
        for s in parse_exposition(text, "openclaw_probe_"):
            tgt = s.labels.get(c.LABEL_TARGET)
            if s.labels.get(c.LABEL_PHASE, "total") != "total" or s.labels.get(c.LABEL_MODULE) != "readiness":
                continue
            d = out.setdefault(tgt, {"buckets": [], "latency": {}, "last": None, "count": 0})
            if s.name == c.PROBE_DURATION + "_bucket":
                le = s.labels["le"]
                d["buckets"].append((float("inf") if le == "+Inf" else float(le), s.value))
            elif s.name == c.PROBE_DURATION + "_count":
                d["count"] = int(s.value)
            elif s.name == c.PROBE_LATENCY and s.labels.get(c.LABEL_WINDOW) == "1m":
                d["latency"][float(s.labels[c.LABEL_QUANTILE])] = s.value
            elif s.name == c.PROBE_LAST_TIMESTAMP:
                d["last"] = s.value
        return out

    before, after = series(text_a), series(text_b)
    ours_err, hist_err, per_target = [], [], {}
    for tgt in sorted(after):
        a, z, samples = before.get(tgt), after[tgt], taps.get(tgt, [])
        if not a or not samples or z["last"] is None:
            continue
        # The exporter's 1m window ends at its last record time: samples in [last - 60 s, last].
        window = sorted(s for t, s in samples if z["last"] - 60.0 <= t <= z["last"])
        exact_1m = exact_quantiles(window, QS)
        # The histogram's increase between the two scrapes holds exactly the samples recorded
        # between them: by count, tap lines [count at A, count at B) in record order.
        between = sorted(s for _, s in samples[a["count"]:z["count"]])
        if len(window) < 2 or len(between) < 2:
            continue
        exact_between = exact_quantiles(between, QS)
        inc = [(le, cb - dict(a["buckets"]).get(le, 0)) for le, cb in z["buckets"]]
        row = {"samples_1m": len(window), "samples_between": len(between)}
        for q in QS:
            ours = z["latency"][q]
            hq = histogram_quantile(q, inc)
            row[q] = {"exact_1m": exact_1m[q], "ours": ours, "exact_between": exact_between[q], "histogram_quantile": hq}
            ours_err.append(abs(ours - exact_1m[q]) / exact_1m[q])
            hist_err.append(abs(hq - exact_between[q]) / exact_between[q])
        per_target[tgt] = row
    report.raw["accuracy"] = per_target
    if not ours_err:
        report.add(Row("4", "Percentile accuracy P50/P95/P99 (1m) vs exact", "local targets", "not measured (no samples)",
                       "<= 1 %", "-"))
        return
    first = per_target[sorted(per_target)[0]]
    example = ", ".join(f"P{int(q * 100)} exact {first[q]['exact_1m'] * 1000:.2f} / ours {first[q]['ours'] * 1000:.2f} / "
                        f"histogram {first[q]['histogram_quantile'] * 1000:.2f} ms" for q in QS)
    report.add(Row("4", "Percentile accuracy P50/P95/P99 (1m window) vs exact quantiles", "local targets",
                   f"max {max(ours_err) * 100:.4f} % error", "<= 1 %", verdict(max(ours_err) <= 0.01),
                   blackbox="n/a (no quantiles)",
                   note=(f"{len(per_target)} targets, log-normal delays (median 15 ms, P99 120 ms) every 250ms, "
                         f"~{int(statistics.median(r['samples_1m'] for r in per_target.values()))} samples/target in 1m; "
                         f"histogram_quantile over our buckets: median {statistics.median(hist_err) * 100:.1f} %, "
                         f"max {max(hist_err) * 100:.1f} % error; e.g. {sorted(per_target)[0]}: {example}")))


def row_alone(b: Bench, report: Report) -> list[float]:
    tap = b.path("alone.tap")
    targets = [{"name": "fixed-alone", "url": b.target_url("fixed/20", "fixed-alone")}]
    exp, _ = b.start_exporter("alone-exporter", targets, {"readiness": {"interval": "500ms", "timeout": "500ms"}},
                              env={"BENCH_TAP": str(tap), "BENCH_TAP_PREFIX": "fixed-"})
    try:
        time.sleep(b.scale(2))
        t0 = time.time()
        time.sleep(b.scale(21))
        t1 = time.time()
    finally:
        b.procs.stop(exp)
    samples = [(t, s) for t, _, s in read_tap(tap) if t0 <= t <= t1]
    b.alone_tail = tail([s for _, s in samples])
    return [statistics.median([s for t, s in samples if t0 + k * (t1 - t0) / 3 <= t < t0 + (k + 1) * (t1 - t0) / 3] or [float("nan")])
            for k in range(3)]


def tail(values: list[float]) -> tuple[float, float] | None:
    """(P95, max) of raw samples, for the note beside a median."""
    return (percentile(values, 0.95), max(values)) if len(values) >= 2 else None


def row_inflation(report: Report, alone: list[float], busy: list[float] | None, n_busy: int,
                  alone_tail: tuple | None = None, busy_tail: tuple | None = None) -> None:
    if not alone or not busy:
        report.add(Row("5", "Measurement inflation (fixed 20 ms target)", "local targets", "not measured", "<= 1 ms added"))
        return
    added = (statistics.median(busy) - statistics.median(alone)) * 1000
    report.add(Row("5", f"Measurement inflation: median of a fixed 20 ms target, alone vs among {n_busy} targets",
                   "local targets", f"{added:+.2f} ms (alone {fmt_spread([x * 1000 for x in alone], 'ms', 2)}; "
                   f"busy {fmt_spread([x * 1000 for x in busy], 'ms', 2)})", "<= 1 ms added", verdict(added <= 1.0),
                   note="medians of the exact samples the exporter reports, per third of each run"
                   + (f"; tails (P95 / max): alone {alone_tail[0] * 1000:.1f} / {alone_tail[1] * 1000:.1f} ms, busy "
                      f"{busy_tail[0] * 1000:.1f} / {busy_tail[1] * 1000:.1f} ms (a probe in flight while /metrics "
                      f"renders waits for the event loop, hence the skipped ticks of row 3.1000a)" if alone_tail and busy_tail else "")))


def row_gateway(b: Bench, report: Report) -> None:
    from gateway import Gateway, gateway_bin  # scripts/gateway.py
    if gateway_bin() is None:
        report.add(Row("S1", "Sanity: CPU per readiness probe vs the real gateway", "real gateway",
                       "not measured (gateway not installed: scripts/install-gateway.sh)", "-"))
        return
    token = "bench-" + os.urandom(8).hex()
    home = b.path("gateway-home")
    home.mkdir()
    gw = Gateway(free_port(), token, home=str(home))
    try:
        gw.start(timeout=60)
        version = json.loads((Path(os.environ["OPENCLAW_CACHE"]) / "node_modules" / "openclaw" / "package.json").read_text())["version"]
        report.raw["gateway_version"] = version
        # One gateway, probed as 20 targets (a query string keeps them apart for Prometheus) so a
        # window holds hundreds of probes, not a handful.
        copies = 20
        targets = [{"name": f"gw{i:02d}", "url": gw.url, "token_env": "BENCH_GW_TOKEN",
                    "readiness": {"path": f"/readyz?copy={i}"}} for i in range(copies)]
        report.raw["cpu_gateway"] = cpu_per_probe_side_by_side(
            b, report, "gateway", targets, [f"{gw.url}/readyz?copy={i}" for i in range(copies)], "1s", 3, b.scale(10),
            "real gateway", "S1", f"Sanity: CPU per readiness probe vs the real gateway (openclaw {version})",
            env={"BENCH_GW_TOKEN": token})
        row_cpu_websocket(b, report, key="S2", kind="real gateway", url_of=lambda i: gw.url, token=token, n=10,
                          title_suffix=" vs the real gateway", windows=2)
    finally:
        gw.stop()


def row_message(b: Bench, report: Report) -> None:
    """Rows M1/M2: one message-probe turn through the real gateway to a stub provider, measured by
    scripts/bench_message.py in its own process (20 warm turns, then a cold one after 65 s idle)."""
    from gateway import gateway_bin  # scripts/gateway.py
    if gateway_bin() is None:
        report.add(Row("M1", "Message turn: gateway overhead per turn", "real gateway + stub provider",
                       "not measured (gateway not installed: scripts/install-gateway.sh)", "-"))
        return
    warm = 5 if b.quick else 20
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_message.py"), "--warm", str(warm), "--idle", "65"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"bench_message.py failed ({done.returncode}): {(done.stdout + done.stderr)[-300:]}")
    data = json.loads(done.stdout[done.stdout.index("{"):])
    report.raw["message"] = data
    w, c = data["warm"], data["cold"]
    report.add(Row("M1", f"Message turn, gateway overhead per turn (chat.send -> final, minus the provider's "
                         f"{data['stub_delay_s']:g} s): warm / cold", "real gateway + stub provider",
                   f"warm {w['gateway_overhead_median_s']:.3f} s median (max {w['gateway_overhead_max_s']:.3f}, n={w['turns']}); "
                   f"cold {c['gateway_overhead_median_s']:.2f} s median (max {c['gateway_overhead_max_s']:.2f}, n={c['turns']})", "-"))
    report.add(Row("M2", "Message probe: exporter CPU per probe (connect, handshake, chat.send, events to final) / "
                         "gateway CPU per turn", "real gateway + stub provider",
                   f"exporter {w['exporter_cpu_per_probe_ms']:g} ms warm, {c['exporter_cpu_per_probe_ms']:g} ms cold; "
                   f"gateway {w['gateway_cpu_per_turn_s']:g} CPU-s warm, {c['gateway_cpu_per_turn_s']:g} CPU-s cold", "-"))


def row_time_to_page(report: Report) -> None:
    if not E2E_RESULT.exists():
        report.add(Row("6", "Time-to-page (end-to-end test)", "file", "not measured yet", "-",
                       note=f"the e2e test writes {E2E_RESULT.relative_to(ROOT)}"))
        return
    data = json.loads(E2E_RESULT.read_text())
    seconds = next((data[k] for k in ("time_to_page_seconds", "seconds", "time_to_page") if isinstance(data.get(k), (int, float))), None)
    shown = f"{seconds:.1f} s" if seconds is not None else json.dumps(data, sort_keys=True)[:120]
    target = data.get("target", "-")
    report.add(Row("6", "Time-to-page (end-to-end test)", "file", shown, str(target),
                   note=f"read from {E2E_RESULT.relative_to(ROOT)}"))


# ---------------------------------------------------------------------------------------------
# Where the time goes
def summarise_profile(path: Path, title: str, top: int = 14) -> str:
    stats = pstats.Stats(str(path))
    total = sum(v[2] for v in stats.stats.values())  # tottime
    areas: dict[str, float] = {}
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        area = classify(filename)
        areas[area] = areas.get(area, 0.0) + tt
        rows.append((tt, ct, nc, f"{short(filename)}:{line}({func})"))
    rows.sort(reverse=True)
    lines = [f"{title}: {total:.2f} s of profiled CPU (cProfile inflates many small calls; read shares, not totals)", "",
             "| area | share of self time |", "|---|---|"]
    lines += [f"| {a} | {t / total * 100:.1f} % |" for a, t in sorted(areas.items(), key=lambda kv: -kv[1])]
    lines += ["", "| self s | cumulative s | calls | function |", "|---|---|---|---|"]
    lines += [f"| {tt:.3f} | {ct:.3f} | {nc} | `{fn}` |" for tt, ct, nc, fn in rows[:top]]
    return "\n".join(lines)


def classify(filename: str) -> str:
    for key, area in (("/exporter/", "exporter (this project)"), ("aiohttp", "aiohttp"), ("prometheus_client", "prometheus_client"),
                      ("asyncio", "asyncio"), ("yarl", "yarl/multidict"), ("multidict", "yarl/multidict"),
                      ("json", "json"), ("ssl", "ssl")):
        if key in filename:
            return area
    if filename == "~":
        return "builtins (sockets, sort, select, ...)"
    return "other Python"


def short(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3", "/work/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def profile_probing(b: Bench, report: Report, module: str, n: int, seconds: float, scrape: bool) -> None:
    """cProfile the exporter probing (a separate run: profiling costs CPU of its own)."""
    prof = b.path(f"probing-{module}.prof")
    targets = [{"name": f"p{i:03d}", "url": b.target_url("t", f"p{i:03d}"), "token_env": "BENCH_WS_TOKEN"} for i in range(n)]
    exp, url = b.start_exporter(f"profile-{module}-exporter", targets, {module: {"interval": "1s", "timeout": "1s"}},
                                env={"BENCH_CPROFILE": str(prof), "BENCH_WS_TOKEN": b.ws_token})
    try:
        deadline = time.monotonic() + b.scale(seconds)
        while time.monotonic() < deadline:
            if scrape:
                http_get(url + "/metrics")  # as Prometheus would, every probe interval
            time.sleep(1.0)
    finally:
        b.procs.stop(exp)
    if prof.exists():
        how = "scraped every 1s" if scrape else "nobody scraping"
        report.profiles.append((f"{module} probes: {n} targets every 1s, {how} (CPU time, exporter process)",
                                summarise_profile(prof, "exporter process")))


def profile_scrape(report: Report, n: int = 1000) -> dict:
    """In-process: the cost of one /metrics scrape and of recording one probe, at full windows."""
    import cProfile
    from prometheus_client import generate_latest as registry_latest
    from exporter.app import Exporter
    from exporter.exposition import iter_families

    def generate_latest(registry) -> int:
        """What /metrics writes (the probe families piece by piece, encoded, then the registry's),
        into a sink standing for the socket; returns the bytes written."""
        size = 0
        for piece in iter_families(state):
            size += len(piece.encode())
        return size + len(registry_latest(registry))
    from exporter.probes.base import Gauge, ProbeOutcome

    exporter = Exporter("/dev/null")
    state = exporter.state
    buckets = PROBERS["readiness"].buckets
    now = time.time()
    gauges = [Gauge(c.GATEWAY_READY, "h", (), 1.0), Gauge(c.GATEWAY_UPTIME, "h", (), 100.0),
              Gauge(c.GATEWAY_EVENT_LOOP_DELAY_P99, "h", (), 0.02), Gauge(c.GATEWAY_EVENT_LOOP_DELAY_MAX, "h", (), 0.02),
              Gauge(c.GATEWAY_EVENT_LOOP_UTILIZATION, "h", (), 0.01), Gauge(c.GATEWAY_CPU_CORE_RATIO, "h", (), 0.01)]

    def outcome(i: int) -> ProbeOutcome:
        return ProbeOutcome(f"s{i:04d}", "readiness", "success", "ok",
                            {"connect": 0.0004, "first_byte": 0.0011, "total": 0.0017}, now, gauges=list(gauges))

    import tracemalloc
    tracemalloc.start()
    # A full hour at 15 s, as in steady state: 240 probes per pair, so the 1 h percentile
    # window and the 100-entry history are full.
    for i in range(n):
        for k in range(240):
            state.record(outcome(i), buckets, now=now - STEADY_STATE_SECONDS + 15 * k)
    state_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    start = time.process_time()
    reps = 2000
    for k in range(reps):
        state.record(outcome(k % n), buckets, now=now + k * 0.001)
    record_ms = (time.process_time() - start) * 1000 / reps
    import tracemalloc
    tracemalloc.start()
    generate_latest(exporter.registry)
    scrape_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        body = generate_latest(exporter.registry)
        times.append(time.perf_counter() - t0)
    prof = cProfile.Profile()
    prof.enable()
    generate_latest(exporter.registry)
    prof.disable()
    path = Path(tempfile.mkstemp(suffix=".prof")[1])
    prof.dump_stats(str(path))
    report.profiles.append((f"One /metrics scrape at {n} targets (in-process, full 1h windows)",
                            summarise_profile(path, "generate_latest")))
    path.unlink()
    # Recording at a 1 s interval: after one minute vs with the 1 h window full (3,600 samples).
    uptime_us = {}
    for label, prefill in (("1m", 60), ("1h", 3600)):
        runs = []
        for _ in range(3):
            one = Exporter("/dev/null").state
            for k in range(prefill):
                one.record(outcome(0), buckets, now=now + k)
            t0 = time.process_time()
            for k in range(3000):
                one.record(outcome(0), buckets, now=now + prefill + k * 0.001)
            runs.append((time.process_time() - t0) * 1e6 / 3000)
        uptime_us[label] = sorted(runs)
    early, full = statistics.median(uptime_us["1m"]), statistics.median(uptime_us["1h"])
    report.add(Row("8", "CPU per recorded probe with the 1h window full vs after 1 minute (1 s interval)", "in-process",
                   f"{full:.1f} us vs {early:.1f} us ({(full / early - 1) * 100:+.0f} %)", target="within 10 %",
                   verdict=verdict(full <= early * 1.1),
                   note=f"state.record() only (rendering waits for a scrape); 3 runs each, min-max 1m "
                        f"{uptime_us['1m'][0]:.1f}-{uptime_us['1m'][-1]:.1f} us, 1h {uptime_us['1h'][0]:.1f}-{uptime_us['1h'][-1]:.1f} us"))
    out = {"record_ms_full_windows": record_ms, "record_us_by_uptime": uptime_us, "scrape_ms": [t * 1000 for t in times], "bytes": body,
           "scrape_peak_bytes": scrape_peak, "state_bytes": state_bytes}
    report.raw["in_process"] = out
    return out


# ---------------------------------------------------------------------------------------------
# Output
def row_clients(report: Report) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "clients.py"), "--requests", "300", "--repeats", "3"],
                          capture_output=True, text=True, timeout=300)
    table_lines = [line for line in proc.stdout.splitlines() if line.startswith("|") or not line.strip()]
    while table_lines and not table_lines[-1].strip():
        table_lines.pop()
    if proc.returncode or not table_lines:
        raise RuntimeError(f"bench/clients.py failed: {proc.stderr[-500:]}")
    report.raw["clients"] = table_lines


def row_memory(report: Report) -> None:
    """RSS of `exporter run`'s imports, layer by layer (bench/memory.py, in its own interpreters)."""
    report.raw["memory"] = memory.measure(3)


def memory_section(raw: dict) -> list[str]:
    """The import layers' table, and the scale rows' RSS split into a fixed part and a part per target."""
    result = raw.get("memory")
    if not result:
        return []
    lines = ["", "## Where the memory goes (`python bench/memory.py`)", "",
             "RSS each layer of `exporter run`'s imports adds, in the order they load, in a fresh interpreter "
             f"(medians of {result['repeats']}); a module shared by two layers counts in the first.", "", *memory.table(result)]
    small, big = raw.get("scale_100", {}).get("rss"), raw.get("scale_1000", {}).get("rss")
    if small and big:
        mb = 2 ** 20
        per_target = (statistics.median(big) - statistics.median(small)) / 900
        fixed = statistics.median(small) - 100 * per_target
        lines += ["", f"Running, at steady state (rows 3.100b and 3.1000b, medians): {statistics.median(small) / mb:.1f} MB "
                      f"at 100 targets, {statistics.median(big) / mb:.1f} MB at 1,000, so {per_target / 1024:.1f} KB per "
                      f"target (its history, percentile window, histogram, rendered series, schedule) on top of "
                      f"{fixed / mb:.1f} MB with none, of which the imports above are {result['total_rss'] / mb:.1f} MB. "
                      f"At 1,000 targets the imports are {result['total_rss'] / statistics.median(big):.0%} of the RSS."]
    return lines


def machine_info() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    import aiohttp
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version
    try:  # the exporter runs on uvloop when it is installed (exporter/event_loop.py)
        loop = f"uvloop {dist_version('uvloop')}"
    except PackageNotFoundError:
        loop = "asyncio (uvloop not installed)"
    return {
        "loop": loop, "httptools": dist_version("httptools"),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu})",
        "python": platform.python_version(), "aiohttp": aiohttp.__version__,
        "prometheus_client": dist_version("prometheus-client"), "exporter": EXPORTER_VERSION,
        "prometheus": version(["prometheus", "--version"]),
        "blackbox_exporter": version(["prometheus-blackbox-exporter", "--version"]),
    }


def findings(report: Report) -> list[str]:
    """What the figures say, computed from this run's raw results."""
    raw, out = report.raw, []
    big = raw.get("scale_1000")
    per_target = f"~{big['series'] / 1000:.0f}" if big else "~100"
    row1 = raw.get("cpu_readiness")
    if row1 and row1.get("exp_ms_unscraped"):
        scraped = statistics.median(finite(w["exp_ms"] for w in row1["windows"]))
        alone = statistics.median(row1["exp_ms_unscraped"])
        bb = statistics.median(finite(w["bb_ms"] for w in row1["windows"]))
        out.append(f"- Row 1: of our {scraped:.2f} ms CPU per probe, {alone:.2f} ms is probing (row 1b) and "
                   f"~{max(0.0, scraped - alone):.2f} ms ({max(0.0, 1 - alone / scraped) * 100:.0f} %) is rendering /metrics: "
                   f"each target carries {per_target} samples into every scrape, so a scrape at the probe interval costs "
                   f"less than it did at ~88 samples per target. blackbox_exporter answers each probe with {row1['bb_probe_samples']} samples. Probing alone "
                   f"is {alone / bb:.2f}x blackbox"
                   + ("." if scraped / bb <= 0.5 else "; the 0.5x target needs both halves cut."))
    if big:
        per_family = {k: v / 1000 for k, v in sorted(big["families"].items(), key=lambda kv: -kv[1])[:4]}
        shown = ", ".join(f"{k} {v:.0f}" for k, v in per_family.items())
        out.append(f"- Row 3 at 1,000 targets: {big['series']} samples ({big['metrics_bytes'] / 2**20:.1f} MiB) per scrape; "
                   f"samples per target by family: {shown}. A scrape renders only the series probed since the "
                   f"last one (its text kept as one string until it changes) and writes the families one by one; "
                   f"the timed GETs share the event loop with ~67 probes/s, so on a loaded machine their "
                   f"latency is mostly waiting for the loop and the CPU (see the in-process figure below).")
    ip = raw.get("in_process")
    if ip:
        out.append(f"- RSS at 1,000 targets: the probe state is ~{ip['state_bytes'] / 2**20:.0f} MB (tracemalloc, full 1h "
                   f"windows and 100-entry histories, log lines and rendered text not included); each scrape allocates ~{ip['scrape_peak_bytes'] / 2**20:.0f} MB more at its peak, and the "
                   f"allocator keeps much of it, so RSS climbs after scrapes (row 3.1000b min-max).")
    ws = raw.get("cpu_websocket_2")
    if ws and ws.get("ms_per_probe"):
        out.append(f"- Row 2: {statistics.median(ws['ms_per_probe']):.2f} ms per WebSocket probe with nobody scraping: "
                   f"against the real gateway's frame sizes (hello-ok ~15 KB, replayed by the stand-in), on the probe's "
                   f"own WebSocket client (exporter/probes/ws_transport.py): the connect and the socket calls of "
                   f"~4 frames each way (each write a syscall that delivers to the peer on loopback), the loop's "
                   f"wake-ups between them, JSON decoding of the frames and the probe's bookkeeping share the "
                   f"time; see the WebSocket profile and the WebSocket client-path table.")
    if out:
        out.append("- Done in this version: only the `total` histogram by default (per-phase histograms and "
                   "percentiles behind `detail: true`), recording in O(1) (percentiles sorted when read, a "
                   "series rendered by the first scrape after its probe), /metrics streamed family by family "
                   "(gzip when asked), kubernetes, grafanalib and httpx not imported by `run`, the readiness GET "
                   "on its own asyncio protocol + httptools and uvloop when installed (see Client paths), "
                   "hello-ok's method list no longer checked on every WebSocket handshake, the WebSocket probes on "
                   "their own RFC 6455 client (exporter/probes/ws_transport.py; no ping once a token is known "
                   "good, no wait for the closing handshake), series rendered ahead of the scrape in slices "
                   "(exporter/prerender.py), start-up objects frozen out of the collector's scans, equal "
                   "module settings shared between targets, a compact probe history, and runs due within "
                   "2 % of their interval (at most 25 ms) of each other started on one wakeup "
                   "(exporter/scheduler.py Wakeups).")
    return out


def table(rows: list[Row]) -> str:
    head = ("#", "Row", "Against", "This exporter", "blackbox_exporter", "Ratio", "Target", "Verdict")
    cells = [head] + [(r.key, r.title, r.kind, r.ours, r.blackbox, r.ratio, r.target, r.verdict) for r in rows]
    widths = [min(60, max(len(x[i]) for x in cells)) for i in range(len(head))]
    return "\n".join("  ".join(x[i][:widths[i]].ljust(widths[i]) for i in range(len(head))) for x in cells)


def wakeup_lines(info: dict) -> list[str]:
    cost = info.get("wakeup_cost")
    if not cost:
        return []
    shown = "; ".join(f"{fmt_spread([x * 1000 for x in runs], 'ms', 3)} after a {pause} s sleep"
                      for pause, runs in cost.items())
    return [f"- CPU this machine charges a process per wakeup from idle (bench/measure.py wakeup_cost, a bare "
            f"sleep loop): {shown}. Every CPU-per-probe figure below carries it once per wakeup the probe "
            f"needs, ours and blackbox_exporter's alike (a WebSocket probe waits for ~5 answers, a readiness "
            f"GET for ~2); on bare metal it is microseconds."]


def markdown(info: dict, report: Report, wall: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python bench/run.py`); do not edit by hand, re-run it.",
        "",
        f"- Date: {info['date']}; harness wall time {wall:.0f} s",
        f"- Machine: {info['host']} (shared and noisy: figures are medians of repeated windows, with min-max)",
        f"- openclaw-slo-exporter {info['exporter']}, Python {info['python']}, aiohttp {info['aiohttp']}, "
        f"httptools {info['httptools']}, prometheus_client {info['prometheus_client']}; event loop {info['loop']}",
        f"- {info['blackbox_exporter']}; {info['prometheus']}",
        f"- Real gateway: openclaw {report.raw.get('gateway_version', 'not run')}",
        *wakeup_lines(info),
        "",
        "Against: *local targets* = bench/targets.py (one aiohttp process, its own CPU not counted); "
        "*real gateway* = scripts/gateway.py; *in-process* = exporter code timed inside the harness; "
        "*file* = a result another test wrote.",
        "",
        "| # | Row | Against | This exporter | blackbox_exporter | Ratio (ours / blackbox) | Target | Verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        lines.append(f"| {r.key} | {r.title} | {r.kind} | {r.ours} | {r.blackbox} | {r.ratio} | {r.target} | {r.verdict} |")
    lines += ["", "## Notes per row", ""]
    lines += [f"- **{r.key}** {r.note}" for r in report.rows if r.note]
    if report.skipped:
        lines += ["", "Skipped to stay within the time budget: " + ", ".join(report.skipped)]
    found = findings(report)
    if found:
        lines += ["", "## Findings", ""] + found
    clients = report.raw.get("clients")
    if clients:
        lines += ["", "## Client paths (`python bench/clients.py`)", "",
                  "CPU per request in one process, a fresh connection each (as the probes do), against "
                  "bench/targets.py in its own process (WebSocket frames replayed from the real gateway); "
                  "medians of 3 runs.", "", *clients, "",
                  "Adopted for the readiness GET: the probe's own client (exporter/probes/http_get.py, an asyncio "
                  "protocol parsing with httptools) with the phases, TLS (system trust, tls_ca_file, skip-verify), "
                  "no redirects followed, body/header limits and a reason for every framing fault; plus uvloop "
                  "when installed (the `fast` extra; the image has it). Its cost is the bare protocol's plus the "
                  "probe's bookkeeping. Adopted for the WebSocket probes (websocket, message, the model probe's "
                  "gateway catalog): their own RFC 6455 client (exporter/probes/ws_transport.py: upgrade with "
                  "Sec-WebSocket-Accept checked, redirects reported and never followed, masking, fragments, "
                  "pings answered and pongs timed for the auth-throttling check, frame limits with close 1009, "
                  "close codes, protocol errors with close 1002); its cost over the bare protocol is the probe's "
                  "own work (phases, log, token, JSON of hello-ok). httpx costs several times aiohttp (it is the model probe's "
                  "client, where a call is a provider request of a second or more)."]
    lines += memory_section(report.raw)
    lines += ["", "## Native histograms", "", NATIVE_HISTOGRAMS.strip()]
    lines += ["", "## How it is measured", "", METHOD.strip(), ""]
    if report.profiles:
        lines += ["## Where the time goes", ""]
        for title, text in report.profiles:
            lines += [f"### {title}", "", text, ""]
    if "in_process" in report.raw:
        ip = report.raw["in_process"]
        lines += [f"In-process at 1,000 targets with full 1h windows (240 samples each) and histories: recording one probe "
                  f"costs {ip['record_ms_full_windows']:.3f} ms CPU (no sorting: percentiles wait for a read); one "
                  f"/metrics rendering takes {statistics.median(ip['scrape_ms']):.0f} ms "
                  f"({min(ip['scrape_ms']):.0f}-{max(ip['scrape_ms']):.0f}), {ip['bytes'] / 1024:.0f} KiB.", "",
                  f"Memory (tracemalloc, in-process, 1,000 targets): the probe state with full windows and histories holds "
                  f"{ip['state_bytes'] / 2**20:.1f} MB; one /metrics rendering allocates a peak of "
                  f"{ip['scrape_peak_bytes'] / 2**20:.1f} MB on top (the exposition text, its lines and the metric "
                  f"families built for it), which is why RSS jumps after each scrape at 1,000 targets.", ""]
    return "\n".join(lines)


NATIVE_HISTOGRAMS = """
Not offered: Prometheus 2.42 (Debian) cannot ingest them from this exporter. Tried with
`--enable-feature=native-histograms` against a test endpoint serving client_python 0.26's
OpenMetrics 2.0 native-histogram text (`name {count:24,sum:100,schema:0,...}`): Prometheus asks
for protobuf first (`Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;
encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,...`), and when given text the
scrape fails (`up` 0, "unsupported character in float"): 2.42 parses native histograms only from
the protobuf format, which client_python does not write (and the protobuf library is not a
dependency). Classic buckets stay: 17 samples for the `total` histogram per target and module.
"""


METHOD = """
- CPU is utime+stime of the whole process from /proc/<pid>/stat, read before and after each
  measured window (10 ms tick resolution; windows hold hundreds of probes).
- Row 1: both exporters probe the same targets' /readyz at the same interval. blackbox_exporter is
  driven by a real Prometheus scraping `/probe?target=...&module=...` per target (the usual
  relabel config); the same Prometheus scrapes this exporter's /metrics at the same interval, so our
  figure includes the share of rendering /metrics that each probe causes. Probe counts: our
  `openclaw_probe_attempts_total`; for blackbox the number of `up{job="blackbox"}` samples
  Prometheus stored in the window. The target server's per-User-Agent counts cross-check both.
  The blackbox module checks status 200 and the body (`"ready": true`), as our probe checks the JSON.
- Short runs keep our 1h windows short; the in-process figure under "Where the time goes" gives
  the cost of recording a probe with full windows.
- Row 3: the exporter alone (no blackbox, no Prometheus); the harness GETs /metrics once per 15 s
  window as Prometheus would, then 30 more timed GETs 0.3 s apart for the latency percentiles
  (P99 of ~33 GETs is close to their maximum).
- Row 4: the exporter runs under bench/exporter_tap.py, which logs the exact duration of every
  successful probe (the samples behind its percentiles). Ours = its exported 1m P50/P95/P99 vs exact
  quantiles of the samples in the same window; histogram_quantile = Prometheus' algorithm over the
  increase of our `openclaw_probe_duration_seconds` buckets between two scrapes vs the exact
  quantiles of the samples recorded between them.
- Row 5: a target answering after a fixed 20 ms, probed every 500 ms, first alone and then among
  the 1,000 targets of row 3; medians of the exporter's own samples, per third of each run.
- Rows S1/S2: like rows 1 and 2 against one real gateway, probed as 20 (S1) or 10 (S2) targets so\n  each window holds hundreds of probes; our probes send the token (as configured).\n- Row 1b/S1b: the same exporter right after, with Prometheus stopped: probing without /metrics rendering.
"""


# ---------------------------------------------------------------------------------------------
FLEET_HEADING = "\n## Fleet\n"


def with_fleet_section(generated: str, previous: str) -> str:
    """The new page plus the previous page's "## Fleet" section (written from bench/fleet.py,
    minutes of a 3-replica fleet that `make bench` does not run), which a re-run must not drop."""
    fleet = previous.partition(FLEET_HEADING)[2]
    return generated + FLEET_HEADING + fleet if fleet else generated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows (a functional check, not figures)")
    parser.add_argument("--out", default=str(DOCS / "benchmarks.md"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs, logs, taps)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the steps whose name contains TEXT (repeatable; for working on one row)")
    args = parser.parse_args(argv)
    for tool in ("prometheus", "prometheus-blackbox-exporter"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (make deps-debian)", file=sys.stderr)
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="openclaw-bench-"))
    bench = Bench(workdir, args.quick)
    report = Report()
    info = machine_info()
    info["wakeup_cost"] = {pause: wakeup_cost(pause) for pause in (0.05, 0.5)}
    print(f"bench: work directory {workdir}", flush=True)
    alone: list[float] = []
    busy: dict[int, list[float]] = {}
    # (estimated seconds, name, step): a step that would not fit in the budget is skipped.
    steps = [
        (80, "row 1 CPU per readiness probe", lambda: row_cpu_readiness(bench, report)),
        (40, "row 2 CPU per WebSocket probe", lambda: row_cpu_websocket(bench, report)),
        (65, "row 3 scale 100", lambda: busy.__setitem__(100, row_scale(bench, report, 100)["busy_fixed_medians"])),
        (80, "row 3 scale 1000", lambda: busy.__setitem__(1000, row_scale(bench, report, 1000)["busy_fixed_medians"])),
        (70, "row 4 percentile accuracy", lambda: row_accuracy(bench, report)),
        (25, "row 5 alone run", lambda: alone.extend(row_alone(bench, report))),
        (100, "row S real gateway", lambda: row_gateway(bench, report)),
        (150, "rows M message turn", lambda: row_message(bench, report)),
        (15, "profile: readiness probing", lambda: profile_probing(bench, report, "readiness", 50, 12, True)),
        (15, "profile: WebSocket probing", lambda: profile_probing(bench, report, "websocket", 20, 10, False)
         if "websocket" in PROBERS else None),
        (15, "profile: scrape", lambda: profile_scrape(report)),
        (40, "client paths", lambda: row_clients(report)),
        (10, "memory: imports", lambda: row_memory(report)),
    ]
    try:
        bench.start_shared()
        for estimate, name, step in steps:
            if args.only and not any(text in name for text in args.only):
                continue
            if bench.elapsed() + (estimate / 4 if args.quick else estimate) > BUDGET_SECONDS:
                report.skipped.append(name)
                print(f"bench: skipping {name} (time budget)", flush=True)
                continue
            print(f"bench: {name} (t={bench.elapsed():.0f}s)", flush=True)
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - one broken row must not lose the others
                traceback.print_exc()
                report.add(Row("!", name, "-", f"error: {type(exc).__name__}: {exc}"[:200], "-"))
        row_inflation(report, alone, busy.get(1000), 1000, bench.alone_tail,
                      report.raw.get("scale_1000", {}).get("busy_fixed_p95_max"))
        row_time_to_page(report)
    finally:
        bench.procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    order = {k: i for i, k in enumerate(["1", "1b", "2", "3.100a", "3.100b", "3.100c", "3.1000a", "3.1000b", "3.1000c", "4", "5", "6", "7", "8", "S1", "S1b", "S2", "M1", "M2", "!"])}
    report.rows.sort(key=lambda r: order.get(r.key, 99))
    wall = bench.elapsed()
    print()
    print(table(report.rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(with_fleet_section(markdown(info, report, wall), out.read_text() if out.exists() else ""))
    out.with_suffix(".json").write_text(json.dumps({"machine": info, "rows": [r.__dict__ for r in report.rows],
                                                    "raw": report.raw, "wall_seconds": wall}, indent=1, default=str))
    print(f"\nwrote {out} ({wall:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
