"""Real servers for end-to-end tests (Prometheus, Alertmanager, the exporter) run as child
processes on loopback, each stopped by its own pid, also when a test fails."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: run `make deps` (Debian's prometheus packages)")
    return path


class Service:
    """A child process with a log file and an HTTP readiness URL."""

    def __init__(self, name: str, args: list[str], ready_url: str, workdir: Path) -> None:
        self.name = name
        self.args = args
        self.ready_url = ready_url
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "Service":
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.ready_url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def prometheus(workdir: Path, port: int, config: Path) -> Service:
    return Service("prometheus", [
        require("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
    ], f"http://127.0.0.1:{port}/-/ready", workdir)


def alertmanager(workdir: Path, port: int, config: Path) -> Service:
    return Service("alertmanager", [
        require("prometheus-alertmanager"), f"--config.file={config}", f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ], f"http://127.0.0.1:{port}/-/ready", workdir)


def exporter(workdir: Path, port: int, config: Path) -> Service:
    return Service("exporter", [
        sys.executable, "-m", "exporter", "run", "--config.file", str(config),
        "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "info",
    ], f"http://127.0.0.1:{port}/-/ready", workdir)
