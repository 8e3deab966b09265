"""A token file is read off the event loop, once for everyone who needs it at that moment: a
fleet whose targets share one mounted Secret must not start a thread per probe."""

from __future__ import annotations

import asyncio
import threading

import pytest

from exporter import secrets
from exporter.secrets import Redactor, SecretError, SecretRef


@pytest.fixture
def thread_starts(monkeypatch):
    """How many reading threads were started."""
    started: list[str] = []
    real_start = threading.Thread.start

    def start(self):
        if self.name == "secret-read":
            started.append(self.name)
        return real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


async def test_concurrent_reads_of_one_file_share_one_thread(tmp_path, thread_starts):
    path = tmp_path / "token"
    path.write_text("token-shared-by-a-fleet-0001\n")
    redactor = Redactor()
    # 200 targets' references to the same file (equal, not the same object), read at once.
    values = await asyncio.gather(*(SecretRef(file=str(path)).aread(redactor) for _ in range(200)))
    assert set(values) == {"token-shared-by-a-fleet-0001"}
    assert len(thread_starts) == 1
    assert redactor.redact("Bearer token-shared-by-a-fleet-0001") == "Bearer <redacted>"
    # Read again soon after: the value is fresh, no new thread.
    assert await SecretRef(file=str(path)).aread(redactor) == "token-shared-by-a-fleet-0001"
    assert len(thread_starts) == 1


async def test_a_rotated_file_is_read_again_once_the_value_is_older_than_the_freshness(tmp_path, monkeypatch, thread_starts):
    monkeypatch.setattr(secrets, "FILE_FRESH_SECONDS", 0.2)
    path = tmp_path / "token"
    path.write_text("token-before-rotation-0001")
    ref = SecretRef(file=str(path))
    assert await ref.aread(Redactor()) == "token-before-rotation-0001"
    path.write_text("token-after-rotation-0002")
    assert await ref.aread(Redactor()) == "token-before-rotation-0001"  # within the freshness
    await asyncio.sleep(0.25)
    other = Redactor()  # a value read for someone else is still registered with this redactor
    assert await ref.aread(other) == "token-after-rotation-0002"
    assert other.redact("token-after-rotation-0002") == "<redacted>"
    assert len(thread_starts) == 2


async def test_a_failed_read_is_not_kept(tmp_path, thread_starts):
    path = tmp_path / "token"
    ref = SecretRef(file=str(path))
    with pytest.raises(SecretError, match="cannot read secret from file"):
        await ref.aread(Redactor())
    path.write_text("token-written-after-a-failure-0003")
    assert await ref.aread(Redactor()) == "token-written-after-a-failure-0003"
    assert len(thread_starts) == 2


async def test_a_waiter_giving_up_leaves_the_shared_read_to_the_others(tmp_path, monkeypatch):
    """A probe whose deadline comes first stops waiting; a read stuck in the kernel (a hung
    mount, simulated by a slow read) still answers a reader with a longer bound."""
    path = tmp_path / "token"
    path.write_text("token-slow-mount-0004")
    real_read = SecretRef._read_file
    monkeypatch.setattr(SecretRef, "_read_file", lambda self: __import__("time").sleep(0.4) or real_read(self))
    ref = SecretRef(file=str(path))
    impatient = asyncio.ensure_future(ref.aread(Redactor(), timeout=0.1))
    patient = asyncio.ensure_future(ref.aread(Redactor(), timeout=3.0))
    with pytest.raises(SecretError, match="took longer than 0.1s"):
        await impatient
    assert await patient == "token-slow-mount-0004"


async def test_different_files_are_read_apart(tmp_path, thread_starts):
    (tmp_path / "a").write_text("token-of-file-a-0005")
    (tmp_path / "b").write_text("token-of-file-b-0006")
    a, b = await asyncio.gather(SecretRef(file=str(tmp_path / "a")).aread(Redactor()),
                                SecretRef(file=str(tmp_path / "b")).aread(Redactor()))
    assert (a, b) == ("token-of-file-a-0005", "token-of-file-b-0006")
    assert len(thread_starts) == 2
