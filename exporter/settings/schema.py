"""The JSON Schema of the config file, for editors (exporter/config.schema.json).

    python -m exporter.settings.schema          # rewrite the committed file
    python -m exporter.settings.schema --check  # exit 1 when it drifted from the models
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from exporter.settings.file import ConfigFile

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "config.schema.json"


def render() -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **ConfigFile.model_json_schema()}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != text:
            print(f"{SCHEMA_FILE} is out of date: run python -m exporter.settings.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
