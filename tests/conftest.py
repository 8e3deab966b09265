"""Shared fixtures: the real OpenClaw gateway, free ports, and an in-process exporter."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest

from gateway import Gateway
from ports import free_port  # noqa: F401 - for tests that still import it from here
from support.tools import require_gateway

# tests/, scripts/, bench/ and the checkout are importable by pyproject's [tool.pytest.ini_options] pythonpath.
ROOT = Path(__file__).resolve().parent.parent


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
    require_gateway()
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


@pytest.fixture
async def api():
    """The local Kubernetes API server (tests/kube_api_server.py), started and stopped around a test."""
    from kube_api_server import FakeKubeApi

    server = FakeKubeApi()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
