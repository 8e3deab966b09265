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

from conftest import ROOT
from ports import free_port
from openclaw_schema import names as c
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


# Each of these made `check` print a traceback and exit 1, or accepted the file (alias bomb,
# .inf/.nan durations, duplicate keys). Their exact messages are pinned by the fixture's .err
# file (tests/test_config.py); here `check` runs as the operator runs it.
HOSTILE = ["non_utf8", "utf16", "binary", "bad_port", "bad_ipv6", "deep_nesting", "infinite_interval",
           "duplicate_keys", "alias_bomb", "nul_in_path"]


@pytest.mark.parametrize("name", HOSTILE)
def test_check_rejects_hostile_config_with_located_error_and_exit_2(name):
    path = ROOT / "tests" / "fixtures" / "invalid_configs" / f"{name}.yml"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "exporter", "check", "--config.file", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    expected = path.with_suffix(".err").read_text().splitlines()
    assert proc.stderr.splitlines() == [f"{path}: {len(expected)} problem(s)", *(f"  {line}" for line in expected)]
    assert elapsed < 10, f"check took {elapsed:.1f}s"


def test_run_refuses_alias_bomb_before_probing(tmp_path):
    """`run` loads the config with the same strict loader: it exits 2 naming the bomb."""
    path = ROOT / "tests" / "fixtures" / "invalid_configs" / "alias_bomb.yml"
    proc = subprocess.run([sys.executable, "-m", "exporter", "run", "--config.file", str(path),
                           "--web.listen-address", f"127.0.0.1:{free_port()}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "line 13, column 12: this value expands to more than 1,000,000 nodes" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_strict_yaml_keeps_ordinary_aliases_and_merge_keys():
    from openclaw_schema import yamlfile

    doc = yamlfile.loads("base: &b {interval: 15s, timeout: 5s}\nreadiness:\n  <<: *b\n  timeout: 2s\nlist: [*b, *b]\n")
    assert doc["readiness"] == {"interval": "15s", "timeout": "2s"}
    assert doc["list"] == [{"interval": "15s", "timeout": "5s"}] * 2


@pytest.mark.parametrize("text, error", [
    ("a: &a [1, *a]\n", "line 1, column 4: recursive alias (a value that contains itself)"),
    ("a: 1\n---\nb: 2\n", "expected one YAML document, got 2"),
    ("a: 1\nb: {c: 1, c: 2}\n", "line 2, column 11: duplicate key 'c' (first defined at line 2)"),
    ("a: \x01\n", "line 1, column 4: character U+0001 is not allowed in YAML (control characters: a binary file?)"),
])
def test_strict_yaml_errors_are_located(text, error):
    from openclaw_schema import yamlfile

    with pytest.raises(yamlfile.YAMLFileError) as err:
        yamlfile.loads(text)
    assert str(err.value) == error


def test_secret_file_bounds_name_the_file_never_the_value(tmp_path):
    from exporter.secrets import Redactor, SecretError, SecretRef

    big = tmp_path / "big"
    big.write_text("s3cret-" + "x" * (64 * 1024))
    latin1 = tmp_path / "latin1"
    latin1.write_bytes(b"s3cret-caf\xe9")
    for path, message in ((big, f"secret from file {big} is larger than 64 KiB"),
                          (latin1, f"secret from file {latin1} is not UTF-8 text"),
                          (Path("/dev/null"), "cannot read secret from file /dev/null: it is a device, not a regular file")):
        with pytest.raises(SecretError) as err:
            SecretRef(file=str(path)).read(Redactor())
        assert str(err.value) == message
        assert "s3cret" not in str(err.value)


async def test_a_stuck_secret_read_gives_up_without_blocking_the_loop(tmp_path, monkeypatch):
    """A read that hangs in the kernel (a hung network mount) cannot be made here, so a slow
    read is simulated: the probe gets a config_error after the bound, and the loop kept running."""
    from exporter.secrets import Redactor, SecretError, SecretRef
    from support.loop import LoopTurns

    monkeypatch.setattr(SecretRef, "_read_file", lambda self: time.sleep(3) or "never")
    started = time.monotonic()
    with LoopTurns(0.01) as ticks, pytest.raises(SecretError) as err:
        await SecretRef(file=str(tmp_path / "token")).aread(Redactor(), timeout=0.3)
    assert str(err.value) == f"reading secret from file {tmp_path / 'token'} took longer than 0.3s"
    assert time.monotonic() - started < 1.0
    assert ticks.count >= 10  # the event loop ran throughout
