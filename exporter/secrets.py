"""Secrets by reference only, and the redactor that keeps them out of every output.

A secret is read when a probe needs it (so a rotated Kubernetes Secret file is picked up
without a reload) and every value ever read is registered with the redactor, which the log
formatter and the probe debug output pass their text through.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

REDACTED = "<redacted>"


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


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: a file path or an environment variable name."""

    file: str | None = None
    env: str | None = None

    def describe(self) -> str:
        return f"file {self.file}" if self.file else f"environment variable {self.env}"

    def read(self, redactor: Redactor) -> str:
        if self.file:
            try:
                with open(self.file, encoding="utf-8") as fh:
                    value = fh.read().strip()
            except OSError as exc:
                raise SecretError(f"cannot read secret from {self.describe()}: {exc.strerror}") from None
        else:
            value = os.environ.get(self.env or "", "").strip()
        if not value:
            raise SecretError(f"secret from {self.describe()} is empty")
        redactor.register(value)
        return value
