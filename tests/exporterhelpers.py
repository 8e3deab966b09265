"""Run the exporter in-process (config file, scheduler, web app) for end-user style tests."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from ports import free_port
from exporter.app import Exporter
from exporter.web import make_app


class RunningExporter:
    def __init__(self, exporter: Exporter, base: str, config_path: Path) -> None:
        self.exporter = exporter
        self.base = base
        self.config_path = config_path

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as s, s.get(self.base + path) as resp:
            return resp.status, await resp.text()

    async def post(self, path: str, **kwargs: Any) -> tuple[int, str]:
        async with aiohttp.ClientSession() as s, s.post(self.base + path, **kwargs) as resp:
            return resp.status, await resp.text()

    async def samples(self) -> dict[tuple[str, tuple], float]:
        status, text = await self.get("/metrics")
        assert status == 200
        return parse_samples(text)

    def write_config(self, doc: dict[str, Any]) -> None:
        self.config_path.write_text(yaml.safe_dump(doc))


def parse_samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@asynccontextmanager
async def running_exporter(doc: dict[str, Any], tmp_path: Path, enable_lifecycle: bool = True) -> AsyncIterator[RunningExporter]:
    """The exporter serving on loopback; POST /-/reload is on unless ``enable_lifecycle=False``
    (the `run` command's default is off: --web.enable-lifecycle)."""
    config_path = tmp_path / "exporter.yml"
    config_path.write_text(yaml.safe_dump(doc))
    exporter = Exporter(str(config_path), jitter=False)
    await exporter.start()
    runner = web.AppRunner(make_app(exporter, enable_lifecycle), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield RunningExporter(exporter, f"http://127.0.0.1:{port}", config_path)
    finally:
        await exporter.close()
        await runner.cleanup()
