"""The WebSocket probe: the gateway's real protocol v4 handshake and one RPC round trip.

An HTTP 200 on /readyz does not prove the gateway accepts a client; this probe is a client.
Phases: connect (TCP + upgrade), challenge, handshake (connect -> hello-ok), rpc, total.

Sample exposition::

    openclaw_gateway_info{protocol="4",target="gateway",version="2026.9.6"} 1.0
    openclaw_gateway_plugins_loaded{target="gateway"} 14.0
    openclaw_gateway_plugin_errors{target="gateway"} 0.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.fields import Field, positive
from exporter.probes import gateway_client
from exporter.probes.base import COMMON_RESULTS, Prober, ProbeRun
from exporter.probes.gateway_client import GatewayClient
from openclaw_schema import names as c

# Client ids and modes the protocol schema (@openclaw/gateway-protocol) accepts.
CLIENT_MODES = ("webchat", "cli", "ui", "backend", "node", "worker", "probe", "test")


@dataclass(frozen=True)
class WebSocketSettings:
    client_id: str
    client_mode: str
    scopes: tuple[str, ...]
    rpc_method: str
    rpc_params: dict
    challenge_timeout: float
    max_frame_bytes: int


FIELDS = {
    # gateway-client/backend with the shared token gets operator.read on loopback without
    # device pairing (observed against 2026.9.6); other ids may have their scopes stripped.
    "client_id": Field("str", "gateway-client"),
    "client_mode": Field("str", "backend", choices=CLIENT_MODES),
    "scopes": Field("str_list", ("operator.read",)),
    "rpc_method": Field("str", "health"),
    "rpc_params": Field("mapping", {}),
    "challenge_timeout": Field("duration", 2.0, check=positive),
    "max_frame_bytes": Field("int", 4 << 20, check=positive),
}


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


async def probe(target: Any, settings: WebSocketSettings, run: ProbeRun) -> None:
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
    fields=FIELDS,
    build_settings=lambda v: WebSocketSettings(**v),
    phases=("connect", "challenge", "handshake", "rpc", "total"),
    results=tuple(dict.fromkeys(COMMON_RESULTS + gateway_client.RESULTS)),
)
