"""Load the config in a child process, so the running exporter never imports pydantic.

Validating the config needs pydantic (~10 MB of RSS: the library and the validators it builds
for the config's models) for a fraction of a second at start and on reload; the settings the
exporter keeps are plain dataclasses (exporter/settings/). ``exporter run`` therefore asks a
short-lived child interpreter to read and validate the file (exporter/config.py, exactly what
``exporter check`` runs) and send back the resolved ``Config``, pickled on its stdout; a config
problem comes back as the same ``ConfigError``. The pipe carries only what the child built from
the file: references to secrets, never their values (a device identity is read again from its
file by the parent: exporter/device.py).

    python -m exporter.config_child <config file>   # what the exporter runs (stdout: a pickle)
"""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from exporter.settings.resolved import Config, ConfigError

# The packages the child imports live beside exporter/ (a source tree, or site-packages).
_ROOT = str(Path(__file__).resolve().parent.parent)
# Generous: the child starts an interpreter and imports pydantic (~0.3 s here, seconds on a
# loaded node), then reads the file and the SLO spec.
TIMEOUT_SECONDS = 120.0


def _command(path: str) -> list[str]:
    return [sys.executable, "-m", "exporter.config_child", path]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _result(path: str, returncode: int, stdout: bytes, stderr: bytes) -> Config:
    if returncode == 0:
        try:
            kind, *payload = pickle.loads(stdout)
        except Exception as exc:  # noqa: BLE001 - a device identity unreadable here, or a loader that printed something else
            raise ConfigError(path, [f"the config loader's answer could not be read: {type(exc).__name__}: {exc}"[:500]]) from None
        if kind == "config":
            return payload[0]
        raise ConfigError(payload[0], payload[1])
    last = stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {returncode}"]
    raise ConfigError(path, [f"the config loader failed: {last[0][:500]}"])


def _timed_out(path: str) -> ConfigError:
    return ConfigError(path, [f"the config loader did not answer within {TIMEOUT_SECONDS:g}s"])


def load_config(path: str) -> Config:
    """``exporter.config.load_config(path)``, run in a child interpreter."""
    try:
        proc = subprocess.run(_command(path), env=_environment(), capture_output=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise _timed_out(path) from None
    return _result(path, proc.returncode, proc.stdout, proc.stderr)


async def aload_config(path: str) -> Config:
    """The same, for a running event loop (a reload): the loop keeps serving while the child works."""
    proc = await asyncio.create_subprocess_exec(*_command(path), env=_environment(), stdin=subprocess.DEVNULL,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise _timed_out(path) from None
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return _result(path, proc.returncode or 0, stdout, stderr)


def main(argv: list[str]) -> int:
    """The child: validate ``argv[0]`` and write the outcome, pickled, to stdout."""
    from exporter.config import load_config as load_here

    answer: tuple[Any, ...]
    try:
        answer = ("config", load_here(argv[0]))
    except ConfigError as err:
        answer = ("problems", err.source, err.problems)
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m exporter.config_child <config file>", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1:]))
