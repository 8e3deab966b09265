"""The `slo generate` (SLO rules and alert rules) and `slo report` commands.

`register(subparsers)` hangs them under `slo` on the exporter's CLI; `add_commands` is
also used by `python -m slo`. Every command function returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from slo import alert_rules, alert_spec, render, report, rules, spec
from slo.model import PERIODS, SpecError


def _report(source: str, exc: Exception) -> None:
    if isinstance(exc, SpecError):
        for line in exc.errors:
            print(f"{source}: {line}", file=sys.stderr)
    else:
        print(f"cannot read {source}: {exc}", file=sys.stderr)


def _load(path: str | None) -> spec.Spec | None:
    try:
        return spec.load(path)
    except (SpecError, OSError) as exc:
        _report(path or spec.DEFAULT_SPEC, exc)
        return None


def _load_alerts(overrides: str | None) -> alert_spec.AlertsConfig | None:
    try:
        return alert_spec.load(overrides)
    except (SpecError, OSError) as exc:
        _report(overrides or alert_spec.DEFAULT_ALERTS, exc)
        return None


def cmd_generate(args: argparse.Namespace) -> int:
    """Every generated rule file: the SLO rules and the alerts, written or checked together."""
    loaded = _load(args.spec)
    thresholds = _load_alerts(args.alerts_config)
    if loaded is None or thresholds is None:
        return 2
    files = {
        name: (text, loaded.source)
        for name, text in render.render_all(rules.generate(loaded, thresholds.selectors.exporter_selector), loaded.source).items()
    }
    files.update({
        name: (text, thresholds.source)
        for name, text in render.render_alerts(alert_rules.generate(thresholds), thresholds.source).items()
    })
    out = Path(args.out)
    if args.check:
        drifted = [(name, source) for name, (text, source) in files.items()
                   if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
        for name, source in drifted:
            print(f"{out / name}: out of date with {source}; run: openclaw-exporter slo generate", file=sys.stderr)
        return 1 if drifted else 0
    out.mkdir(parents=True, exist_ok=True)
    for name, (text, _) in files.items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")
    return 0


def _timestamp(text: str | None) -> float:
    if text is None:
        return time.time()
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cmd_report(args: argparse.Namespace) -> int:
    loaded = _load(args.spec)
    if loaded is None:
        return 2
    client = report.PrometheusClient(args.prometheus_url)
    try:
        reports = report.build_report(loaded, client, _timestamp(args.time), args.window)
    except Exception as exc:  # noqa: BLE001 - any query failure is one readable line
        print(f"report failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(report.to_json(reports) if args.json else report.to_table(reports))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser("generate", help="write the SLO rules and the alert rules")
    gen.add_argument("--spec", help=f"SLO spec (openclaw-slo/v1 or OpenSLO v1); default: {spec.DEFAULT_SPEC}")
    gen.add_argument("--alerts-config", metavar="FILE",
                     help=f"thresholds merged over {alert_spec.DEFAULT_ALERTS} (a partial copy of it); default: none")
    gen.add_argument("--out", default="alerts", help="output directory (default: alerts)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 listing files that differ")
    gen.set_defaults(func=cmd_generate)

    rep = subparsers.add_parser("report", help="error budget report from Prometheus")
    rep.add_argument("--prometheus.url", dest="prometheus_url", required=True, help="e.g. http://127.0.0.1:9090")
    rep.add_argument("--spec", help=f"SLO spec; default: {spec.DEFAULT_SPEC}")
    rep.add_argument("--window", choices=[*PERIODS, report.CALENDAR_MONTH],
                     help="a rolling window (default: each SLO's own, 30d in the shipped spec) or the calendar month so far")
    rep.add_argument("--time", help="evaluation time (unix seconds or RFC 3339); default: now")
    rep.add_argument("--json", action="store_true", help="machine-readable output")
    rep.set_defaults(func=cmd_report)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `slo generate|report` to a parent CLI's subparsers."""
    parser = subparsers.add_parser("slo", help="SLO rules and error budget report")
    add_commands(parser.add_subparsers(dest="slo_command", required=True, metavar="{generate,report}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slo", description="OpenClaw SLO tooling")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="{generate,report}"))
    args = parser.parse_args(argv)
    return args.func(args)
