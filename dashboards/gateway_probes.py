"""The gateway probes dashboard: what the exporter's synthetic probes see, per target and module."""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from openclaw_schema import names as c
from slo.monitoring import Monitoring

UID = catalog.PROBES
T, M, P = c.LABEL_TARGET, c.LABEL_MODULE, c.LABEL_PHASE
ON_TARGET = s.var(T)
PROBED = (ON_TARGET, s.var(M))
BY_TARGET, BY_PAIR = s.legend("{}", T), s.legend("{} / {}", T, M)
# The exact-percentile window the latency panels read (the middle one: 5m).
LATENCY_WINDOW = c.LATENCY_WINDOWS[1][0]


def handshake_steps(a: th.AlertLines) -> list[s.Step]:
    """The handshake latency SLO's threshold as a red line (none if the spec drops that SLO)."""
    return s.steps(s.GREEN, (a.handshake_slo_seconds, s.RED)) if a.handshake_slo_seconds else s.steps(s.GREEN)


def per_target(metric: str, what: str = "") -> s.Query:
    """A gateway-reported gauge, one line per target."""
    return s.Query(f"max {s.by(T)} ({s.sel(metric, ON_TARGET)})", s.legend(f"{{}} {what}".strip(), T))


def _attempts(*matchers: str) -> str:
    return s.rate(s.sel(c.PROBE_ATTEMPTS_TOTAL, *PROBED, *matchers))


def _success_ratio() -> str:
    good = f"sum {s.by(T, M)} ({_attempts(s.eq(c.LABEL_RESULT, c.Result.SUCCESS))})"
    return f"{good} / sum {s.by(T, M)} ({_attempts()})"


def results_panels() -> list[g.Panel]:
    return [
        s.row("Probe results"),
        s.stat("Probe success", w=16, h=5, unit=s.UNIT_COUNT, mappings=s.UP_DOWN, text_mode="value_and_name",
               queries=[s.Query(s.sel(c.PROBE_SUCCESS, *PROBED), BY_PAIR)],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="Whether the last probe of each target and module succeeded.",
               red="the gateway failed that check. Read the failure reason below, then run "
                   "`openclaw-exporter probe --target <t> --module <m>` for the probe's own log."),
        s.stat("Seconds since the last probe", w=8, h=5, unit=s.UNIT_SECONDS, text_mode="value_and_name",
               queries=[s.Query(f"time() - max {s.by(T, M)} ({s.sel(c.PROBE_LAST_TIMESTAMP, *PROBED)})",
                                BY_PAIR)],
               thresholds=s.steps(s.GREEN, (th.PROBE_STALE_WARN_SECONDS, s.ORANGE), (th.PROBE_STALE_BAD_SECONDS, s.RED)),
               shows="Age of the newest probe result: the exporter is still probing and Prometheus still scraping.",
               red="results are stale and every other panel is old news: check the exporter pod, its logs "
                   "(`skipped ticks`, config reload errors) and the Prometheus scrape target."),
        s.ratio_panel("Success ratio", w=12,
                      queries=[s.Query(_success_ratio(), BY_PAIR)],
                      thresholds=s.steps(s.RED, (0.99, s.ORANGE), (0.999, s.GREEN)),
                      shows="Share of probes that succeeded, per target and module (the availability SLIs' raw input).",
                      red="below 99.9 %, the 99.9 % availability SLOs burn budget: see the SLO overview for how fast."),
        s.events_panel("Failure reasons", w=12,
                       queries=[s.Query(f"sum {s.by(T, M, c.LABEL_RESULT)} "
                                        f"({_attempts(s.ne(c.LABEL_RESULT, c.Result.SUCCESS))})",
                                        s.legend("{} / {}: {}", T, M, c.LABEL_RESULT))],
                       thresholds=s.steps(s.GREEN, (0.001, s.RED)),
                       shows="Failed probes per second, by failure reason (refused, timeout, not_ready, invalid_body, "
                             "auth_failed, model_not_found ...).",
                       red="any bar is a failure. The reason names the fix: refused/timeout = network or pod down; "
                           "not_ready = see failing subsystems; invalid_body = wrong path or port (the HTML control UI "
                           "answers 200); auth_failed/forbidden/pairing_required = the probe's token or scopes."),
        s.events_panel("Timeouts by phase", w=12,
                       queries=[s.Query(f"sum {s.by(T, M, P)} "
                                        f"({s.rate(s.sel(c.PROBE_TIMEOUTS_TOTAL, *PROBED))})",
                                        s.legend("{} / {}: {}", T, M, P))],
                       thresholds=s.steps(s.GREEN, (0.001, s.RED)),
                       shows="Probes that hit their timeout, by the phase they were stuck in.",
                       red="connect = network path or pod; first_byte/handshake = the gateway is overloaded "
                           "(check the event loop below); rpc = a slow gateway RPC."),
        s.events_panel("Skipped ticks", w=12,
                       queries=[s.Query(f"sum {s.by(T, M)} ({s.rate(s.sel(c.PROBE_SKIPPED_TOTAL, *PROBED))})",
                                        BY_PAIR)],
                       thresholds=s.steps(s.GREEN, (0.001, s.RED)),
                       shows="Scheduled probes skipped because the previous one of the pair was still running.",
                       red="the probe interval is shorter than the probe takes: raise `interval` or lower `timeout`."),
    ]


def latency_panels(a: th.AlertLines) -> list[g.Panel]:
    exact = [
        s.latency_panel(f"Latency {s.percentile_name(q)} by phase (exact, {LATENCY_WINDOW})", w=8,
                        queries=[s.Query(s.sel(c.PROBE_LATENCY, *PROBED, s.eq(c.LABEL_WINDOW, LATENCY_WINDOW),
                                               s.eq(c.LABEL_QUANTILE, repr(q))),
                                         s.legend("{} / {}: {}", T, M, P))],
                        thresholds=handshake_steps(a),
                        shows=f"Exact {s.percentile_name(q)} of successful probe durations over the last "
                              f"{LATENCY_WINDOW}, per phase (computed by the exporter, no bucket error). Empty unless the "
                              "module has `detail: true` in the exporter config (off by default: fewer series); "
                              "the histogram panel below has data either way. "
                              "The red line is the WebSocket handshake latency SLO threshold.",
                        red="a websocket handshake above the line burns the latency SLO; a slow connect "
                            "phase points at the network, slow later phases at the gateway itself.")
        for q in c.LATENCY_QUANTILES
    ]
    across = s.latency_panel(
        "Latency across targets (histogram)", w=24,
        queries=[s.Query(s.quantile_over(q, c.PROBE_DURATION, PROBED, (M, P)),
                         s.legend(f"{s.percentile_name(q)} {{}}: {{}}", M, P)) for q in c.LATENCY_QUANTILES],
        thresholds=handshake_steps(a),
        shows="Percentiles estimated with histogram_quantile over the duration buckets, aggregated across the "
              "selected targets (coarser than the exact panels above, but they add up across targets). "
              "Only the total phase by default; every phase with `detail: true`.",
        red="latency is high everywhere, not on one target: look for a shared cause (node, network, provider).")
    return [s.row("Latency"), *exact, across]


def readiness_panels(a: th.AlertLines) -> list[g.Panel]:
    failing = s.sel(c.GATEWAY_READINESS_FAILING, ON_TARGET)
    return [
        s.row("Readiness (/readyz)"),
        s.stat("Gateway ready", w=4, h=6, unit=s.UNIT_COUNT, text_mode="value_and_name",
               mappings=s.value_map(("0", "NOT READY", s.RED), ("1", "READY", s.GREEN)),
               queries=[s.Query(s.sel(c.GATEWAY_READY, ON_TARGET), BY_TARGET)],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="What the gateway's /readyz body says about itself right now.",
               red="the gateway refuses traffic (Kubernetes takes it out of the Service): the table next to it "
                   "names the failing subsystems."),
        s.table("Failing subsystems (selected range)", w=10, h=6, unit=s.UNIT_COUNT, hide=["Value"],
                queries=[s.Query(f"max {s.by(T, c.LABEL_SUBSYSTEM)} (max_over_time({failing}[$__range]))",
                                 instant=True, table=True)],
                thresholds=s.steps(s.RED),
                shows="Subsystems /readyz listed as failing at any time in the selected range "
                      "(agent-database:<id>, plugin-reload ...). Empty is good.",
                red="every row is red: agent-database:* = check the PVC mount and disk; plugin-reload = check "
                    "the gateway log for the plugin error, then the config it reloaded."),
        s.events_panel("Failing subsystems over time", w=10, h=6, unit=s.UNIT_COUNT,
                       queries=[s.Query(f"max {s.by(T, c.LABEL_SUBSYSTEM)} ({failing})", s.legend("{}: {}", T, c.LABEL_SUBSYSTEM))],
                       thresholds=s.steps(s.GREEN, (1, s.RED)),
                       shows="When each subsystem was failing readiness.",
                       red="match the start of a bar with deploys, config reloads and the Kubernetes dashboard's "
                           "events."),
        s.stat("Gateway uptime", w=6, h=7, unit=s.UNIT_SECONDS, text_mode="value_and_name",
               queries=[per_target(c.GATEWAY_UPTIME)],
               thresholds=s.steps(s.RED, (th.PROBE_STALE_BAD_SECONDS, s.GREEN)),
               shows="Gateway process uptime reported by /readyz.",
               red="the gateway (re)started in the last 5 minutes: check restarts and the last termination "
                   "reason on the Kubernetes dashboard."),
        s.latency_panel("Event-loop delay", w=6, h=7,
                        queries=[per_target(c.GATEWAY_EVENT_LOOP_DELAY_P99, "p99"),
                                 per_target(c.GATEWAY_EVENT_LOOP_DELAY_MAX, "max")],
                        thresholds=s.steps(s.GREEN, (th.EVENT_LOOP_DELAY_WARN_SECONDS, s.ORANGE),
                                           (th.EVENT_LOOP_DELAY_BAD_SECONDS, s.RED)),
                        shows="Node.js event-loop delay (P99 and max) the gateway reports: how late every timer, "
                              "WebSocket frame and RPC runs.",
                        red="the gateway's single thread is blocked: every client feels it. Check CPU against its "
                            "limit (throttling) and the gateway internals dashboard for slow RPC handlers."),
        s.ratio_panel("Event-loop utilization", w=6, h=7,
                      queries=[per_target(c.GATEWAY_EVENT_LOOP_UTILIZATION)],
                      thresholds=s.steps(s.GREEN, (th.EVENT_LOOP_UTILIZATION_WARN, s.ORANGE),
                                         (th.EVENT_LOOP_UTILIZATION_BAD, s.RED)),
                      shows="Share of time the event loop was busy.",
                      red="near 100 % the gateway cannot keep up: reduce load or give it more CPU."),
        s.ratio_panel("CPU (share of one core)", w=6, h=7, high=None,
                      queries=[per_target(c.GATEWAY_CPU_CORE_RATIO)],
                      thresholds=s.steps(s.GREEN, (a.cpu_of_limit, s.ORANGE), (1, s.RED)),
                      shows="CPU the gateway process uses, as a share of one core (the event loop runs on one).",
                      red="the process needs more than a core: the event loop is saturated; check the CPU limit "
                          "on the Kubernetes dashboard."),
    ]


def build_panels() -> list[g.Panel]:
    info = s.sel(c.GATEWAY_INFO, ON_TARGET)
    return [
        s.row("Gateway build (WebSocket module)"),
        s.table("Gateway version", w=12, h=5, unit=s.UNIT_COUNT, hide=["Value"],
                queries=[s.Query(f"max {s.by(T, c.LABEL_VERSION, c.LABEL_PROTOCOL)} ({info})", instant=True, table=True)],
                thresholds=s.steps(s.BLUE),
                shows="Gateway version and protocol each target announced in its hello-ok.",
                red="this table is never red; two versions for one target means a rollout is in progress or stuck."),
        s.stat("Versions running", w=4, h=5, unit=s.UNIT_COUNT,
               queries=[s.Query(f"count(count {s.by(c.LABEL_VERSION)} ({info}))", "versions")],
               thresholds=s.steps(s.GREEN, (2, s.RED)),
               shows="How many gateway versions the selected targets run.",
               red="more than one version: finish or roll back the rollout."),
        s.stat("Plugins loaded", w=4, h=5, unit=s.UNIT_COUNT, text_mode="value_and_name",
               queries=[per_target(c.GATEWAY_PLUGINS_LOADED)],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="Plugins the gateway's health RPC reports loaded.",
               red="no plugin loaded: the gateway started without its configuration (see incident 3: config file "
                   "not found); check the mounted config."),
        s.stat("Plugin errors", w=4, h=5, unit=s.UNIT_COUNT, text_mode="value_and_name",
               queries=[per_target(c.GATEWAY_PLUGIN_ERRORS)],
               thresholds=s.steps(s.GREEN, (1, s.RED)),
               shows="Plugins the gateway's health RPC reports as failed.",
               red="a plugin failed to load: the gateway log names it; fix its config and reload."),
    ]


def build(config: Monitoring) -> g.Dashboard:
    a = th.alert_lines(config)
    return s.dashboard(
        UID, "gateway_probes",
        "What the exporter's synthetic probes see for each gateway target: success, failure reasons, "
        "latency per phase, readiness and the event loop.",
        [*results_panels(), *latency_panels(a), *readiness_panels(a), *build_panels()],
        [s.query_variable(T, "Target", s.label_values(c.PROBE_SUCCESS, T)),
         s.query_variable(M, "Module", s.label_values(s.sel(c.PROBE_SUCCESS, ON_TARGET), M))],
    )
