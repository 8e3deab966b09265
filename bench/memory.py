"""Where the exporter's memory goes before it probes anything: RSS after each layer of imports.

Each run is a fresh interpreter that imports the layers in the order ``exporter run`` loads
them and reads /proc/self/status after each (a layer's figure is what it adds to the ones
above it: a module another layer imported first is counted there). Medians of ``--repeats``
runs. bench/run.py puts the table in docs/benchmarks.md next to the RSS rows, whose growth
per target it divides out.

    python bench/memory.py [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (what the layer is, the modules that load it), in `exporter run`'s order.
LAYERS: list[tuple[str, list[str]]] = [
    ("the interpreter (python3.11, nothing imported)", []),
    ("asyncio and ssl (the standard library's event loop; OpenSSL)", ["asyncio", "ssl"]),
    ("uvloop (the `fast` extra)", ["uvloop"]),
    ("aiohttp (the HTTP server; the model probe's client)", ["aiohttp", "aiohttp.web"]),
    ("prometheus_client (process and GC collectors, exposition formats)", ["prometheus_client"]),
    ("the config's settings (exporter/settings/: plain dataclasses; pydantic validates them in a child process)",
     ["exporter.settings.modules", "exporter.settings.resolved"]),
    ("the probers (exporter/probes/, with httptools)", ["exporter.probes"]),
    ("the rest of the exporter (scheduler, state, web, status page, the config loader's parent side)",
     ["exporter.config_child", "exporter.cli", "exporter.app", "exporter.web", "exporter.event_loop", "exporter.logs", "exporter.web_config"]),
]

_CHILD = r"""
import gc, importlib, json, sys
def read():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            out[key] = int(value.split()[0]) * 1024
    return out
layers = json.loads(sys.argv[1])
figures = []
for modules in layers:
    for name in modules:
        importlib.import_module(name)
    gc.collect()
    figures.append(read())
print(json.dumps({"figures": figures, "modules": len(sys.modules)}))
"""


def measure_once() -> tuple[list[dict[str, int]], int]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([m for _, m in LAYERS])],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"import measurement failed: {proc.stderr[-500:]}")
    out = json.loads(proc.stdout)
    return out["figures"], out["modules"]


def measure(repeats: int) -> dict:
    """{"layers": [{"layer", "rss", "anon"} added by each], "total_rss", "total_anon", "modules"}."""
    runs = [measure_once() for _ in range(repeats)]
    layers = []
    for i, (name, _) in enumerate(LAYERS):
        def added(key: str) -> float:
            return statistics.median(figures[i][key] - (figures[i - 1][key] if i else 0) for figures, _ in runs)
        layers.append({"layer": name, "rss": added("VmRSS"), "anon": added("RssAnon")})
    return {"layers": layers, "total_rss": statistics.median(f[-1]["VmRSS"] for f, _ in runs),
            "total_anon": statistics.median(f[-1]["RssAnon"] for f, _ in runs),
            "modules": statistics.median(m for _, m in runs), "repeats": repeats}


def table(result: dict) -> list[str]:
    mb = 2 ** 20
    lines = ["| Layer (in load order) | RSS added | of which anonymous |", "|---|---|---|"]
    for row in result["layers"]:
        lines.append(f"| {row['layer']} | {row['rss'] / mb:.1f} MB | {row['anon'] / mb:.1f} MB |")
    lines.append(f"| **all of `exporter run`'s imports** ({result['modules']:.0f} modules) | "
                 f"**{result['total_rss'] / mb:.1f} MB** | {result['total_anon'] / mb:.1f} MB |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(json.dumps(result) if args.json else "\n".join(table(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
