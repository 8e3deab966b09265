"""The gateway internals dashboard: the gateway's own optional diagnostics metrics.

They come from the gateway's diagnostics-prometheus plugin, which is optional: without it
every panel here is empty (and says so), and nothing else depends on this dashboard.
"""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from openclaw_schema import names as c
from slo.monitoring import Monitoring

UID = catalog.INTERNALS
NS, PROV, MODEL = c.LABEL_NAMESPACE, c.LABEL_PROVIDER, c.LABEL_MODEL
IN_NS = s.var(NS)
CALLS = (IN_NS, s.var(PROV))
FAILED = s.ne(c.LABEL_OUTCOME, c.OUTCOME_SUCCESS)
QS = (0.5, 0.95, 0.99)
BY_MODEL = s.legend("{}/{}", PROV, MODEL)
DIAG_SERIES = (c.DIAG_MESSAGE_PROCESSED + "_count", c.DIAG_MODEL_CALLS_TOTAL, c.DIAG_RPC_HANDLER + "_count",
               c.DIAG_MEMORY)


def _calls(*matchers: str) -> str:
    return s.sel(c.DIAG_MODEL_CALLS_TOTAL, *CALLS, *matchers)


def _failure_ratio(labels: tuple[str, ...], window: str = "$__rate_interval") -> str:
    per = s.by(*labels)
    return f"sum {per} ({s.rate(_calls(FAILED), window)}) / sum {per} ({s.rate(_calls(), window)})"


def presence_panels() -> list[g.Panel]:
    names = s.match(c.LABEL_NAME, "|".join(DIAG_SERIES))
    return [
        s.row("Diagnostics plugin"),
        s.stat("Diagnostics series scraped", w=24, h=3, unit=s.UNIT_COUNT,
               mappings=s.value_map(("0", "not scraped: this dashboard stays empty (optional plugin)", s.BLUE)),
               queries=[s.Query(f"count({{{names}, {IN_NS}}}) or vector(0)", "series")],
               thresholds=s.steps(s.BLUE, (1, s.GREEN)),
               shows="How many series of the gateway's optional diagnostics-prometheus plugin Prometheus has. "
                     "The probes, SLO and Kubernetes dashboards do not need them.",
               red="never red: 0 means the plugin is not installed or not scraped (route "
                   "/api/diagnostics/prometheus, bearer token with operator.read)."),
    ]


def message_panels(a: th.AlertLines) -> list[g.Panel]:
    latency = s.quantile_over(0.95, c.DIAG_MESSAGE_PROCESSED, (IN_NS,))
    steps = s.steps(s.GREEN, (a.message_seconds, s.RED))
    return [
        s.row("Message processing"),
        s.stat("Message processing P95", w=6, h=8, unit=s.UNIT_SECONDS, graph=True,
               queries=[s.Query(latency, "P95")], thresholds=steps,
               shows="P95 time the gateway takes to process a message (article: P50 200 ms, P95 800 ms).",
               red=f"above {a.message_seconds:g} s the {a.severity['message_latency']} alert fires: users wait; check model call latency below and the "
                   "event-loop delay on the probes dashboard."),
        s.latency_panel("Message processing latency", w=12,
                        queries=[s.Query(s.quantile_over(q, c.DIAG_MESSAGE_PROCESSED, (IN_NS,)), s.percentile_name(q))
                                 for q in QS],
                        thresholds=steps,
                        shows=f"P50/P95/P99 message processing time; the red line is the {a.message_seconds:g} s "
                              f"{a.severity['message_latency']} threshold.",
                        red="P95 above the line: the slow part is usually the model call (next row)."),
        s.timeseries("Messages processed", w=6, unit=s.UNIT_OPS, low=0, threshold_lines=False,
                     queries=[s.Query(f"sum({s.rate(s.sel(c.DIAG_MESSAGE_PROCESSED + '_count', IN_NS))})", "messages/s")],
                     thresholds=s.steps(s.GREEN),
                     shows="Messages processed per second: the load behind the latency.",
                     red="never red; a drop to 0 with users online means messages are not reaching the gateway."),
    ]


def model_call_panels(a: th.AlertLines) -> list[g.Panel]:
    steps = s.steps(s.GREEN, (a.model_call_failure_ratio, s.RED))
    return [
        s.row("Model calls (real traffic)"),
        s.stat("Model call failure rate (range)", w=6, h=8, unit=s.UNIT_RATIO, decimals=1,
               queries=[s.Query(_failure_ratio((), "$__range"), "failed", instant=True)], thresholds=steps,
               shows="Share of the gateway's model calls that failed in the selected range.",
               red=f"above {th.percent(a.model_call_failure_ratio)} the {a.severity['model_call_failures']} alert fires: "
                   "the failure categories say why."),
        s.ratio_panel("Model call failure rate by provider/model", w=18,
                      queries=[s.Query(_failure_ratio((PROV, MODEL)), BY_MODEL)], thresholds=steps,
                      shows=f"Failed share of model calls per provider and model; the red line is "
                            f"{th.percent(a.model_call_failure_ratio)}.",
                      red="one model above the line and the others fine = that model (retired, quota); all "
                          "of them = the provider or the network; compare with the model endpoints dashboard."),
        s.events_panel("Model call failures by error category", w=12,
                       queries=[s.Query(f"sum {s.by(PROV, c.LABEL_ERROR_CATEGORY)} ({s.rate(_calls(FAILED))})",
                                        s.legend("{}: {}", PROV, c.LABEL_ERROR_CATEGORY))],
                       thresholds=s.steps(s.GREEN, (0.001, s.RED)),
                       shows="Failed model calls per second by provider and error category.",
                       red="auth = API key; rate limit = quota; not found = retired model; timeout = provider slow."),
        s.latency_panel("Model call latency P95 by provider/model", w=12,
                        queries=[s.Query(s.quantile_over(0.95, c.DIAG_MODEL_CALL_DURATION, CALLS, (PROV, MODEL)),
                                         BY_MODEL)],
                        thresholds=s.steps(s.GREEN, (th.MODEL_CALL_P95_SECONDS, s.ORANGE),
                                           (th.MODEL_CALL_P99_SECONDS, s.RED)),
                        shows="P95 model call duration per provider and model (article: P95 3.5 s, P99 5.8 s).",
                        red="slower than the user's observed P99: the provider is degraded; consider a fallback model."),
    ]


def runtime_panels() -> list[g.Panel]:
    # The plugin's event-loop series share a name with the readiness probe's: theirs have no target.
    loop = s.sel(c.GATEWAY_EVENT_LOOP_DELAY_MAX, IN_NS, s.eq(c.LABEL_TARGET, ""))
    return [
        s.row("Gateway runtime"),
        s.latency_panel("RPC handler latency P95 by method", w=12,
                        queries=[s.Query(s.quantile_over(0.95, c.DIAG_RPC_HANDLER, (IN_NS,), (c.LABEL_METHOD,)),
                                         s.legend("{}", c.LABEL_METHOD))],
                        thresholds=s.steps(s.GREEN, (th.EVENT_LOOP_DELAY_WARN_SECONDS, s.ORANGE),
                                           (th.EVENT_LOOP_DELAY_BAD_SECONDS, s.RED)),
                        shows="P95 time the gateway spends in each WebSocket RPC handler (health, status and "
                              "models.list answer in 3-30 ms).",
                        red="a handler that slow blocks the event loop for every client: find the method and its "
                            "backing store (agent database on the PVC, plugin)."),
        s.latency_panel("Event-loop delay max", w=6,
                        queries=[s.Query(f"max {s.by(NS, c.LABEL_POD)} ({loop})", s.legend("{}", c.LABEL_POD))],
                        thresholds=s.steps(s.GREEN, (th.EVENT_LOOP_DELAY_WARN_SECONDS, s.ORANGE),
                                           (th.EVENT_LOOP_DELAY_BAD_SECONDS, s.RED)),
                        shows="Worst event-loop delay the gateway measured itself.",
                        red="the event loop stalls: check CPU throttling and the slow RPC handlers on the left."),
        s.timeseries("Memory by kind", w=6, unit=s.UNIT_BYTES, low=0, threshold_lines=False,
                     queries=[s.Query(f"max {s.by(c.LABEL_POD, c.LABEL_KIND)} ({s.sel(c.DIAG_MEMORY, IN_NS)})",
                                      s.legend("{} {}", c.LABEL_POD, c.LABEL_KIND))],
                     thresholds=s.steps(s.GREEN),
                     shows="Gateway process memory by kind (rss, heap used, heap total, external ...).",
                     red="never red; compare rss with the memory limit on the Kubernetes dashboard, and a heap that "
                         "only grows with a leak."),
    ]


def build(config: Monitoring) -> g.Dashboard:
    a = th.alert_lines(config)
    return s.dashboard(
        UID, "gateway_internals",
        "The gateway's own diagnostics (optional diagnostics-prometheus plugin): message processing latency "
        f"against {a.message_seconds:g} s, model call failure rate against {th.percent(a.model_call_failure_ratio)}, "
        "RPC handler latency, event loop and memory.",
        [*presence_panels(), *message_panels(a), *model_call_panels(a), *runtime_panels()],
        [s.query_variable(NS, "Namespace", s.label_values(c.DIAG_MESSAGE_PROCESSED + "_count", NS)),
         s.query_variable(PROV, "Provider", s.label_values(s.sel(c.DIAG_MODEL_CALLS_TOTAL, IN_NS), PROV))],
    )
