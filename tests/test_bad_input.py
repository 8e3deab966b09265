"""Bad input never stalls or crashes the process: hostile secret files, YAML bombs, broken configs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, free_port
from exporter import conventions as c
from exporterhelpers import parse_samples, value


def _start_run(config: Path, port: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "exporter", "run", "--config.file", str(config),
             "--web.listen-address", f"127.0.0.1:{port}"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_token_file_that_is_not_a_regular_file_is_a_config_error_and_never_stalls(kind, real_gateway, tmp_path):
    """A FIFO token_file froze the whole exporter (read on the event loop) and SIGTERM was ignored."""
    token = tmp_path / "token"
    if kind == "fifo":
        os.mkfifo(token)
    else:
        token.mkdir()
    config = tmp_path / "exporter.yml"
    config.write_text(
        "targets:\n"
        f"  - name: gw\n    url: {real_gateway.url}\n    token_file: {token}\n"
        "    readiness: {interval: 1s, timeout: 1s}\n"
        "    websocket: {interval: 1s, timeout: 1s}\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "run.log"
    proc = _start_run(config, port, log_path)
    try:
        deadline = time.monotonic() + 30
        samples: dict = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            try:
                resp = httpx.get(base + "/metrics", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            samples = parse_samples(resp.text)
            counts = [value(samples, c.PROBE_ATTEMPTS_TOTAL, target="gw", module=m, result="config_error")
                      for m in ("readiness", "websocket")]
            if all(n and n >= 2 for n in counts):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no config_error results within 30s: {sorted(k for k in samples if k[0] == c.PROBE_ATTEMPTS_TOTAL)}\n"
                        + log_path.read_text())
        # The process still answers, quickly, while the probes keep failing.
        for path in ("/metrics", "/-/healthy"):
            assert httpx.get(base + path, timeout=2).status_code == 200
        detail = httpx.get(base + "/probe", params={"target": "gw", "module": "websocket", "debug": "true"}, timeout=5).text
        expected = "a FIFO (named pipe)" if kind == "fifo" else "a directory"
        assert f"cannot read secret from file {token}: it is {expected}, not a regular file" in detail
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        assert time.monotonic() - started < 5
        assert proc.returncode == 0, log_path.read_text()
    finally:
        _stop(proc)
