"""`--web.config.file`: TLS, basic auth and response headers for every HTTP endpoint.

The file format is the Prometheus exporter-toolkit's (docs/web-configuration.md), so a file
written for node_exporter or blackbox_exporter works here too::

    tls_server_config:
      cert_file: server.crt          # paths are relative to this file
      key_file: server.key
      client_ca_file: clients-ca.crt # optional: verify client certificates
      client_auth_type: RequireAndVerifyClientCert
      min_version: TLS12
    http_server_config:
      headers:
        Strict-Transport-Security: max-age=31536000
    basic_auth_users:
      prometheus: $2b$12$...          # bcrypt hash (htpasswd -nBC 12 "" | tr -d ':\\n')

It is read once at start; `run` and `check` report every problem with its key and exit 2.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web

_TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
_TLS_KEYS = ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version",
             "prefer_server_cipher_suites")
_HTTP_KEYS = ("headers", "http2")
# The toolkit's client_auth_type values; Python cannot request a certificate without verifying it,
# so the two "accept any certificate" modes are refused rather than silently made stricter or looser.
_CLIENT_AUTH = {"NoClientCert": ssl.CERT_NONE, "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
                "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}
_UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
_TLS_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
                 "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# The headers the toolkit allows, with the values it allows where it restricts them.
_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Content-Security-Policy": None, "Strict-Transport-Security": None, "X-XSS-Protection": None,
    "X-Frame-Options": ("deny", "sameorigin"), "X-Content-Type-Options": ("nosniff",)}
_BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
_CACHE_KEY = os.urandom(32)  # keys the remembered digests: they are useless outside this process
_REALM = 'Basic realm="openclaw-slo-exporter", charset="UTF-8"'


class WebConfigError(Exception):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass
class WebConfig:
    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    _good: set[bytes] = field(default_factory=set, repr=False)  # digests of checked credentials
    # Checked against for unknown users, at the users' cost, so a wrong user name takes as
    # long as a wrong password (no user enumeration by timing).
    _dummy: bytes = field(default=b"", repr=False)

    async def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header carries a configured user and password.

        bcrypt is slow on purpose (~0.1-0.3 s): it runs in a thread, and a pair that passed
        once is remembered (as a keyed digest, never the password) so scrapes stay cheap."""
        if not header or not header[:6].lower() == "basic ":
            return False
        try:
            user, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep:
            return False
        hashed = self.users.get(user)
        digest = hmac.new(_CACHE_KEY, b"%d:%s:%s:%s" % (len(user), user.encode(), password.encode(), hashed or b""),
                          hashlib.sha256).digest()
        if hashed is not None and any(hmac.compare_digest(digest, g) for g in self._good):
            return True
        import bcrypt  # only a config with users pays for it (~0.3 MB of RSS)

        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed or self._dummy)
        if ok and hashed is not None:
            if len(self._good) > 1000:
                self._good.clear()
            self._good.add(digest)
            return True
        return False

    def middleware(self) -> Callable[[web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]], Awaitable[web.StreamResponse]]:
        @web.middleware
        async def basic_auth(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
            if self.users and not await self.authorized(request.headers.get("Authorization")):
                return web.Response(status=401, text="Unauthorized: this exporter requires basic auth (--web.config.file)\n",
                                    headers={"WWW-Authenticate": _REALM})
            return await handler(request)
        return basic_auth

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(self.headers)

    def install(self, app: web.Application) -> None:
        """Apply basic auth and the headers to every endpoint of ``app``."""
        if self.users:
            app.middlewares.append(self.middleware())
        if self.headers:
            app.on_response_prepare.append(self.add_headers)


def _mapping(value: Any, where: str, allowed: tuple[str, ...], problems: list[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a mapping")
        return {}
    for key in value:
        if key not in allowed:
            problems.append(f"{where}.{key}: unknown key (allowed: {', '.join(allowed)})")
    return value


def _path(base: str, value: Any, where: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(f"{where}: must be a file path")
        return None
    path = os.path.join(base, value)
    if not os.path.isfile(path):
        problems.append(f"{where}: {path}: no such file")
        return None
    return path


def _tls(raw: dict, base: str, problems: list[str]) -> ssl.SSLContext | None:
    where = "tls_server_config"
    cert = _path(base, raw.get("cert_file"), f"{where}.cert_file", problems)
    key = _path(base, raw.get("key_file"), f"{where}.key_file", problems)
    for name in ("cert_file", "key_file"):
        if raw.get(name) is None:
            problems.append(f"{where}.{name}: required when tls_server_config is set")
    client_ca = _path(base, raw.get("client_ca_file"), f"{where}.client_ca_file", problems)
    auth_type = raw.get("client_auth_type")
    if auth_type is None:
        auth_type = "RequireAndVerifyClientCert" if raw.get("client_ca_file") else "NoClientCert"
    if auth_type in _UNSUPPORTED_CLIENT_AUTH:
        problems.append(f"{where}.client_auth_type: {auth_type} is not supported (client certificates are always "
                        "verified here): use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file")
    elif auth_type not in _CLIENT_AUTH:
        problems.append(f"{where}.client_auth_type: {auth_type!r} is not one of {', '.join(_CLIENT_AUTH)}")
    elif auth_type != "NoClientCert" and raw.get("client_ca_file") is None:
        problems.append(f"{where}.client_ca_file: required with client_auth_type {auth_type}")
    versions = {}
    for name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        value = raw.get(name, default)
        if value not in _TLS_VERSIONS:
            problems.append(f"{where}.{name}: {value!r} is not one of {', '.join(_TLS_VERSIONS)}")
        versions[name] = _TLS_VERSIONS.get(value)
    if None not in versions.values() and versions["min_version"] > versions["max_version"]:
        problems.append(f"{where}.min_version: must not be above max_version")
    if cert is None or key is None or problems:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = versions["min_version"], versions["max_version"]
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        problems.append(f"{where}: cannot load cert_file {cert} with key_file {key}: {exc}")
        return None
    ctx.verify_mode = _CLIENT_AUTH[auth_type]
    if client_ca:
        try:
            ctx.load_verify_locations(cafile=client_ca)
        except (ssl.SSLError, OSError) as exc:
            problems.append(f"{where}.client_ca_file: cannot load {client_ca}: {exc}")
            return None
    return ctx


def parse_web_config(raw: Any, source: str, base: str = ".") -> WebConfig:
    problems: list[str] = []
    if raw is None:
        raw = {}
    top = _mapping(raw, "(top level)", _TOP_KEYS, problems) if isinstance(raw, dict) else {}
    if not isinstance(raw, dict):
        problems.append("must be a mapping with tls_server_config, http_server_config and/or basic_auth_users")
    config = WebConfig()
    tls = _mapping(top.get("tls_server_config"), "tls_server_config", _TLS_KEYS, problems)
    if tls:
        config.ssl_context = _tls(tls, base, problems)
    http = _mapping(top.get("http_server_config"), "http_server_config", _HTTP_KEYS, problems)
    if "http2" in http and not isinstance(http["http2"], bool):
        problems.append("http_server_config.http2: must be true or false")
    headers = _mapping(http.get("headers"), "http_server_config.headers", tuple(_HEADERS), problems)
    for name, value in headers.items():
        if name not in _HEADERS:
            continue
        if not isinstance(value, str) or not value or "\n" in value or "\r" in value:
            problems.append(f"http_server_config.headers.{name}: must be a one-line string")
        elif _HEADERS[name] is not None and value.lower() not in _HEADERS[name]:
            problems.append(f"http_server_config.headers.{name}: must be one of {', '.join(_HEADERS[name])}")
        else:
            config.headers[name] = value
    users = top.get("basic_auth_users")
    if users is not None and not isinstance(users, dict):
        problems.append("basic_auth_users: must be a mapping of user name to bcrypt hash")
    for user, hashed in (users or {}).items():
        if not isinstance(user, str) or not user or ":" in user:
            problems.append(f"basic_auth_users: user name {user!r} must be a non-empty string without ':'")
        elif not isinstance(hashed, str) or not _BCRYPT.match(hashed) or not 4 <= int(hashed[4:6]) <= 31:
            # Never echo the value: someone may have pasted a plain password here.
            problems.append(f"basic_auth_users.{user}: must be a bcrypt hash ($2a$/$2b$/$2y$, 60 characters), "
                            "e.g. from htpasswd -nBC 12 \"\" | tr -d ':\\n'")
        else:
            config.users[user] = hashed.encode()
    if problems:
        raise WebConfigError(source, problems)
    if config.users:
        import bcrypt

        cost = max(int(h[4:6]) for h in config.users.values())
        config._dummy = bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(rounds=cost))
    return config


def load_web_config(path: str) -> WebConfig:
    """Read and validate a web config file; raise WebConfigError naming every problem."""
    import yaml  # only with --web.config.file: the exporter itself reads no YAML (~0.9 MB)

    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except OSError as exc:
        raise WebConfigError(path, [f"cannot read file: {exc.strerror}"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise WebConfigError(path, [f"invalid YAML: {exc}"]) from None
    return parse_web_config(raw, path, os.path.dirname(os.path.abspath(path)))
