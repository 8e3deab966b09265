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

from typing import Awaitable

from exporter.probes import gateway_client
from exporter.probes.base import COMMON_RESULTS, ProbeFailure, Prober, ProbeRun, classify_exception
from exporter.probes.model_budget import completion_due, record_completion
from exporter.probes.model_checks import check_catalog, check_completion, check_gateway_catalog
from exporter.probes.model_provider import Provider
from exporter.secrets import SecretError
from exporter.settings.modules import ModelSettings
from exporter.settings.resolved import TargetConfig
from openclaw_schema import names as c

# This prober's failure reasons: the common ones, the gateway protocol's (its gateway catalog
# check speaks it) and the provider's.
RESULTS = tuple(dict.fromkeys(COMMON_RESULTS + gateway_client.RESULTS + (
    "rate_limited", "model_not_found", "model_unavailable", "server_error", "http_error", "invalid_body")))


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
    except (TimeoutError, SecretError):
        raise
    except Exception as exc:  # noqa: BLE001 - network errors become this check's reason
        import httpx  # already loaded by the provider client of the model probe that is running

        if isinstance(exc, httpx.TimeoutException):
            raise TimeoutError(str(exc)) from exc
        reason, message = classify_exception(exc)
        if reason == "error":
            raise  # not a network failure: the runner reports (and logs) it
        failures.append(ProbeFailure(reason, f"{name}: {message}"))
    run.log("check failed", check=name, reason=failures[-1].reason, detail=repr(failures[-1].message))


async def probe(target: TargetConfig, settings: ModelSettings, run: ProbeRun) -> None:
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
        run.gauge(c.MODEL_PROVIDER_POSTPONED_UNTIL,
                  state.postponed_until if state.postponed_until > states.clock() else 0.0,
                  **{c.LABEL_PROVIDER: settings.provider or "provider"})
    if failures:
        raise ProbeFailure(failures[0].reason, "; ".join(f.message for f in failures))


PROBER = Prober(
    name="model",
    run=probe,
    phases=("catalog", "connect", "challenge", "handshake", "gateway_catalog", "first_byte", "completion", "total"),
    buckets=c.MODEL_BUCKETS,
    default_interval=60.0,
    default_timeout=30.0,
    enabled_by_default=False,
    enabled_when_present=True,
    check_enabled=check_enabled,
    results=RESULTS,
)
