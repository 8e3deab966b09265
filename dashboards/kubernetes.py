"""The Kubernetes dashboard: restarts, waiting reasons, warning events, startup time, CPU and memory,
and the gateway's volume (the storage sidecar) and backups.

Pod state reads the exporter's Kubernetes watcher (``openclaw_pod_*``) and falls back to
kube-state-metrics; CPU and memory come from cAdvisor and kube-state-metrics.
"""

from __future__ import annotations

from grafanalib import core as g

from dashboards import catalog
from dashboards import style as s
from dashboards import thresholds as th
from openclaw_schema import names as c
from slo.monitoring import Monitoring

UID = catalog.KUBERNETES
NS, POD, CTR, REASON = c.LABEL_NAMESPACE, c.LABEL_POD, c.LABEL_CONTAINER, c.LABEL_REASON
IN_NS = s.eq(NS, "$namespace")
PODS = (IN_NS, s.var(POD))
PER_CONTAINER = (POD, CTR)
PER_CONTAINER_LEGEND = s.legend("{}/{}", POD, CTR)
# cAdvisor also reports the pod's cgroup (container="") and its pause container: not workloads.
WORKLOAD = (s.ne(CTR, ""), s.ne(CTR, c.CADVISOR_POD_CONTAINER))


def restarts_last_hour() -> str:
    ksm = f"increase({s.sel(c.KSM_RESTARTS_TOTAL, *PODS)}[1h])"
    return s.either(s.sel(c.POD_RESTARTS_LAST_HOUR, *PODS), ksm, PER_CONTAINER)


def restart_panels(a: th.AlertLines) -> list[g.Panel]:
    return [
        s.row("Restarts"),
        s.stat("Restarts in the last hour", w=8, h=7, unit=s.UNIT_COUNT, text_mode="value_and_name",
               queries=[s.Query(restarts_last_hour(), PER_CONTAINER_LEGEND)],
               thresholds=s.steps(s.GREEN, (1, s.ORANGE), (a.restarts_per_hour, s.RED)),
               shows=f"Container restarts in the last hour per container. The {a.severity['pod_restarts']} alert "
                     f"fires above {a.restarts_per_hour:g} an hour; the stat turns red at {a.restarts_per_hour:g}, "
                     "one restart early.",
               red="the container is crash-looping: read its last termination reason below (OOMKilled = "
                   "memory limit, Error = the log, e.g. incident 3: configuration file not found)."),
        s.timeseries("Restarts per hour", w=16, h=7, unit=s.UNIT_COUNT, low=0,
                     queries=[s.Query(restarts_last_hour(), PER_CONTAINER_LEGEND)],
                     thresholds=s.steps(s.GREEN, (a.restarts_per_hour, s.RED)),
                     shows=f"Restarts over the trailing hour, over time; the red line is the alert threshold "
                           f"({a.restarts_per_hour:g}).",
                     red="above the line the restart alert fires; find what changed when the curve rose."),
    ]


def waiting_panels(a: th.AlertLines) -> list[g.Panel]:
    waiting = s.either(s.sel(c.POD_CONTAINER_WAITING, *PODS), f"{s.sel(c.KSM_WAITING_REASON, *PODS)} > 0",
                       (*PER_CONTAINER, REASON))
    terminated = s.either(s.sel(c.POD_CONTAINER_LAST_TERMINATED, *PODS),
                          f"{s.sel(c.KSM_LAST_TERMINATED_REASON, *PODS)} > 0",
                          (*PER_CONTAINER, REASON, c.LABEL_EXIT_CODE))
    return [
        s.row("Waiting and terminations"),
        s.events_panel("Waiting reasons", w=12, unit=s.UNIT_COUNT,
                       queries=[s.Query(waiting, s.legend("{}/{}: {}", POD, CTR, REASON))],
                       thresholds=s.steps(s.GREEN, (1, s.RED)),
                       shows="Containers waiting to run, by reason (ContainerCreating, CrashLoopBackOff, "
                             "ImagePullBackOff, ErrImagePull, CreateContainerConfigError).",
                       red="ContainerCreating for minutes = a volume cannot mount (incident 1, see FailedMount); "
                           "ImagePullBackOff = registry unreachable or wrong image (incident 2); CrashLoopBackOff "
                           "= the container exits (incident 3)."),
        s.timeseries("Time spent waiting", w=12, unit=s.UNIT_SECONDS, low=0,
                     queries=[s.Query(f"max {s.by(*PER_CONTAINER, REASON)} "
                                      f"({s.sel(c.POD_CONTAINER_WAITING_SECONDS, *PODS)})",
                                      s.legend("{}/{}: {}", POD, CTR, REASON))],
                     thresholds=th.warn_bad(th.STARTUP_ACHIEVED_SECONDS, a.startup_seconds),
                     shows="How long each waiting container has been waiting in its current reason.",
                     red="past 5 minutes the startup target is missed: describe the pod and read its events."),
        s.table("Last termination reasons", w=24, h=6, unit=s.UNIT_COUNT, hide=["Value"],
                queries=[s.Query(terminated, instant=True, table=True)],
                thresholds=s.steps(s.ORANGE),
                shows="Why each container last exited (OOMKilled, Error, Completed) and its exit code.",
                red="OOMKilled = raise the memory limit or find the leak (memory panel below); Error with exit "
                    "code 1 = read `kubectl logs --previous`."),
    ]


def event_panels() -> list[g.Panel]:
    events = s.sel(c.POD_EVENTS_TOTAL, IN_NS)
    mounts = s.sel(c.POD_EVENTS_TOTAL, IN_NS, s.eq(REASON, c.REASON_FAILED_MOUNT))
    return [
        s.row("Warning events"),
        s.stat("FailedMount events (range)", w=6, h=8, unit=s.UNIT_COUNT,
               queries=[s.Query(f"sum(increase({mounts}[$__range])) or vector(0)", "FailedMount", instant=True)],
               thresholds=s.steps(s.GREEN, (1, s.RED)),
               shows="Volume mount failures in the selected range.",
               red="a volume could not mount (incident 1: CephFS `mount failed: exit status 32 ... Connection "
                   "timed out`): check the CSI driver pods and avoid creating many PVCs at once."),
        s.events_panel("Warning events by reason", w=18, unit=s.UNIT_COUNT,
                       queries=[s.Query(f"sum {s.by(REASON)} (increase({events}[$__rate_interval]))", s.legend("{}", REASON))],
                       thresholds=s.steps(s.GREEN, (1, s.RED)),
                       shows="Warning events of the namespace's pods, by reason (FailedMount, BackOff, Failed, "
                             "FailedScheduling, Unhealthy ...).",
                       red="match the reason with the waiting reasons above; `kubectl get events` has the message."),
    ]


def startup_panels(a: th.AlertLines) -> list[g.Panel]:
    startup = (IN_NS,)
    return [
        s.row("Startup"),
        *[s.stat(f"Startup time {s.percentile_name(q)} (range)", w=6, h=7, unit=s.UNIT_SECONDS,
                 queries=[s.Query(s.quantile_over(q, c.POD_STARTUP, startup, window="$__range", fn="increase"),
                                  s.percentile_name(q), instant=True)],
                 thresholds=th.warn_bad(th.STARTUP_ACHIEVED_SECONDS, a.startup_seconds),
                 shows=f"{s.percentile_name(q)} of pod startup time (created to ready) in the selected range. "
                       "Target: under 5 minutes; achieved: 50 s.",
                 red="startups miss the 5-minute target: the waiting reasons and FailedMount panels show where "
                     "the time goes (image pull, volume mount, readiness).")
          for q in (0.5, 0.95)],
        s.latency_panel("Startup time over time", w=12, h=7,
                        queries=[s.Query(s.quantile_over(q, c.POD_STARTUP, startup, window="1h", fn="increase"),
                                         f"{s.percentile_name(q)} (1h)") for q in (0.5, 0.95)],
                        thresholds=th.warn_bad(th.STARTUP_ACHIEVED_SECONDS, a.startup_seconds),
                        shows="Startup time percentiles over trailing hours.",
                        red="a rise after a deploy points at the new image or config (slower init, bigger pull)."),
    ]


def _usage_against(usage: str, resource: str) -> list[s.Query]:
    per = s.by(*PER_CONTAINER)
    resource_m = s.eq(c.LABEL_RESOURCE, resource)
    return [
        s.Query(usage, PER_CONTAINER_LEGEND + " used"),
        s.Query(f"sum {per} ({s.sel(c.KSM_RESOURCE_REQUESTS, *PODS, resource_m)})", PER_CONTAINER_LEGEND + " request"),
        s.Query(f"sum {per} ({s.sel(c.KSM_RESOURCE_LIMITS, *PODS, resource_m)})", PER_CONTAINER_LEGEND + " limit"),
    ]


def _share_of_limit(usage: str, resource: str) -> str:
    limits = s.sel(c.KSM_RESOURCE_LIMITS, *PODS, s.eq(c.LABEL_RESOURCE, resource))
    return f"{usage} / sum {s.by(*PER_CONTAINER)} ({limits})"


def resource_panels(a: th.AlertLines) -> list[g.Panel]:
    per = s.by(*PER_CONTAINER)
    cpu = f"sum {per} ({s.rate(s.sel(c.CADVISOR_CPU_SECONDS_TOTAL, *PODS, *WORKLOAD))})"
    memory = f"sum {per} ({s.sel(c.CADVISOR_MEMORY_WORKING_SET, *PODS, *WORKLOAD)})"
    return [
        s.row("CPU and memory"),
        s.timeseries("CPU usage vs requests and limits (cores)", w=12, unit=s.UNIT_COUNT, low=0, threshold_lines=False,
                     queries=_usage_against(cpu, c.KSM_RESOURCE_CPU), thresholds=s.steps(s.GREEN),
                     shows="CPU cores each container uses, with its request and limit (article: 250m used, "
                           "requests 500m, limits 2-4 cores).",
                     red="never red itself; usage at the limit line means throttling: see the share panel."),
        s.ratio_panel("CPU usage of limit", w=12, high=None,
                      queries=[s.Query(_share_of_limit(cpu, c.KSM_RESOURCE_CPU), PER_CONTAINER_LEGEND)],
                      thresholds=s.steps(s.GREEN, (a.cpu_of_limit, s.RED)),
                      shows=f"CPU used as a share of the limit; the {a.severity['cpu_high']} alert threshold is "
                            f"{th.percent(a.cpu_of_limit)}.",
                      red=f"above {th.percent(a.cpu_of_limit)} the container is close to throttling, which shows up as event-loop delay: "
                          "raise the limit or find the hot path."),
        s.timeseries("Memory working set vs requests and limits", w=12, unit=s.UNIT_BYTES, low=0, threshold_lines=False,
                     queries=_usage_against(memory, c.KSM_RESOURCE_MEMORY), thresholds=s.steps(s.GREEN),
                     shows="Working-set memory each container uses (what the OOM killer counts), with its request "
                           "and limit (article: 1.2Gi used, requests 1-2Gi, limits 4-8Gi).",
                     red="never red itself; usage near the limit line ends in OOMKilled: see the share panel."),
        s.ratio_panel("Memory usage of limit", w=12, high=None,
                      queries=[s.Query(_share_of_limit(memory, c.KSM_RESOURCE_MEMORY), PER_CONTAINER_LEGEND)],
                      thresholds=th.warn_bad(a.cpu_of_limit, a.memory_of_limit),
                      shows=f"Working-set memory as a share of the limit; the {a.severity['memory_high']} alert "
                            f"threshold is {th.percent(a.memory_of_limit)}.",
                      red=f"above {th.percent(a.memory_of_limit)} the next spike is an OOM kill: raise the limit now, then look for the leak "
                          "(memory by kind on the gateway internals dashboard)."),
    ]


def pod_panels() -> list[g.Panel]:
    return [
        s.row("Pods"),
        s.stat("Pods ready", w=12, h=5, unit=s.UNIT_COUNT, text_mode="value_and_name",
               mappings=s.value_map(("0", "NOT READY", s.RED), ("1", "READY", s.GREEN)),
               queries=[s.Query(f"max {s.by(POD)} ({s.sel(c.POD_READY, *PODS)})", s.legend("{}", POD))],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="Whether each pod's Ready condition is true (from the exporter's Kubernetes watcher).",
               red="the pod is out of its Service: read the waiting reasons, events and the gateway's readiness."),
        s.stat("Seconds since the watcher's last sync", w=6, h=5, unit=s.UNIT_SECONDS,
               queries=[s.Query(f"time() - max({c.KUBE_LAST_SYNC})", "last sync")],
               thresholds=s.steps(s.GREEN, (th.PROBE_STALE_BAD_SECONDS, s.ORANGE), (2 * th.PROBE_STALE_BAD_SECONDS, s.RED)),
               shows="Age of the exporter's last successful list/watch of pods and events.",
               red="the watcher lost the API server: pod panels from the exporter are stale; check the exporter's "
                   "RBAC (list/watch pods and events) and its log."),
        s.events_panel("Watch errors", w=6, h=5,
                       queries=[s.Query(f"sum {s.by(c.LABEL_RESOURCE, c.LABEL_KIND)} ({s.rate(c.KUBE_WATCH_ERRORS_TOTAL)})",
                                        s.legend("{}: {}", c.LABEL_RESOURCE, c.LABEL_KIND))],
                       thresholds=s.steps(s.GREEN, (0.01, s.RED)),
                       shows="Errors of the exporter's Kubernetes list/watch loops per second, by resource and kind "
                             "(gone = 410, a re-list; http; connection; decode; internal).",
                       red="a steady rate means the watcher cannot keep a watch open: RBAC, network policy or an "
                           "overloaded API server."),
    ]


STORAGE = (IN_NS, s.eq(c.LABEL_MODULE, c.Module.STORAGE))
STORAGE_PHASES = s.match(c.LABEL_PHASE, "|".join((c.Phase.WRITE, c.Phase.FSYNC, c.Phase.READ)))


def storage_panels(a: th.AlertLines) -> list[g.Panel]:
    """The storage sidecar (docs/storage.md) and the backup CronJobs: silent without them."""
    attempts = s.sel(c.PROBE_ATTEMPTS_TOTAL, *STORAGE)
    ok = s.sel(c.PROBE_ATTEMPTS_TOTAL, *STORAGE, s.eq(c.LABEL_RESULT, c.Result.SUCCESS))
    used = (f"1 - max {s.by(c.LABEL_TARGET)} ({s.sel(c.STORAGE_AVAILABLE_BYTES, IN_NS)}) "
            f"/ max {s.by(c.LABEL_TARGET)} ({s.sel(c.STORAGE_CAPACITY_BYTES, IN_NS)})")
    inodes = (f"1 - max {s.by(c.LABEL_TARGET)} ({s.sel(c.STORAGE_INODES_FREE, IN_NS)}) "
              f"/ max {s.by(c.LABEL_TARGET)} ({s.sel(c.STORAGE_INODES, IN_NS)})")
    backup_age = f"time() - max {s.by(c.LABEL_CRONJOB)} ({s.sel(c.BACKUP_LAST_SUCCESS, IN_NS)})"
    return [
        s.row("Storage and backups"),
        s.stat("Storage probe success (range)", w=6, h=8, unit=s.UNIT_RATIO,
               queries=[s.Query(f"sum(increase({ok}[$__range])) / sum(increase({attempts}[$__range]))", "success",
                                instant=True)],
               thresholds=s.steps(s.RED, (0.99, s.ORANGE), (0.999, s.GREEN)),
               shows="Share of the storage sidecar's canary runs (write, fsync, read back, delete on the gateway's "
                     "volume) that succeeded in the selected range. The opt-in storage SLO's objective is 99.9 %.",
               red="the volume fails: read-only, full, hung or gone (the probe's failure reasons, "
                   "OpenClawStorageProbeFailing's runbook)."),
        s.latency_panel("Storage latency by phase", w=18, h=8,
                        queries=[s.Query(s.quantile_over(q, c.PROBE_DURATION, (*STORAGE, STORAGE_PHASES), (c.LABEL_PHASE,)),
                                         s.legend(f"{{}} {s.percentile_name(q)}", c.LABEL_PHASE))
                                 for q in (0.5, 0.95, 0.99)],
                        thresholds=th.warn_bad(a.storage_seconds, th.STORAGE_P99_SECONDS),
                        shows="P50/P95/P99 of the canary's write, fsync and read on the gateway's volume. The article's "
                              "file read/write targets: 5 ms (P50), 20 ms (P95), 50 ms (P99).",
                        red="the volume is slow: every message the gateway handles waits on it; check the storage "
                            "cluster (CephFS slow ops, MDS load) and the CSI driver."),
        s.ratio_panel("Volume space and inodes used", w=12, h=8,
                      queries=[s.Query(used, s.legend("{} space", c.LABEL_TARGET)),
                               s.Query(inodes, s.legend("{} inodes", c.LABEL_TARGET))],
                      thresholds=s.steps(s.GREEN, (th.VOLUME_USED_WARN, s.ORANGE), (th.VOLUME_USED_BAD, s.RED)),
                      shows="Share of the gateway volume's bytes and inodes in use (statvfs from the storage sidecar).",
                      red="the volume fills up: grow the PVC or clean up; the filling-up alerts extrapolate this curve."),
        s.stat("Persistence marker", w=6, h=8, unit=s.UNIT_COUNT, text_mode="value_and_name",
               mappings=s.value_map(("0", "LOST", s.RED), ("1", "INTACT", s.GREEN)),
               queries=[s.Query(f"min {s.by(c.LABEL_TARGET)} ({s.sel(c.STORAGE_MARKER_OK, IN_NS)})",
                                s.legend("{}", c.LABEL_TARGET))],
               thresholds=s.steps(s.RED, (1, s.GREEN)),
               shows="Whether the storage sidecar found its persistence marker intact on the volume (target: "
                     "storage persistence 100 %).",
               red="the volume's data vanished or was replaced: stop and read OpenClawStoragePersistenceLost's runbook."),
        s.stat("Time since the last successful backup", w=6, h=8, unit=s.UNIT_SECONDS, text_mode="value_and_name",
               queries=[s.Query(backup_age, s.legend("{}", c.LABEL_CRONJOB))],
               thresholds=th.warn_bad(a.backup_age_warn_seconds, a.backup_age_bad_seconds),
               shows="Age of each backup CronJob's last completed Job (the pod watcher's kubernetes.backups). "
                     "Backups run daily.",
               red=f"a night (orange, {a.backup_age_warn_seconds / 3600:g} h) or two (red, "
                   f"{a.backup_age_bad_seconds / 3600:g} h) without a backup: the CronJob is suspended or its "
                   "Jobs fail; run one by hand and do the restore check (OpenClawBackupMissing's runbook)."),
    ]


def build(config: Monitoring) -> g.Dashboard:
    a = th.alert_lines(config)
    return s.dashboard(
        UID, "kubernetes",
        f"The gateway's pods in Kubernetes: restarts against the {a.restarts_per_hour:g}-per-hour threshold, "
        "waiting reasons, warning events such as FailedMount, startup time, and CPU and memory against requests "
        "and limits.",
        [*pod_panels(), *restart_panels(a), *waiting_panels(a), *event_panels(), *startup_panels(a),
         *resource_panels(a), *storage_panels(a)],
        [s.query_variable(NS, "Namespace", f"label_values({NS})", multi=False, default="openclaw"),
         s.query_variable(POD, "Pod", s.label_values(f"{{{IN_NS}}}", POD))],
    )
