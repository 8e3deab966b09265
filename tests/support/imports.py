"""What a process loads: the top-level module names of an exporter started as `run` starts it
(the exporter, its web app, a few ticks of probing), in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_RUN_SCRIPT = """
import asyncio, json, sys
from exporter import cli
from exporter.app import Exporter
from exporter.web import make_app
from aiohttp import web

try:
    cli.main(["run", "--help"])
except SystemExit:
    pass

async def main():
    exporter = Exporter(sys.argv[1], jitter=False)
    await exporter.start()
    runner = web.AppRunner(make_app(exporter))
    await runner.setup()
    await asyncio.sleep(0.3)
    await exporter.close()
    await runner.cleanup()

asyncio.run(main())
THEN
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def top_level_modules(code: str, *args: str) -> set[str]:
    """Top-level names of sys.modules as ``code`` prints them (a JSON list, its last line)."""
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def modules_of_a_running_exporter(config: Path, then: str = "") -> set[str]:
    """``then``: code run after the exporter stopped, before the modules are listed."""
    return top_level_modules(_RUN_SCRIPT.replace("THEN\n", then + "\n"), str(config))
