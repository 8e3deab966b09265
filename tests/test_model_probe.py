"""The model probe (incident 4: the provider retired `qwen-plus` before anyone noticed).

Provider behaviour is played by respx (httpx is patched in-process; nothing leaves the host),
the gateway catalog check runs against the real gateway, and the CLI test uses a small
loopback aiohttp server as the provider because respx cannot patch a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import respx
from aiohttp import web

from ports import free_port
from openclaw_schema import names as c
from exporter.exposition import render_state
from exporterhelpers import parse_samples, value
from exporter.config import ConfigError, load_config, parse_config
from exporter.probes import model_budget, model_checks, model_provider
from openclaw_schema.names import MODEL_BUCKETS
from exporter.state import ProbeState
from fakegateway import Recorder, fake_gateway, handshake
from localservers import serve
from probehelpers import config_for, gauges, probe_once

BASE = "https://dashscope.test/compatible-mode/v1"
MODELS_URL = BASE + "/models"
CHAT_URL = BASE + "/chat/completions"
BAILIAN = (c.LABEL_MODEL, "qwen3.5-plus"), (c.LABEL_PROVIDER, "bailian")
DAY = 86400.0
# 2026-11-26 22:00:00 UTC: two hours before a UTC day boundary.
T0 = 1795730400.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_state(prober_state):
    clock = FakeClock()
    prober_state.model = model_budget.ModelStates(clock=clock)
    return clock


@pytest.fixture(autouse=True)
def api_key(monkeypatch) -> str:
    # A canary: this exact string must never show up in a result, log line or gauge.
    key = "sk-canary-" + secrets.token_hex(16)
    monkeypatch.setenv("MODEL_API_KEY", key)
    monkeypatch.setenv("GW_TOKEN", "token-for-tests-without-a-gateway")
    return key


def model_config(url: str | None = None, websocket: bool = False, **settings: object):
    section = {"timeout": "2s", "provider": "bailian", "base_url": BASE, "api_key_env": "MODEL_API_KEY",
               "models": ["qwen3.5-plus"], "gateway_catalog": False, **settings}
    target: dict[str, object] = {"token_env": "GW_TOKEN", "model": section}
    if not websocket:
        target["websocket"] = {"enabled": False}
    return config_for(url or f"http://127.0.0.1:{free_port()}", **target)


def listing(*ids: str) -> httpx.Response:
    return httpx.Response(200, json={"object": "list", "data": [{"id": i, "object": "model"} for i in ids]})


def everything(outcome) -> str:
    return outcome.message + "\n".join(outcome.logs) + repr(outcome.gauges)


def sse(*events: str) -> httpx.Response:
    body = "".join(f"data: {e}\n\n" for e in events)
    return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=body.encode())


CHUNK = json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "ok"}}]})


# --- config ----------------------------------------------------------------------------------

def test_literal_api_key_is_rejected_with_how_to_pass_it():
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": [{"name": "gw", "url": "http://127.0.0.1:18789",
                                   "model": {"provider": "bailian", "base_url": BASE, "models": ["m"], "api_key": "sk-x"}}]})
    assert err.value.problems == [
        "targets[0].model.api_key: literal secrets are not accepted in the config file; "
        "use api_key_file: /path/to/file or api_key_env: ENV_VAR_NAME"]


def test_module_is_off_without_a_section_and_on_with_one():
    plain = config_for("http://127.0.0.1:18789").targets[0].modules["model"]
    assert plain.enabled is False
    on = model_config().targets[0].modules["model"]
    assert on.enabled is True and on.interval == 60.0
    off = model_config(enabled=False).targets[0].modules["model"]
    assert off.enabled is False


@pytest.mark.parametrize("section, problem", [
    ({}, "targets[0].model: nothing to check: set provider, base_url and models (catalog), gateway_model "
         "(gateway catalog) or completion: true, or set enabled: false"),
    ({"base_url": BASE, "models": ["m"]}, "targets[0].model: provider is required with base_url"),
    ({"provider": "p", "base_url": BASE}, "targets[0].model: models must list at least one model id"),
    ({"provider": "p", "base_url": "dashscope.aliyuncs.com", "models": ["m"]}, "targets[0].model.base_url: must be an absolute http(s):// URL"),
    ({"provider": "p", "base_url": BASE, "models": ["m"], "completion_daily_cap": 0}, "targets[0].model.completion_daily_cap: must be > 0"),
    ({"provider": "p", "base_url": BASE, "models": ["m"], "completion_extra_body": {"max_tokens": 50}},
     "targets[0].model: completion_extra_body must not set max_tokens"),
    ({"gateway_model": "bailian/qwen3.5-plus", "temperature": 0}, "targets[0].model.temperature: unknown key"),
])
def test_invalid_model_sections_say_what_is_wrong(section, problem):
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": [{"name": "gw", "url": "http://127.0.0.1:18789", "model": section}]})
    assert any(p.startswith(problem) for p in err.value.problems), err.value.problems


def test_defaults_alone_do_not_enable_the_module():
    cfg = parse_config({"defaults": {"model": {"interval": "2m"}},
                        "targets": [{"name": "a", "url": "http://127.0.0.1:18789"},
                                    {"name": "b", "url": "http://127.0.0.1:18790", "model": {"gateway_model": "bailian/qwen3.5-plus"}}]})
    assert [t.modules["model"].enabled for t in cfg.targets] == [False, True]
    assert cfg.targets[1].modules["model"].interval == 120.0


# --- check 1: the provider catalog -----------------------------------------------------------

@respx.mock(assert_all_called=False)
async def test_every_configured_model_listed_is_success(respx_mock, api_key):
    route = respx_mock.get(MODELS_URL).mock(return_value=listing("qwen-max", "qwen3.5-plus"))
    outcome = await probe_once(model_config(), "model")
    assert outcome.result == "success", outcome.message
    assert gauges(outcome)[(c.MODEL_AVAILABLE, BAILIAN)] == 1.0
    assert {"catalog", "total"} <= set(outcome.phases)
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {api_key}"
    assert api_key not in everything(outcome)


@respx.mock
async def test_retired_model_is_model_not_found_naming_it(respx_mock):
    respx_mock.get(MODELS_URL).mock(return_value=listing("qwen-max", "qwen3.5-plus"))
    outcome = await probe_once(model_config(models=["qwen-plus", "qwen3.5-plus"]), "model")
    assert outcome.result == "model_not_found"
    assert "model 'qwen-plus' not found in provider 'bailian'" in outcome.message
    g = gauges(outcome)
    assert g[(c.MODEL_AVAILABLE, ((c.LABEL_MODEL, "qwen-plus"), (c.LABEL_PROVIDER, "bailian")))] == 0.0
    assert g[(c.MODEL_AVAILABLE, BAILIAN)] == 1.0


@pytest.mark.parametrize("status", [401, 403])
@respx.mock
async def test_rejected_key_is_auth_failed_and_never_echoed(respx_mock, api_key, status):
    # Providers echo the key they were given; the redactor must catch it everywhere.
    body = {"error": {"message": f"Incorrect API key provided: {api_key}", "type": "invalid_request_error", "code": "invalid_api_key"}}
    respx_mock.get(MODELS_URL).mock(return_value=httpx.Response(status, json=body))
    outcome = await probe_once(model_config(), "model")
    assert outcome.result == "auth_failed"
    assert f"rejected the API key (HTTP {status})" in outcome.message
    assert "Incorrect API key provided: <redacted>" in outcome.message
    assert any("provider error" in line and "invalid_api_key" in line for line in outcome.logs)
    assert api_key not in everything(outcome)


@respx.mock
async def test_429_retry_after_postpones_the_next_provider_call(respx_mock, fresh_state):
    route = respx_mock.get(MODELS_URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "120"}, json={"error": {"message": "Requests rate limit exceeded"}}),
        listing("qwen3.5-plus"),
    ])
    cfg = model_config()
    first = await probe_once(cfg, "model")
    assert first.result == "rate_limited"
    assert "next call postponed 120s (Retry-After)" in first.message
    assert gauges(first)[(c.MODEL_PROVIDER_POSTPONED_UNTIL, ((c.LABEL_PROVIDER, "bailian"),))] == T0 + 120

    fresh_state.now += 60
    second = await probe_once(cfg, "model")
    assert route.call_count == 1, "the provider was called before its Retry-After elapsed"
    assert second.result == "rate_limited"
    assert "postponed until 2026-11-26T22:02:00Z" in second.message

    fresh_state.now += 61
    third = await probe_once(cfg, "model")
    assert route.call_count == 2
    assert third.result == "success", third.message
    assert gauges(third)[(c.MODEL_PROVIDER_POSTPONED_UNTIL, ((c.LABEL_PROVIDER, "bailian"),))] == 0.0


def test_retry_after_as_http_date_and_garbage():
    assert model_provider.retry_after_seconds("Thu, 26 Nov 2026 22:00:30 GMT", T0) == 30.0
    assert model_provider.retry_after_seconds("soon", T0) is None
    assert model_provider.retry_after_seconds("999999999", T0) == model_provider.MAX_RETRY_AFTER


@respx.mock
async def test_slow_provider_is_timeout_in_the_catalog_phase(respx_mock):
    async def slow(request):
        await asyncio.sleep(5)
        return listing("qwen3.5-plus")
    respx_mock.get(MODELS_URL).mock(side_effect=slow)
    outcome = await probe_once(model_config(timeout="300ms"), "model")
    assert outcome.result == "timeout"
    assert outcome.timeout_phase == "catalog"
    assert outcome.message == "timed out after 0.3s in phase catalog"


@pytest.mark.parametrize("response, reason, says", [
    (httpx.Response(503, text="upstream unavailable"), "server_error", "catalog: provider 'bailian' answered HTTP 503: upstream unavailable"),
    (httpx.Response(200, text="<html>not json</html>"), "invalid_body", "catalog: models list is not JSON"),
    (httpx.Response(200, json={"models": "qwen3.5-plus"}), "invalid_body", "catalog: models list without a data array"),
    # DashScope's native error shape naming the model.
    (httpx.Response(400, json={"code": "InvalidParameter", "message": "Model not exist.", "request_id": "r-1"}),
     "model_not_found", "catalog: model 'qwen3.5-plus' not found in provider 'bailian' (HTTP 400): Model not exist."),
    # A 404 on /models says the URL is wrong, not that the model was retired.
    (httpx.Response(404, text="Not Found"), "http_error", "is base_url right?"),
], ids=["5xx", "not-json", "no-data-array", "dashscope-error", "404"])
@respx.mock
async def test_what_the_catalog_answer_means(respx_mock, response, reason, says):
    respx_mock.get(MODELS_URL).mock(return_value=response)
    outcome = await probe_once(model_config(), "model")
    assert outcome.result == reason
    assert says in outcome.message


async def test_provider_not_listening_is_refused():
    outcome = await probe_once(model_config(base_url=f"http://127.0.0.1:{free_port()}/v1"), "model")
    assert outcome.result == "refused"
    assert outcome.message == "catalog: connection refused"


async def test_missing_api_key_is_config_error_naming_the_reference(monkeypatch):
    monkeypatch.delenv("MODEL_API_KEY")
    with respx.mock:
        outcome = await probe_once(model_config(), "model")
    assert outcome.result == "config_error"
    assert outcome.message == "secret from environment variable MODEL_API_KEY is empty"


# --- check 3: the synthetic completion -------------------------------------------------------

@respx.mock
async def test_completion_streams_one_token_and_times_first_byte(respx_mock, api_key):
    respx_mock.get(MODELS_URL).mock(return_value=listing("qwen3.5-plus"))
    chat = respx_mock.post(CHAT_URL).mock(return_value=sse(CHUNK, "[DONE]"))
    outcome = await probe_once(model_config(completion=True, completion_daily_cap=10), "model")
    assert outcome.result == "success", outcome.message
    sent = json.loads(chat.calls.last.request.content)
    assert sent["model"] == "qwen3.5-plus" and sent["max_tokens"] == 1 and sent["stream"] is True
    assert chat.calls.last.request.headers["Authorization"] == f"Bearer {api_key}"
    assert {"catalog", "first_byte", "completion", "total"} <= set(outcome.phases)
    assert outcome.phases["first_byte"] <= outcome.phases["completion"] <= outcome.phases["total"]
    g = gauges(outcome)
    assert g[(c.MODEL_SYNTHETIC_CALLS, BAILIAN)] == 1
    assert g[(c.MODEL_SYNTHETIC_CAP_REMAINING, BAILIAN)] == 9
    assert api_key not in everything(outcome)


@pytest.mark.parametrize("status, body", [
    (404, {"error": {"message": "The model `qwen-plus` does not exist or you do not have access to it.",
                     "type": "invalid_request_error", "param": None, "code": "model_not_found"}}),
    (400, {"code": "InvalidParameter", "message": "Model not exist.", "request_id": "8f7e"}),
])
@respx.mock
async def test_dashscope_retired_model_on_completion_is_model_not_found(respx_mock, status, body):
    respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(status, json=body))
    cfg = model_config(catalog=False, completion=True, completion_model="qwen-plus")
    outcome = await probe_once(cfg, "model")
    assert outcome.result == "model_not_found"
    assert f"completion: model 'qwen-plus' not found in provider 'bailian' (HTTP {status}): {body.get('message') or body['error']['message']}" == outcome.message
    assert any("provider error" in line and "check=completion" in line for line in outcome.logs)


@respx.mock
async def test_error_inside_a_200_stream_and_broken_chunks(respx_mock, fresh_state):
    respx_mock.post(CHAT_URL).mock(side_effect=[
        sse(json.dumps({"error": {"message": "Model not exist.", "code": "model_not_found"}})),
        sse(json.dumps({"error": {"message": "Internal error", "code": "InternalError"}})),
        sse("{not json"),
        httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=b": ping\n\n"),
    ])
    cfg = model_config(catalog=False, completion=True, completion_interval="1m")
    results = []
    for _ in range(4):
        results.append((await probe_once(cfg, "model")).result)
        fresh_state.now += 60
    assert results == ["model_not_found", "server_error", "invalid_body", "invalid_body"]


@respx.mock
async def test_completion_never_runs_unless_enabled(respx_mock, fresh_state):
    respx_mock.get(MODELS_URL).mock(return_value=listing("qwen3.5-plus"))
    chat = respx_mock.post(CHAT_URL).mock(return_value=sse(CHUNK, "[DONE]"))
    cfg = model_config()  # completion not set: off
    for _ in range(5):
        outcome = await probe_once(cfg, "model")
        assert outcome.result == "success"
        fresh_state.now += DAY / 2
    assert chat.call_count == 0
    assert not [g for g in outcome.gauges if g.name.startswith("openclaw_model_synthetic")]


@respx.mock
async def test_daily_cap_holds_and_resets_at_the_utc_day(respx_mock, fresh_state):
    chat = respx_mock.post(CHAT_URL).mock(side_effect=lambda request: sse(CHUNK, "[DONE]"))
    cfg = model_config(catalog=False, completion=True, completion_interval="5m", completion_daily_cap=3)
    remaining = []
    # Every 5 minutes from 22:00 to 23:55 UTC: 24 due runs, only 3 calls allowed.
    for _ in range(24):
        outcome = await probe_once(cfg, "model")
        assert outcome.result == "success"
        remaining.append(gauges(outcome)[(c.MODEL_SYNTHETIC_CAP_REMAINING, BAILIAN)])
        fresh_state.now += 300
    assert chat.call_count == 3
    assert remaining[:4] == [2, 1, 0, 0] and remaining[-1] == 0
    # 00:00 UTC: a new day, a new allowance.
    outcome = await probe_once(cfg, "model")
    assert chat.call_count == 4
    g = gauges(outcome)
    assert g[(c.MODEL_SYNTHETIC_CAP_REMAINING, BAILIAN)] == 2
    assert g[(c.MODEL_SYNTHETIC_CALLS, BAILIAN)] == 4


@respx.mock
async def test_completion_waits_for_its_own_interval(respx_mock, fresh_state):
    respx_mock.get(MODELS_URL).mock(return_value=listing("qwen3.5-plus"))
    chat = respx_mock.post(CHAT_URL).mock(side_effect=lambda request: sse(CHUNK, "[DONE]"))
    cfg = model_config(completion=True)  # default completion_interval 5m, module interval 60s
    for _ in range(10):  # ten minutes of one-minute runs
        await probe_once(cfg, "model")
        fresh_state.now += 60
    assert chat.call_count == 2


@respx.mock
async def test_completion_honours_the_catalogs_retry_after(respx_mock, fresh_state):
    respx_mock.get(MODELS_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "600"}))
    chat = respx_mock.post(CHAT_URL).mock(return_value=sse(CHUNK, "[DONE]"))
    outcome = await probe_once(model_config(completion=True), "model")
    assert outcome.result == "rate_limited"
    assert chat.call_count == 0
    assert gauges(outcome)[(c.MODEL_SYNTHETIC_CAP_REMAINING, BAILIAN)] == 100


@respx.mock
async def test_calls_counter_is_exposed_as_a_counter(respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=sse(CHUNK, "[DONE]"))
    outcome = await probe_once(model_config(catalog=False, completion=True), "model")
    state = ProbeState()
    state.record(outcome, MODEL_BUCKETS)
    text = render_state(state)
    assert "# TYPE openclaw_model_synthetic_calls_total counter" in text
    samples = parse_samples(text)
    labels = {"model": "qwen3.5-plus", "provider": "bailian", "target": "gw"}
    assert value(samples, "openclaw_model_synthetic_calls_total", **labels) == 1.0
    assert value(samples, "openclaw_model_synthetic_calls_remaining_today", **labels) == 99.0


# --- check 2: the gateway's catalog (the real gateway) ---------------------------------------

async def test_real_gateway_without_providers_is_model_not_found(real_gateway, gateway_token, monkeypatch):
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    cfg = config_for(real_gateway.url, token_env="GW_TOKEN",
                     model={"timeout": "5s", "gateway_model": "bailian/qwen3.5-plus"})
    outcome = await probe_once(cfg, "model")
    assert outcome.result == "model_not_found", outcome.message
    assert outcome.message == ("gateway catalog: model 'qwen3.5-plus' not found in provider 'bailian' "
                               "(default model 'bailian/qwen3.5-plus'; it lists no models at all)")
    assert gauges(outcome)[(c.MODEL_GATEWAY_LISTED, ((c.LABEL_MODEL, "bailian/qwen3.5-plus"),))] == 0.0
    assert {"connect", "handshake", "gateway_catalog"} <= set(outcome.phases)
    assert gateway_token not in everything(outcome)


@respx.mock
async def test_gateway_check_is_skipped_when_websocket_is_off(respx_mock):
    respx_mock.get(MODELS_URL).mock(return_value=listing("qwen3.5-plus"))
    outcome = await probe_once(model_config(gateway_catalog=True), "model")  # websocket disabled
    assert outcome.result == "success", outcome.message
    assert any("gateway catalog skipped: the target's websocket module is not enabled" in line for line in outcome.logs)
    assert not [g for g in outcome.gauges if g.name == c.MODEL_GATEWAY_LISTED]


def scripted_models_list(models: list[dict]):
    async def behaviour(ws, rec: Recorder):
        await handshake(ws, rec)
        req = await rec.next_request(ws)
        await ws.send_json({"type": "res", "id": req["id"], "ok": True, "payload": {"models": models}})
    return behaviour


QWEN = {"id": "qwen3.5-plus", "name": "Qwen 3.5 Plus", "provider": "bailian"}


@pytest.mark.parametrize("entry, reason, says", [
    (QWEN, "success", "ok"),
    ({**QWEN, "available": False, "unavailableReason": "missing-auth"}, "auth_failed",
     "gateway catalog: model 'bailian/qwen3.5-plus' is listed but unavailable (missing-auth)"),
    ({**QWEN, "available": False, "unavailableReason": "cooldown"}, "rate_limited", "unavailable (cooldown)"),
    ({**QWEN, "id": "qwen-max"}, "model_not_found",
     "gateway catalog: model 'qwen3.5-plus' not found in provider 'bailian' (default model 'bailian/qwen3.5-plus'; it lists 1: bailian/qwen-max)"),
], ids=["listed", "missing-auth", "cooldown", "other-model"])
async def test_gateway_catalog_entries(entry, reason, says):
    # A scripted gateway: the real one cannot be given a provider offline.
    async with fake_gateway(scripted_models_list([entry])) as (url, rec):
        cfg = config_for(url, token_env="GW_TOKEN", model={"timeout": "2s", "gateway_model": "bailian/qwen3.5-plus"})
        outcome = await probe_once(cfg, "model")
    assert outcome.result == reason
    assert says in outcome.message
    assert [f["method"] for f in rec.frames] == ["connect", "models.list"]
    assert gauges(outcome)[(c.MODEL_GATEWAY_LISTED, ((c.LABEL_MODEL, "bailian/qwen3.5-plus"),))] == (0.0 if reason == "model_not_found" else 1.0)


def test_gateway_catalog_matching():
    listed = [{"id": "qwen3.5-plus", "name": "Qwen 3.5 Plus", "provider": "bailian"},
              {"id": "gpt-5", "name": "GPT-5", "provider": "openai", "alias": "smart"}]
    assert model_checks.find_gateway_model(listed, "bailian/qwen3.5-plus") is listed[0]
    assert model_checks.find_gateway_model(listed, "smart") is listed[1]
    assert model_checks.find_gateway_model(listed, "bailian/qwen-plus") is None


# --- the probe command -----------------------------------------------------------------------

async def test_probe_command_prints_model_not_found_naming_the_model(tmp_path, api_key):
    # respx cannot patch a subprocess, so a loopback aiohttp server plays the provider.
    seen: list[str] = []

    async def models(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"object": "list", "data": [{"id": "qwen3.5-plus"}, {"id": "qwen-max"}]})

    async with serve(models, "/compatible-mode/v1/models") as url:
        path = tmp_path / "exporter.yml"
        path.write_text(
            "targets:\n"
            f"  - name: gw\n    url: http://127.0.0.1:{free_port()}\n"
            "    model:\n      provider: bailian\n"
            f"      base_url: {url}/compatible-mode/v1\n"
            "      api_key_env: MODEL_API_KEY\n      models: [qwen-plus]\n")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "exporter", "probe", "--config.file", str(path), "--module", "model",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 1, stdout + stderr
    row = stdout.splitlines()[1]
    assert row.split()[:3] == ["gw", "model", "model_not_found"]
    assert "model 'qwen-plus' not found in provider 'bailian'" in row
    assert seen == [f"Bearer {api_key}"]
    assert api_key not in stdout + stderr


@respx.mock
async def test_completion_429_postpones_the_next_completion(respx_mock, fresh_state):
    chat = respx_mock.post(CHAT_URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "900"}, json={"error": {"message": "Throttling.RateQuota"}}),
        sse(CHUNK, "[DONE]"),
    ])
    cfg = model_config(catalog=False, completion=True, completion_interval="5m")
    assert (await probe_once(cfg, "model")).result == "rate_limited"
    fresh_state.now += 300  # the completion is due again, the provider's 15 minutes are not over
    postponed = await probe_once(cfg, "model")
    assert postponed.result == "rate_limited"
    assert "completion: call to provider 'bailian' postponed until 2026-11-26T22:15:00Z" in postponed.message
    assert chat.call_count == 1
    assert gauges(postponed)[(c.MODEL_SYNTHETIC_CAP_REMAINING, BAILIAN)] == 99  # a postponed call costs nothing
    fresh_state.now += 600
    assert (await probe_once(cfg, "model")).result == "success"
    assert chat.call_count == 2


def test_example_config_carries_a_disabled_model_section():
    cfg = load_config(str(Path(__file__).resolve().parent.parent / "examples" / "exporter.yml"))
    module = cfg.targets[0].modules["model"]
    assert module.enabled is False
    assert module.settings.gateway_model == "bailian/qwen3.5-plus"
    assert module.settings.completion is False and module.settings.completion_daily_cap == 100


@respx.mock
async def test_slow_first_token_is_timeout_in_first_byte(respx_mock):
    async def slow(request):
        await asyncio.sleep(5)
        return sse(CHUNK, "[DONE]")
    respx_mock.post(CHAT_URL).mock(side_effect=slow)
    outcome = await probe_once(model_config(catalog=False, completion=True, timeout="300ms"), "model")
    assert outcome.result == "timeout"
    assert outcome.timeout_phase == "first_byte"


@respx.mock
async def test_provider_ignoring_stream_true_still_counts(respx_mock):
    whole = {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
    respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(200, json=whole))
    outcome = await probe_once(model_config(catalog=False, completion=True), "model")
    assert outcome.result == "success", outcome.message
    assert "first_byte" in outcome.phases
