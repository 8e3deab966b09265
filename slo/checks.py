"""Validation helpers the SLO and alert spec parsers share: every problem is collected with
its path (`slos[1].objective: ...`) while parsing goes on, then reported at once."""

from __future__ import annotations

import re
from typing import Any

from openclaw_schema import names

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
LABEL_NAME_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the generator sets itself; a spec may not override them.
RESERVED_LABELS = (names.LABEL_SLO, names.LABEL_WINDOW, names.LABEL_SEVERITY)


class Errors:
    """Collects `path: message` lines while the parser keeps going."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.add(path, "must be a mapping")
            return {}
        for key in value:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else str(key), f"unknown key (expected one of: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.add(f"{path}.{key}" if path else key, "is required")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.add(path, "must be a non-empty string")
            return ""
        return value

    def number(self, value: Any, path: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, "must be a number")
            return None
        return float(value)

    def labels(self, value: Any, path: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, "must be a mapping of label names to strings")
            return {}
        out: dict[str, str] = {}
        for key, val in value.items():
            if not isinstance(key, str) or not LABEL_NAME_PATTERN.match(key):
                self.add(f"{path}.{key}", "is not a valid Prometheus label name")
            elif key in RESERVED_LABELS:
                self.add(f"{path}.{key}", "is set by the generator and cannot be overridden")
            elif not isinstance(val, str):
                self.add(f"{path}.{key}", "must be a string (quote numbers)")
            else:
                out[key] = val
        return dict(sorted(out.items()))

    def regex(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        text = self.string(value, path)
        try:
            re.compile(text)
        except re.error as exc:
            self.add(path, f"is not a valid regular expression ({exc})")
        return text


def check_objective(err: Errors, value: Any, path: str) -> float:
    objective = err.number(value, path)
    if objective is None:
        return 0.0
    if objective >= 1:
        err.add(path, "must be < 1 (a ratio like 0.999, not 99.9)")
    elif objective <= 0:
        err.add(path, "must be > 0")
    return objective
