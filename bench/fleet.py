"""A fleet on loopback: many gateways, N sharded exporter replicas, optionally a real Prometheus.

The gateways are bench/targets.py (one aiohttp process, one port, one path per gateway: the
work per probe is the same as one port per gateway, see its docstring); each exporter replica
is a real `python -m exporter run` process whose ordinal comes from $POD_NAME, as in the
StatefulSet. tests/test_fleet.py runs a bounded version; the measurement behind docs/fleet.md
and the "Fleet" section of docs/benchmarks.md is

    python bench/fleet.py --targets 1000 --replicas 3 --replication 2 --minutes 4

which prints one JSON document (rule evaluation times, series per target, exporter CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: this checkout's mixin/ (the generated files' names)
sys.path.insert(0, str(ROOT / "scripts"))
from ports import free_port  # noqa: E402 - scripts/ports.py, below the ephemeral range
POD_PREFIX = "openclaw-slo-exporter-"  # the StatefulSet's pod names (deploy/overlays/fleet)
TOKEN = "fleet-bench-token"


def target_names(count: int) -> list[str]:
    """`<namespace>/<service>` names, as discovery names them: one tenant per namespace."""
    return [f"tenant-{i:04d}/openclaw-gateway" for i in range(count)]


def stop(proc: subprocess.Popen) -> None:
    """Stop one process we started, by its pid: TERM, then KILL."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def get(url: str, timeout: float = 60.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise TimeoutError(f"{what} not within {timeout:g}s (last: {last!r:.300})")


@contextmanager
def gateways() -> Iterator[str]:
    """bench/targets.py in its own process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "targets.py"), "--port", "0", "--token", TOKEN],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("listening "):
            raise RuntimeError(f"bench/targets.py did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        stop(proc)


def exporter_config(base: str, names: list[str], replicas: int, replication: int, interval: str,
                    websocket: bool, token_file: Path) -> dict[str, Any]:
    targets = []
    for name in names:
        target: dict[str, Any] = {"name": name, "url": f"{base}/t/{name.replace('/', '.')}",
                                  "readiness": {"interval": interval, "timeout": "2s"}}
        if websocket:
            target["token_file"] = str(token_file)
            target["websocket"] = {"interval": interval, "timeout": "2s"}
        else:
            target["websocket"] = {"enabled": False}
        targets.append(target)
    return {"max_concurrency": 256, "sharding": {"replicas": replicas, "replication": replication},
            "targets": targets}


class Replica:
    """One exporter process with its own config file (the shared ConfigMap in the StatefulSet)."""

    def __init__(self, ordinal: int, work: Path) -> None:
        self.ordinal = ordinal
        self.port = free_port()
        self.config = work / f"exporter-{ordinal}.yml"
        self.state = work / f"state-{ordinal}"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, doc: dict[str, Any]) -> None:
        self.config.write_text(yaml.safe_dump(doc))
        self.state.mkdir(exist_ok=True)
        env = {**os.environ, "POD_NAME": f"{POD_PREFIX}{self.ordinal}", "OPENCLAW_EXPORTER_STATE_DIR": str(self.state),
               "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exporter", "run", f"--config.file={self.config}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: self._ready(), 60, f"exporter replica {self.ordinal} ready")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            err = self.proc.stderr.read().decode()[-2000:] if self.proc.stderr else ""
            raise RuntimeError(f"exporter replica {self.ordinal} exited {self.proc.returncode}: {err}")
        return get(self.base + "/-/ready", timeout=2).startswith("OK")

    def reload(self, doc: dict[str, Any]) -> None:
        """Rewrite the config and SIGHUP, as a ConfigMap update plus a reload does."""
        before = self.metric("openclaw_exporter_config_last_reload_success_timestamp_seconds")
        self.config.write_text(yaml.safe_dump(doc))
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGHUP)
        wait_until(lambda: self.metric("openclaw_exporter_config_last_reload_success_timestamp_seconds") != before,
                   30, f"replica {self.ordinal} reloaded")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            if self.proc.stderr:
                self.proc.stderr.close()

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        text = get(self.base + "/metrics")
        return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]

    def metric(self, name: str) -> float | None:
        return next((v for n, _, v in self.samples() if n == name), None)

    def metric_or_none(self, name: str) -> float | None:
        """For the measurement's end: a replica too busy to answer /metrics in a minute is a result."""
        try:
            return self.metric(name)
        except OSError:
            return None

    def probed(self) -> set[str]:
        """Targets this replica has probed (an attempt counted), read from its /metrics."""
        return {labels["target"] for name, labels, value in self.samples()
                if name == "openclaw_probe_attempts_total" and value > 0}

    def listed(self) -> set[str]:
        """Targets with any probe series on this replica's /metrics (probed yet or not)."""
        return {labels["target"] for name, labels, _ in self.samples()
                if name == "openclaw_probe_attempts_total"}


def probe_counts(replicas: list[Replica]) -> Counter:
    """How many replicas probed each target."""
    return Counter(t for r in replicas for t in r.probed())


def wait_converged(replicas: list[Replica], names: list[str], copies: int, timeout: float) -> dict[str, set[str]]:
    """Until every target is listed by exactly ``copies`` replicas and probed by all of them;
    returns each replica's probed set (by ordinal)."""
    def done() -> dict[str, set[str]] | None:
        listed = Counter(t for r in replicas for t in r.listed())
        sets = {str(r.ordinal): r.probed() for r in replicas}
        probed = Counter(t for s in sets.values() for t in s)
        ok = set(listed) == set(names) and set(listed.values()) == {copies} and probed == listed
        return sets if ok else None
    return wait_until(done, timeout, f"every target probed by exactly {copies} replica(s)")


# -- the measurement -------------------------------------------------------------------------------
def prometheus_config(replicas: list[Replica], interval: str, own_port: int) -> dict[str, Any]:
    """A scrape job per replica, labelled like a PodMonitor labels them (`pod`), the production
    rules, and Prometheus scraping itself (its rule evaluation times are its own metrics)."""
    from mixin.pipeline import ALERTS, RULES  # the generated files' names, defined once

    rules = [ROOT / RULES, ROOT / ALERTS]
    # Prometheus reads rule_files as globs: a missing file would silently mean no rules at all.
    missing = [str(r) for r in rules if not r.is_file()]
    if missing:
        raise FileNotFoundError(f"rule files missing (run `python -m exporter generate`): {', '.join(missing)}")
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(r) for r in rules],
            "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{own_port}"]}]},
                               {"job_name": "openclaw-slo-exporter", "static_configs": [
                {"targets": [f"127.0.0.1:{r.port}"], "labels": {"pod": f"{POD_PREFIX}{r.ordinal}",
                                                                 "namespace": "openclaw"}} for r in replicas]}]}


@contextmanager
def prometheus(work: Path, replicas: list[Replica], interval: str) -> Iterator[str]:
    port = free_port()
    (work / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(replicas, interval, port)))
    log = open(work / "prometheus.log", "wb")
    proc = subprocess.Popen(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                             f"--storage.tsdb.path={work / 'prom-data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: "Ready" in get(base + "/-/ready", timeout=1), 60, "prometheus ready")
        yield base
    finally:
        stop(proc)
        log.close()


def query(base: str, expr: str) -> list[dict[str, Any]]:
    doc = json.loads(get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=180))
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def measure(targets: int, replicas: int, replication: int, minutes: float, interval: str,
            websocket: bool, work: Path) -> dict[str, Any]:
    names = target_names(targets)
    token_file = work / "token"
    token_file.write_text(TOKEN)
    result: dict[str, Any] = {"targets": targets, "replicas": replicas, "replication": replication,
                              "probe_interval": interval, "modules": ["readiness"] + (["websocket"] if websocket else [])}
    with ExitStack() as stack, gateways() as base:
        fleet = [Replica(i, work) for i in range(replicas)]
        for r in fleet:
            stack.callback(r.stop)
            r.start(exporter_config(base, names, replicas, replication, interval, websocket, token_file))
        sets = wait_converged(fleet, names, min(replication, replicas), timeout=180)
        result["targets_per_replica"] = {k: len(v) for k, v in sets.items()}
        cpu0 = {r.ordinal: r.metric("process_cpu_seconds_total") for r in fleet}
        prom = stack.enter_context(prometheus(work, fleet, "15s"))
        started = time.monotonic()
        time.sleep(minutes * 60)
        elapsed = time.monotonic() - started
        result["load_average_1m"] = round(os.getloadavg()[0], 1)  # the machine's, shared with others
        cpu1 = {r.ordinal: r.metric_or_none("process_cpu_seconds_total") for r in fleet}
        result["exporter_cpu_cores"] = {str(o): round((cpu1[o] - cpu0[o]) / elapsed, 4) if cpu1[o] is not None else None
                                        for o in cpu0}
        result["exporter_rss_bytes"] = {str(r.ordinal): r.metric_or_none("process_resident_memory_bytes") for r in fleet}
        result["minutes"] = round(elapsed / 60, 1)
        # Ticks a replica skipped because the previous probe of the pair still ran (it fell behind).
        skipped = query(prom, 'sum(openclaw_probe_skipped_ticks_total{job="openclaw-slo-exporter"})')
        result["skipped_ticks"] = int(float(skipped[0]["value"][1])) if skipped else None
        up = query(prom, 'sum(up{job="openclaw-slo-exporter"})')
        result["replicas_up_in_prometheus"] = int(float(up[0]["value"][1])) if up else None
        groups = query(prom, "prometheus_rule_group_last_duration_seconds")
        result["rule_group_seconds"] = {g["metric"]["rule_group"].rsplit(";", 1)[-1]: round(float(g["value"][1]), 4)
                                        for g in groups}
        result["rule_groups_total_seconds"] = round(sum(result["rule_group_seconds"].values()), 4)
        worst = query(prom, "max_over_time(prometheus_rule_group_last_duration_seconds[10m])")
        result["rule_groups_total_seconds_max"] = round(sum(float(g["value"][1]) for g in worst), 4)
        # Prometheus' CPU over the run: under contention the durations above are wall time.
        cpu = query(prom, 'rate(process_cpu_seconds_total{job="prometheus"}[2m])')
        result["prometheus_cpu_cores"] = round(float(cpu[0]["value"][1]), 3) if cpu else None
        evals = query(prom, "sum(rate(prometheus_rule_group_iterations_total[2m])) / count(prometheus_rule_group_iterations_total)")
        result["rule_group_evaluations_per_second"] = round(float(evals[0]["value"][1]), 4) if evals else None
        missed = query(prom, "sum(increase(prometheus_rule_group_iterations_missed_total[3m]))")
        result["rule_group_iterations_missed"] = round(float(missed[0]["value"][1])) if missed else None
        failures = query(prom, "sum(prometheus_rule_evaluation_failures_total)")
        result["rule_evaluation_failures"] = int(float(failures[0]["value"][1])) if failures else None
        rules = query(prom, "sum(prometheus_rule_group_rules)")
        result["rules"] = int(float(rules[0]["value"][1])) if rules else 0
        # Scraped series with a target label, per target and per probing replica (each copy).
        series = query(prom, 'count({job="openclaw-slo-exporter", target!=""})')
        copies = targets * min(replication, replicas)
        result["scraped_target_series"] = int(float(series[0]["value"][1]))
        result["scraped_series_per_target_copy"] = round(result["scraped_target_series"] / copies, 1)
        recorded = query(prom, 'count({__name__=~"slo:.+|openclaw:.+"})')
        result["recorded_series"] = int(float(recorded[0]["value"][1])) if recorded else 0
        head = query(prom, "prometheus_tsdb_head_series")  # includes Prometheus' own series
        result["prometheus_head_series"] = int(float(head[0]["value"][1]))
        firing = query(prom, 'count(ALERTS{alertstate="firing"})')
        result["alerts_firing"] = int(float(firing[0]["value"][1])) if firing else 0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--replication", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--interval", default="15s", help="probe interval of every module")
    parser.add_argument("--no-websocket", dest="websocket", action="store_false", help="readiness only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as work:
        print(json.dumps(measure(args.targets, args.replicas, args.replication, args.minutes, args.interval,
                                 args.websocket, Path(work)), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
