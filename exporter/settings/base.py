"""The config framework: pydantic field types with the project's wording, the section base,
and the translation of a ValidationError into ``path: message`` problems.

Every field type fails with a PydanticCustomError carrying the exact message a user reads
(``must be > 0``), so translating is naming the location: ``targets[1].readiness.timeout``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Iterable

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator, ValidationError, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from openclaw_schema import duration

# Keys that look like an inline secret get a message saying how to pass it instead.
SECRET_KEYS = ("token", "api_key", "apikey", "key", "password", "secret", "bearer_token")

Loc = tuple[str | int, ...]


def fail(message: str) -> PydanticCustomError:
    """The error a field type raises: its message is the one the user reads."""
    return PydanticCustomError("config", "{reason}", {"reason": message})


def fail_many(problems: list[tuple[Loc, str]]) -> PydanticCustomError:
    """Several located problems from one validator (a list whose items are checked together)."""
    return PydanticCustomError("config_many", "{count} problems", {"count": len(problems), "problems": problems})


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise fail("must be a non-empty string")
    if "\x00" in value:
        # YAML can spell one ("\0"); no name, URL or path holds one, and open() raises on it.
        raise fail("must not contain a NUL character")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail("must be true or false")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail("must be an integer")
    return value


def _duration(value: Any) -> float:
    try:
        return duration.parse(value)
    except duration.DurationError as exc:
        raise fail(str(exc)) from None


def _str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail("must be a list of non-empty strings")
    return tuple(value)


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail("must be a mapping")
    return value


def _positive(value: Any) -> Any:
    if not value > 0:
        raise fail("must be > 0")
    return value


def _non_negative(value: Any) -> Any:
    if not value >= 0:
        raise fail("must be >= 0")
    return value


_DURATION_SCHEMA = {
    "anyOf": [{"type": "number", "description": "seconds"},
              {"type": "string", "pattern": r"^(\d+(\.\d+)?(y|w|d|h|m|s|ms))+$"}],
    "description": "a duration: 15s, 500ms, 1.5m, 1h30m, 30d, or a number of seconds",
}
# Each type: the Python type, the validator that words its errors, the schema editors see.
Str = Annotated[str, PlainValidator(_str), WithJsonSchema({"type": "string", "minLength": 1, "pattern": "^[^\\u0000]*$"})]
Bool = Annotated[bool, PlainValidator(_bool), WithJsonSchema({"type": "boolean"})]
PositiveInt = Annotated[int, PlainValidator(_int), AfterValidator(_positive),
                        WithJsonSchema({"type": "integer", "exclusiveMinimum": 0})]
NonNegativeInt = Annotated[int, PlainValidator(_int), AfterValidator(_non_negative),
                           WithJsonSchema({"type": "integer", "minimum": 0})]
Duration = Annotated[float, PlainValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
PositiveDuration = Annotated[float, PlainValidator(_duration), AfterValidator(_positive), WithJsonSchema(_DURATION_SCHEMA)]
StrList = Annotated[tuple[str, ...], PlainValidator(_str_list),
                    WithJsonSchema({"type": "array", "items": {"type": "string", "minLength": 1}})]
Mapping = Annotated[dict[str, Any], PlainValidator(_mapping), WithJsonSchema({"type": "object"})]


def one_of(*choices: str) -> PlainValidator:
    """Validates a string from a fixed set (pair it with WithJsonSchema({"enum": [...]}))."""
    def check(value: Any) -> str:
        value = _str(value)
        if value not in choices:
            raise fail(f"must be one of {', '.join(choices)}")
        return value
    return PlainValidator(check)


class Section(BaseModel):
    """One mapping of the config file. Unknown keys are errors; a null value means "not set".

    Rules between keys go in ``cross_check`` (returning ``(key, message)`` pairs, key "" for
    the section itself): the parser runs it on the section with its valid keys even when
    others are invalid, so every problem is reported at once.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built at first use, not import
    not_a_mapping: ClassVar[str] = "must be a mapping"
    valid_keys_are: ClassVar[str] = "valid keys"  # how an unknown-key message introduces the list

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @classmethod
    def listed_keys(cls) -> Iterable[str]:
        """The keys an unknown-key message names."""
        return sorted(cls.model_fields)

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        if str(key).lower() in SECRET_KEYS:
            return ("literal secrets are not accepted in the config file; "
                    f"use {key}_file: /path/to/file or {key}_env: ENV_VAR_NAME")
        return f"unknown key ({cls.valid_keys_are}: {', '.join(cls.listed_keys())})"

    def cross_check(self) -> list[tuple[str, str]]:
        return []


def _unwrap(annotation: Any) -> Any:
    """The Section class a (possibly Optional/Annotated/tuple) annotation holds, else None."""
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, Section):
            return arg
    return None


def _section_at(model: type[Section], loc: Loc) -> type[Section]:
    for part in loc:
        if isinstance(part, str) and part in model.model_fields:
            model = _unwrap(model.model_fields[part].annotation) or model
    return model


def explain(exc: ValidationError, model: type[Section]) -> list[tuple[Loc, str]]:
    """(location, message) for every error; unknown keys first, as a reader fixes them first."""
    unknown: list[tuple[Loc, str]] = []
    others: list[tuple[Loc, str]] = []
    for error in exc.errors(include_url=False):
        loc, kind = tuple(error["loc"]), error["type"]
        if kind == "extra_forbidden":
            unknown.append((loc, _section_at(model, loc[:-1]).unknown_key(loc[-1])))
        elif kind == "missing":
            others.append((loc, "is required"))
        elif kind in ("model_type", "model_attributes_type"):
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


def validate(model: type[Section], raw: Any, where: str, problems: list[str]) -> Any:
    """The section, with its valid keys kept when others are invalid (None when a required key
    is missing or bad); every problem is appended as ``path: message``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(f"{path(where, loc)}: {message}" for loc, message in explain(exc, model))
        bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
    if not isinstance(raw, dict) or not bad:
        return None
    try:
        return model.model_validate({k: v for k, v in raw.items() if k not in bad})
    except ValidationError:
        return None


def cross_check(section: Section, where: str, problems: list[str]) -> bool:
    """Append the section's cross-key problems; True when it has none."""
    found = section.cross_check()
    problems.extend(f"{path(where, (key,) if key else ())}: {message}" for key, message in found)
    return not found
