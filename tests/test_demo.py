"""`make demo` (scripts/demo.sh) against the real gateway, as a newcomer runs it.

It must say where its throwaway token is and print a `probe` command that works when pasted,
name each pid it started, and on Ctrl-C / SIGTERM stop everything and remove its temp dir (the
gateway's ~56 MB home lives inside it). The script runs in its own session and is signalled by
its process group id, so only what this test started is ever signalled.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from ports import free_port
from gateway import CACHE
from support.tools import require_gateway

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 120.0  # the gateway alone needs 5-40 s on a loaded 2-core machine


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (it holds no port, no file).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(alive(int(p.name)) for p in Path("/proc").iterdir()
               if p.name.isdigit() and _pgid(int(p.name)) == pgid)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


class Output:
    """The script's combined output, read by a thread so the pipe never fills."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, proc: subprocess.Popen, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text, re.MULTILINE)
            if match:
                return match
            if proc.poll() is not None:
                self._thread.join(timeout=5)
                break
            time.sleep(0.2)
        match = re.search(pattern, self.text, re.MULTILINE)
        assert match, f"demo never printed {pattern!r}; its output:\n{self.text}"
        return match


@pytest.mark.gateway
def _as_from_a_terminal() -> None:
    """The demo as a terminal starts it: SIGINT at its default. A test runner started in the
    background (`make test &`, a CI job) may inherit SIGINT ignored, and bash cannot trap a signal
    ignored on entry, so Ctrl-C would reach only the exporter and the demo would exit 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_prints_a_working_probe_command_and_cleans_up(tmp_path, stop_signal):
    require_gateway()
    gateway_port, exporter_port = free_port(), free_port()
    env = dict(os.environ, GATEWAY_PORT=str(gateway_port), LISTEN=f"127.0.0.1:{exporter_port}",
               PYTHON=sys.executable, OPENCLAW_CACHE=str(CACHE), TMPDIR=str(tmp_path))
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, preexec_fn=_as_from_a_terminal)
    pgid = proc.pid  # start_new_session: the script leads its own process group
    out = Output(proc)
    gateway_pid = None
    try:
        out.wait_for(r"^Ctrl-C stops", proc, STARTUP_TIMEOUT)
        text = out.text

        # Each pid is named: the gateway process, its wrapper, the exporter.
        gateway_pid = int(out.wait_for(r"openclaw gateway pid (\d+)", proc, 1).group(1))
        wrapper_pid = int(out.wait_for(r"wrapper scripts/gateway\.py, pid (\d+)", proc, 1).group(1))
        exporter_pid = int(out.wait_for(rf"^exporter: +http://127\.0\.0\.1:{exporter_port}/ +pid (\d+)", proc, 1).group(1))
        assert len({gateway_pid, wrapper_pid, exporter_pid}) == 3
        assert all(alive(pid) for pid in (gateway_pid, wrapper_pid, exporter_pid))

        # The token's path is shown; the token itself never is.
        token_file = Path(out.wait_for(r"^token: +(\S+)", proc, 1).group(1))
        token = token_file.read_text().strip()
        assert len(token) >= 32 and token not in text
        work = token_file.parent
        assert work.parent == tmp_path and work.name.startswith("openclaw-demo.")

        # The printed probe command works as pasted (from another directory, too).
        command = out.wait_for(r"^probe: +(.+)$", proc, 1).group(1)
        probe = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        rows = {tuple(line.split()[:3]) for line in probe.stdout.splitlines()[1:]}
        assert ("gateway", "readiness", "success") in rows, probe.stdout
        assert ("gateway", "websocket", "success") in rows, probe.stdout
        assert ("gateway", "storage", "success") in rows, probe.stdout  # the storage module on a local dir
        assert token not in probe.stdout + probe.stderr

        # The exporter it started is the one serving on LISTEN.
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/metrics", timeout=10) as resp:
            assert "openclaw_exporter_targets 1.0" in resp.read().decode()

        # Ctrl-C / SIGTERM to the script's process group, as a terminal does.
        os.killpg(pgid, stop_signal)
        assert proc.wait(timeout=60) == 128 + stop_signal
        assert not work.exists(), f"{work} left behind: {sorted(p.name for p in work.iterdir())}"
        assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())  # no gateway home elsewhere
        for name, pid in (("gateway", gateway_pid), ("gateway wrapper", wrapper_pid), ("exporter", exporter_pid)):
            assert not alive(pid), f"{name} (pid {pid}) still running"
        assert not group_alive(pgid), "a process of the demo's group is still running"
        assert not group_alive(gateway_pid), "a process of the gateway's own group (its broker) is still running"
    finally:
        # Whatever happened, end what this test started: first politely (the wrapper stops the
        # gateway's own group on SIGTERM), then the script's group and the gateway's by force.
        if proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for group in (pgid, gateway_pid):
            if group is not None:
                try:
                    os.killpg(group, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


@pytest.mark.gateway
def test_demo_with_message_shows_the_message_probe_percentiles_beside_the_article(tmp_path):
    # WITH_MESSAGE=1: the gateway's default agent talks to the local stub provider and the
    # exporter runs the message probe every 20 s; the demo prints warm P50/P95/P99.
    require_gateway()
    gateway_port, exporter_port = free_port(), free_port()
    env = dict(os.environ, GATEWAY_PORT=str(gateway_port), LISTEN=f"127.0.0.1:{exporter_port}",
               PYTHON=sys.executable, OPENCLAW_CACHE=str(CACHE), TMPDIR=str(tmp_path), WITH_MESSAGE="1")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, preexec_fn=_as_from_a_terminal)
    pgid = proc.pid
    out = Output(proc)
    try:
        out.wait_for(r"^Ctrl-C stops", proc, STARTUP_TIMEOUT)
        stub_url = out.wait_for(r"^message: +probe every 20 s .* stub provider (http://127\.0\.0\.1:\d+/v1)$", proc, 10).group(1)
        line = out.wait_for(r"^message: +warm turn P50 / P95 / P99: (\d+) ms / (\d+) ms / (\d+) ms +\(article: 200 / 800 / 1500 ms\)$",
                            proc, 150)
        p50, p95, p99 = (int(v) for v in line.groups())
        assert 0 < p50 <= p95 <= p99 < 15000
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
        assert 'openclaw_probe_attempts_total{target="gateway",module="message",result="success"}' in metrics
        os.killpg(pgid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())
        # The stub provider lived in the gateway wrapper: its port is closed now.
        with pytest.raises(OSError):
            urllib.request.urlopen(stub_url + "/models", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=10)
