"""Fleet discovery end to end: the exporter in-process, the real `kubernetes` client, the local
Kubernetes API server (tests/kube_api_server.py) serving Services and Secrets from real object
JSON, and gateways on loopback (a recording fake for the many cases, the real gateway once).

Each test scripts what the cluster does and checks what /metrics, /probe and the gateways see.
"""

from __future__ import annotations

import asyncio
import base64
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from conftest import free_port, wait_for
from exporterhelpers import parse_samples, running_exporter, value
from kube_api_server import FakeKubeApi
from kubehelpers import fixture

from openclaw_schema import names as c

NS = "tenant-acme"
TARGET = f"{NS}/openclaw-gateway"
TOKEN = "canary-acme-0000000000000000"  # the fixture Secret's token
INTERVAL = 0.3


class FakeGateways:
    """One process answering /readyz on many loopback ports; records (port, path, Authorization)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, str]] = []
        self.ports: list[int] = []
        self._runner: web.AppRunner | None = None

    async def start(self, count: int = 1) -> None:
        async def handler(request: web.Request) -> web.Response:
            port = request.transport.get_extra_info("sockname")[1]
            self.seen.append((port, request.path, request.headers.get("Authorization", "")))
            return web.json_response({"ready": True})
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        for _ in range(count):
            port = free_port()
            await web.TCPSite(self._runner, "127.0.0.1", port).start()
            self.ports.append(port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def requests(self, port: int) -> list[tuple[int, str, str]]:
        return [s for s in self.seen if s[0] == port]


def service(name: str = "openclaw-gateway", namespace: str = NS, port: int = 18789,
            annotations: dict[str, str] | None = None, port_name: str = "gateway") -> dict:
    """The fixture Service (kubectl get svc -o json), renamed, on 127.0.0.1:<port>."""
    obj = copy.deepcopy(fixture("service_gateway"))
    obj["metadata"].update(name=name, namespace=namespace)
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    obj["spec"]["clusterIP"], obj["spec"]["clusterIPs"] = "127.0.0.1", ["127.0.0.1"]
    obj["spec"]["ports"][0].update(port=port, name=port_name)
    return obj


def secret(token: str = TOKEN, name: str = "openclaw-gateway-token", namespace: str = NS, key: str = "token") -> dict:
    obj = copy.deepcopy(fixture("secret_gateway_token"))
    obj["metadata"].update(name=name, namespace=namespace)
    obj["data"] = {key: base64.b64encode(token.encode()).decode()}
    return obj


def kubeconfig(path: Path, url: str) -> str:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": url}}],
        "users": [{"name": "exporter", "user": {"token": "service-account-token-of-the-exporter"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "exporter"}}]}))
    return str(path)


def exporter_doc(tmp_path: Path, api: FakeKubeApi, targets: list | None = None, **discovery: Any) -> dict:
    doc: dict[str, Any] = {
        "defaults": {"readiness": {"interval": f"{INTERVAL}s", "timeout": "250ms"}, "websocket": {"enabled": False}},
        "discovery": {"address": "cluster_ip", "kubeconfig": kubeconfig(tmp_path / "kubeconfig", api.url),
                      "token_refresh_interval": "200ms", "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2,
                      "request_timeout_seconds": 2.0, "resync_seconds": 0, **discovery},
    }
    if targets is not None:
        doc["targets"] = targets
    return doc


@pytest.fixture
async def gateways():
    gw = FakeGateways()
    await gw.start(3)
    try:
        yield gw
    finally:
        await gw.close()


@asynccontextmanager
async def exporter_on(api: FakeKubeApi, tmp_path: Path, **kwargs: Any) -> AsyncIterator[Any]:
    async with running_exporter(exporter_doc(tmp_path, api, **kwargs), tmp_path) as ex:
        yield ex


async def sample(ex, name: str, **labels: str) -> float | None:
    return value(await ex.samples(), name, **labels)


def attempts(result: str = "success", target: str = TARGET, module: str = "readiness") -> dict[str, str]:
    return {"target": target, "module": module, "result": result}


# --- a Service appears, is probed with its token, disappears ------------------------------------

async def test_a_service_becomes_a_target_probed_with_its_secret_token_and_leaves_when_deleted(api, gateways, tmp_path):
    port = gateways.ports[0]
    api.put("secrets", secret())
    async with exporter_on(api, tmp_path) as ex:
        assert await sample(ex, c.DISCOVERY_TARGETS) == 0
        api.put("services", service(port=port))  # created after the exporter started: the watch sees it
        await wait_for(lambda: len(gateways.requests(port)) >= 2, timeout=10)
        assert {auth for _, _, auth in gateways.requests(port)} == {f"Bearer {TOKEN}"}
        assert {path for _, path, _ in gateways.requests(port)} == {"/readyz"}
        samples = await ex.samples()
        assert value(samples, c.DISCOVERY_TARGETS) == 1
        assert value(samples, c.PROBE_ATTEMPTS_TOTAL, **attempts()) >= 1
        _status, text = await ex.get("/metrics")
        assert TOKEN not in text
        # The exporter's own status counts it among its targets.
        assert ex.exporter.status()["targets"] == 1

        # Deleted: its probes stop within one interval and its series leave /metrics.
        api.delete("services", NS, "openclaw-gateway")
        await wait_for(lambda: not ex.exporter.discovery.targets.current(), timeout=5)
        await wait_for(lambda: all(k[0] != TARGET for k in ex.exporter.state.series), timeout=INTERVAL * 2)
        before = len(gateways.requests(port))
        await asyncio.sleep(INTERVAL * 3)
        assert len(gateways.requests(port)) <= before + 1  # at most the probe already running
        samples = await ex.samples()
        assert value(samples, c.DISCOVERY_TARGETS) == 0
        assert value(samples, c.PROBE_ATTEMPTS_TOTAL, **attempts()) is None


async def test_services_in_unlisted_namespaces_or_without_the_labels_are_not_targets(api, gateways, tmp_path):
    api.put("secrets", secret())
    api.put("secrets", secret(namespace="tenant-other"))
    api.put("services", service(port=gateways.ports[0]))
    api.put("services", service(namespace="tenant-other", port=gateways.ports[1]))
    unlabelled = service(name="something-else", port=gateways.ports[2])
    unlabelled["metadata"]["labels"] = {"app": "postgres"}
    api.put("services", unlabelled)
    async with exporter_on(api, tmp_path, namespaces=[NS]) as ex:
        await wait_for(lambda: ex.exporter.discovery.targets.current(), timeout=10)
        await wait_for(lambda: gateways.requests(gateways.ports[0]), timeout=10)
        assert set(ex.exporter.discovery.targets.current()) == {TARGET}
        assert not gateways.requests(gateways.ports[1]) and not gateways.requests(gateways.ports[2])
        # One list/watch per listed namespace, never cluster-wide.
        assert {r.namespace for r in api.requests if r.resource == "services"} == {NS}


# --- annotations ----------------------------------------------------------------------------------

async def test_annotations_override_port_path_modules_and_secret(api, gateways, tmp_path):
    port = gateways.ports[1]
    api.put("secrets", secret(token="canary-rotated-elsewhere-1111", name="acme-token", key="gateway"))
    obj = service(port=port, port_name="http", annotations={
        "openclaw.ai/port": "http", "openclaw.ai/path": "/openclaw/", "openclaw.ai/modules": "readiness",
        "openclaw.ai/token-secret": "acme-token/gateway"})
    api.put("services", obj)
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: gateways.requests(port), timeout=10)
        (_, path, auth) = gateways.requests(port)[0]
        assert path == "/openclaw/readyz" and auth == "Bearer canary-rotated-elsewhere-1111"
        target = ex.exporter.target(TARGET)
        assert [m.name for m in target.modules.values() if m.enabled] == ["readiness"]
        assert target.ws_url == f"ws://127.0.0.1:{port}/openclaw/"


async def test_invalid_annotations_and_missing_ports_are_counted_not_probed(api, gateways, tmp_path):
    api.put("secrets", secret())
    api.put("services", service(name="bad-port", port=gateways.ports[0], annotations={"openclaw.ai/port": "No Such"}))
    api.put("services", service(name="bad-module", port=gateways.ports[0], annotations={"openclaw.ai/modules": "readiness,ftp"}))
    api.put("services", service(name="other-port-name", port=gateways.ports[0], port_name="metrics"))
    api.put("services", service(name="opted-out", port=gateways.ports[0], annotations={"openclaw.ai/probe": "false"}))
    headless = service(name="headless", port=gateways.ports[0])
    headless["spec"]["clusterIP"] = "None"
    api.put("services", headless)
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: ex.exporter.discovery.last_sync.get("services"), timeout=10)
        samples = await ex.samples()
        rejected = {r: value(samples, c.DISCOVERY_OBJECTS_REJECTED, reason=r) for r in c.DISCOVERY_REJECT_REASONS}
        assert rejected == {"bad_annotation": 2, "no_port": 1, "no_address": 1, "name_conflict": 0}
        assert value(samples, c.DISCOVERY_TARGETS) == 0 and not gateways.seen
        problems = ex.exporter.discovery.targets.problems()
        assert f"Service {NS}/bad-module: annotation openclaw.ai/modules: unknown module 'ftp' (valid modules: " \
            in problems[0]
        assert f"Service {NS}/bad-port: annotation openclaw.ai/port: 'No Such' is not a port name" in problems[1]
        assert f"Service {NS}/headless: no cluster IP (a headless Service)" in problems[2]
        assert f"Service {NS}/other-port-name: no port named 'gateway' (ports: metrics)" in problems[3]


async def test_a_static_target_of_the_same_name_wins_and_the_clash_is_counted(api, gateways, tmp_path):
    static_port, discovered_port = gateways.ports[0], gateways.ports[1]
    api.put("secrets", secret())
    api.put("services", service(port=discovered_port))
    static = [{"name": TARGET, "url": f"http://127.0.0.1:{static_port}"}]
    async with exporter_on(api, tmp_path, targets=static) as ex:
        await wait_for(lambda: ex.exporter.discovery.last_sync.get("services"), timeout=10)
        await wait_for(lambda: gateways.requests(static_port), timeout=10)
        assert await sample(ex, c.DISCOVERY_OBJECTS_REJECTED, reason="name_conflict") == 1
        assert ex.exporter.target(TARGET).http_url == f"http://127.0.0.1:{static_port}"
        assert not gateways.requests(discovered_port)
        (problem,) = ex.exporter.discovery.targets.problems()
        assert problem == (f"discovered target '{TARGET}' has the name of the static target targets[0]; "
                           "the static target wins")


# --- tokens -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["missing", "forbidden", "missing_key"])
async def test_an_unreadable_token_is_config_error_and_the_gateway_is_never_called(api, gateways, tmp_path, case):
    port = gateways.ports[0]
    if case == "forbidden":
        api.put("secrets", secret())
        api.forbidden.add(("secrets", NS, "openclaw-gateway-token"))
    elif case == "missing_key":
        api.put("secrets", secret(key="password"))
    api.put("services", service(port=port))
    async with exporter_on(api, tmp_path) as ex:
        async def config_errors():
            return (await sample(ex, c.PROBE_ATTEMPTS_TOTAL, **attempts("config_error")) or 0) >= 2
        await wait_for(config_errors, timeout=10)
        samples = await ex.samples()
        reason = {"missing": "not_found", "forbidden": "forbidden", "missing_key": "missing_key"}[case]
        assert value(samples, c.DISCOVERY_SECRET_READ_ERRORS_TOTAL, reason=reason) >= 1
        assert value(samples, c.DISCOVERY_TOKENS_UNREADABLE) == 1
        assert value(samples, c.PROBE_ATTEMPTS_TOTAL, **attempts()) == 0
        assert not gateways.requests(port)  # never probed without its token
        status, text = await ex.get(f"/probe?target={TARGET}&debug=true")
        assert status == 200 and "Result: config_error" in text
        assert f"Kubernetes Secret {NS}/openclaw-gateway-token" in text


async def test_a_rotated_token_is_used_from_the_next_read_on(api, gateways, tmp_path):
    port = gateways.ports[0]
    api.put("secrets", secret())
    api.put("services", service(port=port))
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: gateways.requests(port), timeout=10)
        rotated = "canary-acme-rotated-2222222222"
        api.put("secrets", secret(token=rotated))
        await wait_for(lambda: gateways.requests(port)[-1][2] == f"Bearer {rotated}", timeout=5)
        # The probe task kept its schedule (the token is read at each probe, not restarted).
        assert list(ex.exporter.scheduler._tasks) == [(TARGET, "readiness", "")]
        # The Secret deleted: config_error from the next read, and no unauthenticated call.
        api.delete("secrets", NS, "openclaw-gateway-token")

        async def errors():
            return (await sample(ex, c.PROBE_ATTEMPTS_TOTAL, **attempts("config_error")) or 0) >= 1
        await wait_for(errors, timeout=5)
        n = len(gateways.requests(port))
        await asyncio.sleep(INTERVAL * 2)
        assert len(gateways.requests(port)) <= n + 1
        assert all(auth.startswith("Bearer canary-") for _, _, auth in gateways.requests(port))
        _status, text = await ex.get("/metrics")
        assert TOKEN not in text and rotated not in text


async def test_a_transient_api_failure_keeps_the_last_good_token(api, gateways, tmp_path):
    port = gateways.ports[0]
    api.put("secrets", secret())
    api.put("services", service(port=port))
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: gateways.requests(port), timeout=10)
        api.fail_next("secrets", 503, times=3, on="get")
        await wait_for(lambda: ex.exporter.discovery.tokens.read_errors["http"] >= 3, timeout=5)
        n = len(gateways.requests(port))
        await wait_for(lambda: len(gateways.requests(port)) >= n + 2, timeout=5)
        assert gateways.requests(port)[-1][2] == f"Bearer {TOKEN}"
        assert await sample(ex, c.PROBE_ATTEMPTS_TOTAL, **attempts("config_error")) == 0


# --- the watch: 410 Gone, re-list ----------------------------------------------------------------

async def test_a_410_relists_and_a_deletion_missed_meanwhile_removes_the_target(api, gateways, tmp_path):
    api.put("secrets", secret())
    api.put("secrets", secret(namespace="tenant-b"))
    api.put("services", service(port=gateways.ports[0]))
    api.put("services", service(namespace="tenant-b", port=gateways.ports[1]))
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: len(ex.exporter.discovery.targets.current()) == 2, timeout=10)
        await wait_for(lambda: api.live_watches("services"), timeout=5)
        lists = len(api.lists("services"))
        # Missed while the watch was away, then the history compacted: only a re-list can tell.
        api.delete("services", "tenant-b", "openclaw-gateway", deliver=False)
        api.put("services", service(name="openclaw-gateway-2", port=gateways.ports[2]), deliver=False)
        api.expire_watches("services")
        await wait_for(lambda: set(ex.exporter.discovery.targets.current()) == {TARGET, f"{NS}/openclaw-gateway-2"},
                       timeout=10)
        assert len(api.lists("services")) == lists + 1
        assert await sample(ex, c.DISCOVERY_WATCH_RESTARTS_TOTAL, resource="services", kind="gone") == 1
        # Cluster-wide: one list/watch for every namespace.
        assert {r.namespace for r in api.requests if r.resource == "services"} == {""}
        await wait_for(lambda: gateways.requests(gateways.ports[2]), timeout=10)


async def test_a_forbidden_service_list_is_counted_retried_and_points_at_the_rbac_file(api, gateways, tmp_path, caplog):
    api.put("secrets", secret())
    api.put("services", service(port=gateways.ports[0]))
    api.fail_next("services", 403, times=2, on="list")
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: ex.exporter.target(TARGET), timeout=10)  # the third list is allowed
        assert await sample(ex, c.DISCOVERY_WATCH_RESTARTS_TOTAL, resource="services", kind="http") == 2
        assert "API error 403" in caplog.text and "deploy/components/discovery/rbac.yaml" in caplog.text


# --- /probe ---------------------------------------------------------------------------------------

async def test_probe_endpoint_accepts_discovered_targets_and_nothing_else(api, gateways, tmp_path):
    port = gateways.ports[0]
    api.put("secrets", secret())
    api.put("services", service(port=port))
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: ex.exporter.target(TARGET), timeout=10)
        status, text = await ex.get(f"/probe?target={TARGET}&module=readiness")
        assert status == 200 and value(parse_samples(text), c.PROBE_SUCCESS, target=TARGET, module="readiness") == 1
        for name in ("tenant-acme/nope", f"http://127.0.0.1:{port}", "openclaw-gateway"):
            status, text = await ex.get(f"/probe?target={name}")
            assert status == 400 and "only configured or discovered targets" in text
        # Deleted: /probe refuses it too.
        api.delete("services", NS, "openclaw-gateway")
        await wait_for(lambda: ex.exporter.target(TARGET) is None, timeout=5)
        status, _ = await ex.get(f"/probe?target={TARGET}")
        assert status == 400


async def test_role_pod_probes_each_running_pod_on_its_ip(api, gateways, tmp_path):
    pod = fixture("pod_ready")
    pod["metadata"]["annotations"] = {"openclaw.ai/token-secret": "openclaw-gateway-token"}
    pod["spec"]["containers"][0]["ports"][0].update(name="gateway", containerPort=gateways.ports[2])
    pod["status"]["podIP"] = "127.0.0.1"
    api.put("secrets", secret(namespace="openclaw"))
    api.put("pods", pod)
    async with exporter_on(api, tmp_path, role="pod", address="dns") as ex:
        await wait_for(lambda: gateways.requests(gateways.ports[2]), timeout=10)
        assert set(ex.exporter.discovery.targets.current()) == {"openclaw/openclaw-gateway-5b7a6f9d8c-h7j8k"}
        assert gateways.requests(gateways.ports[2])[0][2] == f"Bearer {TOKEN}"
        # The pod is evicted (phase Failed): no longer a target.
        pod["status"]["phase"] = "Failed"
        api.put("pods", pod)
        await wait_for(lambda: not ex.exporter.discovery.targets.current(), timeout=5)
        assert await sample(ex, c.DISCOVERY_TARGETS) == 0


# --- reload -----------------------------------------------------------------------------------------

async def test_reloads_keep_the_watch_when_discovery_is_unchanged_and_stop_it_when_removed(api, gateways, tmp_path):
    api.put("secrets", secret())
    api.put("services", service(port=gateways.ports[0]))
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: gateways.requests(gateways.ports[0]), timeout=10)
        watcher = ex.exporter.discovery
        task = ex.exporter.scheduler._tasks[(TARGET, "readiness", "")]
        # A static target is added: discovery keeps its watch and its probes' schedule.
        doc = exporter_doc(tmp_path, api, targets=[{"name": "static", "url": f"http://127.0.0.1:{gateways.ports[1]}"}])
        ex.write_config(doc)
        assert await ex.post("/-/reload") == (200, "reloaded\n")
        assert ex.exporter.discovery is watcher
        assert ex.exporter.scheduler._tasks[(TARGET, "readiness", "")] is task
        await wait_for(lambda: gateways.requests(gateways.ports[1]), timeout=10)
        # Now the static target takes the discovered name: the static one wins at once.
        doc["targets"][0]["name"] = TARGET
        ex.write_config(doc)
        assert await ex.post("/-/reload") == (200, "reloaded\n")
        assert ex.exporter.target(TARGET).http_url == f"http://127.0.0.1:{gateways.ports[1]}"
        assert await sample(ex, c.DISCOVERY_OBJECTS_REJECTED, reason="name_conflict") == 1
        # Discovery removed: its watch ends, its targets and metrics leave.
        del doc["discovery"]
        ex.write_config(doc)
        assert await ex.post("/-/reload") == (200, "reloaded\n")
        assert ex.exporter.discovery is None and not any(t.is_alive() for t in watcher._threads)
        samples = await ex.samples()
        assert value(samples, c.DISCOVERY_TARGETS) is None
        assert [t.name for t in ex.exporter.all_targets()] == [TARGET]


async def test_a_bad_discovery_section_on_reload_keeps_the_running_discovery(api, gateways, tmp_path):
    api.put("secrets", secret())
    api.put("services", service(port=gateways.ports[0]))
    async with exporter_on(api, tmp_path) as ex:
        await wait_for(lambda: ex.exporter.target(TARGET), timeout=10)
        doc = exporter_doc(tmp_path, api, label_selector="")
        ex.write_config(doc)
        status, text = await ex.post("/-/reload")
        assert status == 500 and "discovery.label_selector: must be a non-empty string" in text
        assert ex.exporter.target(TARGET) is not None


# --- the real gateway -----------------------------------------------------------------------------

async def test_real_gateway_discovered_through_a_service_and_its_secret(api, tmp_path, real_gateway, gateway_token):
    api.put("secrets", secret(token=gateway_token))
    api.put("services", service(port=real_gateway.port))
    doc = exporter_doc(tmp_path, api)
    doc["defaults"] = {"readiness": {"interval": "1s", "timeout": "900ms"},
                       "websocket": {"interval": "2s", "timeout": "1900ms"}}
    async with running_exporter(doc, tmp_path) as ex:
        async def both_succeed():
            samples = await ex.samples()
            return all(value(samples, c.PROBE_SUCCESS, target=TARGET, module=m) == 1 for m in ("readiness", "websocket"))
        await wait_for(both_succeed, timeout=30)
        _status, text = await ex.get("/metrics")
        assert gateway_token not in text


# --- scale ------------------------------------------------------------------------------------------

def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


async def test_a_thousand_services_in_a_hundred_namespaces_become_targets(api, gateways, tmp_path, capsys):
    """The fleet the issue sizes for: every Service a target with its own token Secret, each probed
    once (interval 1h) on one of a few loopback ports of one fake-gateway process."""
    namespaces, per_namespace = 100, 10
    for n in range(namespaces):
        ns = f"tenant-{n:03d}"
        for i in range(per_namespace):  # one gateway, one token, one Secret each
            api.put("secrets", secret(token=f"canary-{ns}-{i}-0123456789abcdef", name=f"gateway-{i}-token", namespace=ns))
            api.put("services", service(name=f"gateway-{i}", namespace=ns, port=gateways.ports[i % len(gateways.ports)],
                                        annotations={"openclaw.ai/token-secret": f"gateway-{i}-token"}))
    doc = exporter_doc(tmp_path, api)
    doc["defaults"]["readiness"] = {"interval": "1h", "timeout": "5s"}
    doc["discovery"]["token_refresh_interval"] = "1h"
    # Warm up (imports, first exporter) with a selector matching nothing: RSS then grows by the fleet only.
    async with running_exporter({**doc, "discovery": {**doc["discovery"], "label_selector": "app=none"}}, tmp_path) as ex:
        await wait_for(lambda: ex.exporter.discovery.last_sync.get("services"), timeout=30)
    rss_before = _rss_bytes()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with running_exporter(doc, tmp_path) as ex:
        await wait_for(lambda: len(ex.exporter.discovery.targets.current()) == 1000, timeout=120)
        discovered = loop.time() - started
        await wait_for(lambda: len(ex.exporter.scheduler._tasks) == 1000, timeout=30)
        scheduled = loop.time() - started
        await wait_for(lambda: len(gateways.seen) >= 1000, timeout=120)
        probed = loop.time() - started
        rss_after = _rss_bytes()
        # Every target with its own namespace's token, every Secret read once.
        tokens = {(path, auth) for _, path, auth in gateways.seen}
        assert {auth for _, auth in tokens} == {f"Bearer canary-tenant-{n:03d}-{i}-0123456789abcdef"
                                                for n in range(namespaces) for i in range(per_namespace)}
        assert len(api.gets("secrets")) == 1000
        samples = await ex.samples()
        assert value(samples, c.DISCOVERY_TARGETS) == 1000
    with capsys.disabled():
        print(f"\n[discovery scale] 1000 Services / 100 namespaces / 1000 Secrets: targets built in {discovered:.2f}s, "
              f"scheduled in {scheduled:.2f}s, all probed once in {probed:.2f}s; "
              f"RSS +{(rss_after - rss_before) / 2**20:.1f} MiB for the fleet (process {rss_after / 2**20:.0f} MiB)")
