"""The storage probe against real files: a tmp dir, tmpfs mounts made by the test (read-only,
64 KiB full), a directory removed underneath, and a hung call.

The mounts need root (the test machine and CI containers run as root; root ignores permission
bits, so a read-only *mount* is what makes a directory unwritable here). Each mount is created
and removed by its test, also when the test fails.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import wait_for
from openclaw_schema import names as c
from exporter.config import ConfigError, parse_config
from exporter.probes import PROBERS, storage
from exporterhelpers import running_exporter, value
from localservers import fixed, serve
import probehelpers
from probehelpers import config_for, gauges, probe_once

PHASES = {"write", "fsync", "read", "delete", "total"}


def _config(path: Path | str, **settings):
    return config_for("http://127.0.0.1:1", readiness={"enabled": False}, websocket={"enabled": False},
                      storage={"path": str(path), **settings})


def _restart() -> None:
    """What an exporter restart does to the module: its memory is gone, the files are not."""
    probehelpers.PROBER_STATE.storage.reset()


@contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def test_success_reports_every_phase_capacity_and_leaves_only_the_marker(tmp_path):
    outcome = await probe_once(_config(tmp_path), "storage")
    assert outcome.result == "success", outcome.message
    assert set(outcome.phases) == PHASES
    assert all(0 < outcome.phases[p] <= outcome.phases["total"] for p in PHASES - {"total"})
    g = gauges(outcome)
    st = os.statvfs(tmp_path)
    assert g[(c.STORAGE_CAPACITY_BYTES, ())] == st.f_blocks * st.f_frsize
    assert 0 < g[(c.STORAGE_AVAILABLE_BYTES, ())] <= g[(c.STORAGE_CAPACITY_BYTES, ())]
    assert 0 < g[(c.STORAGE_INODES_FREE, ())] <= g[(c.STORAGE_INODES, ())]
    assert g[(c.STORAGE_MARKER_OK, ())] == 1.0
    assert abs(g[(c.STORAGE_MARKER_CREATED, ())] - time.time()) < 60
    assert g[(c.STORAGE_PERSISTENCE_LOST, ())] == 0.0
    # The canary is gone; the marker stays.
    assert [p.name for p in tmp_path.iterdir()] == [storage.MARKER_NAME]


def test_config_refuses_a_read_only_path_with_its_location(tmp_path):
    with tmpfs(tmp_path / "ro", "size=64k,ro") as ro:
        with pytest.raises(ConfigError) as err:
            _config(ro)
    assert f"targets[0].storage: path: cannot write in {ro}: Read-only file system (EROFS)" in err.value.problems


def test_config_refuses_a_missing_path_and_a_relative_one(tmp_path):
    with pytest.raises(ConfigError) as err:
        _config(tmp_path / "nope")
    assert err.value.problems == [f"targets[0].storage: path: {tmp_path / 'nope'} is not an existing directory"]
    with pytest.raises(ConfigError) as err:
        _config("relative/dir")
    assert err.value.problems == ["targets[0].storage: path 'relative/dir' must be an absolute directory path"]
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": [{"name": "gw", "url": "http://127.0.0.1:1", "storage": {"canary_bytes": 10}}]})
    assert err.value.problems == ["targets[0].storage: path is required: the directory the storage probe "
                                  "writes its canary and marker in"]


async def test_volume_turned_read_only_is_read_only(tmp_path):
    with tmpfs(tmp_path / "vol", "size=1m") as vol:
        config = _config(vol)  # writable when the exporter starts
        subprocess.run(["mount", "-o", "remount,ro", str(vol)], check=True)
        outcome = await probe_once(config, "storage")
    assert outcome.result == "read_only", outcome.message
    assert "Read-only file system" in outcome.message and str(vol) in outcome.message
    assert (c.STORAGE_CAPACITY_BYTES, ()) in gauges(outcome)  # capacity still reported on failure


async def test_full_volume_is_no_space(tmp_path):
    with tmpfs(tmp_path / "vol", "size=64k") as vol:
        config = _config(vol)
        first = await probe_once(config, "storage")
        assert first.result == "success", first.message
        fd = os.open(vol / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # ENOSPC: the volume is full
        finally:
            os.close(fd)
        outcome = await probe_once(config, "storage")
    assert outcome.result == "no_space", outcome.message
    assert "No space left on device (ENOSPC)" in outcome.message
    assert gauges(outcome)[(c.STORAGE_AVAILABLE_BYTES, ())] == 0.0


async def test_directory_removed_underneath_is_path_missing(tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    config = _config(vol)
    for child in vol.iterdir():
        child.unlink()
    vol.rmdir()
    outcome = await probe_once(config, "storage")
    assert outcome.result == "path_missing", outcome.message
    assert "No such file or directory (ENOENT)" in outcome.message


async def test_content_read_back_differs_is_content_mismatch(tmp_path, monkeypatch):
    # A volume returning other bytes than written cannot be made on demand: os.read is patched.
    real_read = os.read
    monkeypatch.setattr(storage.os, "read", lambda fd, n: bytes(len(real_read(fd, n))))
    outcome = await probe_once(_config(tmp_path), "storage")
    assert outcome.result == "content_mismatch"
    assert "differs from what was written" in outcome.message


async def test_hung_io_times_out_in_its_phase_and_the_next_run_does_not_pile_up(tmp_path, monkeypatch):
    # A hung NFS/CephFS fsync cannot be produced without FUSE here: os.fsync is patched to block
    # until the test releases it (as a D-state call would, it ignores the caller's timeout).
    config = _config(tmp_path, timeout="300ms", interval="1s")
    assert (await probe_once(config, "storage")).result == "success"  # the marker is written (with fsync)
    release = threading.Event()
    real_fsync = os.fsync
    monkeypatch.setattr(storage.os, "fsync", lambda fd: (release.wait(30), real_fsync(fd)))
    try:
        started = time.perf_counter()
        outcome = await probe_once(config, "storage")
        assert time.perf_counter() - started < 2
        assert outcome.result == "timeout"
        assert outcome.timeout_phase == "fsync"
        assert "in phase fsync" in outcome.message
        assert "write" in outcome.phases and "read" not in outcome.phases
        # The thread is still stuck: the next run fails at once instead of starting another.
        again = await probe_once(config, "storage")
        assert again.result == "timeout" and "still blocked in phase fsync" in again.message
        assert again.phases["total"] < 0.1
    finally:
        release.set()
    await wait_for(lambda: not probehelpers.PROBER_STATE.storage.of("gw", str(tmp_path)).busy, timeout=5)
    assert (await probe_once(config, "storage")).result == "success"


async def test_hung_storage_does_not_stop_other_modules_or_shutdown(tmp_path, monkeypatch):
    # Same patched blocking fsync as above; the readiness module probes a local server.
    vol = tmp_path / "vol"
    vol.mkdir()
    assert (await probe_once(_config(vol), "storage")).result == "success"  # the marker is written (with fsync)
    release = threading.Event()
    monkeypatch.setattr(storage.os, "fsync", lambda fd: release.wait(60))
    try:
        async with serve(fixed(200, '{"ready":true}')) as gw:
            doc = {"targets": [{"name": "gw", "url": gw, "websocket": {"enabled": False},
                                "readiness": {"interval": "200ms", "timeout": "100ms"},
                                "storage": {"path": str(vol), "interval": "1s", "timeout": "300ms"}}]}
            closed = None
            async with running_exporter(doc, tmp_path) as ex:
                async def timed_out_twice():
                    return (value(await ex.samples(), c.PROBE_ATTEMPTS_TOTAL, target="gw", module="storage",
                                  result="timeout") or 0) >= 2
                await wait_for(timed_out_twice, timeout=10)
                samples = await ex.samples()
                ready = value(samples, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="success")
                # Readiness kept its 200 ms schedule while storage hung (>= 1 s of it).
                assert ready is not None and ready >= 5
                assert value(samples, c.PROBE_TIMEOUTS_TOTAL, target="gw", module="storage", phase="fsync") >= 1
                closed = time.perf_counter()
            assert time.perf_counter() - closed < 3  # shutdown did not wait for the stuck thread
    finally:
        release.set()


async def test_marker_survives_an_exporter_restart(tmp_path):
    config = _config(tmp_path)
    first = gauges(await probe_once(config, "storage"))
    _restart()
    second = gauges(await probe_once(config, "storage"))
    assert second[(c.STORAGE_MARKER_CREATED, ())] == first[(c.STORAGE_MARKER_CREATED, ())]
    assert second[(c.STORAGE_MARKER_OK, ())] == 1.0
    assert second[(c.STORAGE_PERSISTENCE_LOST, ())] == 0.0


async def test_marker_wiped_while_running_is_counted_as_persistence_lost(tmp_path):
    config = _config(tmp_path)
    first = gauges(await probe_once(config, "storage"))
    (tmp_path / storage.MARKER_NAME).unlink()  # the volume's data vanished under the exporter
    lost = await probe_once(config, "storage")
    g = gauges(lost)
    assert lost.result == "success"  # the canary itself works; persistence has its own metrics
    assert g[(c.STORAGE_MARKER_OK, ())] == 0.0
    assert g[(c.STORAGE_PERSISTENCE_LOST, ())] == 1.0
    assert g[(c.STORAGE_MARKER_CREATED, ())] > first[(c.STORAGE_MARKER_CREATED, ())]
    after = gauges(await probe_once(config, "storage"))  # a new marker from now on
    assert after[(c.STORAGE_MARKER_OK, ())] == 1.0 and after[(c.STORAGE_PERSISTENCE_LOST, ())] == 1.0


async def test_marker_replaced_by_another_is_persistence_lost(tmp_path):
    config = _config(tmp_path)
    await probe_once(config, "storage")
    (tmp_path / storage.MARKER_NAME).write_text('{"id": "someone-else", "created": 1}')
    g = gauges(await probe_once(config, "storage"))
    assert g[(c.STORAGE_MARKER_OK, ())] == 0.0 and g[(c.STORAGE_PERSISTENCE_LOST, ())] == 1.0


async def test_wiped_volume_across_a_restart_shows_as_a_new_marker_creation_time(tmp_path):
    # A pod recreated on an empty volume: the new process cannot know a marker existed, but its
    # creation time changes, which the persistence alert detects (see test_storage_alerts.py).
    config = _config(tmp_path)
    first = gauges(await probe_once(config, "storage"))
    _restart()
    (tmp_path / storage.MARKER_NAME).unlink()
    second = gauges(await probe_once(config, "storage"))
    assert second[(c.STORAGE_MARKER_CREATED, ())] > first[(c.STORAGE_MARKER_CREATED, ())]


def test_storage_is_enabled_only_where_configured(tmp_path):
    config = config_for("http://127.0.0.1:1")
    assert not config.targets[0].modules["storage"].enabled
    assert _config(tmp_path).targets[0].modules["storage"].enabled
    assert set(PROBERS["storage"].phases) == PHASES


async def test_storage_is_not_probed_per_pod(tmp_path):
    # kubernetes.pod_probing copies every module onto each Ready pod's IP; the storage directory
    # is the exporter's own, so only the configured target's storage series may exist.
    from kube_api_server import FakeKubeApi
    from kubehelpers import fixture
    from test_exporter_kube import write_kubeconfig

    vol = tmp_path / "vol"
    vol.mkdir()
    api = FakeKubeApi()
    url = await api.start()
    try:
        pod = fixture("pod_ready")
        pod["status"]["podIP"] = "127.0.0.1"
        api.put("pods", pod)
        name = pod["metadata"]["name"]
        async with serve(fixed(200, '{"ready":true}')) as gw:
            doc = {"targets": [{"name": "gw", "url": gw.replace("127.0.0.1", "localhost"),
                                "readiness": {"interval": "300ms", "timeout": "300ms"}, "websocket": {"enabled": False},
                                "storage": {"path": str(vol), "interval": "300ms", "timeout": "300ms"}}],
                   "kubernetes": {"enabled": True, "kubeconfig": write_kubeconfig(tmp_path / "kc", url),
                                  "in_cluster": False, "pod_probing": True}}
            async with running_exporter(doc, tmp_path) as ex:
                async def pod_probed():
                    s = await ex.samples()
                    return (value(s, c.PROBE_SUCCESS, target="gw", module="readiness", gateway_pod=name) == 1
                            and (value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="storage", result="success") or 0) >= 2)
                await wait_for(pod_probed, timeout=15)
                samples = await ex.samples()
    finally:
        await api.close()
    storage_pods = {dict(labels).get(c.LABEL_GATEWAY_POD) for (metric, labels) in samples
                    if dict(labels).get(c.LABEL_MODULE) == "storage"}
    assert storage_pods == {None}


async def test_corrupted_marker_at_start_up_counts_as_changed(tmp_path):
    (tmp_path / storage.MARKER_NAME).write_text("not json")  # e.g. a torn write on the volume
    g = gauges(await probe_once(_config(tmp_path), "storage"))
    assert g[(c.STORAGE_MARKER_OK, ())] == 0.0 and g[(c.STORAGE_PERSISTENCE_LOST, ())] == 1.0
    assert '"id"' in (tmp_path / storage.MARKER_NAME).read_text()  # replaced by a valid one


@pytest.mark.parametrize(("err", "reason"), [
    (errno.EACCES, "permission_denied"), (errno.EPERM, "permission_denied"), (errno.EIO, "io_error"),
    (errno.ESTALE, "io_error"), (errno.EDQUOT, "no_space"),
])
async def test_write_errors_map_to_their_reason(tmp_path, monkeypatch, err, reason):
    # Root (the test user) ignores permission bits and no device here fails with EIO/ESTALE on
    # demand: os.open is patched to fail the canary's creation with the errno.
    config = _config(tmp_path)
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):
        if storage.CANARY_PREFIX in str(path) and flags & os.O_CREAT:
            raise OSError(err, os.strerror(err), str(path))
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(storage.os, "open", failing_open)
    outcome = await probe_once(config, "storage")
    assert outcome.result == reason
    assert outcome.message.startswith(f"write in {tmp_path} failed: {os.strerror(err)} ({errno.errorcode[err]})")


async def test_hung_read_on_a_fifo_times_out_without_patching(tmp_path):
    # A real blocking call, no patch: the marker path is a FIFO, so opening it for reading blocks
    # until a writer comes (as a read on a hung mount blocks). The run ends as a timeout in the
    # marker phase; opening the FIFO for writing later releases the stuck thread.
    config = _config(tmp_path, timeout="300ms", interval="1s")
    os.mkfifo(tmp_path / storage.MARKER_NAME)
    started = time.perf_counter()
    outcome = await probe_once(config, "storage")
    assert time.perf_counter() - started < 2
    assert outcome.result == "timeout" and outcome.timeout_phase == "marker"
    assert (c.STORAGE_CAPACITY_BYTES, ()) in gauges(outcome)  # statvfs came before the hang
    writer = os.open(tmp_path / storage.MARKER_NAME, os.O_WRONLY | os.O_NONBLOCK)
    os.close(writer)  # the reader sees EOF: not a marker, so the thread replaces it and ends
    await wait_for(lambda: not probehelpers.PROBER_STATE.storage.of("gw", str(tmp_path)).busy, timeout=5)
    assert (await probe_once(config, "storage")).result == "success"


async def test_storage_exports_its_phase_histograms_without_detail(tmp_path):
    # StorageLatencyHigh reads the write/fsync/read histograms: with the exporter's default of one
    # `total` histogram per module (detail off) that alert would have no input. Storage defaults to
    # detail on; other modules keep the small default.
    vol = tmp_path / "vol"
    vol.mkdir()
    doc = {"targets": [{"name": "gw", "url": "http://127.0.0.1:1", "websocket": {"enabled": False},
                        "readiness": {"interval": "1s", "timeout": "500ms"},
                        "storage": {"path": str(vol), "interval": "1s", "timeout": "900ms"}}]}
    async with running_exporter(doc, tmp_path) as ex:
        async def probed():
            s = await ex.samples()
            return ((value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="storage", result="success") or 0) >= 1
                    and (value(s, c.PROBE_ATTEMPTS_TOTAL, target="gw", module="readiness", result="refused") or 0) >= 1)
        await wait_for(probed, timeout=10)
        samples = await ex.samples()
        detail = {name: m.detail for name, m in ex.exporter.config.targets[0].modules.items()}
    assert detail["storage"] is True and detail["readiness"] is False
    phases = {module: {dict(labels)["phase"] for name, labels in samples
                       if name == c.PROBE_DURATION + "_count" and dict(labels).get("module") == module}
              for module in ("storage", "readiness")}
    assert phases["storage"] == PHASES
    assert not phases["readiness"] - {"total"}  # no per-phase readiness histograms by default
