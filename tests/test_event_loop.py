"""`run` and `probe` use uvloop when it is installed (the `fast` extra) and say which loop runs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import uvloop
import yaml
from conftest import free_port

from exporter import event_loop

ROOT = Path(__file__).resolve().parent.parent


async def _loop_name() -> str:
    return event_loop.running_loop_name()


def test_uses_uvloop_when_installed():
    assert event_loop.loop_factory() is uvloop.new_event_loop
    assert event_loop.run(_loop_name()) == "uvloop"


def test_falls_back_to_asyncio_without_uvloop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop -> ImportError
    assert event_loop.loop_factory() is None
    assert event_loop.run(_loop_name()) == "asyncio"


def test_run_logs_which_loop_it_runs_on(tmp_path):
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": "http://127.0.0.1:9"}]}))
    proc = subprocess.Popen([sys.executable, "-m", "exporter", "run", "--config.file", str(config),
                             "--web.listen-address", f"127.0.0.1:{free_port()}"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline, line = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "msg=listening" not in line:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "msg=listening" in line, line
    assert "event_loop=uvloop" in line
