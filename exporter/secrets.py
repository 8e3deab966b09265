"""Secrets by reference only, and the redactor that keeps them out of every output.

A secret is read when a probe needs it (so a rotated Kubernetes Secret file is picked up
without a reload; a file's value is shared for FILE_FRESH_SECONDS) and every value ever read
is registered with the redactor, which the log formatter and the probe debug output pass
their text through.

Reading a file can stall (a FIFO nobody writes to, a hung network mount, /dev/zero), so a
secret file must be a regular file, is opened without blocking, read up to a size bound, and
the probes read it off the event loop with a time bound (``SecretRef.aread``).
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from dataclasses import dataclass

REDACTED = "<redacted>"

# A gateway token or provider key is well under 1 KiB; anything near this bound is not a secret.
MAX_SECRET_BYTES = 64 * 1024
# How long a secret file may take to read before the probe gives up (the loop never waits).
SECRET_READ_TIMEOUT = 5.0
# A file's value read less than this long ago is used again, and a read under way is waited
# for rather than repeated: 1,000 targets sharing one mounted Secret start one reading thread
# every few seconds, not one per probe. Kubernetes updates a mounted Secret a minute or so
# after it changes; a few seconds more go unseen.
FILE_FRESH_SECONDS = 5.0


class SecretError(Exception):
    """A referenced secret cannot be read; the message names the reference, never a value."""


class Redactor:
    """Replaces every secret value seen so far with a fixed marker."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        # Very short values would redact ordinary words; real tokens and keys are long.
        if len(value) >= 4:
            with self._lock:
                self._values.add(value)

    def redact(self, text: str) -> str:
        if not self._values:
            return text
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: a file path or an environment variable name."""

    file: str | None = None
    env: str | None = None

    def describe(self) -> str:
        return f"file {self.file}" if self.file else f"environment variable {self.env}"

    def _read_file(self) -> str:
        assert self.file is not None
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; it is rejected below.
            fd = os.open(self.file, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as exc:
            raise SecretError(f"cannot read secret from {self.describe()}: {exc.strerror}") from None
        except ValueError:  # a NUL in the path; the config rejects it, a SecretRef made in code may not
            raise SecretError(f"cannot read secret from {self.describe()}: invalid path") from None
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise SecretError(f"cannot read secret from {self.describe()}: it is {_file_kind(mode)}, "
                                  "not a regular file")
            chunks, size = [], 0
            while size <= MAX_SECRET_BYTES:
                chunk = os.read(fd, MAX_SECRET_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise SecretError(f"cannot read secret from {self.describe()}: {exc.strerror}") from None
        finally:
            os.close(fd)
        if size > MAX_SECRET_BYTES:
            raise SecretError(f"secret from {self.describe()} is larger than {MAX_SECRET_BYTES // 1024} KiB")
        try:
            return b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"secret from {self.describe()} is not UTF-8 text") from None

    def read(self, redactor: Redactor) -> str:
        """Read the secret now (blocking; fine outside the event loop, e.g. in a thread)."""
        if self.file:
            value = self._read_file().strip()
        else:
            value = os.environ.get(self.env or "", "").strip()
        if not value:
            raise SecretError(f"secret from {self.describe()} is empty")
        redactor.register(value)
        return value

    async def aread(self, redactor: Redactor, timeout: float = SECRET_READ_TIMEOUT) -> str:
        """Read the secret without blocking the event loop, giving up after ``timeout`` seconds.
        A file is read on a thread, shared with every reference to the same path: a value
        read less than FILE_FRESH_SECONDS ago is used again, a read under way is waited for
        (a failed read is not kept; a read stuck longer than ``timeout`` is not waited for)."""
        if not self.file:
            return self.read(redactor)
        loop = asyncio.get_running_loop()
        now = loop.time()
        entry = _FILE_READS.get(self.file)
        if entry is not None and _shareable(*entry, loop, now, timeout):
            future = entry[1]
        else:
            future = self._read_on_thread(loop, redactor)
            _FILE_READS[self.file] = (now, future)
        try:
            async with asyncio.timeout(timeout):
                value = await asyncio.shield(future)  # one waiter giving up leaves the read to the others
        except TimeoutError:
            raise SecretError(f"reading secret from {self.describe()} took longer than {timeout:g}s") from None
        redactor.register(value)
        return value

    def _read_on_thread(self, loop: asyncio.AbstractEventLoop, redactor: Redactor) -> "asyncio.Future[str]":
        future: asyncio.Future[str] = loop.create_future()
        # Retrieved here: when every waiter gave up, a late failure must not be logged as unretrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

        def settle(value: str | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value or "")

        def work() -> None:
            try:
                value, error = self.read(redactor), None
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                value, error = None, exc
            try:
                loop.call_soon_threadsafe(settle, value, error)
            except RuntimeError:
                pass  # the loop closed while this read hung: nobody is waiting any more

        # A daemon thread rather than the loop's executor: a read stuck in the kernel (a hung
        # mount) must neither hold a pool worker nor keep the process from exiting on SIGTERM.
        threading.Thread(target=work, name="secret-read", daemon=True).start()
        return future


# path -> (loop time the read started, its future): the shared file reads of SecretRef.aread.
_FILE_READS: dict[str, tuple[float, "asyncio.Future[str]"]] = {}


def _shareable(started: float, future: "asyncio.Future[str]", loop: asyncio.AbstractEventLoop, now: float,
               timeout: float) -> bool:
    """A read to share: on this loop, and under way for less than ``timeout`` or done with a
    value less than FILE_FRESH_SECONDS ago."""
    if future.get_loop() is not loop:
        return False
    if not future.done():
        return now - started < timeout
    return now - started < FILE_FRESH_SECONDS and not future.cancelled() and future.exception() is None
