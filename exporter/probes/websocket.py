"""The WebSocket probe: the gateway's real protocol v4 handshake and one RPC round trip.

An HTTP 200 on /readyz does not prove the gateway accepts a client; this probe is a client.
Phases: connect (TCP + upgrade), challenge, handshake (connect -> hello-ok), rpc, total.

Sample exposition::

    openclaw_gateway_info{protocol="4",target="gateway",version="2026.9.6"} 1.0
    openclaw_gateway_plugins_loaded{target="gateway"} 14.0
    openclaw_gateway_plugin_errors{target="gateway"} 0.0
"""

from __future__ import annotations

from typing import Any

from exporter.probes import gateway_client
from exporter.probes.base import COMMON_RESULTS, Prober, ProbeRun
from exporter.probes.gateway_client import GatewayClient
from exporter.settings.modules import WebSocketSettings
from exporter.settings.resolved import TargetConfig
from openclaw_schema import names as c


def _record_health(run: ProbeRun, payload: Any) -> None:
    plugins = payload.get("plugins") if isinstance(payload, dict) else None
    if not isinstance(plugins, dict):
        return
    if isinstance(plugins.get("loaded"), list):
        run.gauge(c.GATEWAY_PLUGINS_LOADED, len(plugins["loaded"]))
    if isinstance(plugins.get("errors"), list):
        run.gauge(c.GATEWAY_PLUGIN_ERRORS, len(plugins["errors"]))


def needed_scopes(settings: WebSocketSettings) -> tuple[str, ...]:
    """`health` answers a client granted no scopes (observed off loopback against 2026.9.6);
    any other rpc_method is taken to need every scope the module requests."""
    return () if settings.rpc_method == "health" else tuple(settings.scopes)


async def probe(target: TargetConfig, settings: WebSocketSettings, run: ProbeRun) -> None:
    client = await GatewayClient.open(target, settings, run, need_scopes=needed_scopes(settings))
    try:
        hello = client.hello
        assert hello is not None
        run.gauge(c.GATEWAY_INFO, 1.0,
                  version=hello.server_version, protocol=str(hello.protocol if hello.protocol is not None else "unknown"))
        with run.phase("rpc"):
            payload = await client.call(settings.rpc_method, dict(settings.rpc_params))
        run.log("rpc ok", method=settings.rpc_method)
        if settings.rpc_method == "health":
            _record_health(run, payload)
    finally:
        await client.close()


PROBER = Prober(
    name="websocket",
    run=probe,
    phases=("connect", "challenge", "handshake", "rpc", "total"),
    results=tuple(dict.fromkeys(COMMON_RESULTS + gateway_client.RESULTS)),
)
