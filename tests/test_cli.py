"""`openclaw-exporter probe`: the on-call's "is it really down?" command, against the real gateway."""

from __future__ import annotations

import json
import subprocess
import sys

from ports import free_port


def run_cli(*args: str, env_token: str | None = None, tmp_path=None) -> subprocess.CompletedProcess:
    import os
    env = dict(os.environ)
    if env_token is not None:
        env["GW_TOKEN"] = env_token
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True, env=env, timeout=60)


def write_config(tmp_path, url: str) -> str:
    path = tmp_path / "exporter.yml"
    path.write_text(f"targets:\n  - name: gw\n    url: {url}\n    token_env: GW_TOKEN\n")
    return str(path)


def test_probe_websocket_prints_phases_and_succeeds(real_gateway, gateway_token, tmp_path):
    proc = run_cli("probe", "--config.file", write_config(tmp_path, real_gateway.url), "--module", "websocket",
                   env_token=gateway_token)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header, row = proc.stdout.splitlines()[:2]
    assert header.split()[:4] == ["TARGET", "MODULE", "RESULT", "TOTAL"]
    assert row.split()[:3] == ["gw", "websocket", "success"]
    for phase in ("connect=", "challenge=", "handshake=", "rpc="):
        assert phase in row
    assert gateway_token not in proc.stdout + proc.stderr


def test_probe_wrong_token_says_auth_failed_and_exits_1(real_gateway, tmp_path):
    proc = run_cli("probe", "--config.file", write_config(tmp_path, real_gateway.url), "--module", "websocket",
                   env_token="not-the-gateway-token")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[1].split()[:3] == ["gw", "websocket", "auth_failed"]
    assert "not-the-gateway-token" not in proc.stdout + proc.stderr


def test_probe_json_output_for_every_enabled_module(real_gateway, gateway_token, tmp_path):
    proc = run_cli("probe", "--config.file", write_config(tmp_path, real_gateway.url), "--json", env_token=gateway_token)
    assert proc.returncode == 0, proc.stderr
    results = {r["module"]: r for r in json.loads(proc.stdout)}
    assert set(results) == {"readiness", "websocket"}
    assert results["readiness"]["result"] == "success"
    assert {"connect", "first_byte", "total"} <= set(results["readiness"]["phases_seconds"])


def test_probe_down_gateway_exits_1_with_refused(tmp_path):
    proc = run_cli("probe", "--config.file", write_config(tmp_path, f"http://127.0.0.1:{free_port()}"), env_token="x-token")
    assert proc.returncode == 1
    assert [line.split()[2] for line in proc.stdout.splitlines()[1:]] == ["refused", "refused"]
