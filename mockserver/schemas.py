"""JSON Schema (OpenAPI 3.0 and 3.1) → marshmallow schemas.

The reverse of apispec's field converter: a type table plus one small function per keyword.
Schemas arrive fully dereferenced (specs.py inlines every ``$ref``). Validation is strict in the
JSON sense: ``"1"`` is not an integer, ``1`` is not a boolean, a string is not a number, because the
vendors' servers deserialize with typed models and reject those too.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime
from typing import Any, Callable, Mapping

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, validate

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class UnsupportedSchema(ValueError):
    """A spec uses a JSON Schema construct this converter does not understand (raised at startup)."""


# --- strict scalar fields ---------------------------------------------------------------------------

class StrictBoolean(fields.Field):
    """Only JSON true/false (marshmallow's Boolean would take 1, "yes", ...)."""

    default_error_messages = {"invalid": "Not a valid boolean."}

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


class StrictNumber(fields.Field):
    """A JSON number: int or float, never bool, string, NaN or infinity."""

    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) not in (int, float) or (type(value) is float and not math.isfinite(value)):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    """A JSON string; ``format`` checks are attached as validators."""


def _is_datetime(text: str) -> bool:
    # RFC 3339 date-time; the time zone is optional because .NET clients (VBA) omit it.
    if len(text) < 19 or text[10] not in "Tt ":
        return False
    try:
        datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) in (32, 36)


def _is_uri(text: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$", text) is not None


_EMAIL = validate.Email()

FORMAT_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "date-time": (_is_datetime, "Not a valid date-time."),
    "date": (_is_date, "Not a valid date."),
    "uuid": (_is_uuid, "Not a valid UUID."),
    "uri": (_is_uri, "Not a valid URI."),
}


def _format_validator(fmt: str) -> Callable[[str], None] | None:
    if fmt == "email":
        return _EMAIL
    check = FORMAT_CHECKS.get(fmt)
    if check is None:
        return None  # unknown formats are annotations (JSON Schema says so)
    predicate, message = check

    def validator(value: str) -> None:
        if not predicate(value):
            raise ValidationError(message)

    return validator


class AnyOf(fields.Field):
    """oneOf/anyOf: the first alternative that loads wins."""

    def __init__(self, alternatives: list[fields.Field], **kwargs):
        super().__init__(**kwargs)
        self.alternatives = alternatives

    def _deserialize(self, value, attr, data, **kwargs):
        errors = []
        for alternative in self.alternatives:
            try:
                return alternative.deserialize(value, attr, data, **kwargs)
            except ValidationError as exc:
                errors.append(exc.messages)
        raise ValidationError("Does not match any allowed schema.")


# --- keyword → validator functions (mirrors apispec's field2length, field2range, ...) ---------------

def length_validators(schema: Mapping[str, Any]) -> list:
    low = schema.get("minLength", schema.get("minItems"))
    high = schema.get("maxLength", schema.get("maxItems"))
    return [validate.Length(min=low, max=high)] if low is not None or high is not None else []


def unique_validators(schema: Mapping[str, Any]) -> list:
    if not schema.get("uniqueItems"):
        return []

    def validator(items: list) -> None:
        seen: list = []
        repeated = [item for item in items if item in seen or seen.append(item)]
        if repeated:
            raise ValidationError(f"Given more than once: {', '.join(dict.fromkeys(map(str, repeated)))}.")

    return [validator]


def range_validators(schema: Mapping[str, Any]) -> list:
    low, high = INT_RANGES.get(schema.get("format"), (None, None))
    low_inclusive = high_inclusive = True
    if "minimum" in schema:
        low = schema["minimum"]
    if "maximum" in schema:
        high = schema["maximum"]
    exclusive_min, exclusive_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if exclusive_min is True:  # OpenAPI 3.0 boolean form
        low_inclusive = False
    elif isinstance(exclusive_min, (int, float)) and not isinstance(exclusive_min, bool):
        low, low_inclusive = exclusive_min, False
    if exclusive_max is True:
        high_inclusive = False
    elif isinstance(exclusive_max, (int, float)) and not isinstance(exclusive_max, bool):
        high, high_inclusive = exclusive_max, False
    if low is None and high is None:
        return []
    return [validate.Range(min=low, max=high, min_inclusive=low_inclusive, max_inclusive=high_inclusive)]


def enum_validators(schema: Mapping[str, Any]) -> list:
    choices = [c for c in schema.get("enum", []) if c is not None]
    return [validate.OneOf(choices)] if "enum" in schema else []


def pattern_validators(schema: Mapping[str, Any]) -> list:
    pattern = schema.get("pattern")
    if pattern is None:
        return []
    compiled = re.compile(pattern)

    def validator(value: str) -> None:
        if compiled.search(value) is None:
            raise ValidationError(f"Does not match pattern {pattern!r}.")

    return [validator]


# --- scalars spelled as text (query parameters, filter values) --------------------------------------

# JSON's own spellings: no sign but "-", no leading zeros, no spaces (a "+" in a query string is a space).
JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
NOT_SPELLED = object()


def scalar_from_text(kind: str | None, text: str) -> Any:
    """``text`` as a JSON scalar of ``kind`` when it is exactly JSON's spelling of one (``"12"`` → 12,
    ``"true"`` → True), else ``NOT_SPELLED``: ``"05"``, ``" 5"``, ``"+5"``, ``"1e400"``, ``"NaN"`` are not."""
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, NOT_SPELLED)
    if kind == "integer" and JSON_INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and JSON_NUMBER.fullmatch(text):
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return value if math.isfinite(value) else NOT_SPELLED
    return NOT_SPELLED


# --- type table ----------------------------------------------------------------------------------

def type_and_nullable(schema: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The one non-null JSON type of a schema and whether null is allowed (3.0 ``nullable`` or 3.1 arrays)."""
    declared = schema.get("type")
    nullable = bool(schema.get("nullable", False))
    if isinstance(declared, list):
        types = [t for t in declared if t != "null"]
        nullable = nullable or "null" in declared
        if len(types) > 1:
            raise UnsupportedSchema(f"several non-null types {types} in one schema are not supported")
        declared = types[0] if types else None
    if "enum" in schema and None in schema["enum"]:
        nullable = True
    return declared, nullable


def field_for(schema: Mapping[str, Any], *, required: bool = False, name: str = "item") -> fields.Field:
    """Build the marshmallow field for one property schema."""
    schema = merge_all_of(schema)
    kind, nullable = type_and_nullable(schema)
    options: dict[str, Any] = {"required": required, "allow_none": nullable}
    if "default" in schema and not required:
        # A required field stays required even with a database default: VBA's seeds say the API
        # requires call_Key and tells clients to send the default (0) themselves.
        options["load_default"] = schema["default"]
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        subs = [field_for(alt, name=name) for alt in alternatives]
        nullable = nullable or any(sub.allow_none for sub in subs)
        options["allow_none"] = nullable
        return AnyOf(subs, **options)
    if kind is None and "properties" in schema:
        kind = "object"
    builder = TYPE_TABLE.get(kind)
    if builder is None:
        if kind is None:
            return fields.Raw(**{**options, "allow_none": True})
        raise UnsupportedSchema(f"{name}: type {kind!r} is not supported")
    return builder(schema, options, name)


def _string(schema, options, name):
    validators = length_validators(schema) + enum_validators(schema) + pattern_validators(schema)
    fmt = _format_validator(schema.get("format", ""))
    if fmt is not None:
        validators.append(fmt)
    return StrictString(validate=validators, **options)


def _integer(schema, options, name):
    return fields.Integer(strict=True, validate=range_validators(schema) + enum_validators(schema), **options)


def _number(schema, options, name):
    return StrictNumber(validate=range_validators(schema) + enum_validators(schema), **options)


def _boolean(schema, options, name):
    return StrictBoolean(validate=enum_validators(schema), **options)


def _array(schema, options, name):
    inner = field_for(schema.get("items", {}), name=f"{name}[]")
    return fields.List(inner, validate=length_validators(schema) + unique_validators(schema), **options)


def _object(schema, options, name):
    if "properties" in schema:
        return fields.Nested(schema_for(schema, name=name), **options)
    extra = schema.get("additionalProperties", True)
    values = field_for(extra, name=f"{name}{{}}") if isinstance(extra, Mapping) else fields.Raw(allow_none=True)
    return fields.Dict(keys=fields.String(), values=values, **options)


TYPE_TABLE: dict[str, Callable[[Mapping[str, Any], dict, str], fields.Field]] = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "array": _array,
    "object": _object,
}


def merge_all_of(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Fold ``allOf`` parts into one schema (enough for the ``nullable + allOf: [$ref]`` idiom)."""
    parts = schema.get("allOf")
    if not parts:
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        part = merge_all_of(part)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            else:
                merged.setdefault(key, value)
    return merged


class EntitySchema(Schema):
    """Base of every generated schema: unknown fields are rejected unless the spec allows them."""

    class Meta:
        unknown = RAISE


def schema_for(schema: Mapping[str, Any], *, name: str) -> type[Schema]:
    """A marshmallow Schema class for an object schema with ``properties``."""
    schema = merge_all_of(schema)
    required = set(schema.get("required", []))
    declared = {
        prop: field_for(sub, required=prop in required, name=f"{name}.{prop}")
        for prop, sub in schema.get("properties", {}).items()
    }
    extra = schema.get("additionalProperties", True)
    unknown = RAISE if extra is False else (INCLUDE if extra else EXCLUDE)
    meta = type("Meta", (EntitySchema.Meta,), {"unknown": unknown, "register": False})
    return type(name, (EntitySchema,), {**declared, "Meta": meta})


def flatten_errors(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dict → ``[("field.sub", "message"), ...]`` in a stable order."""
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key in messages:
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "(item)"
            out.extend(flatten_errors(messages[key], path))
        return out
    if isinstance(messages, list):
        out = []
        for message in messages:
            out.extend(flatten_errors(message, prefix) if not isinstance(message, str) else [(prefix, message)])
        return out
    return [(prefix, str(messages))]

