"""Shared helpers for the SLO and alert tests: the real Prometheus tools, free loopback ports,
promtool rule tests, and daemons (Prometheus, Alertmanager) started and stopped by pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "alerts"
RULES_FILE = ALERTS / "prometheus_rules.yaml"  # the SLO rules
ALERTS_FILE = ALERTS / "prometheus_alerts.yaml"  # every other alert
DEPLOY = ROOT / "deploy"


def require(binary: str) -> str:
    """Path of a Prometheus tool; skip (only) when it is not installed."""
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} not installed (apt-get install prometheus)")
    return path


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def promtool_test_rules(
    tmp_path: Path, rules: dict, input_series: list[dict], checks: list[tuple[str, str, list]], interval: str = "1m"
) -> None:
    """`promtool test rules` of `rules` (a parsed rule file): checks are (eval_time, alertname, exp_alerts).

    Rules are evaluated every minute; `interval` is the spacing of the input samples.
    """
    promtool = require("promtool")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": interval,
            "input_series": input_series,
            "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": exp} for at, alert, exp in checks],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = run([promtool, "test", "rules", "test.yml"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def promtool_test_promql(
    tmp_path: Path, input_series: list[dict], checks: list[tuple[str, str, list]], interval: str = "1m"
) -> None:
    """`promtool test rules` with PromQL checks only: (expr, eval_time, exp_samples)."""
    promtool = require("promtool")
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": interval,
            "input_series": input_series,
            "promql_expr_test": [{"expr": e, "eval_time": at, "exp_samples": exp} for e, at, exp in checks],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = run([promtool, "test", "rules", "test.yml"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@contextmanager
def daemon(args: list[str], log_path: Path, ready_url: str, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """Run a server until the block ends; it must answer 200 on ready_url first. Stopped by its pid."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"{args[0]} did not become ready: {log_path.read_text()}"
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
