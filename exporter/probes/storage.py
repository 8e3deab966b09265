"""The storage probe: is the gateway's volume writable, fast, persistent and not filling up?

Runs in the gateway's pod as a sidecar (deploy/components/storage-sidecar) on a dedicated
directory of the gateway's workspace volume. Each run, in one worker thread:

* capacity: ``statvfs`` of the directory (bytes and inodes, free and total), for
  KubePersistentVolumeFillingUp-style ``predict_linear`` alerts;
* persistence: a marker file written once with a random id; each run checks it is still there
  and unchanged. A marker that vanishes or changes while the exporter runs is counted; one
  missing at start-up is written anew with a new creation time, which the alert sees change
  across pod restarts (docs/storage.md);
* the canary: write a small random file (phase ``write``), ``fsync`` it and drop it from the
  page cache (``fsync``), read it back and compare (``read``), remove it (``delete``).

File I/O never runs on the event loop: a hung NFS/CephFS mount blocks a daemon thread, the
runner's timeout ends the run as ``timeout`` in the phase the thread was in, and the loop,
the other modules and shutdown carry on. While that thread is still stuck, later runs fail at
once as ``timeout`` instead of piling up more stuck threads.

Sample exposition::

    openclaw_storage_available_bytes{target="gateway"} 9.7e+09
    openclaw_storage_capacity_bytes{target="gateway"} 1.07e+10
    openclaw_storage_inodes_free{target="gateway"} 655000.0
    openclaw_storage_inodes{target="gateway"} 655360.0
    openclaw_storage_marker_ok{target="gateway"} 1.0
    openclaw_storage_marker_created_timestamp_seconds{target="gateway"} 1.7963e+09
    openclaw_storage_persistence_lost_total{target="gateway"} 0.0
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from exporter.probes.base import COMMON_RESULTS, ProbeFailure, Prober, ProbeRun
from exporter.settings.modules import StorageSettings
from exporter.settings.resolved import TargetConfig
from openclaw_schema import names as c

# errno -> failure reason; anything else is io_error.
ERRNO_REASONS = {
    errno.EROFS: "read_only",
    errno.ENOSPC: "no_space",
    errno.EDQUOT: "no_space",
    errno.EACCES: "permission_denied",
    errno.EPERM: "permission_denied",
    errno.ENOENT: "path_missing",
    errno.ENOTDIR: "path_missing",
}
RESULTS = tuple(dict.fromkeys(COMMON_RESULTS + (
    "read_only", "no_space", "permission_denied", "path_missing", "io_error", "content_mismatch")))
CANARY_PREFIX = ".openclaw-storage-canary-"
MARKER_NAME = ".openclaw-storage-marker"
CHECK_TIMEOUT = 5.0  # how long `check`/start-up waits for the write test on a possibly hung mount


def _describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")


def writable_problem(path: str) -> str | None:
    """Why the probe could not write in `path`, or None: creates and removes a temporary file."""
    if not os.path.isdir(path):
        return f"{path} is not an existing directory" if not os.path.exists(path) else f"{path} is not a directory"
    fd, name = tempfile.mkstemp(prefix=CANARY_PREFIX + "check-", dir=path)
    os.close(fd)
    os.unlink(name)
    return None


def check_enabled(settings: StorageSettings) -> list[str]:
    """Refuse a path the probe cannot write (so the exporter does not start, or a reload is
    rejected). Runs in a daemon thread with a deadline: a hung mount must not hang `check`."""
    if settings.path is None:
        return ["path is required: the directory the storage probe writes its canary and marker in"]
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["problem"] = writable_problem(settings.path)  # type: ignore[arg-type]
        except OSError as exc:
            box["problem"] = f"cannot write in {settings.path}: {_describe(exc)}"

    thread = threading.Thread(target=work, name="storage-check", daemon=True)
    thread.start()
    thread.join(CHECK_TIMEOUT)
    if thread.is_alive():
        return [f"cannot write in {settings.path}: no answer within {CHECK_TIMEOUT:g}s (hung mount?)"]
    problem = box.get("problem")
    return [f"path: {problem}"] if problem else []


# --- per-target state ----------------------------------------------------------------------

@dataclass
class PathState:
    """What the module remembers about one (target, path) between runs (memory only)."""

    marker_id: str | None = None  # the marker this process wrote or found; None before the first check
    marker_created: float = 0.0
    lost_total: int = 0
    busy: bool = False  # a worker thread is still in file I/O (a hung mount)
    busy_phase: str = ""
    runs: int = 0


@dataclass
class StorageStates:
    paths: dict[tuple[str, str], PathState] = field(default_factory=dict)

    def of(self, target: str, path: str) -> PathState:
        return self.paths.setdefault((target, path), PathState())

    def reset(self) -> None:
        self.paths.clear()


# --- the worker thread ------------------------------------------------------------------------

class _Progress:
    """Shared between the worker thread and the prober: plain attribute writes only."""

    def __init__(self) -> None:
        self.phase = "statvfs"
        self.phases: dict[str, float] = {}
        self.capacity: os.statvfs_result | None = None
        self.marker: tuple[str, float, bool] | None = None  # (id, created, ok)
        self.lost = False


def _read_marker(path: str) -> tuple[str, float] | None:
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read(4096))
        return str(doc["id"]), float(doc["created"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return ("", 0.0)  # present but not ours / corrupted: counts as changed


def _write_marker(path: str) -> tuple[str, float]:
    marker_id, created = uuid.uuid4().hex, time.time()
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"id": marker_id, "created": created}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return marker_id, created


def _check_marker(directory: str, state: PathState, progress: _Progress) -> None:
    progress.phase = "marker"
    path = os.path.join(directory, MARKER_NAME)
    found = _read_marker(path)
    valid = found is not None and bool(found[0])
    if valid and state.marker_id in (None, found[0]):  # type: ignore[index]
        # Ours, or (first look of this process) whatever marker survived the restart.
        state.marker_id, state.marker_created = found  # type: ignore[misc]
        progress.marker = (state.marker_id, state.marker_created, True)
        return
    # Vanished, replaced or corrupted under a running exporter, or corrupted at start-up: the
    # data was lost or changed. Missing at start-up is a new volume or a lost one: the alert
    # tells them apart by the creation time changing (docs/storage.md).
    lost = state.marker_id is not None or found is not None
    state.marker_id, state.marker_created = _write_marker(path)
    if lost:
        state.lost_total += 1
        progress.lost = True
    progress.marker = (state.marker_id, state.marker_created, not lost)


def _cycle(directory: str, size: int, persistence: bool, state: PathState, progress: _Progress) -> None:
    """One run's file I/O (in the worker thread). Raises OSError or ProbeFailure."""
    clock = time.perf_counter
    progress.capacity = os.statvfs(directory)
    if persistence:
        _check_marker(directory, state, progress)
    payload = os.urandom(size)
    name = os.path.join(directory, f"{CANARY_PREFIX}{os.getpid()}-{state.runs}")
    fd = -1
    try:
        progress.phase = "write"
        t0 = clock()
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        t1 = clock()
        progress.phases["write"] = t1 - t0
        progress.phase = "fsync"
        os.fsync(fd)
        # Drop the pages so the read goes to the volume, not the page cache (best effort).
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except (AttributeError, OSError):
            pass  # not supported here (another OS, some FUSE filesystems): the read may hit the cache
        os.close(fd)
        fd = -1
        t2 = clock()
        progress.phases["fsync"] = t2 - t1
        progress.phase = "read"
        rfd = os.open(name, os.O_RDONLY)
        try:
            chunks, total = [], 0
            while total <= size:
                chunk = os.read(rfd, size + 1 - total)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(rfd)
        t3 = clock()
        progress.phases["read"] = t3 - t2
        if b"".join(chunks) != payload:
            raise ProbeFailure("content_mismatch", f"the canary read back from {directory} differs from what was written "
                                                   f"({total} of {size} bytes read)")
        progress.phase = "delete"
        os.unlink(name)
        name = ""
        progress.phases["delete"] = clock() - t3
    finally:
        if fd >= 0:
            os.close(fd)
        if name:
            try:
                os.unlink(name)
            except OSError:
                pass


def _run_in_thread(fn: Callable[[], None], on_done: Callable[[], None]) -> asyncio.Future:
    """Run fn in a new daemon thread; the future resolves with its result or exception.
    Not the loop's default executor: asyncio.run() waits for that at exit, and a thread stuck
    in a hung mount would keep the process from shutting down."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)

    def work() -> None:
        error: BaseException | None = None
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
        finally:
            on_done()
        try:
            loop.call_soon_threadsafe(settle, error)
        except RuntimeError:
            pass  # the loop closed while this thread was stuck: nobody is waiting any more

    threading.Thread(target=work, name="storage-io", daemon=True).start()
    return future


def _record(run: ProbeRun, progress: _Progress, state: PathState) -> None:
    st = progress.capacity
    if st is not None:
        run.gauge(c.STORAGE_AVAILABLE_BYTES,
                  st.f_bavail * st.f_frsize)
        run.gauge(c.STORAGE_CAPACITY_BYTES, st.f_blocks * st.f_frsize)
        if st.f_files:  # some filesystems (e.g. btrfs, CephFS) report no inode limit
            run.gauge(c.STORAGE_INODES_FREE, st.f_favail)
            run.gauge(c.STORAGE_INODES, st.f_files)
    if progress.marker is not None:
        _, created, ok = progress.marker
        run.gauge(c.STORAGE_MARKER_OK,
                  1.0 if ok else 0.0)
        run.gauge(c.STORAGE_MARKER_CREATED,
                  created)
    if state.marker_id is not None:
        run.counter(c.STORAGE_PERSISTENCE_LOST,
                    state.lost_total)


async def probe(target: TargetConfig, settings: StorageSettings, run: ProbeRun) -> None:
    directory = settings.path
    assert directory is not None  # check_enabled refuses a module without a path
    state = run.prober_state.storage.of(target.name, directory)
    if state.busy:
        run.current_phase = state.busy_phase
        raise ProbeFailure("timeout", f"the file I/O of an earlier run on {directory} is still blocked in phase "
                                      f"{state.busy_phase} (hung mount?)")
    state.busy, state.runs = True, state.runs + 1
    progress = _Progress()

    def done() -> None:
        state.busy = False

    future = _run_in_thread(lambda: _cycle(directory, settings.canary_bytes, settings.persistence, state, progress), done)
    try:
        await future
    except OSError as exc:
        reason = ERRNO_REASONS.get(exc.errno or 0, "io_error")
        raise ProbeFailure(reason, f"{progress.phase} in {directory} failed: {_describe(exc)}") from None
    finally:
        # On a timeout the thread may still be stuck: report the phase it is in, and only the
        # phases it finished (copied here, on the loop).
        run.current_phase = state.busy_phase = progress.phase
        run.phases.update(dict(progress.phases))
        _record(run, progress, state)
    if progress.lost:
        run.log("persistence marker vanished or changed; wrote a new one", level=30, path=directory)
    run.log("canary ok", path=directory, bytes=settings.canary_bytes)


PROBER = Prober(
    name=c.Module.STORAGE,
    run=probe,
    phases=(c.Phase.WRITE, c.Phase.FSYNC, c.Phase.READ, c.Phase.DELETE, c.Phase.TOTAL),
    buckets=c.STORAGE_LATENCY_BUCKETS,
    default_interval=30.0,
    default_timeout=5.0,
    enabled_by_default=False,
    enabled_when_present=True,
    check_enabled=check_enabled,
    results=RESULTS,
    detail_by_default=True,  # StorageLatencyHigh reads the write/fsync/read histograms
    per_pod=False,  # the directory is the exporter's own, not the pod's behind an IP
)
