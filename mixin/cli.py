"""`openclaw-exporter generate [--spec FILE] [--alerts-config FILE] [--out ROOT] [--check]`.

`register(subparsers)` hangs it on the exporter's CLI; `main(argv)` runs it alone (tests).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_OK, EXIT_DRIFT, EXIT_INPUT = 0, 1, 2
COMMAND = "openclaw-exporter generate"


def cmd_generate(args: argparse.Namespace) -> int:
    from mixin import pipeline
    from slo import monitoring
    from slo.model import SpecError
    from slo.promql import PromQLError

    try:
        config = monitoring.load(args.spec, args.alerts_config)
        files = pipeline.outputs(config)
        if args.extra_outputs is not None:
            files.update(args.extra_outputs())
    except SpecError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_INPUT
    except PromQLError as exc:
        print(f"generated PromQL rejected: {exc}", file=sys.stderr)
        return EXIT_INPUT
    root = Path(args.out)
    if args.check:
        problems = pipeline.drift(root, files)
        if problems:
            print(f"{len(problems)} generated file(s) under {root} out of date; run: {COMMAND}", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_DRIFT
        print(f"{root}: {len(files)} generated files up to date")
        return EXIT_OK
    for rel in pipeline.write(root, files):
        print(f"wrote {root / rel}")
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser,
                  extra_outputs: Callable[[], dict[Path, str]] | None = None) -> None:
    """``extra_outputs``: more generated files from a layer above this one (the exporter's CLI
    adds the config's JSON Schema, built from the runtime's config types)."""
    parser.add_argument("--spec", metavar="FILE",
                        help="SLO spec (openclaw-slo/v1 or OpenSLO v1); default: slo/specs/openclaw-gateway.yml")
    parser.add_argument("--alerts-config", metavar="FILE",
                        help="a partial copy of slo/specs/alerts.yml merged over it (thresholds, selectors, "
                             "aggregation_labels, slo_group_by); default: none")
    parser.add_argument("--out", default=".", metavar="ROOT",
                        help="repository root the files go under: alerts/, deploy/, dashboards/dashboards_out/ "
                             "(default: the current directory)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 listing every file that differs")
    parser.set_defaults(func=cmd_generate, extra_outputs=extra_outputs)


def register(subparsers: argparse._SubParsersAction) -> None:
    add_arguments(subparsers.add_parser(
        "generate", help="write the SLO rules, alerts, dashboards and their deploy/ copies from the monitoring config"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Generate every monitoring artefact.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)
