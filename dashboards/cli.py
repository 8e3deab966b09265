"""Command line: `dashboards generate [--out DIR] [--check]`.

``register(subparsers)`` adds the `dashboards` command to another CLI (the exporter's);
``python -m dashboards generate`` works on its own. Dispatch is ``args.func(args)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

# Run from the repository root, where the generated files are committed (an installed
# package has no such place of its own).
DEFAULT_ROOT = "."
EXIT_OK, EXIT_DRIFT = 0, 1


def cmd_generate(args: argparse.Namespace) -> int:
    # grafanalib only here: `openclaw-exporter run` registers this command but never pays for it.
    from dashboards import build

    root = Path(args.out)
    if args.check:
        problems = build.drift(root)
        if problems:
            print(f"{len(problems)} generated file(s) drifted; run `python -m dashboards generate`:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_DRIFT
        print(f"{root}: dashboards up to date")
        return EXIT_OK
    changed = build.write(root)
    for rel in changed:
        print(f"wrote {rel}")
    print(f"{root}: {len(changed)} file(s) changed")
    return EXIT_OK


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser("generate", help="write the dashboards' JSON and the Grafana ConfigMap")
    gen.add_argument("--out", default=DEFAULT_ROOT,
                     help="repository root to write dashboards/generated/ and deploy/ under (default: the current directory)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 listing files that differ")
    gen.set_defaults(func=cmd_generate)


def register(subparsers: argparse._SubParsersAction) -> None:
    dash = subparsers.add_parser("dashboards", help="generate the Grafana dashboards")
    add_commands(dash.add_subparsers(dest="dashboards_command", required=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description="Generate the Grafana dashboards.")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
