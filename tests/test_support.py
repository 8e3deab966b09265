"""The test support package's rule for a missing tool: under CI the test fails naming the tool
and how to install it; elsewhere it is skipped with the same words, never silently. Checked by
running a tiny test file in a pytest subprocess whose PATH holds no tools at all. And the
helpers' daemons stop, by pid, even while they hold a request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.daemons import Daemon, running
from ports import free_port

ROOT = Path(__file__).resolve().parent.parent

NEEDS_TOOLS = '''
from browser import require_chromium
from netns import require_netns
from support.tools import require

def test_promtool():
    require("promtool")

def test_alertmanager():
    require("prometheus-alertmanager")

def test_chromium():
    require_chromium()

def test_ip():
    require_netns()
'''


def run_without_tools(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_needs_tools.py").write_text(NEEDS_TOOLS)
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=str(empty), PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT / "scripts"), str(ROOT)]))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), "-c", os.devnull, str(tmp_path / "test_needs_tools.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", ["1", "true"])
def test_under_ci_a_missing_tool_fails_naming_it_and_how_to_install_it(tmp_path, ci):
    done = run_without_tools(tmp_path, ci)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "4 failed" in out, out
    for words in ("the `promtool` command is missing: apt-get install prometheus",
                  "the `prometheus-alertmanager` command is missing: apt-get install prometheus-alertmanager",
                  "the `chromium` command is missing: apt-get install chromium",
                  "the `ip` command is missing: apt-get install iproute2"):
        assert words in out, out
    assert "CI is set: a missing tool fails the run" in out


def test_without_ci_a_missing_tool_is_a_skip_that_says_what_and_how(tmp_path):
    done = run_without_tools(tmp_path, None)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "4 skipped" in out, out
    assert "the `promtool` command is missing: apt-get install prometheus (make deps-debian)" in out, out
    assert "the `ip` command is missing: apt-get install iproute2" in out, out


def test_ci_0_is_not_ci(tmp_path):
    assert "4 skipped" in run_without_tools(tmp_path, "0").stdout


def test_a_daemon_that_exits_is_reported_with_its_log_and_one_that_runs_is_stopped_by_pid(tmp_path):
    failing = Daemon("broken", [sys.executable, "-c", "import sys; print('no config here'); sys.exit(3)"],
                     f"http://127.0.0.1:{free_port()}/-/ready", tmp_path)
    with pytest.raises(RuntimeError, match=r"broken exited with 3:\nno config here"):
        failing.start(timeout=20)

    port = free_port()
    server = Daemon("http", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                    f"http://127.0.0.1:{port}/", tmp_path)
    with running(server, timeout=20) as daemon:
        assert daemon.proc is not None
        proc = daemon.proc
        assert proc.poll() is None
    assert proc.poll() is not None and server.proc is None


def test_the_stub_provider_stops_while_it_holds_a_request():
    from stub_provider import StubProvider  # scripts/: the message and model tests' provider

    stub = StubProvider().start()
    stub.set_mode("hang")
    client = socket.create_connection(("127.0.0.1", stub.port), timeout=5)
    try:
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: stub\r\nContent-Length: 2\r\n\r\n{}")
        deadline = time.monotonic() + 5
        while stub.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stub.calls == 1  # held by the handler
        loop = stub._loop
        stub.stop()
        assert loop is not None and loop.is_closed()  # nothing left pending on it
        assert client.recv(4096) == b""  # the held connection was closed, not left hanging
    finally:
        client.close()
