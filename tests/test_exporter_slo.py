"""The exporter's SLO side: exact threshold counters for latency SLOs, the live error budget on
/metrics (and in its SQLite file across restarts); `openclaw-exporter generate --check`: tests/test_generate.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import wait_for
from openclaw_schema import names as c
from exporterhelpers import running_exporter, value
from fakegateway import fake_gateway, handshake
from openclaw_schema.names import threshold_label

ROOT = Path(__file__).resolve().parent.parent


async def _healthy(ws, rec):
    # Scripted peer: probing it a few times a second is all this test needs from a gateway.
    await handshake(ws, rec)
    req = await rec.next_request(ws)
    await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"ok": True}})


async def test_live_budget_and_threshold_counters(tmp_path, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", "slo-test-token")
    state_file = tmp_path / "slo.sqlite"
    async with fake_gateway(_healthy) as (url, _):
        doc = {"targets": [{"name": "gw", "url": url, "token_env": "GW_TOKEN",
                            "readiness": {"enabled": False},
                            "websocket": {"interval": "200ms", "timeout": "200ms"}}],
               "slo": {"state_file": str(state_file), "flush_interval": "1s"}}
        async with running_exporter(doc, tmp_path) as ex:
            labels = {"target": "gw", "module": "websocket", "phase": "handshake", "threshold_seconds": threshold_label(0.25)}

            async def budget_visible():
                s = await ex.samples()
                return (value(s, c.SLO_SLI_RATIO, slo="websocket-availability", window="5m") == 1.0
                        and value(s, c.SLO_BUDGET_REMAINING, slo="websocket-availability") == 1.0
                        and (value(s, c.PROBE_LATENCY_GOOD_TOTAL, **labels) or 0) >= 3)
            await wait_for(budget_visible, timeout=15)
            s = await ex.samples()
            assert value(s, c.SLO_OBJECTIVE, slo="websocket-availability") == 0.999
            assert value(s, c.SLO_BURN_RATE, slo="websocket-availability", window="1h") == 0.0
            # No readiness probes ran: that SLO has no SLI rather than a made-up 100 %.
            assert value(s, c.SLO_SLI_RATIO, slo="readiness-availability", window="5m") is None

            def flushed():
                with sqlite3.connect(state_file) as db:
                    return db.execute("SELECT SUM(total) FROM slo_buckets WHERE slo = 'websocket-availability'").fetchone()[0]
            await wait_for(flushed, timeout=5)

            # The status page shows the same live budget, one row per tracked SLO.
            status, body = await ex.get("/api/status")
            rows = {r["name"]: r for r in __import__("json").loads(body)["slos"]["rows"]}
            # The model SLO is opt-in (the shipped config runs no model probe): not tracked.
            assert status == 200 and set(rows) == {"websocket-availability", "readiness-availability",
                                                   "websocket-handshake-latency"}
            ws = rows["websocket-availability"]
            assert (ws["objective"], ws["window"], ws["budget_remaining"], ws["burn_rate"]) == (0.999, "30d", 1.0, 0.0)
            assert ws["time_to_exhaustion_seconds"] is None  # not burning
