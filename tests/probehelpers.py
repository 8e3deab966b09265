"""Build configs and run single probes the way the exporter does."""

from __future__ import annotations

from typing import Any

from exporter.config import Config, parse_config
from exporter.http_client import make_session
from exporter.probes.base import ProbeOutcome
from exporter.probes.prober_state import ProberState
from exporter.runner import run_probe
from exporter.secrets import Redactor


def config_for(url: str, **target: Any) -> Config:
    doc: dict[str, Any] = {"targets": [{"name": "gw", "url": url, **target}]}
    return parse_config(doc)


# What one exporter keeps between runs, for the test running now: conftest's autouse
# `prober_state` fixture sets a fresh one per test, so probe_once calls of one test share a
# budget and an auth memory as an exporter's runs do, and tests never share them.
PROBER_STATE: ProberState | None = None


async def probe_once(config: Config, module: str, redactor: Redactor | None = None,
                     prober_state: ProberState | None = None) -> ProbeOutcome:
    target = config.targets[0]
    state = prober_state or PROBER_STATE or ProberState()
    session = make_session()
    try:
        return await run_probe(target, target.modules[module], redactor or Redactor(), session, state)
    finally:
        await session.close()
        await state.provider_clients.aclose()  # bound to this test's event loop


def gauges(outcome: ProbeOutcome) -> dict[tuple[str, tuple], float]:
    return {(g.name, g.labels): g.value for g in outcome.gauges}
