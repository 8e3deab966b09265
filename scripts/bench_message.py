"""Measure what one message-probe turn costs: the gateway's overhead per turn (warm and cold)
and the exporter's own CPU per probe, against the real gateway and the stub provider.

The stub provider runs in its own process (so its CPU is not the exporter's) and answers after
``--delay`` seconds; gateway overhead = the turn's time (chat.send -> final) minus that delay.
Exporter CPU = this process's user+system CPU time (getrusage) around each probe run: the
same code path the scheduler runs (exporter/runner.py run_probe). Gateway CPU = the gateway
process group's utime+stime (/proc) around each turn.

    OPENCLAW_CACHE=... python scripts/bench_message.py --warm 20 --idle 65
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gateway import Gateway  # noqa: E402
from ports import free_port  # noqa: E402
from stub_provider import StubProvider  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_group(pgid: int) -> float:
    total = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp) is index 2 after the comm
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


async def _probe(cfg, module_name: str, prober_state):
    from exporter.http_client import make_session
    from exporter.runner import run_probe
    from exporter.secrets import Redactor
    target = cfg.targets[0]
    session = make_session()
    try:
        return await run_probe(target, target.modules[module_name], Redactor(), session, prober_state)
    finally:
        await session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=20, help="warm turns to measure")
    parser.add_argument("--idle", type=float, default=65.0, help="idle seconds before the cold turn")
    parser.add_argument("--delay", type=float, default=0.2, help="the stub provider's answer delay")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-message-")
    stub_port = free_port()
    stub = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "stub_provider.py"), "--port", str(stub_port),
                             "--delay", str(args.delay)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    token = secrets.token_hex(16)
    config = StubProvider(port=stub_port).gateway_config()  # the config only; this process serves nothing
    gw = Gateway(free_port(), token, home=os.path.join(work, "home"), config=config)
    os.environ["BENCH_GATEWAY_TOKEN"] = token
    os.environ.setdefault("OPENCLAW_EXPORTER_STATE_DIR", work)
    try:
        gw.start()
        from exporter.config import parse_config
        from exporter.probes.prober_state import ProberState
        kept = ProberState()  # one exporter's memory across the turns (warm/cold, the cap file)
        kept.message.cap_file = os.path.join(work, "cap.json")
        cfg = parse_config({"targets": [{"name": "gw", "url": gw.url, "token_env": "BENCH_GATEWAY_TOKEN",
                                         "message": {"daily_cap": 10000, "timeout": "30s"}}]})
        assert gw.proc is not None
        rows: dict[str, list[tuple[float, float, float]]] = {"warm": [], "cold": []}

        def turn() -> None:
            cpu, gcpu = _cpu_self(), _cpu_group(gw.proc.pid)
            outcome = asyncio.run(_probe(cfg, "message", kept))
            cpu, gcpu = _cpu_self() - cpu, _cpu_group(gw.proc.pid) - gcpu
            if outcome.result != "success":
                raise SystemExit(f"probe failed: {outcome.result} {outcome.message}")
            kind = "warm" if "warm" in outcome.phases else "cold"
            rows[kind].append((outcome.phases[kind] - args.delay, cpu, gcpu))

        turn()  # the first turn after the gateway starts: cold
        for _ in range(args.warm):
            turn()
        time.sleep(args.idle)
        turn()  # after the idle gap: cold again

        def summary(kind: str) -> dict:
            overhead = [r[0] for r in rows[kind]]
            return {"turns": len(overhead),
                    "gateway_overhead_median_s": round(statistics.median(overhead), 3),
                    "gateway_overhead_max_s": round(max(overhead), 3),
                    "exporter_cpu_per_probe_ms": round(1000 * statistics.median(r[1] for r in rows[kind]), 1),
                    "gateway_cpu_per_turn_s": round(statistics.median(r[2] for r in rows[kind]), 2)}
        print(json.dumps({"stub_delay_s": args.delay, "warm": summary("warm"), "cold": summary("cold")}, indent=2))
    finally:
        gw.stop()
        os.killpg(stub.pid, signal.SIGTERM)
        stub.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
