"""Strict, declarative parsing of YAML mappings into plain values, collecting every problem.

Each problem is reported as ``<path>: <message>`` (e.g. ``targets[1].readiness.timeout: must
be > 0``) so `check` can list them all at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from exporter.secrets import SecretRef

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

# Keys that look like an inline secret get a message saying how to pass it instead.
SECRET_KEYS = ("token", "api_key", "apikey", "key", "password", "secret", "bearer_token")


class Problems(list):
    """The problems found so far, as ``path: message`` strings."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


def parse_duration(value: Any) -> float:
    """'15s', '500ms', '5m', '1h', '1d' or a number of seconds -> seconds (always finite)."""
    number: int | float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match:
            number = float(match.group(1)) * _UNITS[match.group(2)]
    if number is None:
        raise ValueError("must be a duration such as 15s, 500ms or 5m")
    seconds = _finite(number)
    if seconds is None:
        raise ValueError("must be a finite duration such as 15s, 500ms or 5m")
    return seconds


def _finite(value: int | float) -> float | None:
    """A finite float, or None: YAML's .inf/.nan and numbers too big for a float are no duration."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Field:
    kind: str  # str | bool | int | float | duration | str_list | float_list | mapping
    default: Any = None
    required: bool = False
    check: Callable[[Any], str | None] | None = None
    choices: tuple[str, ...] = field(default=())


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be > 0"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be >= 0"


def _convert(kind: str, value: Any) -> Any:
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        if "\x00" in value:
            # YAML can spell one ("\0"); no name, URL or path holds one, and open() raises on it.
            raise ValueError("must not contain a NUL character")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number")
        if _finite(value) is None:
            raise ValueError("must be a finite number")
        return float(value)
    if kind == "duration":
        return parse_duration(value)
    if kind == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError("must be a list of non-empty strings")
        return tuple(value)
    if kind == "float_list":
        if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v) is not None for v in value
        ):
            raise ValueError("must be a list of finite numbers")
        return tuple(float(v) for v in value)
    if kind == "mapping":
        if not isinstance(value, dict):
            raise ValueError("must be a mapping")
        return value
    raise AssertionError(f"unknown field kind {kind}")


def parse_fields(
    raw: Any, where: str, fields: dict[str, Field], problems: Problems, allow: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate ``raw`` against ``fields``; unknown keys are errors (``allow`` lists keys a
    caller parses itself). Returns defaults for anything missing or invalid."""
    out = {name: f.default for name, f in fields.items()}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.add(where, "must be a mapping")
        return out
    for key in raw:
        if key in fields or key in allow:
            continue
        if str(key).lower() in SECRET_KEYS:
            problems.add(
                f"{where}.{key}",
                "literal secrets are not accepted in the config file; "
                f"use {key}_file: /path/to/file or {key}_env: ENV_VAR_NAME",
            )
        else:
            problems.add(f"{where}.{key}", f"unknown key (valid keys: {', '.join(sorted(fields))})")
    for name, spec in fields.items():
        path = f"{where}.{name}"
        if name not in raw or raw[name] is None:
            if spec.required:
                problems.add(path, "is required")
            continue
        try:
            value = _convert(spec.kind, raw[name])
        except ValueError as exc:
            problems.add(path, str(exc))
            continue
        if spec.choices and value not in spec.choices:
            problems.add(path, f"must be one of {', '.join(spec.choices)}")
            continue
        message = spec.check(value) if spec.check else None
        if message:
            problems.add(path, message)
            continue
        out[name] = value
    return out


def secret_ref(values: dict[str, Any], prefix: str, where: str, problems: Problems) -> SecretRef | None:
    """Build a SecretRef from ``<prefix>_file`` / ``<prefix>_env`` values (at most one set)."""
    file, env = values.get(f"{prefix}_file"), values.get(f"{prefix}_env")
    if file and env:
        problems.add(f"{where}.{prefix}_file", f"set only one of {prefix}_file and {prefix}_env")
        return None
    if file or env:
        return SecretRef(file=file, env=env)
    return None
