"""Every metric, label and rule name of the project, defined once.

The exporter, the SLO rule generator, the alert generator, the dashboards and the tests all
import names from here, so a rename is one edit and drift between them is impossible.
"""

NAMESPACE = "openclaw"

# --- labels -------------------------------------------------------------------------------
LABEL_TARGET = "target"
LABEL_MODULE = "module"
LABEL_PHASE = "phase"
LABEL_RESULT = "result"
LABEL_WINDOW = "window"
LABEL_QUANTILE = "quantile"
LABEL_SLO = "slo"
# The gateway pod a per-pod probe reached by IP (kubernetes.pod_probing); absent on the
# configured target's series. Not `pod`: the Prometheus Operator sets `pod` on every series.
LABEL_GATEWAY_POD = "gateway_pod"

# --- common probe metrics (every module) -----------------------------------------------------
PROBE_SUCCESS = "openclaw_probe_success"
PROBE_ATTEMPTS = "openclaw_probe_attempts"  # counter; exposed with the _total suffix
PROBE_ATTEMPTS_TOTAL = PROBE_ATTEMPTS + "_total"
PROBE_DURATION = "openclaw_probe_duration_seconds"  # histogram
PROBE_LATENCY = "openclaw_probe_latency_seconds"  # sliding-window quantiles
PROBE_TIMEOUTS = "openclaw_probe_timeouts"  # counter by phase
PROBE_TIMEOUTS_TOTAL = PROBE_TIMEOUTS + "_total"
PROBE_LAST_TIMESTAMP = "openclaw_probe_last_run_timestamp_seconds"
PROBE_SKIPPED = "openclaw_probe_skipped_ticks"  # counter
PROBE_SKIPPED_TOTAL = PROBE_SKIPPED + "_total"
PROBE_LATENCY_GOOD = "openclaw_probe_latency_good"  # counter: probes faster than an SLO threshold
PROBE_LATENCY_GOOD_TOTAL = PROBE_LATENCY_GOOD + "_total"
LABEL_THRESHOLD = "threshold_seconds"

# The phase every module reports.
PHASE_TOTAL = "total"
PHASE_FIRST_BYTE = "first_byte"  # model module: time to the first streamed token
PHASE_HANDSHAKE = "handshake"  # websocket module: connect request to hello-ok
PHASE_CATALOG = "catalog"  # model module: GET {baseUrl}/models
PHASE_GATEWAY_CATALOG = "gateway_catalog"  # model module: the gateway's models.list RPC
PHASE_COMPLETION = "completion"  # model module: the synthetic chat completion

# Probe module names (the `module` label), as the prober table spells them.
MODULE_READINESS = "readiness"
MODULE_WEBSOCKET = "websocket"
MODULE_MODEL = "model"
MODULE_STORAGE = "storage"
MODULE_MESSAGE = "message"

# --- exporter self-metrics ---------------------------------------------------------------------
EXPORTER_BUILD_INFO = "openclaw_exporter_build_info"
EXPORTER_RELOAD_SUCCESS = "openclaw_exporter_config_last_reload_successful"
EXPORTER_RELOAD_TIMESTAMP = "openclaw_exporter_config_last_reload_success_timestamp_seconds"
EXPORTER_PROBES_IN_FLIGHT = "openclaw_exporter_probes_in_flight"
EXPORTER_TARGETS = "openclaw_exporter_targets"
# Sharding (exporter/sharding.py, docs/fleet.md): this replica's place in the fleet and its share.
EXPORTER_SHARD_INFO = "openclaw_exporter_shard_info"  # {ordinal, replicas, replication} 1
EXPORTER_SHARD_TARGETS = "openclaw_exporter_shard_targets"  # targets this replica probes
LABEL_ORDINAL = "ordinal"
LABEL_REPLICAS = "replicas"
LABEL_REPLICATION = "replication"

# --- readiness module (from the gateway's /readyz body) ----------------------------------------
GATEWAY_READY = "openclaw_gateway_ready"
GATEWAY_READINESS_FAILING = "openclaw_gateway_readiness_failing"
LABEL_SUBSYSTEM = "subsystem"
GATEWAY_EVENT_LOOP_DELAY_P99 = "openclaw_gateway_event_loop_delay_p99_seconds"
GATEWAY_EVENT_LOOP_DELAY_MAX = "openclaw_gateway_event_loop_delay_max_seconds"
GATEWAY_EVENT_LOOP_UTILIZATION = "openclaw_gateway_event_loop_utilization_ratio"
GATEWAY_CPU_CORE_RATIO = "openclaw_gateway_cpu_core_ratio"
GATEWAY_UPTIME = "openclaw_gateway_uptime_seconds"

# --- websocket module (from hello-ok and the health RPC) ---------------------------------------
GATEWAY_INFO = "openclaw_gateway_info"
LABEL_VERSION = "version"
LABEL_PROTOCOL = "protocol"
GATEWAY_PLUGINS_LOADED = "openclaw_gateway_plugins_loaded"
GATEWAY_PLUGIN_ERRORS = "openclaw_gateway_plugin_errors"

# --- model module ----------------------------------------------------------------------------
MODEL_AVAILABLE = "openclaw_model_available"
LABEL_PROVIDER = "provider"
LABEL_MODEL = "model"
MODEL_SYNTHETIC_CALLS = "openclaw_model_synthetic_calls"  # counter
MODEL_SYNTHETIC_CALLS_TOTAL = MODEL_SYNTHETIC_CALLS + "_total"
MODEL_SYNTHETIC_CAP_REMAINING = "openclaw_model_synthetic_calls_remaining_today"
# Message module (exporter/probes/message.py): one agent turn through the gateway.
PHASE_ADMIT = "admit"  # chat.send -> res started
PHASE_PREPARE = "prepare"  # -> the model call starts (chat status phase "starting_model")
PHASE_MODEL = "model"  # -> first assistant text
PHASE_COMPLETE = "complete"  # -> the run's final chat event
PHASE_WARM = "warm"  # whole turn (send -> final) of a successful turn after < warm_within idle
PHASE_COLD = "cold"  # the same for a turn after a longer gap (the gateway re-creates its workers)
MESSAGE_TURNS = "openclaw_message_probe_turns"  # counter: chat.send calls made (persisted per UTC day)
MESSAGE_TURNS_TOTAL = MESSAGE_TURNS + "_total"
MESSAGE_CAP_REMAINING = "openclaw_message_probe_turns_remaining_today"
MESSAGE_SESSION_ROLLS = "openclaw_message_probe_session_rolls"  # counter
MESSAGE_SESSION_ROLLS_TOTAL = MESSAGE_SESSION_ROLLS + "_total"
# The message module's duration buckets (exporter/probes/base.py MODEL_BUCKETS): the
# message-latency alert and SLO read the `warm` phase at one of these bounds.
MESSAGE_PROBE_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0,
                         20.0, 30.0, 45.0, 60.0)
# The gateway's own catalog (models.list RPC): is the configured default model listed?
MODEL_GATEWAY_LISTED = "openclaw_model_gateway_listed"
# Unix time before which the provider asked not to be called (429 Retry-After); 0 when free.
MODEL_PROVIDER_POSTPONED_UNTIL = "openclaw_model_provider_postponed_until_timestamp_seconds"

# --- storage module (sidecar on the gateway's volume: docs/storage.md) ----------------------
# Capacity from statvfs, named like kubelet's kubelet_volume_stats_* so the same predict_linear works.
STORAGE_AVAILABLE_BYTES = "openclaw_storage_available_bytes"
STORAGE_CAPACITY_BYTES = "openclaw_storage_capacity_bytes"
STORAGE_INODES_FREE = "openclaw_storage_inodes_free"
STORAGE_INODES = "openclaw_storage_inodes"
# Persistence marker: 1 intact / 0 vanished or changed; when it was written; losses counted.
STORAGE_MARKER_OK = "openclaw_storage_marker_ok"
STORAGE_MARKER_CREATED = "openclaw_storage_marker_created_timestamp_seconds"
STORAGE_PERSISTENCE_LOST = "openclaw_storage_persistence_lost"  # counter
STORAGE_PERSISTENCE_LOST_TOTAL = STORAGE_PERSISTENCE_LOST + "_total"
# Buckets of the storage module's latency histogram, resolving the article's file read/write
# targets (P50 5 ms, P95 20 ms, P99 50 ms); the storage latency alert's threshold must be one.
STORAGE_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PHASE_WRITE = "write"
PHASE_FSYNC = "fsync"
PHASE_READ = "read"
PHASE_DELETE = "delete"

# --- kubernetes watcher ----------------------------------------------------------------------
LABEL_NAMESPACE = "namespace"
LABEL_POD = "pod"
LABEL_CONTAINER = "container"
LABEL_REASON = "reason"
LABEL_EXIT_CODE = "exit_code"
POD_CONTAINER_RESTARTS = "openclaw_pod_container_restarts"  # counter-like, from restartCount
POD_CONTAINER_RESTARTS_TOTAL = POD_CONTAINER_RESTARTS + "_total"
POD_RESTARTS_LAST_HOUR = "openclaw_pod_container_restarts_last_hour"
POD_CONTAINER_WAITING = "openclaw_pod_container_waiting"
POD_CONTAINER_WAITING_SECONDS = "openclaw_pod_container_waiting_seconds"
POD_CONTAINER_LAST_TERMINATED = "openclaw_pod_container_last_terminated"
POD_READY = "openclaw_pod_ready"
POD_PHASE = "openclaw_pod_phase"
POD_STARTUP = "openclaw_pod_startup_seconds"  # histogram
POD_EVENTS = "openclaw_pod_events"  # counter
POD_EVENTS_TOTAL = POD_EVENTS + "_total"
KUBE_WATCH_ERRORS = "openclaw_kube_watch_errors"
KUBE_WATCH_ERRORS_TOTAL = KUBE_WATCH_ERRORS + "_total"
KUBE_LAST_SYNC = "openclaw_kube_last_sync_timestamp_seconds"
LABEL_RESOURCE = "resource"  # the watched API resource: pods, events
LABEL_KIND = "kind"  # kind of watch error, one of KUBE_WATCH_ERROR_KINDS
# gone: 410 (re-list); http: other API error status; connection: refused/dropped/timed out;
# decode: a stream line that is not a watch event; internal: a bug of ours, logged with traceback.
KUBE_WATCH_ERROR_GONE = "gone"  # a normal re-list, not a failure: alerts ignore it
KUBE_WATCH_ERROR_KINDS = (KUBE_WATCH_ERROR_GONE, "http", "connection", "decode", "internal")

# --- backups: CronJobs and their Jobs the watcher follows (kubernetes.backups) --------------
LABEL_CRONJOB = "cronjob"
BACKUP_LAST_SCHEDULE = "openclaw_backup_last_schedule_timestamp_seconds"
BACKUP_LAST_SUCCESS = "openclaw_backup_last_success_timestamp_seconds"
BACKUP_LAST_FAILURE = "openclaw_backup_last_failure_timestamp_seconds"
BACKUP_JOBS_FAILED = "openclaw_backup_jobs_failed"
BACKUP_JOBS_ACTIVE = "openclaw_backup_jobs_active"
BACKUP_SUSPENDED = "openclaw_backup_cronjob_suspended"

# --- kube-state-metrics and cAdvisor (third-party; read by dashboards and alerts) ------------
KSM_RESTARTS_TOTAL = "kube_pod_container_status_restarts_total"
KSM_WAITING_REASON = "kube_pod_container_status_waiting_reason"
KSM_LAST_TERMINATED_REASON = "kube_pod_container_status_last_terminated_reason"
KSM_RESOURCE_LIMITS = "kube_pod_container_resource_limits"
KSM_RESOURCE_REQUESTS = "kube_pod_container_resource_requests"
LABEL_KSM_RESOURCE = "resource"  # kube-state-metrics: "cpu" or "memory"
KSM_RESOURCE_CPU = "cpu"
KSM_RESOURCE_MEMORY = "memory"
CADVISOR_CPU_SECONDS_TOTAL = "container_cpu_usage_seconds_total"
CADVISOR_MEMORY_WORKING_SET = "container_memory_working_set_bytes"
CADVISOR_POD_CONTAINER = "POD"  # cAdvisor's pause-container series, excluded from sums
EVENT_REASON_FAILED_MOUNT = "FailedMount"

# --- gateway diagnostics plugin (optional: diagnostics-prometheus, scraped from the gateway) --
# Dashboards may show these where present and must work without them. They carry no
# `target` label (Prometheus scrapes the gateway itself).
DIAG_MESSAGE_PROCESSED = "openclaw_message_processed_duration_seconds"  # histogram
DIAG_MODEL_CALLS_TOTAL = "openclaw_model_call_total"
DIAG_MODEL_CALL_DURATION = "openclaw_model_call_duration_seconds"  # histogram
DIAG_RPC_HANDLER = "openclaw_gateway_rpc_handler_seconds"  # histogram
# Same name as the readiness module's gauge: the plugin's series are the ones without `target`.
DIAG_EVENT_LOOP_DELAY_MAX = GATEWAY_EVENT_LOOP_DELAY_MAX
DIAG_MEMORY = "openclaw_memory_bytes"
LABEL_OUTCOME = "outcome"
LABEL_ERROR_CATEGORY = "error_category"
LABEL_METHOD = "method"
LABEL_MEMORY_KIND = "kind"
DIAG_OUTCOME_SUCCESS = "success"  # assumed spelling: the plugin is not installable offline here
# Bucket bounds of the plugin's duration histograms (openclaw_message_processed_duration_seconds
# among them): DURATION_BUCKETS_SECONDS of the plugin's prometheus-metric-store, read in its public
# source; the plugin is not installable here, so these are ASSUMED for the installed version.
# The plugin writes `le` with JavaScript's String(bound): "5", "0.5", "2.5".
DIAG_DURATION_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

# --- Prometheus built-ins -------------------------------------------------------------------
ALERTS = "ALERTS"
LABEL_ALERTNAME = "alertname"
LABEL_ALERTSTATE = "alertstate"
ALERT_STATE_FIRING = "firing"
ALERT_NAME_PREFIX = "OpenClaw"  # every alert the project generates starts with this
LABEL_LE = "le"
LABEL_NAME = "__name__"

# --- live SLO state in the exporter ----------------------------------------------------------
SLO_SLI_RATIO = "openclaw_slo_sli_ratio"
SLO_BUDGET_REMAINING = "openclaw_slo_error_budget_remaining_ratio"
SLO_BURN_RATE = "openclaw_slo_burn_rate"
SLO_OBJECTIVE = "openclaw_slo_objective_ratio"
SLO_STATE_FILE_OK = "openclaw_slo_state_file_ok"  # 1: slo.state_file loaded and written; 0: unusable

# --- recording rules (named after Sloth's convention; not Sloth-compatible: docs/slo.md) ------
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
LABEL_SEVERITY = "severity"
LABEL_SERVICE = "service"
# critical pages (wake someone now), warning is a ticket (the next working day), info is
# informational; the vocabulary of kube-prometheus, which Alertmanager configs route on.
SEVERITIES = ("critical", "warning", "info")
SEVERITY_CRITICAL, SEVERITY_WARNING, SEVERITY_INFO = SEVERITIES
# Burn-rate alerts: the window pair that fires (as Pyrra labels them), e.g. long="1h" short="5m".
LABEL_LONG_WINDOW = "long"
LABEL_SHORT_WINDOW = "short"

# Failure reasons that say the probe itself is misconfigured (credentials, scopes, pairing):
# they are neither good nor bad events for availability SLOs and alert on their own.
PROBE_CONFIG_RESULTS = ("auth_failed", "forbidden", "pairing_required", "scope_missing")
RESULT_SUCCESS = "success"

# --- alert rules (slo/alert_rules.py, thresholds in slo/specs/alerts.yml) ------------------------
# Groups of alerts/openclaw-alerts.yml.
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
# Replaces the SLO generator's former OpenClawSLOProbeMisconfigured: one alert, here.
ALERT_PROBE_AUTH = "OpenClawProbeAuthFailing"
ALERT_EXPORTER_DOWN = "OpenClawExporterDown"
ALERT_RELOAD_FAILED = "OpenClawExporterConfigReloadFailed"
ALERT_KUBE_WATCH_STALE = "OpenClawKubeWatchStale"
ALERT_KUBE_WATCH_ERRORS = "OpenClawKubeWatchErrors"
# The storage module (sidecar) and the backups (docs/storage.md).
ALERT_STORAGE_LATENCY = "OpenClawStorageLatencyHigh"
ALERT_STORAGE_PROBE_FAILING = "OpenClawStorageProbeFailing"
ALERT_STORAGE_PERSISTENCE_LOST = "OpenClawStoragePersistenceLost"
ALERT_STORAGE_FILLING_UP = "OpenClawStorageVolumeFillingUp"  # predicted full within a day (warning)
ALERT_STORAGE_FULL_SOON = "OpenClawStorageVolumeFullSoon"  # predicted full within hours (critical)
ALERT_BACKUP_OVERDUE = "OpenClawBackupOverdue"  # last success older than 26 h (warning)
ALERT_BACKUP_MISSING = "OpenClawBackupMissing"  # last success older than 50 h (critical)
ALERT_BACKUP_FAILED = "OpenClawBackupJobFailed"

# --- metrics of other exporters the alerts read ---------------------------------------------
# kube-state-metrics
KSM_RESTARTS_TOTAL = "kube_pod_container_status_restarts_total"
KSM_WAITING_REASON = "kube_pod_container_status_waiting_reason"
KSM_RESOURCE_LIMITS = "kube_pod_container_resource_limits"
# cAdvisor (kubelet)
CADVISOR_CPU_SECONDS_TOTAL = "container_cpu_usage_seconds_total"
CADVISOR_MEMORY_WORKING_SET = "container_memory_working_set_bytes"
# The label the CPU alert adds to say what it divides by: the limit, else the request.
LABEL_CPU_BASIS = "cpu_basis"
CPU_BASIS_LIMIT = "limit"
CPU_BASIS_REQUEST = "request"
# Prometheus' own scrape health
SCRAPE_UP = "up"
LABEL_JOB = "job"
LABEL_LE = "le"
# The gateway's optional diagnostics-prometheus plugin (absent on most installs)
GATEWAY_MESSAGE_DURATION = "openclaw_message_processed_duration_seconds"  # histogram
GATEWAY_MODEL_CALLS_TOTAL = "openclaw_model_call_total"
LABEL_OUTCOME = "outcome"
LABEL_ERROR_CATEGORY = "error_category"
OUTCOME_SUCCESS = "success"
# The plugin's public source labels model calls outcome="completed" or "error" (not "success"):
# the failure alert counts "error" only, so either spelling of success is not a failure.
OUTCOME_ERROR = "error"
# Kubernetes waiting reasons the incident alerts match.
REASON_CRASH_LOOP = "CrashLoopBackOff"
REASONS_IMAGE_PULL = ("ImagePullBackOff", "ErrImagePull")
REASON_CONTAINER_CREATING = "ContainerCreating"
REASON_FAILED_MOUNT = "FailedMount"
