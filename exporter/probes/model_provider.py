"""The model probe's provider client: calls to an OpenAI-compatible provider and what its
error answers mean (a retired model, a rejected key, a 429 with Retry-After, a redirect that
is never followed so the API key stays home).
"""

from __future__ import annotations

import json
import os
import re
import ssl
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from exporter.http_client import USER_AGENT
from exporter.probes.base import ProbeFailure, ProbeRun
from exporter.probes.model_budget import TargetState, utc_text

if TYPE_CHECKING:
    import httpx  # imported when a model probe runs: `run` without one never loads it

    from exporter.settings.modules import ModelSettings

MAX_BODY_BYTES = 4 << 20
MAX_RETRY_AFTER = 86400.0  # a provider asking for more than a day is treated as one day
_MODEL_MISSING_CODES = ("model_not_found", "modelnotfound", "model_not_exist", "modelnotexist")
_MODEL_MISSING_TEXT = re.compile(r"model\b.*\b(not exists?|does not exist|not found|no such model)", re.I | re.S)


class ProviderClients:
    """One HTTP client (and so one connection pool) per CA setting, shared by every run of every
    target instead of a client, a TLS context and new connections per run. A CA file is read
    when its client is made; a changed file (new mtime) gets a new client. The old one is closed
    with the rest, not at once: a run may still be reading an answer through it."""

    def __init__(self) -> None:
        self._clients: dict[str | None, tuple[int, httpx.AsyncClient]] = {}
        self._retired: list[httpx.AsyncClient] = []

    async def get(self, tls_ca_file: str | None) -> httpx.AsyncClient:
        stamp = _ca_stamp(tls_ca_file)
        held = self._clients.get(tls_ca_file)
        if held is not None and held[0] == stamp:
            return held[1]
        # trust_env: egress to a public provider often goes through HTTPS_PROXY.
        # follow_redirects=False: the API key must never travel to wherever a redirect points.
        import httpx

        client = httpx.AsyncClient(follow_redirects=False, verify=_verify(tls_ca_file))
        self._clients[tls_ca_file] = (stamp, client)
        if held is not None:
            self._retired.append(held[1])
        return client

    async def aclose(self) -> None:
        clients = [client for _, client in self._clients.values()] + self._retired
        self._clients, self._retired = {}, []
        for client in clients:
            await client.aclose()


def _ca_stamp(tls_ca_file: str | None) -> int:
    if not tls_ca_file:
        return 0
    try:
        return os.stat(tls_ca_file).st_mtime_ns
    except OSError:
        return -1  # _verify names the problem


def _verify(tls_ca_file: str | None) -> ssl.SSLContext | bool:
    """Certificates are always checked: the system's trust store, or the configured CA file."""
    if not tls_ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=tls_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ProbeFailure("config_error", f"model.tls_ca_file {tls_ca_file}: cannot load CA certificates: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def provider_error(body: bytes) -> tuple[str, str]:
    """(code, message) from an OpenAI-style ``{"error": {...}}`` or DashScope-style body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "", body[:300].decode("utf-8", "replace").strip()
    if not isinstance(doc, dict):
        return "", ""
    err = doc["error"] if isinstance(doc.get("error"), dict) else doc
    code = err.get("code") or err.get("type") or ""
    said = err.get("message")
    message = said if isinstance(said, str) else ""
    if not message and isinstance(doc.get("error"), str):
        message = doc["error"]
    return str(code)[:80], message[:300]


def names_missing_model(code: str, message: str) -> bool:
    return code.lower().replace("-", "_") in _MODEL_MISSING_CODES or bool(_MODEL_MISSING_TEXT.search(message))


class Provider:
    """Calls to one OpenAI-compatible provider during one run, honouring its Retry-After."""

    def __init__(self, client: httpx.AsyncClient, settings: ModelSettings, state: TargetState,
                 run: ProbeRun, now: Callable[[], float], timeout: float = 31.0) -> None:
        self.client = client
        self.timeout = timeout  # httpx's, per request: only a backstop behind the runner's deadline
        self.settings = settings
        self.state = state
        self.run = run
        self.now = now
        self._key: str | None = None

    @property
    def name(self) -> str:
        return self.settings.provider or "provider"

    async def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.settings.api_key is not None:
            if self._key is None:
                self._key = await self.settings.api_key.aread(self.run.redactor)
            headers["Authorization"] = "Bearer " + self._key
        return headers

    def check_not_postponed(self, what: str) -> None:
        """Fail without calling while the provider's Retry-After has not elapsed."""
        until = self.state.postponed_until
        if until > self.now():
            raise ProbeFailure("rate_limited", f"{what}: call to provider {self.name!r} postponed until "
                               f"{utc_text(until)} (its Retry-After)")

    def failure(self, status: int, headers: httpx.Headers, body: bytes, model: str | None, what: str) -> ProbeFailure:
        """Map an error answer to a failure; the provider's own words go to the debug log."""
        code, message = provider_error(body)
        self.run.log("provider error", check=what, status=status, code=code or "-", message=repr(message))
        said = f": {message}" if message else ""
        models = repr(model) if model else ", ".join(repr(m) for m in self.settings.models)
        if 300 <= status < 400:
            # Never followed: the request carries the API key, and a redirect (to another
            # host, or to http://) would hand it on. Point base_url at the final URL instead.
            where = urlsplit(headers.get("Location", ""))
            host = f"{where.hostname}{f':{where.port}' if where.port else ''}" if where.hostname else ""
            to = f"{where.scheme}://{host}{where.path}" if host else (where.path or "nowhere")
            return ProbeFailure("redirect", f"{what}: provider {self.name!r} redirected (HTTP {status}) to {to}; "
                                "redirects are not followed so the API key is never sent on: set base_url to the final URL")
        if status == 429:
            wait = retry_after_seconds(headers.get("Retry-After"), self.now())
            if wait is not None:
                self.state.postponed_until = self.now() + wait
                self.run.log("provider calls postponed", until=utc_text(self.state.postponed_until), retry_after=f"{wait:g}s")
                return ProbeFailure("rate_limited", f"{what}: provider {self.name!r} rate limited (HTTP 429), "
                                    f"next call postponed {wait:g}s (Retry-After){said}")
            return ProbeFailure("rate_limited", f"{what}: provider {self.name!r} rate limited (HTTP 429){said}")
        if status in (401, 403):
            return ProbeFailure("auth_failed", f"{what}: provider {self.name!r} rejected the API key (HTTP {status}){said}")
        if names_missing_model(code, message) or (status == 404 and model is not None):
            return ProbeFailure("model_not_found", f"{what}: model {models} not found in provider {self.name!r} (HTTP {status}){said}")
        if status >= 500:
            return ProbeFailure("server_error", f"{what}: provider {self.name!r} answered HTTP {status}{said}")
        if status < 300:
            return ProbeFailure("server_error", f"{what}: provider {self.name!r} reported an error inside the stream{said}")
        if status == 404:
            return ProbeFailure("http_error", f"{what}: {self.settings.base_url}/models answered HTTP 404: is base_url right?")
        return ProbeFailure("http_error", f"{what}: provider {self.name!r} answered HTTP {status}{said}")


async def read_limited(resp: httpx.Response, limit: int = MAX_BODY_BYTES) -> bytes:
    chunks, size = [], 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ProbeFailure("invalid_body", f"response larger than {limit} bytes")
    return b"".join(chunks)
