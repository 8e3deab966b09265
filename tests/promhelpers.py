"""Run the real Prometheus (Debian's) on a free loopback port, and query it."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import yaml

from support.daemons import prometheus, running
from ports import free_port
from support.tools import require


def get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:  # 400 bad_data comes with a JSON body
        return json.load(err)


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base
        self.exporter_port = 0  # set by tests that point a scrape job at an exporter

    def query(self, expr: str, at: float | None = None) -> dict:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return get_json(f"{self.base}/api/v1/query?" + urllib.parse.urlencode(params))

    def query_range(self, expr: str, start: float, end: float, step: str) -> dict:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
        return get_json(f"{self.base}/api/v1/query_range?" + urllib.parse.urlencode(params))


@contextmanager
def running_prometheus(work: Path, scrape_configs: list[dict] | None = None) -> Iterator[Prometheus]:
    """Prometheus with its TSDB in ``work/data`` (which may hold backfilled blocks already)."""
    port = free_port()
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": scrape_configs or []}
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    with running(prometheus(work, port, work / "prometheus.yml", "--log.level=warn", data=work / "data"), timeout=30):
        yield Prometheus(f"http://127.0.0.1:{port}")


def backfill(openmetrics: str, work: Path) -> None:
    """Write samples into ``work/data`` as TSDB blocks (promtool), before Prometheus starts."""
    source = work / "samples.om"
    source.write_text(openmetrics)
    done = subprocess.run([require("promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                           str(source), str(work / "data")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
