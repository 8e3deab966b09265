"""The config's field types, worded for users, importable without pydantic.

Each type is ``Annotated[python type, Check(...)]``: the ``Check`` says how pydantic validates
the value (a function whose error is the message a user reads, ``must be > 0``) and what the
JSON Schema shows. pydantic reads a Check only while it validates (``__get_pydantic_core_schema__``),
so the settings the running exporter holds (exporter/settings/modules.py, plain frozen
dataclasses) load without pydantic: the config is validated in a child process
(exporter/config_child.py) and the exporter never pays pydantic's ~10 MB.

``Rules`` is what every section has besides its fields: how its unknown keys, a non-mapping
and the rules between its keys are worded (exporter/settings/base.py's ``Section`` and the
module settings' ``ModuleSettings`` both take it).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Callable, ClassVar, Iterable

from openclaw_schema import duration

if TYPE_CHECKING:
    from pydantic_core import PydanticCustomError

# Keys that look like an inline secret get a message saying how to pass it instead.
SECRET_KEYS = ("token", "api_key", "apikey", "key", "password", "secret", "bearer_token")

Loc = tuple[str | int, ...]


def fail(message: str) -> PydanticCustomError:
    """The error a field type raises: its message is the one the user reads."""
    from pydantic_core import PydanticCustomError  # raised while validating, when pydantic is loaded

    return PydanticCustomError("config", "{reason}", {"reason": message})


def fail_many(problems: list[tuple[Loc, str]]) -> PydanticCustomError:
    """Several located problems from one validator (a list whose items are checked together)."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("config_many", "{count} problems", {"count": len(problems), "problems": problems})


class Check:
    """Field metadata: validate with ``parse`` (then each of ``then``), show ``schema`` in the JSON Schema."""

    __slots__ = ("parse", "then", "schema")

    def __init__(self, parse: Callable[[Any], Any], schema: dict[str, Any], *then: Callable[[Any], Any]) -> None:
        self.parse, self.schema, self.then = parse, schema, then

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        schema: core_schema.CoreSchema = core_schema.no_info_plain_validator_function(self.parse)
        for step in self.then:
            schema = core_schema.no_info_after_validator_function(step, schema)
        return schema

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        return dict(self.schema)


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
_STR_SCHEMA = {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]*$"}
# Each type: the Python type, the check that words its errors, the schema editors see.
Str = Annotated[str, Check(_str, _STR_SCHEMA)]
Bool = Annotated[bool, Check(_bool, {"type": "boolean"})]
PositiveInt = Annotated[int, Check(_int, {"type": "integer", "exclusiveMinimum": 0}, _positive)]
NonNegativeInt = Annotated[int, Check(_int, {"type": "integer", "minimum": 0}, _non_negative)]
Duration = Annotated[float, Check(_duration, _DURATION_SCHEMA)]
PositiveDuration = Annotated[float, Check(_duration, _DURATION_SCHEMA, _positive)]
StrList = Annotated[tuple[str, ...], Check(_str_list, {"type": "array", "items": {"type": "string", "minLength": 1}})]
Mapping = Annotated[dict[str, Any], Check(_mapping, {"type": "object"})]


def one_of(*choices: str) -> Check:
    """A string from a fixed set; the schema lists the set."""
    def check(value: Any) -> str:
        value = _str(value)
        if value not in choices:
            raise fail(f"must be one of {', '.join(choices)}")
        return value
    return Check(check, {"enum": list(choices)})


def string(*steps: Callable[[Any], Any]) -> Check:
    """A non-empty string, then ``steps`` (each returns the value or raises ``fail``)."""
    return Check(_str, _STR_SCHEMA, *steps)


class Rules:
    """How a section words its problems. Unknown keys are errors; a null value means "not set".

    Rules between keys go in ``cross_check`` (returning ``(key, message)`` pairs, key "" for
    the section itself): the parser runs it on the section with its valid keys even when
    others are invalid, so every problem is reported at once.
    """

    not_a_mapping: ClassVar[str] = "must be a mapping"
    valid_keys_are: ClassVar[str] = "valid keys"  # how an unknown-key message introduces the list

    @classmethod
    def field_names(cls) -> list[str]:
        fields = getattr(cls, "model_fields", None)  # a pydantic Section
        return list(fields) if fields is not None else [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def listed_keys(cls) -> Iterable[str]:
        """The keys an unknown-key message names."""
        return sorted(cls.field_names())

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        if str(key).lower() in SECRET_KEYS:
            return ("literal secrets are not accepted in the config file; "
                    f"use {key}_file: /path/to/file or {key}_env: ENV_VAR_NAME")
        return f"unknown key ({cls.valid_keys_are}: {', '.join(cls.listed_keys())})"

    def cross_check(self) -> list[tuple[str, str]]:
        return []


def drop_nulls(data: Any) -> Any:
    """A mapping without its null values: null means "not set" (the field's default)."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v is not None}
    return data


class Record(Rules):
    """A section that is a plain frozen dataclass (what the running exporter holds): pydantic
    validates it when asked, with unknown keys refused and null meaning "not set"."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_before_validator_function(drop_nulls, handler(source))
