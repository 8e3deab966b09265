"""Daemons the tests run as child processes on loopback (Prometheus, Alertmanager, the exporter;
the gateway is scripts/gateway.py's Gateway): each started by one function here, stopped by its
own pid, also when a test fails.

    with running(prometheus(tmp_path, free_port(), config)) as prom: ...
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from support.tools import require

ROOT = Path(__file__).resolve().parent.parent.parent


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop one process we started, by its pid: TERM, then KILL."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Daemon:
    """A child process with a log file and an HTTP readiness URL (200 when ready)."""

    def __init__(self, name: str, args: list[str], ready_url: str, workdir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.args = args
        self.env = env  # None: this process's environment
        self.ready_url = ready_url
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "Daemon":
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=ROOT, env=self.env)  # `-m exporter` is this checkout's
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    if httpx.get(self.ready_url, timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log()}")
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc, timeout)


@contextmanager
def running(daemon: Daemon, timeout: float = 60.0) -> Iterator[Daemon]:
    """The daemon, ready, until the block ends; stopped by its pid however the block ends."""
    daemon.start(timeout)
    try:
        yield daemon
    finally:
        daemon.stop()


def prometheus(workdir: Path, port: int, config: Path, *extra: str, data: Path | None = None) -> Daemon:
    """Debian's Prometheus; its TSDB in ``data`` (default workdir/prom-data), which may hold backfilled blocks."""
    return Daemon("prometheus", [
        require("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data or workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle", *extra,
    ], f"http://127.0.0.1:{port}/-/ready", workdir)


def alertmanager(workdir: Path, port: int, config: Path, *extra: str) -> Daemon:
    """Debian's Alertmanager, alone (no cluster listener)."""
    return Daemon("alertmanager", [
        require("prometheus-alertmanager"), f"--config.file={config}", f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", *extra,
    ], f"http://127.0.0.1:{port}/-/ready", workdir)


def exporter(workdir: Path, port: int, config: Path, *extra: str, env: dict[str, str] | None = None) -> Daemon:
    """This project's `openclaw-exporter run`, from this checkout (as a container would start it)."""
    return Daemon("exporter", [
        sys.executable, "-m", "exporter", "run", "--config.file", str(config),
        "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "info", *extra,
    ], f"http://127.0.0.1:{port}/-/ready", workdir, env)
