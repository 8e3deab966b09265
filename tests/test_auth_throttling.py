"""Auth rejections never read as timeouts (an outage), whatever the process remembers and
however loaded the machine is.

The real gateway throttles repeated wrong tokens: it answers `connect` after 0.25, 0.5, 1, 2,
4, then 5 s. A probe with a shorter timeout sees no answer. Against the REAL gateway (the
session's shared one, handed back unthrottled), already throttling: a freshly started exporter
process, the one-shot `probe` command, and both again under a CPU burner on both cores, each
with a token it never used before, must say `auth_failed`.
Scripted servers below only for what the real gateway cannot be made to do (stay alive and
never answer a token it accepted before).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from support.daemons import exporter, running
from ports import free_port
from openclaw_schema import names as c
from exporter.probes import gateway_client
from exporter.probes.gateway_client import AuthMemory
from exporterhelpers import parse_samples
from fakegateway import Recorder, fake_gateway, hello_ok, send_challenge
from probehelpers import config_for, probe_once
from slohelpers import ROOT

PROBE_TIMEOUT = "1500ms"


async def _wrong_connect(ws_url: str, token: str, wait: float) -> float | None:
    """One connect with a wrong token; seconds until the gateway answered, None if not within `wait`."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url) as ws:
            await ws.receive()  # connect.challenge
            await ws.send_json({"type": "req", "id": "c1", "method": "connect", "params": {
                "minProtocol": 4, "maxProtocol": 4, "role": "operator", "scopes": ["operator.read"],
                "client": {"id": "gateway-client", "version": "test", "platform": "linux", "mode": "backend"},
                "auth": {"token": token}}})
            start = time.monotonic()
            try:
                async with asyncio.timeout(wait):
                    msg = await ws.receive()
            except TimeoutError:
                return None
            assert "AUTH_TOKEN_MISMATCH" in msg.data
            return time.monotonic() - start


def throttle(gw) -> None:
    """Wrong tokens until the gateway holds its answers back for 2 s or more (about 4 s)."""
    ws_url = gw.url.replace("http://", "ws://") + "/"
    for i in range(8):
        took = asyncio.run(_wrong_connect(ws_url, f"warm-up-wrong-token-{i}", wait=2.1))
        if took is None or took >= 1.9:
            return
    raise AssertionError("the gateway never started throttling wrong tokens")


@pytest.fixture(scope="module")
def throttling_gateway(real_gateway, gateway_token, tmp_path_factory):
    """The shared real gateway; this module throttles it, and hands it back unthrottled (the
    right token once ends the throttling) so later tests' wrong-token probes are not slowed."""
    yield real_gateway
    tmp = tmp_path_factory.mktemp("unthrottle")
    proc = run_probe_command(real_gateway, tmp, gateway_token, tmp / "state", timeout="6s")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@contextmanager
def cpu_burner(n: int = 2):
    """Busy loops on both cores, stopped by pid whatever happens."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.3)
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def write_config(tmp_path: Path, url: str, timeout: str = PROBE_TIMEOUT) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "exporter.yml"
    path.write_text(f"targets:\n  - name: gw\n    url: {url}\n    token_env: GW_TOKEN\n"
                    f"    readiness: {{enabled: false}}\n"
                    f"    websocket: {{interval: {timeout}, timeout: {timeout}}}\n")
    return path


def env_with(token: str, state_dir: Path) -> dict[str, str]:
    return {**os.environ, "GW_TOKEN": token, "OPENCLAW_EXPORTER_STATE_DIR": str(state_dir)}


def run_probe_command(gw, tmp_path: Path, token: str, state_dir: Path, timeout: str = PROBE_TIMEOUT):
    return subprocess.run([sys.executable, "-m", "exporter", "probe", "--config.file",
                           str(write_config(tmp_path, gw.url, timeout)), "--module", "websocket"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env_with(token, state_dir))


def probe_command(gw, tmp_path: Path, token: str) -> None:
    state_dir = tmp_path / "probe-state"  # fresh: nothing remembered from before
    proc = run_probe_command(gw, tmp_path, token, state_dir)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = proc.stdout.splitlines()[1]
    assert row.split()[:3] == ["gw", "websocket", "auth_failed"], proc.stdout
    assert "throttles repeated failed authentication" in row
    assert token not in proc.stdout + proc.stderr
    assert not any(token in p.read_text() for p in state_dir.glob("*"))


def fresh_exporter(gw, tmp_path: Path, token: str, probes: int = 2) -> None:
    state_dir = tmp_path / "run-state"
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with running(exporter(tmp_path, port, write_config(tmp_path, gw.url), env=env_with(token, state_dir)),
                 timeout=40) as daemon:
        deadline = time.monotonic() + 40
        results: dict[str, float] = {}
        while time.monotonic() < deadline:
            assert daemon.proc is not None and daemon.proc.poll() is None, daemon.log()
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                time.sleep(0.2)
                continue
            results = {dict(labels)["result"]: v for (name, labels), v in parse_samples(text).items()
                       if name == c.PROBE_ATTEMPTS_TOTAL and dict(labels).get("module") == "websocket" and v > 0}
            if sum(results.values()) >= probes:
                break
            time.sleep(0.2)
        assert results == {"auth_failed": results.get("auth_failed")} and results["auth_failed"] >= probes, results
        assert token not in text + daemon.log_path.read_text()


def test_probe_command_reads_a_throttled_wrong_token_as_auth_failed(throttling_gateway, tmp_path):
    throttle(throttling_gateway)
    probe_command(throttling_gateway, tmp_path, "wrong-token-probe-command")


def test_freshly_started_exporter_reads_a_throttled_wrong_token_as_auth_failed(throttling_gateway, tmp_path):
    throttle(throttling_gateway)
    fresh_exporter(throttling_gateway, tmp_path, "wrong-token-fresh-exporter")


def test_under_cpu_load_too(throttling_gateway, tmp_path):
    throttle(throttling_gateway)
    with cpu_burner(2):
        probe_command(throttling_gateway, tmp_path / "a", "wrong-token-probe-under-load")
        fresh_exporter(throttling_gateway, tmp_path / "b", "wrong-token-exporter-under-load")


def test_a_rejection_seen_by_one_process_is_known_to_the_next(real_gateway, gateway_token, tmp_path):
    """The shared gateway, not yet throttling this token: the first `probe` sees the real
    AUTH_TOKEN_MISMATCH; the next one, a new process with a timeout shorter than the (now
    throttled) answer, knows from the persisted digest that this token was rejected."""
    state_dir, token = tmp_path / "state", "wrong-token-seen-twice"
    try:
        first = run_probe_command(real_gateway, tmp_path, token, state_dir, timeout="6s")
        assert "AUTH_TOKEN_MISMATCH" in first.stdout, first.stdout + first.stderr
        saved = (state_dir / "auth-digests.json").read_text()
        assert token not in saved and len(json.loads(saved)["targets"]["gw"]["rejected"]) == 1
        second = run_probe_command(real_gateway, tmp_path, token, state_dir, timeout="200ms")
        row = second.stdout.splitlines()[1]
        assert row.split()[:3] == ["gw", "websocket", "auth_failed"], second.stdout + second.stderr
        assert "the gateway rejected this token before" in row
    finally:  # the right token ends the throttling, for the tests after this one
        run_probe_command(real_gateway, tmp_path, gateway_token, tmp_path / "other-state", timeout="6s")


@pytest.fixture
def memory(prober_state, tmp_path):
    mem = AuthMemory(str(tmp_path / "auth.json"))
    prober_state.auth = mem
    return mem


def holding_back(answer_first: bool):
    """A live gateway (it reads the connection, so it answers pings) that answers `connect` the
    first time if asked to, and from then on never."""
    calls = {"n": 0}

    async def behaviour(ws, rec: Recorder):
        await send_challenge(ws)
        req = await rec.next_request(ws)
        calls["n"] += 1
        if answer_first and calls["n"] == 1:
            await ws.send_json(hello_ok(req["id"]))
            req = await rec.next_request(ws)
            await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {}})
            return
        async for _ in ws:  # alive and reading (pings are answered), never answering connect
            pass
    return behaviour


async def test_silence_for_a_token_accepted_before_is_a_timeout_not_masked(memory, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", "token-this-gateway-knows")
    async with fake_gateway(holding_back(answer_first=True)) as (url, _):
        config = config_for(url, token_env="GW_TOKEN", websocket={"timeout": "700ms"})
        assert (await probe_once(config, "websocket")).result == "success"
        outcome = await probe_once(config, "websocket")
    assert (outcome.result, outcome.timeout_phase) == ("timeout", "handshake"), outcome.message


async def test_alive_gateway_silent_to_a_never_accepted_token_is_auth_failed(memory, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", "token-never-seen-by-this-gateway")
    async with fake_gateway(holding_back(answer_first=False)) as (url, _):
        outcome = await probe_once(config_for(url, token_env="GW_TOKEN", websocket={"timeout": "700ms"}), "websocket")
    assert outcome.result == "auth_failed", outcome.message
    assert "answered a ping at once" in outcome.message and "never accepted" in outcome.message


async def test_the_runner_deadline_asks_the_same_question(memory, monkeypatch):
    """Even if the loop is so late that the runner's deadline fires before the client's early
    stop, the classification is the same: it never depends on which timer runs first."""
    monkeypatch.setattr(gateway_client, "MIN_STOP_MARGIN", -10.0)  # the early stop never comes first,
    monkeypatch.setattr(gateway_client, "LAG_FACTOR", 0.0)  # not even by a margin from measured lag
    monkeypatch.setenv("GW_TOKEN", "token-rejected-before")
    memory.rejected("gw", "token-rejected-before")
    async with fake_gateway(holding_back(answer_first=False)) as (url, _):
        outcome = await probe_once(config_for(url, token_env="GW_TOKEN", websocket={"timeout": "500ms"}), "websocket")
    assert outcome.result == "auth_failed", outcome.message
    assert "rejected this token before" in outcome.message


async def test_an_early_stop_just_before_the_deadline_is_not_lost_to_a_slow_close(memory, monkeypatch):
    """The early stop ends the handshake a few ms before the runner's deadline; closing the
    socket then must not wait for a gateway that does not answer the close frame, or the
    deadline fires in the close and the verdict reads as a timeout."""
    monkeypatch.setattr(gateway_client, "MIN_STOP_MARGIN", 0.005)
    monkeypatch.setattr(gateway_client, "LAG_FACTOR", 0.0)
    monkeypatch.setenv("GW_TOKEN", "token-rejected-before-deaf")
    memory.rejected("gw", "token-rejected-before-deaf")

    async def deaf(ws, rec):  # reads `connect`, then nothing: a close frame is never answered
        await send_challenge(ws)
        await rec.next_request(ws)
        await asyncio.sleep(5)

    for _ in range(3):
        async with fake_gateway(deaf) as (url, _):
            outcome = await probe_once(config_for(url, token_env="GW_TOKEN", websocket={"timeout": "400ms"}), "websocket")
        assert outcome.result == "auth_failed", outcome.message
        assert any("early stop" in line for line in outcome.logs), outcome.logs


async def test_the_early_stop_margin_grows_with_measured_loop_lag(memory, monkeypatch):
    """A loop that runs 60 ms late: a fixed 20 ms margin would lose the race to the runner's
    deadline; the early stop measures the lag and stops earlier, by more than the lag."""
    monkeypatch.setenv("GW_TOKEN", "token-rejected-before-lag")
    memory.rejected("gw", "token-rejected-before-lag")
    stop = asyncio.Event()

    async def hog():  # stands in for a loaded machine: the loop is blocked 60 ms at a time
        while not stop.is_set():
            time.sleep(0.06)
            await asyncio.sleep(0.005)

    async with fake_gateway(holding_back(answer_first=False)) as (url, _):
        hogger = asyncio.create_task(hog())
        try:
            outcome = await probe_once(config_for(url, token_env="GW_TOKEN", websocket={"timeout": "1500ms"}), "websocket")
        finally:
            stop.set()
            await hogger
    assert outcome.result == "auth_failed", outcome.message
    stop_line = [line for line in outcome.logs if "early stop" in line]
    assert stop_line, outcome.logs
    fields = dict(kv.split("=") for kv in stop_line[0].split() if "=" in kv)
    lag, margin = float(fields["loop_lag_ms"]), float(fields["margin_ms"])
    # The lag seen is how far a 60 ms block overran a wait slice (0-60 ms): well above zero.
    assert lag >= 15 and margin == pytest.approx(4 * lag, abs=0.5) and margin > 50


def test_digests_survive_a_restart_and_never_hold_the_token(tmp_path):
    path = str(tmp_path / "state" / "auth.json")
    first = AuthMemory(path, create_dir=True)
    assert first.rejected("gw", "secret-token-a") and first.accepted("gw", "secret-token-b")
    first.write(*first.snapshot())
    text = Path(path).read_text()
    assert "secret-token" not in text
    assert os.stat(path).st_mode & 0o777 == 0o600
    second = AuthMemory(path)
    assert second.was_rejected("gw", "secret-token-a") and second.was_accepted("gw", "secret-token-b")
    assert not second.was_rejected("gw", "secret-token-c") and not second.was_rejected("other", "secret-token-a")
    assert json.loads(text)["targets"]["gw"]["rejected"] == [second.digest("secret-token-a")]
    # A garbled file is ignored (logged), never fatal.
    Path(path).write_text("{not json")
    assert not AuthMemory(path).was_rejected("gw", "secret-token-a")
