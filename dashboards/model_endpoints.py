"""The model endpoints dashboard: catalog availability per model and the synthetic completion."""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from openclaw_schema import names as c
from slo.monitoring import Monitoring

UID = catalog.MODELS
T, PROV, MODEL = c.LABEL_TARGET, c.LABEL_PROVIDER, c.LABEL_MODEL
ON_TARGET = s.var(T)
BY_TARGET = s.legend("{}", T)
CATALOG = (ON_TARGET, s.var(PROV), s.var(MODEL))
MODEL_PROBE = (ON_TARGET, s.eq(c.LABEL_MODULE, c.Module.MODEL))
LATENCY_WINDOW = c.LATENCY_WINDOWS[1][0]
MESSAGE_PROBE = (ON_TARGET, s.eq(c.LABEL_MODULE, c.Module.MESSAGE))
# The message probe runs every few minutes: only the longest window holds enough turns.
MESSAGE_WINDOW = c.LATENCY_WINDOWS[-1][0]


def _attempts(*matchers: str) -> str:
    return s.rate(s.sel(c.PROBE_ATTEMPTS_TOTAL, *MODEL_PROBE, *matchers))


def _exact_latency(*phases: str) -> s.Query:
    return s.Query(s.sel(c.PROBE_LATENCY, *MODEL_PROBE, s.match(c.LABEL_PHASE, "|".join(phases)),
                         s.eq(c.LABEL_WINDOW, LATENCY_WINDOW)),
                   s.legend("{} {} q{}", T, c.LABEL_PHASE, c.LABEL_QUANTILE))


def catalog_panels() -> list[g.Panel]:
    available = s.sel(c.MODEL_AVAILABLE, *CATALOG)
    listed = s.value_map(("0", "MISSING", s.RED), ("1", "LISTED", s.GREEN))
    return [
        s.row("Catalog"),
        s.stat("Configured models listed by the provider", w=12, h=6, unit=s.UNIT_COUNT, text_mode="value_and_name",
               mappings=listed, queries=[s.Query(available, s.legend("{}: {}/{}", T, PROV, MODEL))],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="For each model the gateway is configured to use, whether the provider's model list "
                     "(GET {baseUrl}/models) still contains it.",
               red="the provider retired or renamed the model (incident 4: qwen-plus): switch the gateway's "
                   "model to one the provider lists before users hit `model not found`."),
        s.stat("Default model listed by the gateway", w=6, h=6, unit=s.UNIT_COUNT, text_mode="value_and_name",
               mappings=listed,
               queries=[s.Query(s.sel(c.MODEL_GATEWAY_LISTED, ON_TARGET), s.legend("{}: {}", T, MODEL))],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="Whether the gateway's own models.list RPC lists its configured default model.",
               red="the gateway cannot serve its default model (provider not configured, or the model gone "
                   "from its catalog): fix the gateway's model configuration."),
        s.stat("Missing models", w=3, h=6, unit=s.UNIT_COUNT,
               queries=[s.Query(f"count({available} == 0) or vector(0)", "missing")],
               thresholds=s.steps(s.GREEN, (1, s.RED)),
               shows="How many configured models the provider no longer lists.",
               red="see which on the left; change the model in the gateway configuration."),
        s.stat("Model probe", w=3, h=6, unit=s.UNIT_COUNT, mappings=s.UP_DOWN, text_mode="value_and_name",
               queries=[s.Query(s.sel(c.PROBE_SUCCESS, *MODEL_PROBE), BY_TARGET)],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="Whether the last model probe (catalogs plus synthetic completion) succeeded.",
               red="read its failure reason below: auth_failed = API key; rate_limited = quota; "
                   "model_not_found = retired model."),
        s.timeseries("Catalog availability over time", w=12, h=7, unit=s.UNIT_COUNT, low=0, high=1,
                     steps_after=True, threshold_lines=False,
                     queries=[s.Query(f"min {s.by(PROV, MODEL)} ({available})", s.legend("{}/{}", PROV, MODEL))],
                     thresholds=s.steps(s.RED, (1, s.GREEN)),
                     shows="1 while the provider lists the model, 0 while it does not.",
                     red="a drop to 0 dates the provider's change; correlate with model call failures on the "
                         "gateway internals dashboard."),
        s.latency_panel(f"Catalog latency (exact, {LATENCY_WINDOW})", w=12, h=7,
                        queries=[_exact_latency(c.Phase.CATALOG, c.Phase.GATEWAY_CATALOG)],
                        thresholds=s.steps(s.GREEN, (1, s.ORANGE), (th.MODEL_CALL_P95_SECONDS, s.RED)),
                        shows="Exact P50/P95/P99 of the provider's model list (catalog) and the gateway's "
                              "models.list RPC (gateway_catalog). "
                              "Needs `detail: true` on the model module (exporter config; off by default).",
                        red="listing models takes seconds: the provider (catalog) or the gateway (gateway_catalog) "
                            "is struggling; completions will be slow too."),
    ]


def completion_panels() -> list[g.Panel]:
    good = f"sum {s.by(T)} ({_attempts(s.eq(c.LABEL_RESULT, c.Result.SUCCESS))})"
    return [
        s.row("Synthetic completion"),
        s.latency_panel(f"Completion latency (exact, {LATENCY_WINDOW})", w=12,
                        queries=[_exact_latency(c.Phase.FIRST_BYTE, c.Phase.COMPLETION)],
                        thresholds=s.steps(s.GREEN, (th.MODEL_CALL_P95_SECONDS, s.ORANGE),
                                           (th.MODEL_CALL_P99_SECONDS, s.RED)),
                        shows="Exact P50/P95/P99 of the synthetic chat completion: time to the first token "
                              "(first_byte) and to the end (completion). Lines at the user's observed model-call P95 (3.5 s) and P99 (5.8 s). "
                              "Needs `detail: true` on the model module (exporter config; off by default).",
                        red="the provider is slower than usual: users wait longer for every answer; check the "
                            "provider's status page and the gateway internals' model call latency."),
        s.events_panel("Failure reasons", w=12,
                       queries=[s.Query(f"sum {s.by(T, c.LABEL_RESULT)} "
                                        f"({_attempts(s.ne(c.LABEL_RESULT, c.Result.SUCCESS))})",
                                        s.legend("{}: {}", T, c.LABEL_RESULT))],
                       thresholds=s.steps(s.GREEN, (0.001, s.RED)),
                       shows="Failed model probes per second by reason.",
                       red="auth_failed = rotate or re-mount the provider API key; model_not_found = the model "
                           "was retired; rate_limited = quota exhausted (lower the probe rate or raise the quota); "
                           "timeout = provider overloaded."),
        s.ratio_panel("Completion success ratio", w=12,
                      queries=[s.Query(f"{good} / sum {s.by(T)} ({_attempts()})", BY_TARGET)],
                      thresholds=s.steps(s.RED, (0.95, s.ORANGE), (0.99, s.GREEN)),
                      shows="Share of model probes that succeeded.",
                      red="below 99 % the model catalog SLO burns budget: see the SLO overview."),
        s.events_panel("Synthetic calls", w=6, unit=s.UNIT_COUNT,
                       queries=[s.Query(f"sum {s.by(T)} (increase({s.sel(c.MODEL_SYNTHETIC_CALLS_TOTAL, ON_TARGET)}"
                                        "[$__rate_interval]))", BY_TARGET)],
                       thresholds=s.steps(s.GREEN),
                       shows="Paid synthetic completions the exporter made.",
                       red="never red; a rise means the probe interval shrank: each call costs tokens."),
        s.stat("Provider postponed (Retry-After)", w=3, h=8, unit=s.UNIT_SECONDS, text_mode="value_and_name",
               queries=[s.Query(f"clamp_min(max {s.by(T, PROV)} "
                                f"({s.sel(c.MODEL_PROVIDER_POSTPONED_UNTIL, ON_TARGET, s.var(PROV))}) - time(), 0)",
                                s.legend("{}: {}", T, PROV))],
               thresholds=s.steps(s.GREEN, (1, s.RED)),
               shows="Seconds until the provider allows the next call, after it answered 429 with Retry-After "
                     "(0: not postponed).",
               red="the provider rate-limits the exporter: its calls wait; if users are limited too, raise the "
                   "quota or move traffic to another model."),
        s.stat("Synthetic calls left today", w=3, h=8, unit=s.UNIT_COUNT, text_mode="value_and_name",
               queries=[s.Query(f"min {s.by(T)} ({s.sel(c.MODEL_SYNTHETIC_CAP_REMAINING, ON_TARGET)})", BY_TARGET)],
               thresholds=s.steps(s.RED, (1, s.ORANGE), (10, s.GREEN)),
               shows="Synthetic completions the daily cap still allows.",
               red="the cap is reached: the completion check stops until tomorrow (the catalog check goes on)."),
    ]


def _message_quantile(phase: str, q: float) -> str:
    return s.sel(c.PROBE_LATENCY, *MESSAGE_PROBE, s.eq(c.LABEL_PHASE, phase), s.eq(c.LABEL_WINDOW, MESSAGE_WINDOW),
                 s.eq(c.LABEL_QUANTILE, f"{q:g}"))


def message_panels(a: th.AlertLines) -> list[g.Panel]:
    """The message probe: one agent turn through the gateway, against the article's table."""
    article = th.ARTICLE_MESSAGE_SECONDS
    attempts = s.sel(c.PROBE_ATTEMPTS_TOTAL, *MESSAGE_PROBE)
    steps = th.warn_bad(article[0.95], a.message_seconds)
    warm = [s.Query(f"max {s.by(T)} ({_message_quantile(c.Phase.WARM, q)})", s.legend(f"{{}} {s.percentile_name(q)}", T))
            for q in c.LATENCY_QUANTILES]
    figures = [s.Query(f"vector({article[q]:g})", f"article {s.percentile_name(q)} {article[q] * 1000:g} ms")
               for q in c.LATENCY_QUANTILES]
    return [
        s.row("Message round trip (message probe)"),
        s.stat(f"Warm turn P50 / P95 / P99 ({MESSAGE_WINDOW})", w=8, h=8, unit=s.UNIT_SECONDS, text_mode="value_and_name",
               queries=[*warm, *figures], thresholds=steps,
               shows="Exact percentiles of the message probe's warm turns (chat.send to the final answer, through the "
                     "gateway to the model provider), next to the article's message-processing table: P50 200 ms, "
                     "P95 800 ms, P99 1500 ms.",
               red=f"above {a.message_seconds:g} s the message-latency alert fires; orange: slower than the article's P95. Compare the "
                   "phases on the right: model = the provider, prepare = the gateway."),
        s.latency_panel(f"Warm turn latency (exact, {MESSAGE_WINDOW}) beside the article's figures", w=16,
                        queries=[*warm, *figures], thresholds=s.steps(s.GREEN, (a.message_seconds, s.RED)),
                        shows="P50/P95/P99 of warm turns (a turn < 60 s after the previous one) over time, with the "
                              f"article's P50/P95/P99 as flat lines; the red line is the {a.message_seconds:g} s alert threshold.",
                        red="P95 above the line: users wait more than 5 s per answer."),
        s.latency_panel(f"Turn phases P95 ({MESSAGE_WINDOW})", w=12,
                        queries=[s.Query(f"max {s.by(T, c.LABEL_PHASE)} ("
                                         + s.sel(c.PROBE_LATENCY, *MESSAGE_PROBE,
                                                 s.match(c.LABEL_PHASE, "|".join((c.Phase.ADMIT, c.Phase.PREPARE,
                                                                                  c.Phase.MODEL, c.Phase.COMPLETE,
                                                                                  c.Phase.COLD))),
                                                 s.eq(c.LABEL_WINDOW, MESSAGE_WINDOW), s.eq(c.LABEL_QUANTILE, "0.95"))
                                         + ")", s.legend("{} {}", T, c.LABEL_PHASE))],
                        thresholds=s.steps(s.GREEN, (a.message_seconds, s.RED)),
                        shows="P95 of each phase of a turn: admit (chat.send accepted), prepare (until the model call "
                              "starts), model (until the first answer text), complete (until the final event); and "
                              "cold turns (after >= 60 s idle the gateway re-creates its workers: 4-8 s).",
                        red="prepare high = the gateway (CPU, queueing); model high = the provider; cold high is "
                            "expected, cold only matters when users are rarely active."),
        s.events_panel("Message probe failures by reason", w=12,
                       queries=[s.Query(f"sum {s.by(T, c.LABEL_RESULT)} "
                                        f"({s.rate(s.sel(c.PROBE_ATTEMPTS_TOTAL, *MESSAGE_PROBE, s.ne(c.LABEL_RESULT, c.Result.SUCCESS)))})",
                                        s.legend("{}: {}", T, c.LABEL_RESULT))],
                       thresholds=s.steps(s.GREEN, (0.0001, s.RED)),
                       shows="Failed message probes per second by reason, read from the run's own events.",
                       red="model_not_found = retired model (incident 4); rate_limited = quota; provider_error = 5xx; "
                           "provider_refused / timeout = provider unreachable or hanging; forbidden / pairing_required "
                           "= the exporter lacks operator.write (docs/kubernetes.md); daily_cap_reached = the cap."),
        s.stat("Message turns left today", w=4, h=8, unit=s.UNIT_COUNT, text_mode="value_and_name",
               queries=[s.Query(f"min {s.by(T)} ({s.sel(c.MESSAGE_CAP_REMAINING, ON_TARGET)})", BY_TARGET)],
               thresholds=s.steps(s.RED, (1, s.ORANGE), (10, s.GREEN)),
               shows="Turns the message probe's daily_cap still allows today (UTC).",
               red="the cap is reached: no turns until midnight UTC (runs end daily_cap_reached)."),
        s.ratio_panel("Message probe success ratio", w=8,
                      queries=[s.Query(f"sum {s.by(T)} ({s.rate(s.sel(c.PROBE_ATTEMPTS_TOTAL, *MESSAGE_PROBE, s.eq(c.LABEL_RESULT, c.Result.SUCCESS)))})"
                                       f" / sum {s.by(T)} ({s.rate(attempts)})", BY_TARGET)],
                      thresholds=s.steps(s.RED, (1 - a.model_probe_failure_ratio, s.GREEN)),
                      shows="Share of message probe turns that reached the final answer.",
                      red=f"below {th.percent(1 - a.model_probe_failure_ratio)} the model-probe failure alert fires (it reads "
                          "the message probe too)."),
    ]


def build(config: Monitoring) -> g.Dashboard:
    return s.dashboard(
        UID, "model_endpoints",
        "Model providers behind the gateway, seen by the exporter's model probe: is every configured model "
        "still listed, and does a small synthetic completion succeed, how fast; and one real agent turn "
        "through the gateway (message probe) against the article's P50/P95/P99.",
        [*catalog_panels(), *completion_panels(), *message_panels(th.alert_lines(config))],
        [s.query_variable(T, "Target", s.label_values(c.MODEL_AVAILABLE, T)),
         s.query_variable(PROV, "Provider", s.label_values(s.sel(c.MODEL_AVAILABLE, ON_TARGET), PROV)),
         s.query_variable(MODEL, "Model", s.label_values(s.sel(c.MODEL_AVAILABLE, ON_TARGET, s.var(PROV)), MODEL))],
    )
