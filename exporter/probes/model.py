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
provider's 429 Retry-After live in per-target state the exporter owns (exporter/probes/
prober_state.py; memory only: a restart resets them, a config reload keeps them), beside the
HTTP clients every run shares. The run's result is the first failing check's
reason; its message lists every failing check.

Sample exposition::

    openclaw_model_available{model="qwen3.5-plus",provider="bailian",target="gateway"} 1.0
    openclaw_model_gateway_listed{model="bailian/qwen3.5-plus",target="gateway"} 0.0
    openclaw_model_synthetic_calls_total{model="qwen3.5-plus",provider="bailian",target="gateway"} 7.0
    openclaw_model_synthetic_calls_remaining_today{model="qwen3.5-plus",provider="bailian",target="gateway"} 41.0

Its parts, one concern each: model_provider.py (the provider client and what its errors mean),
model_checks.py (the three checks) and model_budget.py (the per-target budget); this module
holds the settings and the prober that runs the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable
from urllib.parse import urlsplit

import httpx

from exporter import conventions as c
from exporter.fields import Field, positive
from exporter.probes import gateway_client
from exporter.probes.base import COMMON_RESULTS, MODEL_BUCKETS, ProbeFailure, Prober, ProbeRun, classify_exception
from exporter.probes.model_budget import completion_due, record_completion
from exporter.probes.model_checks import check_catalog, check_completion, check_gateway_catalog
from exporter.probes.model_provider import Provider
from exporter.secrets import SecretError, SecretRef

# This prober's failure reasons: the common ones, the gateway protocol's (its gateway catalog
# check speaks it) and the provider's.
RESULTS = tuple(dict.fromkeys(COMMON_RESULTS + gateway_client.RESULTS + (
    "rate_limited", "model_not_found", "model_unavailable", "server_error", "http_error", "invalid_body")))


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


# --- the prober ------------------------------------------------------------------------------

async def _attempt(name: str, check: Awaitable[None], run: ProbeRun, failures: list[ProbeFailure]) -> None:
    """Run one check; its failure is kept and the next check still runs. A timeout is the
    whole run's deadline, so it goes to the runner (which names the phase it hit)."""
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


async def probe(target: Any, settings: ModelSettings, run: ProbeRun) -> None:
    problems = check_enabled(settings)
    if problems:
        raise ProbeFailure("config_error", problems[0])
    states = run.prober_state.model
    state = states.of(target.name)
    module = target.modules.get("model")
    # The runner's deadline ends the run; httpx's own timeout is only a backstop behind it.
    timeout = (module.timeout if module is not None else 30.0) + 1.0
    failures: list[ProbeFailure] = []
    client = await run.prober_state.provider_clients.get(settings.tls_ca_file)
    provider = Provider(client, settings, state, run, states.clock, timeout)
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
        elif completion_due(settings, state, states.clock(), run):
            await _attempt("completion", check_completion(provider, run), run, failures)
        record_completion(settings, state, states.clock(), run)
    if settings.base_url is not None:
        run.gauge(c.MODEL_PROVIDER_POSTPONED_UNTIL, "Unix time before which the provider asked not to be called (429 Retry-After); 0 when not postponed.",
                  state.postponed_until if state.postponed_until > states.clock() else 0.0,
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
