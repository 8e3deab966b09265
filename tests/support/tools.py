"""A tool the tests need that is not installed: a failure under CI, else a skip that names the
tool and how to install it. Never a silent skip: CI must run every test, and a developer's
summary line says what did not run and why."""

from __future__ import annotations

import os
import shutil

import pytest

# Tool -> how to install it (the Makefile's deps targets install them all).
INSTALL = {
    "promtool": "apt-get install prometheus (make deps-debian)",
    "prometheus": "apt-get install prometheus (make deps-debian)",
    "prometheus-alertmanager": "apt-get install prometheus-alertmanager (make deps-debian)",
    "amtool": "apt-get install prometheus-alertmanager (make deps-debian)",
    "chromium": "apt-get install chromium (make deps-debian)",
    "ip": "apt-get install iproute2 (make deps-debian)",
    "make": "apt-get install make",
    "kubectl": "install kubectl (its built-in kustomize builds deploy/): https://kubernetes.io/docs/tasks/tools/",
    "openclaw gateway": "scripts/install-gateway.sh (make deps-gateway)",
}


def in_ci() -> bool:
    """CI=1 (set by .ci/run; GitHub Actions and most CI systems set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str, how: str) -> None:
    """Stop the test: something it needs is not here. Fails under CI, skips elsewhere; both say
    what is missing and how to get it."""
    message = f"{what} is missing: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI is set: a missing tool fails the run)", pytrace=False)
    pytest.skip(message)


def require(tool: str, how: str | None = None) -> str:
    """The tool's path; see missing() when it is not on PATH."""
    path = shutil.which(tool)
    if path is None:
        missing(f"the `{tool}` command", how or INSTALL.get(tool, f"install {tool}"))
    assert path is not None
    return path


def require_gateway() -> str:
    """The real OpenClaw gateway from npm (scripts/gateway.py finds it)."""
    from gateway import gateway_bin

    path = gateway_bin()
    if path is None:
        missing("the real OpenClaw gateway", INSTALL["openclaw gateway"])
    assert path is not None
    return path
