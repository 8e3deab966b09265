"""The config framework's pydantic side: the ``Section`` base of the sections only loading
reads, validating a section (a model or a ``Record`` dataclass) and the translation of a
ValidationError into ``path: message`` problems.

Every field type (exporter/settings/fields.py) fails with a PydanticCustomError carrying the
exact message a user reads (``must be > 0``), so translating is naming the location:
``targets[1].readiness.timeout``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator

from exporter.settings.fields import Loc, Rules, drop_nulls


class Section(Rules, BaseModel):
    """One mapping of the config file, as a pydantic model (the sections only loading reads;
    what the runtime holds is a ``Record``: exporter/settings/fields.py). Its problems are
    worded by ``Rules``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built at first use, not import

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        return drop_nulls(data)


_ADAPTERS: dict[type, TypeAdapter] = {}


def _validate_python(model: type[Rules], raw: Any) -> Any:
    if issubclass(model, BaseModel):
        return model.model_validate(raw)
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter.validate_python(raw)


def _unwrap(annotation: Any) -> Any:
    """The Section class a (possibly Optional/Annotated/tuple) annotation holds, else None."""
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, Rules):
            return arg
    return None


def _section_at(model: type[Rules], loc: Loc) -> type[Rules]:
    for part in loc:
        if isinstance(part, str) and issubclass(model, BaseModel) and part in model.model_fields:
            model = _unwrap(model.model_fields[part].annotation) or model
    return model


def explain(exc: ValidationError, model: type[Rules]) -> list[tuple[Loc, str]]:
    """(location, message) for every error; unknown keys first, as a reader fixes them first."""
    unknown: list[tuple[Loc, str]] = []
    others: list[tuple[Loc, str]] = []
    for error in exc.errors(include_url=False):
        loc, kind = tuple(error["loc"]), error["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):  # a model's, a dataclass's
            unknown.append((loc, _section_at(model, loc[:-1]).unknown_key(loc[-1])))
        elif kind == "missing":
            others.append((loc, "is required"))
        elif kind in ("model_type", "model_attributes_type", "dataclass_type", "dataclass_args_type"):
            others.append((loc, _section_at(model, loc).not_a_mapping))
        elif kind == "config_many":
            others.extend((loc + tuple(sub), message) for sub, message in error["ctx"]["problems"])
        else:
            others.append((loc, error["msg"]))
    return unknown + others


def path(where: str, loc: Loc) -> str:
    """``targets[1]`` + ("readiness", "timeout") -> ``targets[1].readiness.timeout``."""
    text = where
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate(model: type[Rules], raw: Any, where: str, problems: list[str]) -> Any:
    """The section, with its valid keys kept when others are invalid (None when a required key
    is missing or bad); every problem is appended as ``path: message``."""
    try:
        return _validate_python(model, raw)
    except ValidationError as exc:
        problems.extend(f"{path(where, loc)}: {message}" for loc, message in explain(exc, model))
        bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
    if not isinstance(raw, dict) or not bad:
        return None
    try:
        return _validate_python(model, {k: v for k, v in raw.items() if k not in bad})
    except ValidationError:
        return None


def cross_check(section: Rules, where: str, problems: list[str]) -> bool:
    """Append the section's cross-key problems; True when it has none."""
    found = section.cross_check()
    problems.extend(f"{path(where, (key,) if key else ())}: {message}" for key, message in found)
    return not found
