"""The model probe's three checks: the provider's catalog, the gateway's catalog (models.list)
and the synthetic one-token completion. Each ends in ProbeFailure with its reason, or returns.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from openclaw_schema import names as c
from exporter.probes.base import ProbeFailure, ProbeRun
from exporter.probes.gateway_client import GatewayClient
from exporter.probes.model_budget import TargetState
from exporter.probes.model_provider import MAX_BODY_BYTES, Provider, read_limited
from exporter.settings.modules import WebSocketSettings
from exporter.settings.resolved import TargetConfig

if TYPE_CHECKING:
    import httpx  # imported when a model probe runs: `run` without one never loads it

    from exporter.settings.modules import ModelSettings

# models.list needs operator.read (protocol.schema.json's methods table).
GATEWAY_CATALOG_SCOPES = ("operator.read",)
# The gateway's unavailableReason -> failure reason.
_GATEWAY_UNAVAILABLE = {"missing-auth": "auth_failed", "auth-failed": "auth_failed", "cooldown": "rate_limited"}


# --- check 1: the provider's catalog ---------------------------------------------------------

def listed_ids(body: bytes) -> set[str]:
    """Model ids of an OpenAI-style list: ``{"data": [{"id": ...}, ...]}``."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ProbeFailure("invalid_body", f"catalog: models list is not JSON: {exc}") from None
    items = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ProbeFailure("invalid_body", "catalog: models list without a data array")
    return {item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)}


async def check_catalog(provider: Provider, run: ProbeRun) -> None:
    s = provider.settings
    provider.check_not_postponed("catalog")
    url = f"{s.base_url}/models"
    run.log("GET", url=url)
    with run.phase("catalog"):
        async with provider.client.stream("GET", url, headers=await provider.headers(),
                                          timeout=provider.timeout) as resp:
            body = await read_limited(resp)
    run.log("catalog response", status=resp.status_code, bytes=len(body))
    if resp.status_code != 200:
        raise provider.failure(resp.status_code, resp.headers, body, None, "catalog")
    ids = listed_ids(body)
    missing = [m for m in s.models if m not in ids]
    for model in s.models:
        run.gauge(c.MODEL_AVAILABLE,
                  0.0 if model in missing else 1.0, **{c.LABEL_PROVIDER: provider.name, c.LABEL_MODEL: model})
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise ProbeFailure("model_not_found", f"catalog: model {names} not found in provider {provider.name!r} "
                           f"(its /models lists {len(ids)} model(s))")
    run.log("catalog ok", models=",".join(s.models), listed=len(ids))


# --- check 2: the gateway's catalog ----------------------------------------------------------

def find_gateway_model(models: list[Any], wanted: str) -> dict[str, Any] | None:
    """The entry for ``provider/id`` (or a bare id or alias) in a models.list answer."""
    for entry in models:
        if not isinstance(entry, dict):
            continue
        ident, prov = entry.get("id"), entry.get("provider")
        if wanted in (f"{prov}/{ident}", ident, entry.get("alias")):
            return entry
    return None


async def check_gateway_catalog(target: TargetConfig, settings: ModelSettings, state: TargetState, run: ProbeRun) -> None:
    ws = target.modules.get("websocket")
    if ws is None or not ws.enabled or not isinstance(ws.settings, WebSocketSettings):
        # First time at info level so an operator sees why; afterwards debug only.
        level = logging.DEBUG if state.told_gateway_skip else logging.INFO
        state.told_gateway_skip = True
        run.log("gateway catalog skipped: the target's websocket module is not enabled", level=level)
        return
    wanted = settings.gateway_model
    assert wanted is not None
    client = await GatewayClient.open(target, ws.settings, run, need_scopes=GATEWAY_CATALOG_SCOPES)
    try:
        with run.phase("gateway_catalog"):
            payload = await client.call("models.list", {})
    finally:
        await client.close()
    models = payload.get("models") if isinstance(payload, dict) else None
    if not isinstance(models, list):
        raise ProbeFailure("invalid_body", "gateway catalog: models.list answered without a models array")
    entry = find_gateway_model(models, wanted)
    run.gauge(c.MODEL_GATEWAY_LISTED,
              0.0 if entry is None else 1.0, **{c.LABEL_MODEL: wanted})
    if entry is None:
        prov, _, ident = wanted.rpartition("/")
        where = f"in provider {prov!r}" if prov else "at the gateway"
        shown = ", ".join(f"{m.get('provider')}/{m.get('id')}" for m in models[:5] if isinstance(m, dict))
        listing = f"it lists {len(models)}: {shown}{', ...' if len(models) > 5 else ''}" if models else "it lists no models at all"
        raise ProbeFailure("model_not_found", f"gateway catalog: model {ident!r} not found {where} "
                           f"(default model {wanted!r}; {listing})")
    if entry.get("available") is False:
        why = str(entry.get("unavailableReason") or "unknown")
        raise ProbeFailure(_GATEWAY_UNAVAILABLE.get(why, "model_unavailable"),
                           f"gateway catalog: model {wanted!r} is listed but unavailable ({why})")
    run.log("gateway catalog ok", model=wanted, listed=len(models))


# --- check 3: the synthetic completion -------------------------------------------------------

def _chunk(data: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError:
        raise ProbeFailure("invalid_body", f"completion: stream chunk is not JSON ({len(data)} bytes)") from None
    if not isinstance(doc, dict):
        raise ProbeFailure("invalid_body", "completion: stream chunk is not a JSON object")
    return doc


async def check_completion(provider: Provider, run: ProbeRun) -> None:
    s, state = provider.settings, provider.state
    model = s.completion_model
    assert model is not None
    provider.check_not_postponed("completion")
    # Count the call before making it: concurrent runs (scheduler and /probe) cannot both
    # take the last call of the day, and a call that fails still costs.
    state.calls_today += 1
    state.calls_total += 1
    state.next_completion_at = provider.now() + s.completion_interval
    body = {**dict(s.completion_extra_body), "model": model,
            "messages": [{"role": "user", "content": s.completion_prompt}], "max_tokens": 1, "stream": True}
    url = f"{s.base_url}/chat/completions"
    run.log("POST", url=url, model=model, call_today=state.calls_today)
    headers = {**(await provider.headers()), "Accept": "text/event-stream, application/json"}
    with run.phase("completion"):
        # `first_byte`: from sending the request to the first streamed data event.
        run.current_phase, started = "first_byte", time.perf_counter()
        async with provider.client.stream("POST", url, headers=headers, json=body, timeout=provider.timeout) as resp:
            if resp.status_code != 200:
                raw = await read_limited(resp)
                raise provider.failure(resp.status_code, resp.headers, raw, model, "completion")
            if "text/event-stream" in resp.headers.get("Content-Type", ""):
                chunks = await _read_stream(provider, resp, model, run, started)
            else:  # a provider ignoring stream=true answers one JSON document
                raw = await read_limited(resp)
                run.phases["first_byte"] = time.perf_counter() - started
                _completion_chunk(provider, _chunk(raw.decode("utf-8", "replace")), model)
                chunks = 1
    run.log("completion ok", model=model, chunks=chunks)


async def _read_stream(provider: Provider, resp: httpx.Response, model: str, run: ProbeRun, started: float) -> int:
    """Read server-sent events until [DONE]; returns the number of completion chunks."""
    chunks, size = 0, 0
    async for line in resp.aiter_lines():
        size += len(line)
        if size > MAX_BODY_BYTES:
            raise ProbeFailure("invalid_body", f"completion: stream larger than {MAX_BODY_BYTES} bytes")
        if not line.startswith("data:"):
            continue  # blank separators, comments (": ping"), event:/id: fields
        if "first_byte" not in run.phases:
            run.phases["first_byte"] = time.perf_counter() - started
            run.current_phase = "completion"
        data = line[5:].strip()
        if data == "[DONE]":
            break
        _completion_chunk(provider, _chunk(data), model)
        chunks += 1
    if chunks == 0:
        raise ProbeFailure("invalid_body", "completion: stream ended without a completion chunk")
    return chunks


def _completion_chunk(provider: Provider, doc: dict[str, Any], model: str) -> None:
    if "error" in doc:  # some providers report errors inside a 200 stream
        import httpx

        raise provider.failure(200, httpx.Headers(), json.dumps(doc).encode(), model, "completion")
    if not isinstance(doc.get("choices"), list):
        raise ProbeFailure("invalid_body", "completion: chunk without a choices array")
