"""The exporter's device identity (Ed25519) and the device tokens gateways issue to it.

Off loopback the gateway strips every scope from a client without an approved device
identity: `health` answers, `models.list` and `chat.send` fail `missing scope` (observed
against 2026.9.6). A device identity is an Ed25519 key pair; its id is the SHA-256 (hex) of
the raw 32-byte public key. On each `connect` the client signs the server's challenge
(docs/gateway/protocol/auth.md in the npm package; payload builders in the gateway's
packages/gateway-client/src/device-auth.ts):

    v3|deviceId|clientId|clientMode|role|scope,scope|signedAtMs|token|nonce|platform|deviceFamily
    v2|deviceId|clientId|clientMode|role|scope,scope|signedAtMs|token|nonce

(platform and deviceFamily trimmed and lower-cased; `token` is the one sent in `auth`). The
first connect of an unknown device creates a pairing request; after `openclaw devices approve
<requestId>` the gateway answers hello-ok with `auth.deviceToken`, which the exporter keeps
(mode 0600) and sends when no shared token is configured.

The identity file (``openclaw-exporter device init --out FILE``) is JSON with the PEM private
key: a secret, made 0600, meant to be mounted from a Kubernetes Secret. Nothing here logs it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger("exporter.device")

IDENTITY_FORMAT = "openclaw-exporter-device-identity"
IDENTITY_VERSION = 1
TOKENS_FILE = "device-tokens.json"
MAX_IDENTITY_BYTES = 16 * 1024


class DeviceError(Exception):
    """The identity file cannot be used; the message names the file and what is wrong, never key material."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _normalise_metadata(value: str | None) -> str:
    # The gateway's normalizeDeviceMetadataForAuth: trim, then ASCII upper -> lower only.
    text = (value or "").strip()
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in text)


def auth_payload_v3(*, device_id: str, client_id: str, client_mode: str, role: str, scopes: list[str] | tuple[str, ...],
                    signed_at_ms: int, token: str | None, nonce: str, platform: str | None,
                    device_family: str | None = None) -> str:
    return "|".join(["v3", device_id, client_id, client_mode, role, ",".join(scopes), str(signed_at_ms),
                     token or "", nonce, _normalise_metadata(platform), _normalise_metadata(device_family)])


def auth_payload_v2(*, device_id: str, client_id: str, client_mode: str, role: str, scopes: list[str] | tuple[str, ...],
                    signed_at_ms: int, token: str | None, nonce: str) -> str:
    return "|".join(["v2", device_id, client_id, client_mode, role, ",".join(scopes), str(signed_at_ms),
                     token or "", nonce])


@dataclass(frozen=True, eq=False)
class DeviceIdentity:
    device_id: str
    public_key: str  # raw 32 bytes, base64url without padding (the wire form)
    _key: Ed25519PrivateKey
    source: str = "<memory>"

    @classmethod
    def generate(cls) -> "DeviceIdentity":
        return cls.from_private_key(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_key(cls, key: Ed25519PrivateKey, source: str = "<memory>") -> "DeviceIdentity":
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(device_id=hashlib.sha256(raw).hexdigest(), public_key=b64url(raw), _key=key, source=source)

    def sign(self, payload: str) -> str:
        return b64url(self._key.sign(payload.encode("utf-8")))

    @cached_property
    def _secret_forms(self) -> tuple[str, ...]:
        raw = self._key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
        pem = self.private_pem()
        body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
        return (pem.strip(), body, b64url(raw), base64.b64encode(raw).decode("ascii"), raw.hex())

    def secrets(self) -> tuple[str, ...]:
        """Every text form of the private key, for the redactor."""
        return self._secret_forms

    def private_pem(self) -> str:
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()).decode("ascii")

    def document(self) -> dict[str, Any]:
        return {"format": IDENTITY_FORMAT, "version": IDENTITY_VERSION, "deviceId": self.device_id,
                "publicKey": self.public_key, "privateKeyPem": self.private_pem(),
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def device_block(self, *, client_id: str, client_mode: str, role: str, scopes: list[str] | tuple[str, ...],
                     nonce: str, signed_at_ms: int, token: str | None, platform: str,
                     version: int = 3) -> dict[str, Any]:
        """`connect.params.device`: the challenge signed with the v3 payload (v2 on request)."""
        common = dict(device_id=self.device_id, client_id=client_id, client_mode=client_mode, role=role,
                      scopes=scopes, signed_at_ms=signed_at_ms, token=token, nonce=nonce)
        payload = auth_payload_v3(**common, platform=platform) if version == 3 else auth_payload_v2(**common)
        return {"id": self.device_id, "publicKey": self.public_key, "signature": self.sign(payload),
                "signedAt": signed_at_ms, "nonce": nonce}


def write_private_file(path: str, text: str, overwrite: bool = False) -> None:
    """Create ``path`` with mode 0600 (atomically; refusing to replace a file unless told to)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails with FileExistsError instead of replacing
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def init_identity(path: str, overwrite: bool = False) -> DeviceIdentity:
    """Generate a new identity into ``path`` (0600). Refuses to replace an existing file unless
    ``overwrite``: a new key is a new device, which the gateway makes pair again."""
    identity = DeviceIdentity.generate()
    write_private_file(path, json.dumps(identity.document(), indent=2) + "\n", overwrite=overwrite)
    return identity


def load_identity(path: str) -> DeviceIdentity:
    """Read an identity file written by `device init` (or a bare PKCS#8 PEM Ed25519 key)."""
    where = f"device identity file {path}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise DeviceError(f"cannot read {where}: {exc.strerror}") from None
    except ValueError:
        raise DeviceError(f"cannot read {where}: invalid path") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DeviceError(f"cannot read {where}: not a regular file")
        data = os.read(fd, MAX_IDENTITY_BYTES + 1)
    except OSError as exc:
        raise DeviceError(f"cannot read {where}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_IDENTITY_BYTES:
        raise DeviceError(f"{where} is larger than {MAX_IDENTITY_BYTES // 1024} KiB: not an identity file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DeviceError(f"{where} is not UTF-8 text") from None
    pem = text
    declared_id = None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise DeviceError(f"{where} is not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("privateKeyPem"), str):
            raise DeviceError(f"{where} has no privateKeyPem string: create one with `openclaw-exporter device init --out FILE`")
        if doc.get("version") != IDENTITY_VERSION:
            raise DeviceError(f"{where} has version {doc.get('version')!r}; this exporter reads version {IDENTITY_VERSION}")
        pem, declared_id = doc["privateKeyPem"], doc.get("deviceId")
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise DeviceError(f"{where}: the private key is not an unencrypted PEM (PKCS#8) key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DeviceError(f"{where}: the private key is not an Ed25519 key")
    identity = DeviceIdentity.from_private_key(key, source=path)
    if declared_id is not None and declared_id != identity.device_id:
        raise DeviceError(f"{where}: deviceId {str(declared_id)[:80]!r} does not match its key "
                          f"(the key's id is {identity.device_id})")
    return identity


class DeviceTokenStore:
    """Device tokens the gateways issued, by target name, device and role (0600 JSON file).

    Why a file: the token is issued once, on the first connect after approval (and again on
    rotation); a restarted exporter without it would need the shared token to connect."""

    def __init__(self, path: str | None, create_dir: bool = False) -> None:
        self.path = path
        self._create_dir = create_dir
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._warned = False
        if path is not None:
            self._load(path)

    @staticmethod
    def _key(target: str, device_id: str, role: str) -> str:
        return f"{target}|{device_id}|{role}"

    def _load(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            entries = {str(k): {"token": str(v["token"]),
                                "scopes": [str(s) for s in v.get("scopes", []) if isinstance(s, str)],
                                "issuedAt": float(v.get("issuedAt", 0))}
                       for k, v in doc["tokens"].items() if isinstance(v, dict) and isinstance(v.get("token"), str)}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring an unreadable device token file", extra={"file": path, "error": type(exc).__name__})
            return
        self._entries = entries

    def get(self, target: str, device_id: str, role: str) -> dict[str, Any] | None:
        return self._entries.get(self._key(target, device_id, role))

    def forget(self, target: str, device_id: str, role: str) -> bool:
        with self._lock:
            return self._entries.pop(self._key(target, device_id, role), None) is not None

    def put(self, target: str, device_id: str, role: str, token: str, scopes: list[str] | tuple[str, ...]) -> bool:
        """Remember a token from hello-ok. True when it is new or different (then save())."""
        key = self._key(target, device_id, role)
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old["token"] == token:
                return False  # the same token: keep the stored scopes (auth.md)
            self._entries[key] = {"token": token, "scopes": list(scopes), "issuedAt": time.time()}
            return True

    def write(self) -> None:
        if self.path is None:
            return
        with self._lock:
            text = json.dumps({"version": 1, "tokens": self._entries}, sort_keys=True, indent=1)
        try:
            if self._create_dir:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
            write_private_file(self.path, text, overwrite=True)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot write the device token file; keeping the token in memory only",
                            extra={"file": self.path, "error": exc.strerror or type(exc).__name__})


@dataclass(frozen=True, eq=False)
class DeviceConfig:
    """The config's `device:` section, loaded: the identity and where its tokens are kept."""

    identity: DeviceIdentity
    identity_file: str
    token_file: str
    tokens: DeviceTokenStore

    def __reduce__(self) -> tuple[Any, tuple[str, str, None]]:
        """Pickled as where it is loaded from (exporter/config_child.py): the private key never
        leaves the process that read it, the receiving one reads the file again."""
        return load_device_config, (self.identity_file, self.token_file, None)


def tokens_path(token_file: str | None, state_file: str | None) -> tuple[str, bool]:
    """device.token_file, else beside slo.state_file, else the default state dir (made if missing)."""
    if token_file:
        return token_file, False
    if state_file:
        return f"{state_file}.{TOKENS_FILE}", False
    from exporter.state_dir import default_state_dir
    return os.path.join(default_state_dir(), TOKENS_FILE), True


_STORES: dict[str, DeviceTokenStore] = {}


def token_store(path: str, create_dir: bool) -> DeviceTokenStore:
    """One store per file in a process, so a config reload keeps the tokens learnt so far."""
    store = _STORES.get(path)
    if store is None:
        store = _STORES[path] = DeviceTokenStore(path, create_dir=create_dir)
    return store


def load_device_config(identity_file: str, token_file: str | None, state_file: str | None) -> DeviceConfig:
    identity = load_identity(identity_file)
    path, create_dir = tokens_path(token_file, state_file)
    return DeviceConfig(identity=identity, identity_file=identity_file, token_file=path,
                        tokens=token_store(path, create_dir))
