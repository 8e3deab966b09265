"""The `slo report` command (the rules, alerts and dashboards: `openclaw-exporter generate`, mixin/).

`register(subparsers)` hangs it under `slo` on the exporter's CLI; `add_commands` is
also used by `python -m slo`. Every command function returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from slo import report, spec
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
    rep = subparsers.add_parser("report", help="error budget report from Prometheus")
    rep.add_argument("--prometheus.url", dest="prometheus_url", required=True, help="e.g. http://127.0.0.1:9090")
    rep.add_argument("--spec", help=f"SLO spec; default: {spec.DEFAULT_SPEC}")
    rep.add_argument("--window", choices=[*PERIODS, report.CALENDAR_MONTH],
                     help="a rolling window (default: each SLO's own, 30d in the shipped spec) or the calendar month so far")
    rep.add_argument("--time", help="evaluation time (unix seconds or RFC 3339); default: now")
    rep.add_argument("--json", action="store_true", help="machine-readable output")
    rep.set_defaults(func=cmd_report)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `slo report` to a parent CLI's subparsers."""
    parser = subparsers.add_parser("slo", help="error budget report")
    add_commands(parser.add_subparsers(dest="slo_command", required=True, metavar="{report}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slo", description="OpenClaw SLO tooling")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="{report}"))
    args = parser.parse_args(argv)
    return args.func(args)
