"""Runs one probe: the hard timeout, the failure reason and the `total` phase.

Shared by the scheduler, the /probe endpoint and the `probe` command, so all three report
exactly the same results. Nothing a prober raises escapes: every failure becomes a reason.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from exporter.settings.resolved import ModuleConfig, TargetConfig
from openclaw_schema.names import Phase, Result
from exporter.probes import PROBERS
from exporter.probes.base import ProbeFailure, ProbeOutcome, ProbeRun, classify_exception
from exporter.probes.prober_state import ProberState
from exporter.secrets import Redactor, SecretError

log = logging.getLogger("exporter.probe")


async def run_probe(
    target: TargetConfig,
    module: ModuleConfig,
    redactor: Redactor,
    session: aiohttp.ClientSession | None,
    prober_state: ProberState | None = None,
) -> ProbeOutcome:
    """``prober_state``: the owner's (the exporter's, the `probe` command's); without one the run
    keeps nothing for the next and its HTTP clients are closed at its end."""
    if prober_state is None:
        prober_state = ProberState()
        try:
            return await run_probe(target, module, redactor, session, prober_state)
        finally:
            await prober_state.aclose()
    prober = PROBERS[module.name]
    run = ProbeRun(target.name, module.name, redactor, session, prober_state)
    started = time.time()
    result: str = Result.SUCCESS
    message, timeout_phase = "ok", None
    run.deadline = asyncio.get_running_loop().time() + module.timeout
    try:
        async with asyncio.timeout_at(run.deadline):
            await prober.run(target, module.settings, run)
    except ProbeFailure as exc:
        result, message = exc.reason, exc.message
    except SecretError as exc:
        result, message = "config_error", str(exc)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is a counted result, never a crash
        result, message = classify_exception(exc)
        verdict = run.timeout_verdict() if result == "timeout" and run.timeout_verdict is not None else None
        if verdict is not None:  # the prober knows what this silence means (gateway_client.py)
            result, message = verdict
        elif result == "timeout":
            timeout_phase = run.current_phase or Phase.TOTAL
            message = f"timed out after {module.timeout:g}s in phase {timeout_phase}"
        elif result == "error":
            log.warning("probe raised an unexpected error", exc_info=exc,
                        extra={"target": target.name, "probe_module": module.name})
    run.phases[Phase.TOTAL] = run.elapsed()
    message = redactor.redact(message)
    run.log("result", result=result, detail=repr(message))
    return ProbeOutcome(
        target=target.name, module=module.name, result=result, message=message,
        phases=dict(run.phases), started=started, timeout_phase=timeout_phase,
        gauges=run.gauges, logs=run.logs, gateway_pod=target.pod,
    )
