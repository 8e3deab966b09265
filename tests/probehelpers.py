"""Build configs and run single probes the way the exporter does."""

from __future__ import annotations

from typing import Any

from exporter.config import Config, parse_config
from exporter.http_client import make_session
from exporter.probes.base import ProbeOutcome
from exporter.runner import run_probe
from exporter.secrets import Redactor


def config_for(url: str, **target: Any) -> Config:
    doc: dict[str, Any] = {"targets": [{"name": "gw", "url": url, **target}]}
    return parse_config(doc)


async def probe_once(config: Config, module: str, redactor: Redactor | None = None) -> ProbeOutcome:
    target = config.targets[0]
    session = make_session()
    try:
        return await run_probe(target, target.modules[module], redactor or Redactor(), session)
    finally:
        await session.close()


def gauges(outcome: ProbeOutcome) -> dict[tuple[str, tuple], float]:
    return {(g.name, g.labels): g.value for g in outcome.gauges}
