"""openclaw_schema: the declarations, docs/metrics.md generated from them, and the exporter's
exposition checked against them (every family it exposes is declared with the same type, help
and labels; every exporter metric declared is emitted by the code)."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path

import pytest
from kubehelpers import fixture, with_container
from conftest import wait_for
from exporterhelpers import running_exporter
from probehelpers import config_for
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.collectors import ExporterCollector
from exporter.sharding import Shard
from exporter.exposition import render_state
from exporter.http_client import make_session
from exporter.kube.collector import KubeCollector
from exporter.kube.state import KubeState, parse_time
from exporter.probes import PROBERS
from exporter.probes.base import ProbeRun
from exporter.probes.prober_state import ProberState
from exporter.runner import run_probe
from exporter.secrets import Redactor
from exporter.state import ProbeState
from openclaw_schema import __main__ as schema_cli
from openclaw_schema import docs, names
from openclaw_schema.metric import Metric, MetricType, Source
from slo import spec
from slo.live import LiveBudget

ROOT = Path(__file__).resolve().parent.parent
METRICS_MD = ROOT / "docs" / "metrics.md"
# Labels a sample may carry beyond its family's declared ones: histogram/summary parts, and
# the per-pod probe label (docs/metrics.md says so once, above the table).
IMPLIED_LABELS = {names.LABEL_LE, names.LABEL_QUANTILE, names.LABEL_GATEWAY_POD}
SCOPE = "openclaw/app=openclaw-gateway"


def test_docs_metrics_md_is_generated_from_the_schema():
    assert METRICS_MD.read_text(encoding="utf-8") == docs.render(), (
        "docs/metrics.md is stale: run `python -m openclaw_schema` and commit it")


def test_check_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path, capsys):
    out = tmp_path / "metrics.md"
    assert schema_cli.main(["--check", "--output", str(out)]) == 1  # missing
    assert schema_cli.main(["--output", str(out)]) == 0
    assert schema_cli.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text().replace("Probes running right now.", "Probes running."))
    assert schema_cli.main(["--check", "--output", str(out)]) == 1
    assert "stale" in capsys.readouterr().err


def test_the_generated_page_lists_every_metric_once_in_its_source_section():
    text = docs.render()
    for metric in names.declared():
        assert text.count(f"| `{metric.exposed}` |") == 1, metric
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == [f"## {s}" for s in Source] + ["## Label values"]


def test_declarations_are_unique_and_follow_the_naming_rules():
    declared = names.declared()
    labels = {value for key, value in vars(names).items() if key.startswith("LABEL_")}
    assert len(declared) == len(set(declared)), "a metric name is declared twice"
    for m in declared:
        assert m.help and m.help[-1] in ".)", m
        if m.source is Source.EXPORTER:
            assert m.startswith(names.NAMESPACE + "_"), m
            assert not m.endswith("_total"), f"{m}: declare counters without _total (exposed adds it)"
            assert m.type is not MetricType.INFO or m.endswith("_info"), m
        if m.unit:
            assert f"_{m.unit}" in m, f"{m}: the unit {m.unit} belongs in the name"
        assert set(m.labels) <= labels, f"{m}: labels {set(m.labels) - labels} are not declared LABEL_ names"


def test_no_constant_of_the_schema_is_defined_twice():
    """Two names for one string is how conventions.py drifted (the KSM and cAdvisor names, `le`,
    `outcome`, the plugin's metrics under two names each): one name per label and per value."""
    assigned = [target.id for node in ast.parse(Path(names.__file__).read_text(encoding="utf-8")).body
                if isinstance(node, (ast.Assign, ast.AnnAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)]
    assert sorted({n for n in assigned if assigned.count(n) > 1}) == [], "assigned twice in names.py"
    seen: dict[tuple[bool, str], str] = {}
    for key, value in vars(names).items():
        if key.isupper() and isinstance(value, str):
            slot = (key.startswith("LABEL_"), value)  # a label name may equal a value (`model`)
            assert slot not in seen, f"{key} repeats {seen[slot]} ({value!r})"
            seen[slot] = key


def test_vocabularies_are_what_the_probers_produce():
    assert set(PROBERS) == set(names.Module)
    results = {r for p in PROBERS.values() for r in p.results}
    assert results == set(names.Result), f"unused: {set(names.Result) - results}, undeclared: {results - set(names.Result)}"
    phases = {ph for p in PROBERS.values() for ph in p.phases}
    assert phases <= set(names.Phase), phases - set(names.Phase)
    assert set(names.PROBE_CONFIG_RESULTS) <= results


def test_a_prober_cannot_record_an_undeclared_or_mistyped_metric():
    run = ProbeRun(target="gw", module="readiness", redactor=Redactor(), session=None, prober_state=ProberState())
    run.gauge(names.GATEWAY_READY, 1.0)
    assert run.gauges[0].help == names.GATEWAY_READY.help
    with pytest.raises(TypeError):
        run.counter(names.GATEWAY_READY, 1.0)  # declared a gauge
    with pytest.raises(TypeError):
        run.gauge("openclaw_made_up", 1.0)  # type: ignore[arg-type]


def _kube_state() -> KubeState:
    """The article's crash loop plus a backup CronJob and its failed Job (real API JSON)."""
    now = [parse_time("2026-11-20T10:00:00Z")]
    state = KubeState(lambda: now[0])
    pod = fixture("pod_crashloop")
    state.replace_pods(SCOPE, [pod, fixture("pod_ready")])
    now[0] += 60
    state.apply_pod_event(SCOPE, "MODIFIED", with_container(pod, restartCount=4))
    state.replace_events("openclaw", [fixture("event_backoff"), fixture("event_failedmount")])
    state.replace_cronjobs(SCOPE, [fixture("cronjob_backup")])
    state.replace_jobs(SCOPE, [fixture("job_backup_complete"), fixture("job_backup_failed")])
    for resource in ("pods", "events", "cronjobs", "jobs"):
        state.mark_synced(resource)
    state.record_error("pods", "gone")
    return state


async def _probe_exposition(tmp_path: Path) -> str:
    """A real storage probe on a temporary directory and a readiness probe of a closed port."""
    config = config_for("http://127.0.0.1:1", websocket={"enabled": False}, storage={"path": str(tmp_path)})
    target = config.targets[0]
    state = ProbeState(thresholds={("storage", "total"): (0.25,)})
    state.set_detail({("gw", "storage")})
    session = make_session()
    try:
        for module in ("storage", "readiness"):
            prober = PROBERS[module]
            state.ensure("gw", module, prober.buckets, results=prober.results)
            for _ in range(2):
                outcome = await run_probe(target, target.modules[module], Redactor(), session)
                assert outcome.result == ("success" if module == "storage" else "refused"), outcome.message
                state.record(outcome, prober.buckets, now=time.time())
    finally:
        await session.close()
    return render_state(state)


def scrape_everything(tmp_path: Path) -> str:
    registry = CollectorRegistry()
    registry.register(ExporterCollector(lambda: {"reload_ok": True, "reload_time": 1.7e9, "in_flight": 0, "targets": 1,
                                                 "shard": Shard(replicas=3, ordinal=1, replication=2),
                                                 "owned_targets": 1}))
    registry.register(KubeCollector(_kube_state().snapshot))
    live = LiveBudget(spec.load(), str(tmp_path / "slo.db"), now=time.time())
    live.record("gw", "readiness", "success", {"total": 0.01}, time.time())
    registry.register(live)
    try:
        collected = generate_latest(registry).decode()
    finally:
        live.close()
    return collected + asyncio.run(_probe_exposition(tmp_path / "volume"))


def exposed_families(text: str) -> dict[str, tuple[str, str, set[frozenset[str]]]]:
    """name -> (type, help, label sets of its samples) of every openclaw_* family."""
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith(names.NAMESPACE + "_"):
            label_sets = {frozenset(s.labels) - IMPLIED_LABELS for s in family.samples}
            out[family.name] = (family.type, family.documentation, label_sets)
    return out


def text_format_type(metric: Metric) -> str:
    # The text format (0.0.4) has no info type: prometheus_client writes info metrics as gauges.
    return "gauge" if metric.type is MetricType.INFO else str(metric.type)


def assert_declared(families: dict[str, tuple[str, str, set[frozenset[str]]]]) -> None:
    declared = {str(m): m for m in names.declared()}
    for name, (typ, help_text, label_sets) in families.items():
        metric = declared.get(name)
        assert metric is not None, f"{name} is exposed but not declared in openclaw_schema/names.py"
        assert metric.source is Source.EXPORTER, name
        assert typ == text_format_type(metric), f"{name}: exposed as {typ}, declared {metric.type}"
        assert help_text == metric.help, name
        for labels in label_sets:
            assert labels == set(metric.labels), f"{name}: exposed with {sorted(labels)}, declared {metric.labels}"


def test_every_family_the_exporter_exposes_is_declared_with_its_type_help_and_labels(tmp_path):
    (tmp_path / "volume").mkdir()
    families = exposed_families(scrape_everything(tmp_path))
    assert_declared(families)
    # The scrape covers the exporter's own, probe-common, storage, watcher, backup and SLO families.
    for metric in (names.EXPORTER_BUILD_INFO, names.PROBE_LATENCY_GOOD, names.PROBE_LATENCY, names.STORAGE_MARKER_OK,
                   names.POD_STARTUP, names.BACKUP_JOBS_FAILED, names.KUBE_WATCH_ERRORS, names.SLO_BURN_RATE):
        assert str(metric) in families, metric


def _references(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id in ("c", "names")}


def test_every_exporter_metric_declared_is_emitted_by_some_module():
    """The other direction, where a scrape cannot reach (gateway-only probe results): each
    declaration of the exporter's own section is referenced by the runtime's code."""
    sources = [*sorted((ROOT / "exporter").rglob("*.py")), ROOT / "slo" / "live.py"]
    used = set().union(*(_references(ast.parse(p.read_text(encoding="utf-8"))) for p in sources))
    unused = sorted(key for key, value in vars(names).items()
                    if isinstance(value, Metric) and value.source is Source.EXPORTER and key not in used)
    assert not unused, f"declared but emitted nowhere: {unused}"


async def test_the_running_exporter_probing_the_real_gateway_exposes_only_declared_families(
        real_gateway, gateway_token, tmp_path, monkeypatch):
    """/metrics of the exporter itself, the readiness and websocket modules reading the real
    gateway's /readyz body and hello-ok (the module gauges a registry test cannot produce)."""
    monkeypatch.setenv("GW_TOKEN", gateway_token)
    doc = {"targets": [{"name": "gw", "url": real_gateway.url, "token_env": "GW_TOKEN",
                        "readiness": {"interval": "1s", "timeout": "900ms"},
                        "websocket": {"interval": "1s", "timeout": "900ms", "detail": True}}]}
    async with running_exporter(doc, tmp_path) as ex:
        async def probed():
            _, text = await ex.get("/metrics")
            families = exposed_families(text)
            return families if {str(names.GATEWAY_READY), str(names.GATEWAY_INFO)} <= set(families) else None
        families = await wait_for(probed, timeout=20)
    assert_declared(families)
    assert str(names.PROBE_LATENCY) in families and str(names.EXPORTER_TARGETS) in families
