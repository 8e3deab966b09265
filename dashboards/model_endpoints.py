"""The model endpoints dashboard: catalog availability per model and the synthetic completion."""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from exporter import conventions as c
from exporter.quantiles import WINDOWS

UID = catalog.MODELS
T, PROV, MODEL = c.LABEL_TARGET, c.LABEL_PROVIDER, c.LABEL_MODEL
ON_TARGET = s.var(T)
BY_TARGET = s.legend("{}", T)
CATALOG = (ON_TARGET, s.var(PROV), s.var(MODEL))
MODEL_PROBE = (ON_TARGET, s.eq(c.LABEL_MODULE, c.MODULE_MODEL))
LATENCY_WINDOW = WINDOWS[1][0]


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
                        queries=[_exact_latency(c.PHASE_CATALOG, c.PHASE_GATEWAY_CATALOG)],
                        thresholds=s.steps(s.GREEN, (1, s.ORANGE), (th.MODEL_CALL_P95_SECONDS, s.RED)),
                        shows="Exact P50/P95/P99 of the provider's model list (catalog) and the gateway's "
                              "models.list RPC (gateway_catalog). "
                              "Needs `detail: true` on the model module (exporter config; off by default).",
                        red="listing models takes seconds: the provider (catalog) or the gateway (gateway_catalog) "
                            "is struggling; completions will be slow too."),
    ]


def completion_panels() -> list[g.Panel]:
    good = f"sum {s.by(T)} ({_attempts(s.eq(c.LABEL_RESULT, c.RESULT_SUCCESS))})"
    return [
        s.row("Synthetic completion"),
        s.latency_panel(f"Completion latency (exact, {LATENCY_WINDOW})", w=12,
                        queries=[_exact_latency(c.PHASE_FIRST_BYTE, c.PHASE_COMPLETION)],
                        thresholds=s.steps(s.GREEN, (th.MODEL_CALL_P95_SECONDS, s.ORANGE),
                                           (th.MODEL_CALL_P99_SECONDS, s.RED)),
                        shows="Exact P50/P95/P99 of the synthetic chat completion: time to the first token "
                              "(first_byte) and to the end (completion). Lines at the user's observed model-call P95 (3.5 s) and P99 (5.8 s). "
                              "Needs `detail: true` on the model module (exporter config; off by default).",
                        red="the provider is slower than usual: users wait longer for every answer; check the "
                            "provider's status page and the gateway internals' model call latency."),
        s.events_panel("Failure reasons", w=12,
                       queries=[s.Query(f"sum {s.by(T, c.LABEL_RESULT)} "
                                        f"({_attempts(s.ne(c.LABEL_RESULT, c.RESULT_SUCCESS))})",
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


def build() -> g.Dashboard:
    return s.dashboard(
        UID, "model_endpoints",
        "Model providers behind the gateway, seen by the exporter's model probe: is every configured model "
        "still listed, and does a small synthetic completion succeed, how fast.",
        [*catalog_panels(), *completion_panels()],
        [s.query_variable(T, "Target", s.label_values(c.MODEL_AVAILABLE, T)),
         s.query_variable(PROV, "Provider", s.label_values(s.sel(c.MODEL_AVAILABLE, ON_TARGET), PROV)),
         s.query_variable(MODEL, "Model", s.label_values(s.sel(c.MODEL_AVAILABLE, ON_TARGET, s.var(PROV)), MODEL))],
    )
