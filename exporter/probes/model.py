"""The model probe: is the model the gateway depends on still served? (incident 4)

The provider retired ``qwen-plus`` and users found out first: the gateway only logged
``model 'qwen-plus' not found in provider 'bailian'``. Three checks, each enabled on its own:

* ``catalog`` (cheap, on by default): ``GET {base_url}/models`` of the OpenAI-compatible
  provider; every configured model id must be listed.
* ``gateway_catalog`` (on by default): the gateway's ``models.list`` RPC, over the websocket
  module's client and settings, must list the default model. Skipped (logged, not a failure)
  when the target's websocket module is disabled.
* ``completion`` (off by default: it costs money): a streamed one-token chat completion, on
  its own slow interval and under a daily cap on calls.

The module runs on one interval, so the completion's schedule, the daily count and a
provider's 429 Retry-After live in per-target state in this module (memory only: a restart
resets them, a config reload keeps them). The run's result is the first failing check's
reason; its message lists every failing check.

Sample exposition::

    openclaw_model_available{model="qwen3.5-plus",provider="bailian",target="gateway"} 1.0
    openclaw_model_gateway_listed{model="bailian/qwen3.5-plus",target="gateway"} 0.0
    openclaw_model_synthetic_calls_total{model="qwen3.5-plus",provider="bailian",target="gateway"} 7.0
    openclaw_model_synthetic_calls_remaining_today{model="qwen3.5-plus",provider="bailian",target="gateway"} 41.0
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import urlsplit

from exporter import conventions as c
from exporter.fields import Field, positive
from exporter.probes.gateway_client import GatewayClient
from exporter.http_client import USER_AGENT
from exporter.probes import gateway_client
from exporter.probes.base import COMMON_RESULTS, MODEL_BUCKETS, ProbeFailure, Prober, ProbeRun, classify_exception
from exporter.secrets import SecretError, SecretRef

if TYPE_CHECKING:
    import httpx  # imported when a model probe runs: `run` without one skips its import (~30 ms)

MAX_BODY_BYTES = 4 << 20
# This prober's failure reasons: the common ones, the gateway protocol's (its gateway catalog
# check speaks it) and the provider's.
RESULTS = tuple(dict.fromkeys(COMMON_RESULTS + gateway_client.RESULTS + (
    "rate_limited", "model_not_found", "model_unavailable", "server_error", "http_error", "invalid_body")))
# models.list needs operator.read (protocol.schema.json's methods table).
GATEWAY_CATALOG_SCOPES = ("operator.read",)
MAX_RETRY_AFTER = 86400.0  # a provider asking for more than a day is treated as one day
_MODEL_MISSING_CODES = ("model_not_found", "modelnotfound", "model_not_exist", "modelnotexist")
_MODEL_MISSING_TEXT = re.compile(r"model\b.*\b(not exists?|does not exist|not found|no such model)", re.I | re.S)
# The gateway's unavailableReason -> failure reason.
_GATEWAY_UNAVAILABLE = {"missing-auth": "auth_failed", "auth-failed": "auth_failed", "cooldown": "rate_limited"}


def _http_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http(s):// URL, e.g. https://dashscope.aliyuncs.com/compatible-mode/v1"
    if parts.username or parts.password:
        return "must not carry credentials; use api_key_file or api_key_env"
    return None


FIELDS = {
    "provider": Field("str"),
    "base_url": Field("str", check=_http_url),
    "api_key_file": Field("str"),
    "api_key_env": Field("str"),
    "models": Field("str_list", ()),
    "catalog": Field("bool", True),
    "gateway_catalog": Field("bool", True),
    "gateway_model": Field("str"),
    "completion": Field("bool", False),
    "completion_model": Field("str"),
    "completion_interval": Field("duration", 300.0, check=positive),
    "completion_daily_cap": Field("int", 100, check=positive),
    "completion_prompt": Field("str", "Reply with the single word: ok"),
    "completion_extra_body": Field("mapping", {}),
    "tls_ca_file": Field("str"),
}


@dataclass(frozen=True)
class ModelSettings:
    provider: str | None
    base_url: str | None
    api_key: SecretRef | None
    models: tuple[str, ...]
    catalog: bool
    gateway_catalog: bool
    gateway_model: str | None
    completion: bool
    completion_model: str | None
    completion_interval: float
    completion_daily_cap: int
    completion_prompt: str
    completion_extra_body: tuple[tuple[str, Any], ...] = ()
    tls_ca_file: str | None = None  # PEM CA bundle for an https base_url (default: the system's)

    @property
    def catalog_active(self) -> bool:
        return self.catalog and self.base_url is not None

    @property
    def gateway_active(self) -> bool:
        return self.gateway_catalog and self.gateway_model is not None

    @property
    def completion_active(self) -> bool:
        return self.completion and self.base_url is not None and self.completion_model is not None


def build_settings(values: dict[str, Any]) -> ModelSettings:
    problems: list[str] = []
    file, env = values["api_key_file"], values["api_key_env"]
    if file and env:
        problems.append("set only one of api_key_file and api_key_env")
    api_key = SecretRef(file=file, env=env) if (file or env) else None
    provider, base_url, models = values["provider"], values["base_url"], values["models"]
    if base_url and not provider:
        problems.append("provider is required with base_url (the provider's name, used as the provider label, e.g. bailian)")
    if base_url and values["catalog"] and not models:
        problems.append("models must list at least one model id for the catalog check (e.g. [qwen3.5-plus])")
    if (api_key or models) and not base_url:
        problems.append("base_url is required with api_key_*/models (the provider's OpenAI-compatible API, e.g. https://dashscope.aliyuncs.com/compatible-mode/v1)")
    completion_model = values["completion_model"] or (models[0] if models else None)
    if values["completion"] and not (base_url and completion_model):
        problems.append("completion needs base_url and completion_model (or models)")
    gateway_model = values["gateway_model"] or (f"{provider}/{models[0]}" if provider and models else None)
    extra = values["completion_extra_body"] or {}
    clash = sorted(set(extra) & {"model", "messages", "max_tokens", "stream"})
    if clash:
        problems.append(f"completion_extra_body must not set {', '.join(clash)} (the probe sets them)")
    if problems:
        raise ValueError("; ".join(problems))
    return ModelSettings(
        provider=provider, base_url=base_url.rstrip("/") if base_url else None, api_key=api_key,
        models=models, catalog=values["catalog"], gateway_catalog=values["gateway_catalog"],
        gateway_model=gateway_model, completion=values["completion"], completion_model=completion_model,
        completion_interval=values["completion_interval"], completion_daily_cap=values["completion_daily_cap"],
        completion_prompt=values["completion_prompt"],
        completion_extra_body=tuple(sorted(extra.items())),
        tls_ca_file=values["tls_ca_file"],
    )


def check_enabled(settings: ModelSettings) -> list[str]:
    if settings.catalog_active or settings.gateway_active or settings.completion_active:
        return []
    return ["nothing to check: set provider, base_url and models (catalog), gateway_model "
            "(gateway catalog) or completion: true, or set enabled: false"]


# --- per-target state ----------------------------------------------------------------------

@dataclass
class TargetState:
    """What one target's model checks remember between runs (memory only)."""

    day: date | None = None
    calls_today: int = 0
    calls_total: int = 0
    next_completion_at: float = 0.0
    postponed_until: float = 0.0
    told_gateway_skip: bool = False

    def roll_day(self, now: float) -> None:
        today = datetime.fromtimestamp(now, timezone.utc).date()
        if today != self.day:
            self.day, self.calls_today = today, 0


@dataclass
class ModelStates:
    """Per-target state, keyed by target name, so a config reload keeps the daily count (the
    cap protects money). ``clock`` is wall time: the cap's day is the UTC calendar day."""

    clock: Callable[[], float] = time.time
    targets: dict[str, TargetState] = field(default_factory=dict)

    def of(self, target: str) -> TargetState:
        return self.targets.setdefault(target, TargetState())

    def reset(self) -> None:
        self.targets.clear()


STATES = ModelStates()


# --- provider answers ------------------------------------------------------------------------

def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def provider_error(body: bytes) -> tuple[str, str]:
    """(code, message) from an OpenAI-style ``{"error": {...}}`` or DashScope-style body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "", body[:300].decode("utf-8", "replace").strip()
    if not isinstance(doc, dict):
        return "", ""
    err = doc["error"] if isinstance(doc.get("error"), dict) else doc
    code = err.get("code") or err.get("type") or ""
    message = err.get("message") if isinstance(err.get("message"), str) else ""
    if not message and isinstance(doc.get("error"), str):
        message = doc["error"]
    return str(code)[:80], message[:300]


def names_missing_model(code: str, message: str) -> bool:
    return code.lower().replace("-", "_") in _MODEL_MISSING_CODES or bool(_MODEL_MISSING_TEXT.search(message))


class Provider:
    """Calls to one OpenAI-compatible provider during one run, honouring its Retry-After."""

    def __init__(self, client: httpx.AsyncClient, settings: ModelSettings, state: TargetState,
                 run: ProbeRun, now: Callable[[], float]) -> None:
        self.client = client
        self.settings = settings
        self.state = state
        self.run = run
        self.now = now
        self._key: str | None = None

    @property
    def name(self) -> str:
        return self.settings.provider or "provider"

    async def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.settings.api_key is not None:
            if self._key is None:
                self._key = await self.settings.api_key.aread(self.run.redactor)
            headers["Authorization"] = "Bearer " + self._key
        return headers

    def check_not_postponed(self, what: str) -> None:
        """Fail without calling while the provider's Retry-After has not elapsed."""
        until = self.state.postponed_until
        if until > self.now():
            raise ProbeFailure("rate_limited", f"{what}: call to provider {self.name!r} postponed until "
                               f"{_utc(until)} (its Retry-After)")

    def failure(self, status: int, headers: httpx.Headers, body: bytes, model: str | None, what: str) -> ProbeFailure:
        """Map an error answer to a failure; the provider's own words go to the debug log."""
        code, message = provider_error(body)
        self.run.log("provider error", check=what, status=status, code=code or "-", message=repr(message))
        said = f": {message}" if message else ""
        models = repr(model) if model else ", ".join(repr(m) for m in self.settings.models)
        if 300 <= status < 400:
            # Never followed: the request carries the API key, and a redirect (to another
            # host, or to http://) would hand it on. Point base_url at the final URL instead.
            where = urlsplit(headers.get("Location", ""))
            host = f"{where.hostname}{f':{where.port}' if where.port else ''}" if where.hostname else ""
            to = f"{where.scheme}://{host}{where.path}" if host else (where.path or "nowhere")
            return ProbeFailure("redirect", f"{what}: provider {self.name!r} redirected (HTTP {status}) to {to}; "
                                "redirects are not followed so the API key is never sent on: set base_url to the final URL")
        if status == 429:
            wait = retry_after_seconds(headers.get("Retry-After"), self.now())
            if wait is not None:
                self.state.postponed_until = self.now() + wait
                self.run.log("provider calls postponed", until=_utc(self.state.postponed_until), retry_after=f"{wait:g}s")
                return ProbeFailure("rate_limited", f"{what}: provider {self.name!r} rate limited (HTTP 429), "
                                    f"next call postponed {wait:g}s (Retry-After){said}")
            return ProbeFailure("rate_limited", f"{what}: provider {self.name!r} rate limited (HTTP 429){said}")
        if status in (401, 403):
            return ProbeFailure("auth_failed", f"{what}: provider {self.name!r} rejected the API key (HTTP {status}){said}")
        if names_missing_model(code, message) or (status == 404 and model is not None):
            return ProbeFailure("model_not_found", f"{what}: model {models} not found in provider {self.name!r} (HTTP {status}){said}")
        if status >= 500:
            return ProbeFailure("server_error", f"{what}: provider {self.name!r} answered HTTP {status}{said}")
        if status < 300:
            return ProbeFailure("server_error", f"{what}: provider {self.name!r} reported an error inside the stream{said}")
        if status == 404:
            return ProbeFailure("http_error", f"{what}: {self.settings.base_url}/models answered HTTP 404: is base_url right?")
        return ProbeFailure("http_error", f"{what}: provider {self.name!r} answered HTTP {status}{said}")


async def _read_limited(resp: httpx.Response, limit: int = MAX_BODY_BYTES) -> bytes:
    chunks, size = [], 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ProbeFailure("invalid_body", f"response larger than {limit} bytes")
    return b"".join(chunks)


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
        async with provider.client.stream("GET", url, headers=await provider.headers()) as resp:
            body = await _read_limited(resp)
    run.log("catalog response", status=resp.status_code, bytes=len(body))
    if resp.status_code != 200:
        raise provider.failure(resp.status_code, resp.headers, body, None, "catalog")
    ids = listed_ids(body)
    missing = [m for m in s.models if m not in ids]
    for model in s.models:
        run.gauge(c.MODEL_AVAILABLE, "Whether the provider's model catalog lists the model (1) or not (0).",
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


async def check_gateway_catalog(target: Any, settings: ModelSettings, state: TargetState, run: ProbeRun) -> None:
    ws = target.modules.get("websocket")
    if ws is None or not ws.enabled or ws.settings is None:
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
    run.gauge(c.MODEL_GATEWAY_LISTED, "Whether the gateway's models.list lists the configured default model.",
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

def completion_due(settings: ModelSettings, state: TargetState, now: float, run: ProbeRun) -> bool:
    """Whether this run makes the (paid) call: its own interval has elapsed and the cap allows."""
    state.roll_day(now)
    if now < state.next_completion_at:
        run.log("completion not due", next=_utc(state.next_completion_at))
        return False
    if state.calls_today >= settings.completion_daily_cap:
        run.log("completion skipped: daily cap reached", cap=settings.completion_daily_cap, day=state.day)
        return False
    return True


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
        async with provider.client.stream("POST", url, headers=headers, json=body) as resp:
            if resp.status_code != 200:
                raw = await _read_limited(resp)
                raise provider.failure(resp.status_code, resp.headers, raw, model, "completion")
            if "text/event-stream" in resp.headers.get("Content-Type", ""):
                chunks = await _read_stream(provider, resp, model, run, started)
            else:  # a provider ignoring stream=true answers one JSON document
                raw = await _read_limited(resp)
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


def _record_completion(settings: ModelSettings, state: TargetState, now: float, run: ProbeRun) -> None:
    state.roll_day(now)
    labels = {c.LABEL_PROVIDER: settings.provider or "provider", c.LABEL_MODEL: settings.completion_model or ""}
    run.counter(c.MODEL_SYNTHETIC_CALLS, "Synthetic completion calls made since the exporter started.",
                state.calls_total, **labels)
    run.gauge(c.MODEL_SYNTHETIC_CAP_REMAINING, "Synthetic completion calls left today (UTC) under the daily cap.",
              max(0, settings.completion_daily_cap - state.calls_today), **labels)


# --- the prober ------------------------------------------------------------------------------

async def _attempt(name: str, check: Awaitable[None], run: ProbeRun, failures: list[ProbeFailure]) -> None:
    """Run one check; its failure is kept and the next check still runs. A timeout is the
    whole run's deadline, so it goes to the runner (which names the phase it hit)."""
    import httpx

    try:
        await check
        return
    except ProbeFailure as exc:
        failures.append(exc)
    except httpx.TimeoutException as exc:
        raise TimeoutError(str(exc)) from exc
    except (TimeoutError, SecretError):
        raise
    except Exception as exc:  # noqa: BLE001 - network errors become this check's reason
        reason, message = classify_exception(exc)
        if reason == "error":
            raise  # not a network failure: the runner reports (and logs) it
        failures.append(ProbeFailure(reason, f"{name}: {message}"))
    run.log("check failed", check=name, reason=failures[-1].reason, detail=repr(failures[-1].message))


def _verify(settings: ModelSettings) -> ssl.SSLContext | bool:
    """Certificates are always checked: the system's trust store, or the configured CA file."""
    if not settings.tls_ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=settings.tls_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ProbeFailure("config_error", f"model.tls_ca_file {settings.tls_ca_file}: cannot load CA certificates: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None


async def probe(target: Any, settings: ModelSettings, run: ProbeRun) -> None:
    import httpx

    problems = check_enabled(settings)
    if problems:
        raise ProbeFailure("config_error", problems[0])
    state = STATES.of(target.name)
    module = target.modules.get("model")
    # The runner's deadline ends the run; httpx's own timeout is only a backstop behind it.
    timeout = (module.timeout if module is not None else 30.0) + 1.0
    failures: list[ProbeFailure] = []
    # trust_env: egress to a public provider often goes through HTTPS_PROXY.
    # follow_redirects=False: the API key must never travel to wherever a redirect points.
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=_verify(settings)) as client:
        provider = Provider(client, settings, state, run, STATES.clock)
        if settings.catalog_active:
            await _attempt("catalog", check_catalog(provider, run), run, failures)
        catalog_failed = bool(failures)
        if settings.gateway_active:
            await _attempt("gateway_catalog", check_gateway_catalog(target, settings, state, run), run, failures)
        if settings.completion_active:
            if catalog_failed:
                # The provider already failed this run; a completion would only repeat that
                # answer and spend one of the day's calls.
                run.log("completion skipped: the catalog check failed this run")
            elif completion_due(settings, state, STATES.clock(), run):
                await _attempt("completion", check_completion(provider, run), run, failures)
            _record_completion(settings, state, STATES.clock(), run)
    if settings.base_url is not None:
        run.gauge(c.MODEL_PROVIDER_POSTPONED_UNTIL, "Unix time before which the provider asked not to be called (429 Retry-After); 0 when not postponed.",
                  state.postponed_until if state.postponed_until > STATES.clock() else 0.0,
                  **{c.LABEL_PROVIDER: settings.provider or "provider"})
    if failures:
        raise ProbeFailure(failures[0].reason, "; ".join(f.message for f in failures))


PROBER = Prober(
    name="model",
    run=probe,
    fields=FIELDS,
    build_settings=build_settings,
    phases=("catalog", "connect", "challenge", "handshake", "gateway_catalog", "first_byte", "completion", "total"),
    buckets=MODEL_BUCKETS,
    default_interval=60.0,
    default_timeout=30.0,
    enabled_by_default=False,
    enabled_when_present=True,
    check_enabled=check_enabled,
    results=RESULTS,
)
