"""`python -m openclaw_schema [--check] [--output docs/metrics.md]`: write or check the metrics reference."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openclaw_schema import docs

DEFAULT_OUTPUT = "docs/metrics.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openclaw_schema", description=__doc__)
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"the file to write (default {DEFAULT_OUTPUT})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    path = Path(args.output)
    text = docs.render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            print(f"{path} is stale: run `python -m openclaw_schema` and commit it", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
