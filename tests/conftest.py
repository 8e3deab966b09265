"""Shared fixtures: the real OpenClaw gateway, free ports, and an in-process exporter."""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway import Gateway, gateway_bin  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def exporter_state_dir(tmp_path_factory):
    """The exporter's default state dir (auth digests, exporter/probes/gateway_client.py) for
    every exporter the tests start, in-process or not: never the user's home."""
    import os
    path = str(tmp_path_factory.mktemp("exporter-state"))
    os.environ.setdefault("OPENCLAW_EXPORTER_STATE_DIR", path)
    return os.environ["OPENCLAW_EXPORTER_STATE_DIR"]


@pytest.fixture(autouse=True)
def prober_state():
    """What one exporter keeps between probe runs (budgets, auth memory), fresh for each test;
    probehelpers.probe_once uses it."""
    import probehelpers
    from exporter.probes.prober_state import ProberState

    probehelpers.PROBER_STATE = state = ProberState()
    yield state
    probehelpers.PROBER_STATE = None


@pytest.fixture(scope="session")
def gateway_token() -> str:
    # A canary: tests assert this exact string never shows up in any output.
    return "canary-" + secrets.token_hex(16)


@pytest.fixture(scope="session")
def real_gateway(gateway_token, tmp_path_factory):
    """The real gateway from npm, shared by the tests of one session."""
    if gateway_bin() is None:
        pytest.fail("the real OpenClaw gateway is not installed: run scripts/install-gateway.sh (make deps does)")
    gw = Gateway(free_port(), gateway_token, home=str(tmp_path_factory.mktemp("gw-home")))
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until predicate() is truthy; return its value or fail with the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = None
    while loop.time() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
