"""Every metric, label, vocabulary and rule name of the project, declared once.

The exporter, the SLO math, the rule and alert generators, the dashboards and the tests all
import names from here, so a rename is one edit and drift between them is impossible. Metrics
are `Metric` declarations (a `str` that carries type, help, labels and unit): the emitters take
their help from here and `docs/metrics.md` is generated from them (`python -m openclaw_schema`).
"""

from __future__ import annotations

from enum import StrEnum

from openclaw_schema.metric import Metric, MetricType, Source

_T = MetricType  # short, for the declarations below
NAMESPACE = "openclaw"

# --- labels -------------------------------------------------------------------------------
LABEL_TARGET = "target"
# The external label of Thanos/Mimir multi-cluster setups (the default aggregation label).
LABEL_CLUSTER = "cluster"
LABEL_MODULE = "module"
LABEL_PHASE = "phase"
LABEL_RESULT = "result"
LABEL_WINDOW = "window"
LABEL_QUANTILE = "quantile"
LABEL_SLO = "slo"
LABEL_THRESHOLD = "threshold_seconds"
# The gateway pod a per-pod probe reached by IP (kubernetes.pod_probing); absent on the
# configured target's series. Not `pod`: the Prometheus Operator sets `pod` on every series.
LABEL_GATEWAY_POD = "gateway_pod"
LABEL_SUBSYSTEM = "subsystem"
LABEL_VERSION = "version"
LABEL_PROTOCOL = "protocol"
LABEL_PYTHON_VERSION = "python_version"
# This replica's place in a sharded fleet (exporter/sharding.py, docs/fleet.md).
LABEL_ORDINAL = "ordinal"
LABEL_REPLICAS = "replicas"
LABEL_REPLICATION = "replication"
LABEL_PROVIDER = "provider"
LABEL_MODEL = "model"
LABEL_NAMESPACE = "namespace"
LABEL_POD = "pod"
LABEL_CONTAINER = "container"
LABEL_REASON = "reason"
LABEL_EXIT_CODE = "exit_code"
# The watched API resource (pods, events) on the watcher's metrics; "cpu" or "memory" on
# kube-state-metrics' resource limits and requests.
LABEL_RESOURCE = "resource"
# The kind of watch error (KubeWatchErrorKind); the memory kind on the plugin's memory gauge.
LABEL_KIND = "kind"
LABEL_CRONJOB = "cronjob"
LABEL_OUTCOME = "outcome"
LABEL_ERROR_CATEGORY = "error_category"
LABEL_METHOD = "method"
LABEL_SEVERITY = "severity"
LABEL_SERVICE = "service"
# Burn-rate alerts: the window pair that fires (as Pyrra labels them), e.g. long="1h" short="5m".
LABEL_LONG_WINDOW = "long"
LABEL_SHORT_WINDOW = "short"
# The label the CPU alert adds to say what it divides by: the limit, else the request.
LABEL_CPU_BASIS = "cpu_basis"
LABEL_JOB = "job"
LABEL_LE = "le"
LABEL_NAME = "__name__"
LABEL_ALERTNAME = "alertname"
LABEL_ALERTSTATE = "alertstate"


# --- vocabularies (label values) ------------------------------------------------------------
class Module(StrEnum):
    """Probe modules (the `module` label), as the prober table spells them."""

    READINESS = "readiness"
    WEBSOCKET = "websocket"
    MODEL = "model"
    MESSAGE = "message"
    STORAGE = "storage"


class Phase(StrEnum):
    """Probe phases (the `phase` label of durations and timeouts)."""

    TOTAL = "total"  # every module
    CONNECT = "connect"
    CHALLENGE = "challenge"  # gateway protocol: the connect.challenge event
    HANDSHAKE = "handshake"  # gateway protocol: connect request to hello-ok
    BODY = "body"  # readiness: reading the /readyz body (a timeout phase only)
    FIRST_BYTE = "first_byte"  # readiness: response headers; model: the first streamed token
    RPC = "rpc"  # websocket: the configured RPC
    CATALOG = "catalog"  # model: GET {baseUrl}/models
    GATEWAY_CATALOG = "gateway_catalog"  # model: the gateway's models.list RPC
    COMPLETION = "completion"  # model: the synthetic chat completion
    # message: one agent turn through the gateway
    ROLL = "roll"  # the session roll (sessions.patch/delete) before a turn, when due
    ADMIT = "admit"  # chat.send -> res started
    PREPARE = "prepare"  # -> the model call starts (chat status phase "starting_model")
    MODEL = "model"  # -> first assistant text
    COMPLETE = "complete"  # -> the run's final chat event
    WARM = "warm"  # whole turn (send -> final) of a successful turn after < warm_within idle
    COLD = "cold"  # the same for a turn after a longer gap (the gateway re-creates its workers)
    # storage: the write test on the volume
    WRITE = "write"
    FSYNC = "fsync"
    READ = "read"
    DELETE = "delete"


class Result(StrEnum):
    """Probe results (the `result` label): success or the failure reason."""

    SUCCESS = "success"
    # Every prober (exporter/probes/base.py COMMON_RESULTS)
    TIMEOUT = "timeout"
    TLS = "tls"
    DNS = "dns"
    REFUSED = "refused"
    CLOSED = "closed"
    ERROR = "error"
    CONFIG_ERROR = "config_error"  # a secret the probe needs cannot be read
    # The gateway protocol (exporter/probes/gateway_client.py)
    UPGRADE_REJECTED = "upgrade_rejected"
    REDIRECT = "redirect"
    NO_CHALLENGE = "no_challenge"
    INVALID_FRAME = "invalid_frame"
    PROTOCOL_MISMATCH = "protocol_mismatch"
    AUTH_FAILED = "auth_failed"
    PAIRING_REQUIRED = "pairing_required"
    SCOPE_MISSING = "scope_missing"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    RPC_ERROR = "rpc_error"
    # HTTP bodies (readiness, model)
    HTTP_ERROR = "http_error"
    INVALID_BODY = "invalid_body"
    NOT_READY = "not_ready"
    # Model providers (model, message)
    RATE_LIMITED = "rate_limited"
    MODEL_NOT_FOUND = "model_not_found"
    MODEL_UNAVAILABLE = "model_unavailable"
    SERVER_ERROR = "server_error"
    PROVIDER_ERROR = "provider_error"
    PROVIDER_REFUSED = "provider_refused"
    # Agent runs (message)
    RUN_ERROR = "run_error"
    ABORTED = "aborted"
    DAILY_CAP_REACHED = "daily_cap_reached"
    # The volume (storage)
    READ_ONLY = "read_only"
    NO_SPACE = "no_space"
    PERMISSION_DENIED = "permission_denied"
    PATH_MISSING = "path_missing"
    IO_ERROR = "io_error"
    CONTENT_MISMATCH = "content_mismatch"


# Failure reasons that say the probe itself is misconfigured (credentials, scopes, pairing):
# they are neither good nor bad events for availability SLOs and alert on their own.
PROBE_CONFIG_RESULTS = (Result.AUTH_FAILED, Result.FORBIDDEN, Result.PAIRING_REQUIRED, Result.SCOPE_MISSING)


class KubeWatchErrorKind(StrEnum):
    """The `kind` of a watch error."""

    GONE = "gone"  # 410: a normal re-list, not a failure; alerts ignore it
    HTTP = "http"  # another API error status
    CONNECTION = "connection"  # refused, dropped or timed out
    DECODE = "decode"  # a stream line that is not a watch event
    INTERNAL = "internal"  # a bug of ours, logged with its traceback


class Severity(StrEnum):
    """Alert severities, the vocabulary of kube-prometheus that Alertmanager configs route on:
    critical pages (wake someone now), warning is a ticket (the next working day), info informs."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


# Kubernetes waiting reasons and event reasons the incident alerts and dashboards match.
REASON_CRASH_LOOP = "CrashLoopBackOff"
REASONS_IMAGE_PULL = ("ImagePullBackOff", "ErrImagePull")
REASON_CONTAINER_CREATING = "ContainerCreating"
REASON_FAILED_MOUNT = "FailedMount"  # an event reason and a waiting-pod symptom
# kube-state-metrics' `resource` values, and the CPU alert's `cpu_basis` values.
KSM_RESOURCE_CPU = "cpu"
KSM_RESOURCE_MEMORY = "memory"
CPU_BASIS_LIMIT = "limit"
CPU_BASIS_REQUEST = "request"
CADVISOR_POD_CONTAINER = "POD"  # cAdvisor's pause-container series, excluded from sums
# The plugin's public source labels model calls outcome="completed" or "error"; "success" is an
# ASSUMED spelling (the plugin is not installable offline here): the failure alert counts
# "error" only, the dashboards everything but success, so either spelling of success works.
OUTCOME_SUCCESS = "success"
OUTCOME_ERROR = "error"
ALERT_STATE_FIRING = "firing"


# --- bucket layouts and label-value spellings the generators select on ----------------------
def bucket_le(bound: float) -> str:
    """The `le` label value of a bucket, spelled as prometheus_client writes it ("300.0", "+Inf").

    The collectors write it and the alert generator selects it with this one function:
    Prometheus 2 matches `le` as a string, so le="300" never matches le="300.0".
    """
    from prometheus_client.utils import (
        floatToGoString,  # only generators and the watcher need it
    )

    return floatToGoString(bound)


def threshold_label(seconds: float) -> str:
    """The `threshold_seconds` label value for a latency threshold.

    The exporter and the rule generator both call this, so `0.25` is spelled the same way
    on the counter and in the selector that reads it.
    """
    return repr(float(seconds))


# Model calls (model and message modules): article P50 1.2 s, P95 3.5 s, P99 5.8 s. The
# message-latency alert and SLO read the `warm` phase at one of these bounds.
MODEL_BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0,
                                    20.0, 30.0, 45.0, 60.0)
# The storage module's latency histogram, resolving the article's file read/write targets
# (P50 5 ms, P95 20 ms, P99 50 ms); the storage latency alert's threshold must be one.
STORAGE_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Pod creation to first Ready (the user's target is < 5 min; achieved 3 min, then 50 s); the
# startup alert's threshold must be one of them.
STARTUP_BUCKETS: tuple[float, ...] = (5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600)
# Bucket bounds of the plugin's duration histograms: DURATION_BUCKETS_SECONDS of its
# prometheus-metric-store, read in its public source; ASSUMED for the installed version (the
# plugin is not installable here). It writes `le` with JavaScript's String(bound): "5", "0.5".
DIAG_DURATION_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


# The exporter's exact sliding-window percentiles (exporter/quantiles.py): the `window` and
# `quantile` label values of PROBE_LATENCY, which the dashboards select.
LATENCY_WINDOWS: tuple[tuple[str, float], ...] = (("1m", 60.0), ("5m", 300.0), ("1h", 3600.0))
LATENCY_QUANTILES: tuple[float, ...] = (0.5, 0.95, 0.99)


# === metrics the exporter exposes ==========================================================
# Probe series carry `gateway_pod` too when a per-pod probe made them (kubernetes.pod_probing).
_PROBE = (LABEL_TARGET, LABEL_MODULE)

# --- common probe metrics (every module; exporter/exposition.py) -------------------------------
PROBE_SUCCESS = Metric("openclaw_probe_success", _T.GAUGE, "Whether the last probe succeeded (1) or failed (0).", _PROBE)
PROBE_ATTEMPTS = Metric("openclaw_probe_attempts", _T.COUNTER, "Probes run, by result (success or a failure reason).",
                        (*_PROBE, LABEL_RESULT))
PROBE_ATTEMPTS_TOTAL = PROBE_ATTEMPTS.total
PROBE_TIMEOUTS = Metric("openclaw_probe_timeouts", _T.COUNTER, "Probes that timed out, by the phase they were in.",
                        (*_PROBE, LABEL_PHASE))
PROBE_TIMEOUTS_TOTAL = PROBE_TIMEOUTS.total
PROBE_SKIPPED = Metric("openclaw_probe_skipped_ticks", _T.COUNTER,
                       "Ticks skipped because the previous probe of the pair was still running.", _PROBE)
PROBE_SKIPPED_TOTAL = PROBE_SKIPPED.total
PROBE_LAST_TIMESTAMP = Metric("openclaw_probe_last_run_timestamp_seconds", _T.GAUGE, "Unix time the last probe finished.",
                              _PROBE, unit="seconds")
PROBE_DURATION = Metric("openclaw_probe_duration_seconds", _T.HISTOGRAM,
                        "Duration of successful probes by phase (only total unless detail is on).",
                        (*_PROBE, LABEL_PHASE), unit="seconds")
PROBE_LATENCY = Metric("openclaw_probe_latency_seconds", _T.SUMMARY,
                       "Exact percentiles of successful probe durations over sliding windows (detail on).",
                       (*_PROBE, LABEL_PHASE, LABEL_WINDOW), unit="seconds")
PROBE_LATENCY_GOOD = Metric("openclaw_probe_latency_good", _T.COUNTER,
                            "Successful probes whose phase took at most the SLO threshold.",
                            (*_PROBE, LABEL_PHASE, LABEL_THRESHOLD))
PROBE_LATENCY_GOOD_TOTAL = PROBE_LATENCY_GOOD.total

# --- exporter self-metrics (exporter/collectors.py) ----------------------------------------------
EXPORTER_BUILD_INFO = Metric("openclaw_exporter_build_info", _T.INFO, "Exporter build information.",
                             (LABEL_VERSION, LABEL_PYTHON_VERSION))
EXPORTER_RELOAD_SUCCESS = Metric("openclaw_exporter_config_last_reload_successful", _T.GAUGE,
                                 "Whether the last configuration reload succeeded.")
EXPORTER_RELOAD_TIMESTAMP = Metric("openclaw_exporter_config_last_reload_success_timestamp_seconds", _T.GAUGE,
                                   "Unix time of the last successful configuration load.", unit="seconds")
EXPORTER_PROBES_IN_FLIGHT = Metric("openclaw_exporter_probes_in_flight", _T.GAUGE, "Probes running right now.")
EXPORTER_TARGETS = Metric("openclaw_exporter_targets", _T.GAUGE,
                          "Targets of the whole fleet, configured and discovered, before sharding.")
# Sharding (exporter/sharding.py, docs/fleet.md): this replica's place in the fleet and its share.
EXPORTER_SHARD_INFO = Metric(
    "openclaw_exporter_shard_info", _T.INFO,
    "This replica's shard: its ordinal, the replica count and how many replicas probe each target.",
    (LABEL_ORDINAL, LABEL_REPLICAS, LABEL_REPLICATION))
EXPORTER_SHARD_TARGETS = Metric("openclaw_exporter_shard_targets", _T.GAUGE,
                                "Targets this replica probes (its shard of the configured and discovered targets).")

# --- readiness module (from the gateway's /readyz body) ------------------------------------------
GATEWAY_READY = Metric("openclaw_gateway_ready", _T.GAUGE, "Whether the gateway reports itself ready (1) or not (0).",
                       (LABEL_TARGET,))
GATEWAY_READINESS_FAILING = Metric("openclaw_gateway_readiness_failing", _T.GAUGE,
                                   "Subsystems the gateway lists as failing readiness.", (LABEL_TARGET, LABEL_SUBSYSTEM))
GATEWAY_EVENT_LOOP_DELAY_P99 = Metric("openclaw_gateway_event_loop_delay_p99_seconds", _T.GAUGE,
                                      "Event-loop delay P99 reported by the gateway.", (LABEL_TARGET,), unit="seconds")
GATEWAY_EVENT_LOOP_DELAY_MAX = Metric(
    "openclaw_gateway_event_loop_delay_max_seconds", _T.GAUGE, "Event-loop delay max reported by the gateway.",
    (LABEL_TARGET,), unit="seconds",
    note="The diagnostics plugin exposes the same name; its series are the ones without `target`.")
GATEWAY_EVENT_LOOP_UTILIZATION = Metric("openclaw_gateway_event_loop_utilization_ratio", _T.GAUGE,
                                        "Event-loop utilization reported by the gateway.", (LABEL_TARGET,), unit="ratio")
GATEWAY_CPU_CORE_RATIO = Metric("openclaw_gateway_cpu_core_ratio", _T.GAUGE,
                                "CPU cores used by the gateway process, as a ratio of one core.", (LABEL_TARGET,),
                                unit="ratio")
GATEWAY_UPTIME = Metric("openclaw_gateway_uptime_seconds", _T.GAUGE, "Gateway uptime reported by its readiness endpoint.",
                        (LABEL_TARGET,), unit="seconds")

# --- websocket module (from hello-ok and the health RPC) -----------------------------------------
GATEWAY_INFO = Metric("openclaw_gateway_info", _T.GAUGE, "Gateway version and protocol from the hello-ok handshake.",
                      (LABEL_TARGET, LABEL_VERSION, LABEL_PROTOCOL))
GATEWAY_PLUGINS_LOADED = Metric("openclaw_gateway_plugins_loaded", _T.GAUGE,
                                "Plugins the gateway reports loaded (health RPC).", (LABEL_TARGET,))
GATEWAY_PLUGIN_ERRORS = Metric("openclaw_gateway_plugin_errors", _T.GAUGE,
                               "Plugins the gateway reports failing to load (health RPC).", (LABEL_TARGET,))

# --- model module --------------------------------------------------------------------------------
MODEL_AVAILABLE = Metric("openclaw_model_available", _T.GAUGE,
                         "Whether the provider's model catalog lists the model (1) or not (0).",
                         (LABEL_TARGET, LABEL_PROVIDER, LABEL_MODEL))
MODEL_GATEWAY_LISTED = Metric("openclaw_model_gateway_listed", _T.GAUGE,
                              "Whether the gateway's models.list lists the configured default model.",
                              (LABEL_TARGET, LABEL_MODEL))
MODEL_SYNTHETIC_CALLS = Metric("openclaw_model_synthetic_calls", _T.COUNTER,
                               "Synthetic completion calls made since the exporter started.",
                               (LABEL_TARGET, LABEL_PROVIDER, LABEL_MODEL))
MODEL_SYNTHETIC_CALLS_TOTAL = MODEL_SYNTHETIC_CALLS.total
MODEL_SYNTHETIC_CAP_REMAINING = Metric("openclaw_model_synthetic_calls_remaining_today", _T.GAUGE,
                                       "Synthetic completion calls left today (UTC) under the daily cap.",
                                       (LABEL_TARGET, LABEL_PROVIDER, LABEL_MODEL))
MODEL_PROVIDER_POSTPONED_UNTIL = Metric(
    "openclaw_model_provider_postponed_until_timestamp_seconds", _T.GAUGE,
    "Unix time before which the provider asked not to be called (429 Retry-After); 0 when not postponed.",
    (LABEL_TARGET, LABEL_PROVIDER), unit="seconds")

# --- message module (one agent turn through the gateway) -----------------------------------------
MESSAGE_TURNS = Metric("openclaw_message_probe_turns", _T.COUNTER,
                       "Agent turns (chat.send) the message probe made, counted across restarts.", (LABEL_TARGET,))
MESSAGE_TURNS_TOTAL = MESSAGE_TURNS.total
MESSAGE_CAP_REMAINING = Metric("openclaw_message_probe_turns_remaining_today", _T.GAUGE,
                               "Message probe turns left today (UTC) under daily_cap.", (LABEL_TARGET,))
MESSAGE_SESSION_ROLLS = Metric("openclaw_message_probe_session_rolls", _T.COUNTER,
                               "Times the message probe rolled its session (since the exporter started).", (LABEL_TARGET,))
MESSAGE_SESSION_ROLLS_TOTAL = MESSAGE_SESSION_ROLLS.total

# --- storage module (sidecar on the gateway's volume: docs/storage.md) ---------------------------
# Capacity from statvfs, named like kubelet's kubelet_volume_stats_* so the same predict_linear works.
STORAGE_AVAILABLE_BYTES = Metric("openclaw_storage_available_bytes", _T.GAUGE,
                                 "Bytes available to the exporter on the probed volume (statvfs f_bavail).",
                                 (LABEL_TARGET,), unit="bytes")
STORAGE_CAPACITY_BYTES = Metric("openclaw_storage_capacity_bytes", _T.GAUGE,
                                "Size of the probed volume in bytes (statvfs f_blocks).", (LABEL_TARGET,), unit="bytes")
STORAGE_INODES_FREE = Metric("openclaw_storage_inodes_free", _T.GAUGE, "Free inodes on the probed volume (statvfs f_favail).",
                             (LABEL_TARGET,))
STORAGE_INODES = Metric("openclaw_storage_inodes", _T.GAUGE, "Inodes of the probed volume (statvfs f_files).", (LABEL_TARGET,))
STORAGE_MARKER_OK = Metric("openclaw_storage_marker_ok", _T.GAUGE,
                           "Whether the persistence marker was found intact (1) or had vanished or changed (0).",
                           (LABEL_TARGET,))
STORAGE_MARKER_CREATED = Metric("openclaw_storage_marker_created_timestamp_seconds", _T.GAUGE,
                                "When the volume's persistence marker was written; a change means the data was lost.",
                                (LABEL_TARGET,), unit="seconds")
STORAGE_PERSISTENCE_LOST = Metric("openclaw_storage_persistence_lost", _T.COUNTER,
                                  "Persistence markers found vanished or changed while the exporter ran.", (LABEL_TARGET,))
STORAGE_PERSISTENCE_LOST_TOTAL = STORAGE_PERSISTENCE_LOST.total

# --- kubernetes watcher (exporter/kube/collector.py) ---------------------------------------------
_POD = (LABEL_NAMESPACE, LABEL_POD)
_CONTAINER = (*_POD, LABEL_CONTAINER)
POD_CONTAINER_RESTARTS = Metric("openclaw_pod_container_restarts", _T.COUNTER, "Container restarts (the pod's restartCount).",
                                _CONTAINER)
POD_CONTAINER_RESTARTS_TOTAL = POD_CONTAINER_RESTARTS.total
POD_RESTARTS_LAST_HOUR = Metric("openclaw_pod_container_restarts_last_hour", _T.GAUGE,
                                "Container restarts this exporter saw happen in the last hour.", _CONTAINER)
POD_CONTAINER_WAITING = Metric("openclaw_pod_container_waiting", _T.GAUGE, "1 while the container waits, labelled with why.",
                               (*_CONTAINER, LABEL_REASON))
POD_CONTAINER_WAITING_SECONDS = Metric("openclaw_pod_container_waiting_seconds", _T.GAUGE,
                                       "How long the container has been waiting.", (*_CONTAINER, LABEL_REASON),
                                       unit="seconds")
POD_CONTAINER_LAST_TERMINATED = Metric("openclaw_pod_container_last_terminated", _T.GAUGE,
                                       "Why and how the container last terminated.",
                                       (*_CONTAINER, LABEL_REASON, LABEL_EXIT_CODE))
POD_READY = Metric("openclaw_pod_ready", _T.GAUGE, "1 when the pod's Ready condition is True.", _POD)
POD_PHASE = Metric("openclaw_pod_phase", _T.GAUGE, "1 for the pod's current phase.", (*_POD, LABEL_PHASE))
POD_STARTUP = Metric("openclaw_pod_startup_seconds", _T.HISTOGRAM, "Pod creation to first Ready (observed once per pod).",
                     (LABEL_NAMESPACE,), unit="seconds")
POD_EVENTS = Metric("openclaw_pod_events", _T.COUNTER,
                    "Warning events about watched pods since the watcher started, by reason (event counts included).",
                    (LABEL_NAMESPACE, LABEL_REASON))
POD_EVENTS_TOTAL = POD_EVENTS.total
KUBE_WATCH_ERRORS = Metric("openclaw_kube_watch_errors", _T.COUNTER, "Errors of the Kubernetes list/watch loops.",
                           (LABEL_RESOURCE, LABEL_KIND))
KUBE_WATCH_ERRORS_TOTAL = KUBE_WATCH_ERRORS.total
KUBE_LAST_SYNC = Metric("openclaw_kube_last_sync_timestamp_seconds", _T.GAUGE,
                        "When the list/watch last heard from the API server.", (LABEL_RESOURCE,), unit="seconds")

# --- fleet discovery: Services/Pods as targets, their token Secrets (docs/fleet-discovery.md) ----
DISCOVERY_TARGETS = Metric("openclaw_discovery_targets", _T.GAUGE,
                           "Discovered targets now, before sharding (every replica counts the whole fleet).")
DISCOVERY_OBJECTS_REJECTED = Metric("openclaw_discovery_objects_rejected", _T.GAUGE,
                                    "Selected Services/Pods that are not targets, by reason.", (LABEL_REASON,))
# bad_annotation: an openclaw.ai/* annotation is invalid; no_port: no port of that name;
# no_address: no cluster IP (headless) or no pod IP yet; name_conflict: a static target has the name.
DISCOVERY_REJECT_REASONS = ("bad_annotation", "no_port", "no_address", "name_conflict")
DISCOVERY_TOKENS_UNREADABLE = Metric(
    "openclaw_discovery_tokens_unreadable", _T.GAUGE,
    "Discovered targets whose token Secret cannot be read (probed as config_error).")
DISCOVERY_WATCH_RESTARTS = Metric(
    "openclaw_discovery_watch_restarts", _T.COUNTER,
    "Discovery list/watch restarts, by resource and kind (gone: a 410 re-list).", (LABEL_RESOURCE, LABEL_KIND))
DISCOVERY_WATCH_RESTARTS_TOTAL = DISCOVERY_WATCH_RESTARTS.total
DISCOVERY_LAST_SYNC = Metric("openclaw_discovery_last_sync_timestamp_seconds", _T.GAUGE,
                             "When discovery last heard from the API server, by resource.", (LABEL_RESOURCE,),
                             unit="seconds")
DISCOVERY_SECRET_READ_ERRORS = Metric("openclaw_discovery_secret_read_errors", _T.COUNTER,
                                      "Failed reads of token Secrets, by reason.", (LABEL_REASON,))
DISCOVERY_SECRET_READ_ERRORS_TOTAL = DISCOVERY_SECRET_READ_ERRORS.total
# not_found / forbidden: the API's 404 / 401-403; missing_key / empty: the Secret lacks the
# key or it is blank; http / connection / decode: transient (the last good token is kept).
DISCOVERY_SECRET_ERROR_REASONS = ("not_found", "forbidden", "missing_key", "empty", "http", "connection", "decode")

# --- backups: CronJobs and their Jobs the watcher follows (kubernetes.backups) --------------------
_CRONJOB = (LABEL_NAMESPACE, LABEL_CRONJOB)
BACKUP_LAST_SCHEDULE = Metric("openclaw_backup_last_schedule_timestamp_seconds", _T.GAUGE,
                              "When the backup CronJob last scheduled a Job (status.lastScheduleTime).", _CRONJOB,
                              unit="seconds")
BACKUP_LAST_SUCCESS = Metric(
    "openclaw_backup_last_success_timestamp_seconds", _T.GAUGE,
    "When a backup Job of the CronJob last completed (status.lastSuccessfulTime or a completed Job).", _CRONJOB,
    unit="seconds")
BACKUP_LAST_FAILURE = Metric("openclaw_backup_last_failure_timestamp_seconds", _T.GAUGE,
                             "When a backup Job of the CronJob still in the API last failed.", _CRONJOB, unit="seconds")
BACKUP_JOBS_FAILED = Metric("openclaw_backup_jobs_failed", _T.GAUGE,
                            "Failed Jobs of the backup CronJob still in the API (its failedJobsHistoryLimit).", _CRONJOB)
BACKUP_JOBS_ACTIVE = Metric("openclaw_backup_jobs_active", _T.GAUGE, "Running Jobs of the backup CronJob (status.active).",
                            _CRONJOB)
BACKUP_SUSPENDED = Metric("openclaw_backup_cronjob_suspended", _T.GAUGE,
                          "1 when the backup CronJob is suspended (spec.suspend).", _CRONJOB)

# --- live SLO state (slo/live.py, with slo.spec set) ---------------------------------------------
SLO_OBJECTIVE = Metric("openclaw_slo_objective_ratio", _T.GAUGE, "SLO objective as a ratio.", (LABEL_SLO,), unit="ratio")
SLO_SLI_RATIO = Metric("openclaw_slo_sli_ratio", _T.GAUGE,
                       "Good events over all events in the window, from the exporter's own probes.",
                       (LABEL_SLO, LABEL_WINDOW), unit="ratio")
SLO_BURN_RATE = Metric("openclaw_slo_burn_rate", _T.GAUGE,
                       "Error budget burn rate over the window (1 = spent exactly at the end of the period).",
                       (LABEL_SLO, LABEL_WINDOW))
SLO_BUDGET_REMAINING = Metric("openclaw_slo_error_budget_remaining_ratio", _T.GAUGE,
                              "Share of the period's error budget left (negative once breached).", (LABEL_SLO,),
                              unit="ratio")
SLO_STATE_FILE_OK = Metric(
    "openclaw_slo_state_file_ok", _T.GAUGE,
    "1 while the live budget is loaded from and saved to slo.state_file; 0 after it was unusable (corrupt: "
    "moved aside, started empty; unopenable or unwritable: memory only). The log says which.")


# === metrics of other exporters the dashboards and alerts read =============================
# --- the gateway's optional diagnostics-prometheus plugin (absent on most installs) -------------
# Dashboards show these where present and work without them. They carry no `target` label
# (Prometheus scrapes the gateway itself). Help texts are ours: the plugin is not installable here.
_PLUGIN = Source.GATEWAY_PLUGIN
DIAG_MESSAGE_PROCESSED = Metric("openclaw_message_processed_duration_seconds", _T.HISTOGRAM,
                                "Time the gateway took to process a message.", (LABEL_OUTCOME,), unit="seconds",
                                source=_PLUGIN)
DIAG_MODEL_CALLS_TOTAL = Metric("openclaw_model_call_total", _T.COUNTER, "Model calls the gateway made, by outcome.",
                                (LABEL_PROVIDER, LABEL_MODEL, LABEL_OUTCOME, LABEL_ERROR_CATEGORY), source=_PLUGIN)
DIAG_MODEL_CALL_DURATION = Metric("openclaw_model_call_duration_seconds", _T.HISTOGRAM, "Duration of the gateway's model calls.",
                                  (LABEL_PROVIDER, LABEL_MODEL, LABEL_OUTCOME), unit="seconds", source=_PLUGIN)
DIAG_RPC_HANDLER = Metric("openclaw_gateway_rpc_handler_seconds", _T.HISTOGRAM, "Duration of the gateway's RPC handlers.",
                          (LABEL_METHOD,), unit="seconds", source=_PLUGIN)
DIAG_MEMORY = Metric("openclaw_memory_bytes", _T.GAUGE, "Memory of the gateway process, by kind (rss, heap).", (LABEL_KIND,),
                     unit="bytes", source=_PLUGIN)

# --- kube-state-metrics --------------------------------------------------------------------------
_KSM = Source.KUBE_STATE_METRICS
KSM_RESTARTS_TOTAL = Metric("kube_pod_container_status_restarts_total", _T.COUNTER,
                            "The number of container restarts per container.", _CONTAINER, source=_KSM)
KSM_WAITING_REASON = Metric("kube_pod_container_status_waiting_reason", _T.GAUGE,
                            "Describes the reason the container is currently in waiting state.",
                            (*_CONTAINER, LABEL_REASON), source=_KSM)
KSM_LAST_TERMINATED_REASON = Metric("kube_pod_container_status_last_terminated_reason", _T.GAUGE,
                                    "Describes the last reason the container was in terminated state.",
                                    (*_CONTAINER, LABEL_REASON), source=_KSM)
KSM_RESOURCE_LIMITS = Metric("kube_pod_container_resource_limits", _T.GAUGE,
                             "The number of requested limit resource by a container.",
                             (*_CONTAINER, LABEL_RESOURCE), source=_KSM)
KSM_RESOURCE_REQUESTS = Metric("kube_pod_container_resource_requests", _T.GAUGE,
                               "The number of requested request resource by a container.",
                               (*_CONTAINER, LABEL_RESOURCE), source=_KSM)

# --- cAdvisor (kubelet) --------------------------------------------------------------------------
CADVISOR_CPU_SECONDS_TOTAL = Metric("container_cpu_usage_seconds_total", _T.COUNTER,
                                    "Cumulative cpu time consumed in seconds.", _CONTAINER, unit="seconds",
                                    source=Source.CADVISOR)
CADVISOR_MEMORY_WORKING_SET = Metric("container_memory_working_set_bytes", _T.GAUGE, "Current working set in bytes.",
                                     _CONTAINER, unit="bytes", source=Source.CADVISOR)

# --- Prometheus built-ins ------------------------------------------------------------------------
SCRAPE_UP = Metric("up", _T.GAUGE, "1 if the last scrape of the target succeeded.", (LABEL_JOB,), source=Source.PROMETHEUS)
ALERTS = Metric("ALERTS", _T.GAUGE, "Pending and firing alerts.", (LABEL_ALERTNAME, LABEL_ALERTSTATE),
                source=Source.PROMETHEUS)


def declared() -> list[Metric]:
    """Every metric declaration of this module, in declaration order."""
    return [value for value in globals().values() if isinstance(value, Metric)]


# === rule, group and alert names ===========================================================
ALERT_NAME_PREFIX = "OpenClaw"  # every alert the project generates starts with this

# Recording rules (named after Sloth's convention; not Sloth-compatible: docs/slo.md).
RULE_SLI_ERROR_RATIO = "slo:sli_error:ratio_rate{window}"
RULE_OBJECTIVE = "slo:objective:ratio"
RULE_ERROR_BUDGET = "slo:error_budget:ratio"
RULE_BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
RULE_BURN_RATE = "slo:current_burn_rate:ratio"
# Events (good + bad) the SLI counted over a long window: the minimum-events guard reads it.
RULE_SLI_EVENTS = "slo:sli_events:increase{window}"
# Groups and alerts generated from the SLO spec ({slo} is the SLO name, {Slo} its CamelCase).
RULE_GROUP_SLO = "openclaw-slo-{slo}"
ALERT_BURN_PAGE = "OpenClaw{Slo}BurnRatePage"
ALERT_BURN_TICKET = "OpenClaw{Slo}BurnRateTicket"
ALERT_SLI_ABSENT = "OpenClawSLOInputMissing"

# Groups of the alert rules (slo/alert_rules.py, thresholds in slo/specs/alerts.yml).
RULE_GROUP_ALERTS_KUBE = "openclaw-alerts-kubernetes"
RULE_GROUP_ALERTS_GATEWAY = "openclaw-alerts-gateway"
RULE_GROUP_ALERTS_PROBES = "openclaw-alerts-probes"
RULE_GROUP_ALERTS_EXPORTER = "openclaw-alerts-exporter"
RULE_GROUP_ALERTS_STORAGE = "openclaw-alerts-storage"
# The article's alert table.
ALERT_POD_RESTARTS = "OpenClawPodRestartingOften"
ALERT_CPU_HIGH = "OpenClawGatewayCPUHigh"
ALERT_MEMORY_HIGH = "OpenClawGatewayMemoryHigh"
ALERT_MESSAGE_LATENCY = "OpenClawMessageLatencyHigh"
ALERT_MODEL_CALL_FAILURES = "OpenClawModelCallFailureRateHigh"
ALERT_MODEL_PROBE_FAILURES = "OpenClawModelProbeFailureRateHigh"
# The article's incidents.
ALERT_CRASH_LOOP = "OpenClawPodCrashLooping"
ALERT_IMAGE_PULL = "OpenClawPodImagePullFailing"
ALERT_VOLUME_MOUNT = "OpenClawPodVolumeMountFailing"
ALERT_CONTAINER_CREATING = "OpenClawPodStuckContainerCreating"
ALERT_STARTUP_SLOW = "OpenClawPodStartupSlow"
ALERT_MODEL_MISSING = "OpenClawModelMissingFromCatalog"
# The probes and the exporter itself.
ALERT_GATEWAY_NOT_READY = "OpenClawGatewayNotReady"
ALERT_WEBSOCKET_FAILING = "OpenClawWebsocketHandshakeFailing"
ALERT_PROBE_AUTH = "OpenClawProbeAuthFailing"
ALERT_EXPORTER_DOWN = "OpenClawExporterDown"
ALERT_RELOAD_FAILED = "OpenClawExporterConfigReloadFailed"
ALERT_KUBE_WATCH_STALE = "OpenClawKubeWatchStale"
ALERT_KUBE_WATCH_ERRORS = "OpenClawKubeWatchErrors"
ALERT_PROBE_TICKS_SKIPPED = "OpenClawProbeTicksSkipped"
# The storage module (sidecar) and the backups (docs/storage.md).
ALERT_STORAGE_LATENCY = "OpenClawStorageLatencyHigh"
ALERT_STORAGE_PROBE_FAILING = "OpenClawStorageProbeFailing"
ALERT_STORAGE_PERSISTENCE_LOST = "OpenClawStoragePersistenceLost"
ALERT_STORAGE_FILLING_UP = "OpenClawStorageVolumeFillingUp"  # predicted full within a day (warning)
ALERT_STORAGE_FULL_SOON = "OpenClawStorageVolumeFullSoon"  # predicted full within hours (critical)
ALERT_BACKUP_OVERDUE = "OpenClawBackupOverdue"  # last success older than 26 h (warning)
ALERT_BACKUP_MISSING = "OpenClawBackupMissing"  # last success older than 50 h (critical)
ALERT_BACKUP_FAILED = "OpenClawBackupJobFailed"
