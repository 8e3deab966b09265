"""Selected Services or Pods -> targets: pure rules plus the thread-safe set they form.

``DiscoveredTargets`` is the one interface the rest of the exporter (and sharding) reads:

    current() -> dict[str, TargetConfig]   # name "<namespace>/<name>" -> target, ready to probe
    subscribe(callback)                    # callback() after every change (from a watcher thread)

A target is in ``current()`` once its token Secret has been read at least once (a value or
an error): it never starts probing without the token it is supposed to send.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from openclaw_schema import names as c
from exporter.settings import discovery as dc
from exporter.discovery.tokens import KubeSecretRef, SecretKey, TokenStore

log = logging.getLogger(__name__)

# enabled modules (None: the probers' defaults) -> (modules, problems); exporter.config builds them.
ModulesFor = Callable[[frozenset[str] | None], tuple[dict[str, Any], list[str]]]


@dataclass(frozen=True)
class Rejected:
    """A selected object that is not a target, and why (one of DISCOVERY_REJECT_REASONS)."""

    reason: str
    message: str  # located: "Service ns/name: annotation openclaw.ai/port: ..."


@dataclass(frozen=True)
class Endpoint:
    """Where and how to probe one object, from its spec and annotations."""

    name: str
    http_url: str
    ws_url: str
    secret: SecretKey | None
    modules: frozenset[str] | None


def _port_of(obj: dict, role: str, wanted: str, where: str) -> int | Rejected:
    if role == "service":
        ports = [(p.get("name") or "", p.get("port")) for p in (obj.get("spec") or {}).get("ports") or []]
    else:
        ports = [(p.get("name") or "", p.get("containerPort"))
                 for ctr in (obj.get("spec") or {}).get("containers") or [] for p in ctr.get("ports") or []]
    for name, number in ports:
        if (wanted == name or wanted == str(number)) and isinstance(number, int) and 0 < number < 65536:
            return number
    names = ", ".join(n or str(p) for n, p in ports) or "none"
    return Rejected("no_port", f"{where}: no port named {wanted!r} (ports: {names}); set discovery.port_name "
                               f"or the {dc.ANNOTATION_PORT} annotation")


def endpoint_of(obj: dict, config: dc.DiscoveryConfig) -> Endpoint | Rejected | None:
    """The endpoint of a selected object; Rejected with a located reason; None when it opts
    out (annotation probe: "false") or has no address *yet* (a pod being scheduled)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    kind = "Service" if config.role == "service" else "Pod"
    where = f"{kind} {namespace}/{name}"
    notes = meta.get("annotations") or {}

    def bad(key: str, message: str) -> Rejected:
        return Rejected("bad_annotation", f"{where}: annotation {key}: {message}")

    probe = notes.get(dc.ANNOTATION_PROBE, "true").strip().lower()
    if probe not in ("true", "false"):
        return bad(dc.ANNOTATION_PROBE, f"{probe!r} must be true or false")
    if probe == "false":
        return None
    port_name = notes.get(dc.ANNOTATION_PORT, config.port_name).strip()
    if dc.ANNOTATION_PORT in notes and not port_name.isdigit():
        try:
            dc.check_port_name(port_name)
        except ValueError as exc:
            return bad(dc.ANNOTATION_PORT, str(exc))
    try:
        path = dc.check_path(notes.get(dc.ANNOTATION_PATH, config.path).strip())
    except ValueError as exc:
        return bad(dc.ANNOTATION_PATH, str(exc))
    scheme = notes.get(dc.ANNOTATION_SCHEME, config.scheme).strip()
    if scheme not in ("http", "https"):
        return bad(dc.ANNOTATION_SCHEME, f"{scheme!r} must be http or https")
    modules: frozenset[str] | None = None
    if dc.ANNOTATION_MODULES in notes:
        modules = frozenset(m.strip() for m in notes[dc.ANNOTATION_MODULES].split(",") if m.strip())
    secret: SecretKey | None = None
    ref = notes.get(dc.ANNOTATION_TOKEN_SECRET) or config.token_secret
    if ref:
        try:
            secret_name, key = dc.parse_secret_ref(ref)
        except ValueError as exc:
            return bad(dc.ANNOTATION_TOKEN_SECRET, str(exc))
        secret = SecretKey(namespace, secret_name, key)

    port = _port_of(obj, config.role, port_name, where)
    if isinstance(port, Rejected):
        return port
    if config.role == "pod":
        status = obj.get("status") or {}
        host = status.get("podIP") or ""
        if status.get("phase") in ("Succeeded", "Failed") or not host:
            return None  # not running (yet, or any more): not a target, not an error
    elif config.address == "cluster_ip":
        host = (obj.get("spec") or {}).get("clusterIP") or ""
        if host in ("", "None"):
            return Rejected("no_address", f"{where}: no cluster IP (a headless Service); use address: dns "
                                          "or role: pod")
    else:
        host = f"{name}.{namespace}.svc"
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    ws_scheme = "wss" if scheme == "https" else "ws"
    return Endpoint(name=f"{namespace}/{name}", http_url=f"{scheme}://{netloc}{path}",
                    ws_url=f"{ws_scheme}://{netloc}{path}/", secret=secret, modules=modules)


class DiscoveredTargets:
    """The discovered targets, kept by the watcher threads, read by the exporter."""

    def __init__(self, config: dc.DiscoveryConfig, modules_for: ModulesFor, tokens: TokenStore,
                 device: Any = None) -> None:
        from exporter.settings.resolved import TargetConfig  # the target type the scheduler runs

        self._target_type = TargetConfig
        self.config = config
        self._modules_for = modules_for
        self._modules_cache: dict[frozenset[str] | None, tuple[dict[str, Any], list[str]]] = {}
        self.tokens = tokens
        self._device = device
        self._lock = threading.Lock()
        # (scope, namespace, name) -> the object's target or why it is not one
        self._entries: dict[tuple[str, str, str], Any] = {}
        self._static: dict[str, str] = {}  # static target name -> where it is configured
        self._listed: set[str] = set()  # scopes listed at least once
        self._listeners: list[Callable[[], None]] = []
        self._logged: set[str] = set()

    # --- reading ----------------------------------------------------------------------------
    def current(self) -> dict[str, Any]:
        """name -> TargetConfig of every target ready to probe (static names excluded)."""
        with self._lock:
            entries = list(self._entries.values())
            static = self._static
        out = {}
        for entry in entries:
            if isinstance(entry, Rejected) or entry.name in static:
                continue
            key = entry.token.key if entry.token is not None else None
            if key is None or self.tokens.resolved(key):
                out[entry.name] = entry
        return out

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def rejected(self) -> Counter[str]:
        with self._lock:
            entries = list(self._entries.values())
            static = self._static
        counts = Counter({r: 0 for r in c.DISCOVERY_REJECT_REASONS})
        for entry in entries:
            if isinstance(entry, Rejected):
                counts[entry.reason] += 1
            elif entry.name in static:
                counts["name_conflict"] += 1
        return counts

    def problems(self) -> list[str]:
        """Located messages of the objects that are not targets (status page, logs)."""
        with self._lock:
            entries = list(self._entries.values())
            static = dict(self._static)
        out = [e.message for e in entries if isinstance(e, Rejected)]
        out += [_conflict(e.name, static[e.name]) for e in entries
                if not isinstance(e, Rejected) and e.name in static]
        return sorted(out)

    def synced(self, scopes: Iterable[str]) -> bool:
        """Every scope listed at least once and every listed target's token read at least once
        (a value or an error): ``current()`` is then the cluster's whole fleet, not a part of it."""
        with self._lock:
            if not set(scopes) <= self._listed:
                return False
            keys = [e.token.key for e in self._entries.values() if not isinstance(e, Rejected) and e.token]
        return all(self.tokens.resolved(key) for key in keys)

    def unreadable_tokens(self) -> int:
        bad = self.tokens.unreadable()
        return sum(1 for t in self.current().values() if t.token is not None and t.token.key in bad)

    # --- writing (watcher threads) -------------------------------------------------------------
    def set_static(self, names: dict[str, str]) -> None:
        """The static targets (name -> "targets[i]"): a discovered target of the same name is ignored."""
        with self._lock:
            self._static = dict(names)
            clashes = [e.name for e in self._entries.values() if not isinstance(e, Rejected) and e.name in names]
        for name in clashes:
            self._log_once(_conflict(name, names[name]))
        self._notify()

    def replace(self, scope: str, items: list[dict]) -> None:
        built = {self._key(scope, obj): self._build(obj) for obj in items}
        with self._lock:
            for key in [k for k in self._entries if k[0] == scope and k not in built]:
                del self._entries[key]
            for key, entry in built.items():
                if entry is None:
                    self._entries.pop(key, None)
                else:
                    self._entries[key] = entry
            self._listed.add(scope)
        self._changed()

    def apply(self, scope: str, etype: str, obj: dict) -> None:
        key = self._key(scope, obj)
        entry = None if etype == "DELETED" else self._build(obj)
        with self._lock:
            if entry is None:
                self._entries.pop(key, None)
            else:
                self._entries[key] = entry
        self._changed()

    def on_tokens_resolved(self) -> None:
        self._notify()

    # --- internals ------------------------------------------------------------------------------
    @staticmethod
    def _key(scope: str, obj: dict) -> tuple[str, str, str]:
        meta = obj.get("metadata") or {}
        return scope, meta.get("namespace") or "", meta.get("name") or ""

    def _modules(self, enabled: frozenset[str] | None) -> tuple[dict[str, Any], list[str]]:
        if enabled not in self._modules_cache:
            self._modules_cache[enabled] = self._modules_for(enabled)
        return self._modules_cache[enabled]

    def _build(self, obj: dict) -> Any:
        endpoint = endpoint_of(obj, self.config)
        if endpoint is None or isinstance(endpoint, Rejected):
            if isinstance(endpoint, Rejected):
                self._log_once(endpoint.message)
            return endpoint
        modules, problems = self._modules(endpoint.modules)
        if problems:
            kind = "Service" if self.config.role == "service" else "Pod"
            # The problems are located at the annotation ("openclaw.ai/modules.model: ...").
            rejected = Rejected("bad_annotation", f"{kind} {endpoint.name}: annotation " + "; ".join(problems))
            self._log_once(rejected.message)
            return rejected
        token = KubeSecretRef(endpoint.secret, self.tokens) if endpoint.secret else None
        return self._target_type(
            # A KubeSecretRef reads like a SecretRef (read/aread/describe); TargetConfig names the file kind.
            name=endpoint.name, http_url=endpoint.http_url, ws_url=endpoint.ws_url, token=token,  # type: ignore[arg-type]
            tls_ca_file=self.config.tls_ca_file, tls_insecure_skip_verify=self.config.tls_insecure_skip_verify,
            modules=modules, device=self._device)

    def _changed(self) -> None:
        with self._lock:
            keys = {e.token.key for e in self._entries.values() if not isinstance(e, Rejected) and e.token}
        self.tokens.want(keys)
        self._notify()

    def _notify(self) -> None:
        for callback in self._listeners:
            try:
                callback()
            except Exception:
                log.exception("discovery listener failed")

    def _log_once(self, message: str) -> None:
        if len(self._logged) > 10_000:  # objects churn: keep the memory bounded, log again at worst
            self._logged.clear()
        if message not in self._logged:
            self._logged.add(message)
            log.warning("discovered object is not a target", extra={"problem": message})


def _conflict(name: str, where: str) -> str:
    return f"discovered target {name!r} has the name of the static target {where}; the static target wins"
