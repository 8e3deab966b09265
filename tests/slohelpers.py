"""Shared helpers for the SLO and alert tests: promtool rule tests and the repository's paths
(daemons, ports and tools: the support package)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from support.tools import require

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "alerts"
RULES_FILE = ALERTS / "prometheus_rules.yaml"  # the SLO rules
ALERTS_FILE = ALERTS / "prometheus_alerts.yaml"  # every other alert
DEPLOY = ROOT / "deploy"


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def promtool_test_rules(
    tmp_path: Path, rules: dict, input_series: list[dict], checks: list[tuple[str, str, list]], interval: str = "1m",
    exprs: list[tuple[str, str, list]] = (),
) -> None:
    """`promtool test rules` of `rules` (a parsed rule file): checks are (eval_time, alertname, exp_alerts),
    exprs PromQL over the rules' output: (expr, eval_time, exp_samples).

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
            "promql_expr_test": [{"expr": e, "eval_time": at, "exp_samples": exp} for e, at, exp in exprs],
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
