"""Gateway tokens from Kubernetes Secrets, one `get` per referenced Secret (docs/fleet-discovery.md).

Why `get` by name and not a watch: `get` can be granted on exactly the named Secrets
(RBAC resourceNames), a list/watch cannot be narrowed below "every Secret of the namespace".
Each referenced Secret is read when first referenced, then again every refresh interval, so a
rotated token is used from the next read on. Values live only here, in memory, and reach a
probe through ``KubeSecretRef.read``, which registers them with the redactor; they are never
logged, and no label or message carries them.

A Secret that is gone (404), forbidden (401/403), without the key, or blank makes its
targets' probes fail with `config_error` (the runner's SecretError): never a probe without
auth. A transient failure (5xx, connection, garbage) keeps the last good value.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from openclaw_schema import names as c
from exporter.secrets import Redactor, SecretError

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class SecretKey:
    namespace: str
    name: str
    key: str

    def describe(self) -> str:
        return f"Kubernetes Secret {self.namespace}/{self.name} (key {self.key!r})"


class TokenReadError(Exception):
    """Reading a Secret failed; ``reason`` is one of DISCOVERY_SECRET_ERROR_REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# Reasons after which the last good value is kept (the Secret may well be unchanged).
TRANSIENT = frozenset({"http", "connection", "decode"})

# fetch(namespace, name) -> the Secret's raw JSON body (bytes); raises TokenReadError.
Fetch = Callable[[str, str], bytes]


def decode_secret(body: bytes, keys: set[str], where: str) -> dict[str, str | TokenReadError]:
    """The wanted keys of a Secret's JSON body: value, or why not (no other key is kept)."""
    try:
        data = json.loads(body).get("data") or {}
        if not isinstance(data, dict):
            raise TypeError("data is not a mapping")
    except (ValueError, TypeError, AttributeError) as exc:
        raise TokenReadError("decode", f"{where}: the API answered something that is not a Secret ({exc})") from None
    out: dict[str, str | TokenReadError] = {}
    for key in keys:
        raw = data.get(key)
        if raw is None:
            out[key] = TokenReadError("missing_key", f"{where} has no key {key!r}")
            continue
        try:
            value = base64.b64decode(raw, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError, TypeError):
            out[key] = TokenReadError("decode", f"{where} key {key!r} is not base64 of UTF-8 text")
            continue
        out[key] = value if value else TokenReadError("empty", f"{where} key {key!r} is empty")
    return out


class TokenStore:
    """The current token of every referenced Secret key, kept fresh by ``run`` (one thread)."""

    def __init__(self, fetch: Fetch, refresh_interval: float, on_resolved: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self._fetch = fetch
        self._interval = refresh_interval
        self._on_resolved = on_resolved
        self._clock = clock
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._closed = False
        self._wanted: set[SecretKey] = set()
        self._values: dict[SecretKey, str] = {}
        self._errors: dict[SecretKey, str] = {}  # why a key has no usable value (a message, no value)
        self._due: dict[tuple[str, str], float] = {}  # (namespace, name) -> next read
        self.read_errors: Counter[str] = Counter({r: 0 for r in c.DISCOVERY_SECRET_ERROR_REASONS})

    # --- the discovery side -------------------------------------------------------------------
    def want(self, keys: set[SecretKey]) -> None:
        """The keys the discovered targets reference now; new ones are read at once, gone ones forgotten."""
        with self._cond:
            self._wanted = set(keys)
            secrets = {(k.namespace, k.name) for k in keys}
            for gone in [k for k in self._values if k not in keys]:
                del self._values[gone]
            for gone in [k for k in self._errors if k not in keys]:
                del self._errors[gone]
            for secret in [s for s in self._due if s not in secrets]:
                del self._due[secret]
            new = [s for s in secrets if s not in self._due]
            for secret in new:
                self._due[secret] = 0.0  # due now
            if new or any(k not in self._values and k not in self._errors for k in keys):
                self._cond.notify_all()

    def resolved(self, key: SecretKey) -> bool:
        """Whether the key was read at least once (with a value or an error)."""
        with self._cond:
            return key in self._values or key in self._errors

    def unreadable(self) -> set[SecretKey]:
        with self._cond:
            return set(self._errors) & self._wanted

    # --- the probe side -----------------------------------------------------------------------
    def read(self, key: SecretKey) -> str:
        with self._cond:
            value = self._values.get(key)
            error = self._errors.get(key)
        if value is not None:
            return value
        raise SecretError(error or f"{key.describe()} has not been read yet")

    # --- the refresher thread -----------------------------------------------------------------
    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = self._clock()
                    due = sorted(s for s, at in self._due.items() if at <= now)
                    if due:
                        break
                    wait = min(self._due.values(), default=now + 3600) - now
                    self._cond.wait(max(0.01, wait))
                if self._closed:
                    return
            resolved = False
            for i, (namespace, name) in enumerate(due, 1):
                if self._closed:
                    return
                resolved |= self._refresh(namespace, name)
                # A first batch of 1,000 Secrets takes seconds: let the first targets start meanwhile.
                if resolved and i % 100 == 0:
                    self._on_resolved()
                    resolved = False
            if resolved:
                self._on_resolved()

    def _refresh(self, namespace: str, name: str) -> bool:
        """Read one Secret; True when a key got its first answer (targets may now start)."""
        with self._cond:
            keys = {k for k in self._wanted if (k.namespace, k.name) == (namespace, name)}
        if not keys:
            return False
        where = f"Kubernetes Secret {namespace}/{name}"
        try:
            results: dict[str, str | TokenReadError] = decode_secret(
                self._fetch(namespace, name), {k.key for k in keys}, where)
        except TokenReadError as exc:
            results = {k.key: exc for k in keys}
        except Exception as exc:
            log.exception("reading a token Secret failed unexpectedly", extra={"secret": f"{namespace}/{name}"})
            results = {k.key: TokenReadError("decode", f"{where}: {type(exc).__name__}") for k in keys}
        first = False
        with self._cond:
            if (namespace, name) not in self._due:  # no longer referenced while we read
                return False
            jitter = 1 + self._rng.uniform(-0.1, 0.1)  # spread the reads of many Secrets
            self._due[(namespace, name)] = self._clock() + self._interval * jitter
            for key in keys:
                if key not in self._wanted:
                    continue
                first |= key not in self._values and key not in self._errors
                result = results[key.key]
                if isinstance(result, str):
                    self._values[key] = result
                    self._errors.pop(key, None)
                    continue
                self.read_errors[result.reason] += 1
                if result.reason in TRANSIENT and key in self._values:
                    continue  # keep using the last good token
                self._values.pop(key, None)
                if self._errors.get(key) != str(result):
                    log.warning("token Secret unreadable; its targets report config_error",
                                extra={"secret": f"{namespace}/{name}", "key": key.key, "problem": str(result)})
                self._errors[key] = str(result)
        return first


@dataclass(frozen=True)
class KubeSecretRef:
    """A target's token in a Kubernetes Secret: read from the store at each probe (so a
    rotation is seen without restarting the probe), like exporter.secrets.SecretRef reads its file."""

    key: SecretKey
    store: TokenStore  # compared by identity: a new store (discovery restarted) restarts the probes

    def describe(self) -> str:
        return self.key.describe()

    def read(self, redactor: Redactor) -> str:
        value = self.store.read(self.key)
        redactor.register(value)
        return value

    async def aread(self, redactor: Redactor, timeout: float = 0.0) -> str:
        return self.read(redactor)  # in memory: never blocks
