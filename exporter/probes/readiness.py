"""The readiness probe: GET the gateway's /readyz and read what its body says.

The real gateway answers unknown paths with its HTML control UI and status 200, so a 200 is
not enough: the body must be the readiness JSON. Fields the body lacks (remote callers only
get ``ok``/``status``) are left out of /metrics, never reported as 0.

Sample exposition::

    openclaw_gateway_ready{target="gateway"} 1.0
    openclaw_gateway_readiness_failing{subsystem="plugin-reload",target="gateway"} 1.0
    openclaw_gateway_event_loop_delay_p99_seconds{target="gateway"} 0.0206
"""

from __future__ import annotations

import json
from typing import Any

from exporter.http_client import USER_AGENT
from exporter.probes import http_get
from exporter.probes.base import COMMON_RESULTS, ProbeFailure, Prober, ProbeRun
from exporter.settings.modules import ReadinessSettings
from exporter.settings.resolved import TargetConfig
from openclaw_schema import names as c

MAX_BODY_BYTES = 1 << 20
# This prober's failure reasons, besides the common ones.
RESULTS = COMMON_RESULTS + ("invalid_body", "http_error", "not_ready", "redirect")


# Body field -> (metric, scale to base units)
_NUMBERS = {
    ("eventLoop", "delayP99Ms"): (c.GATEWAY_EVENT_LOOP_DELAY_P99, 0.001),
    ("eventLoop", "delayMaxMs"): (c.GATEWAY_EVENT_LOOP_DELAY_MAX, 0.001),
    ("eventLoop", "utilization"): (c.GATEWAY_EVENT_LOOP_UTILIZATION, 1.0),
    ("eventLoop", "cpuCoreRatio"): (c.GATEWAY_CPU_CORE_RATIO, 1.0),
    ("uptimeMs",): (c.GATEWAY_UPTIME, 0.001),
}


def _dig(body: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = body
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _record_body(run: ProbeRun, body: dict[str, Any]) -> None:
    ready = body.get("ready", body.get("ok"))
    if isinstance(ready, bool):
        run.gauge(c.GATEWAY_READY, 1.0 if ready else 0.0)
    failing = body.get("failing")
    if isinstance(failing, list):
        for name in failing:
            if isinstance(name, str) and name:
                run.gauge(c.GATEWAY_READINESS_FAILING,
                          1.0, **{c.LABEL_SUBSYSTEM: name[:120]})
    # The flat `eventLoop` fields moved in and out of the body across releases; read each
    # one independently so a missing field is simply absent.
    for keys, (metric, scale) in _NUMBERS.items():
        value = _number(_dig(body, keys))
        if value is not None:
            run.gauge(metric, value * scale)


async def probe(target: TargetConfig, settings: ReadinessSettings, run: ProbeRun) -> None:
    url = target.http_url.rstrip("/") + settings.path
    # Accept what kubelet and most clients send: a JSON-only Accept makes the gateway answer
    # unknown paths with 404, hiding the HTML-with-200 trap a plain client falls into.
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.1"}
    if settings.send_token and target.token is not None:
        headers["Authorization"] = "Bearer " + await target.token.aread(run.redactor)
    run.log("GET", url=url)
    resp = await http_get.get(url, headers, run, ssl_setting=target.ssl_context, max_body=MAX_BODY_BYTES)
    raw, ctype = resp.body, resp.headers.get("content-type", "")
    run.log("response", status=resp.status, content_type=ctype.split(";")[0], bytes=len(raw))
    if resp.status in http_get.REDIRECTS:
        # Never followed: the token would go along to wherever the Location points.
        where = http_get.redirect_origin(url, resp.headers.get("location", ""))
        raise ProbeFailure("redirect", f"HTTP {resp.status} redirect to {where}; redirects are never followed "
                           f"(the token would go along): set the target's url to where {settings.path} is served")
    body: Any = None
    if "json" in ctype.lower():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ProbeFailure("invalid_body", f"status {resp.status} with invalid JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("ready", body.get("ok")), bool):
        if resp.status not in (200, 503):
            raise ProbeFailure("http_error", f"unexpected HTTP status {resp.status}")
        what = ctype.split(";")[0] or "no content type"
        raise ProbeFailure("invalid_body", f"status {resp.status} but the body is not readiness JSON ({what})")
    _record_body(run, body)
    ready = body.get("ready", body.get("ok"))
    if resp.status == 503 or ready is False:
        failing = [f for f in body.get("failing", []) if isinstance(f, str)] if isinstance(body.get("failing"), list) else []
        reason = f"failing: {', '.join(failing)}" if failing else f"status {body.get('status', 'not ready')}"
        raise ProbeFailure("not_ready", f"gateway not ready ({reason})")
    if resp.status != 200:
        raise ProbeFailure("http_error", f"unexpected HTTP status {resp.status}")
    run.log("ready")


PROBER = Prober(
    name="readiness",
    run=probe,
    phases=("connect", "first_byte", "total"),
    results=RESULTS,
)
