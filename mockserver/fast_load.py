"""The fast path of a valid item: ``schema.load(item)`` without marshmallow's per-field machinery.

A batch of 1,000 items spent most of its time in marshmallow's load, for items that were valid. For
those, plain type checks (the JSON types our strict fields take unchanged) plus each field's own
validators give the same result; an item the fast path cannot vouch for goes to ``schema.load``,
which stays the reference and names the errors. Equal results are tested (tests/unit/test_schemas.py)
against marshmallow on items generated from every shipped entity schema.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate

from .schemas import StrictBoolean, StrictNumber, StrictString



class _Deferred(Exception):
    """The fast path cannot vouch for this item: marshmallow decides (and names the errors)."""


def _checked(field: fields.Field) -> Callable[[Any], Any] | None:
    """The type check of a scalar field, as its ``_deserialize`` accepts a JSON value unchanged, or None."""
    kind = type(field)
    if kind is StrictString:
        return lambda value: value if type(value) is str else _defer()
    if kind is fields.Integer and field.strict:
        return lambda value: value if type(value) is int else _defer()
    if kind is StrictNumber:
        return lambda value: value if (type(value) is int or (type(value) is float and math.isfinite(value))) \
            else _defer()
    if kind is StrictBoolean:
        return lambda value: value if type(value) is bool else _defer()
    if kind is fields.Raw:
        return lambda value: value
    return None


def _defer() -> Any:
    raise _Deferred()


def _validated(name: str, field: fields.Field, check: Callable[[Any], Any] | None) -> Callable[[Any, Any, Any], Any]:
    """One field's load, as ``Field.deserialize`` does it for a value that passes; _Deferred otherwise."""
    validators = [(v, isinstance(v, validate.Validator)) for v in field.validators]
    allow_none = field.allow_none

    def load(value: Any, data: Any, partial: Any) -> Any:
        if value is None:
            return None if allow_none else _defer()
        if check is None:  # nested, list, dict, oneOf: the field itself, errors deferred
            try:
                value = field.deserialize(value, name, data, partial=partial)
            except ValidationError:
                raise _Deferred() from None
        else:
            value = check(value)
        for validator, is_validator in validators:
            try:
                if validator(value) is False and not is_validator:
                    raise _Deferred()
            except ValidationError:
                raise _Deferred() from None
        return value

    return load


class FastLoad:
    """``schema.load(item)`` for a valid item; None for an item it cannot vouch for (the caller runs
    ``schema.load``, which decides and names the errors)."""

    def __init__(self, schema: Schema):
        simple = not any(schema._hooks.values()) and all(
            f.data_key is None and f.attribute is None and not f.pre_load and not f.post_load
            for f in schema.load_fields.values())
        self.fields = [(name, _validated(name, f, _checked(f)), f.required, f.load_default)
                       for name, f in schema.load_fields.items()] if simple else None
        self.names = frozenset(schema.load_fields)
        self.unknown = schema.unknown

    def __call__(self, item: Mapping[str, Any], partial: bool = False) -> dict | None:
        if self.fields is None or not isinstance(partial, bool):
            return None
        loaded: dict[str, Any] = {}
        try:
            for name, load, required, default in self.fields:
                value = item.get(name, _ABSENT)
                if value is _ABSENT:
                    if partial:
                        continue
                    if required:
                        return None
                    if default is not fields.missing_:
                        loaded[name] = default() if callable(default) else default
                    continue
                loaded[name] = load(value, item, partial)
        except _Deferred:
            return None
        if not self.names.issuperset(item):
            if self.unknown == RAISE:
                return None
            if self.unknown == INCLUDE:
                loaded.update((k, v) for k, v in item.items() if k not in self.names)
        return loaded


_ABSENT = object()


def fast_load(schema: Schema) -> FastLoad:
    """The schema instance's FastLoad, built once and kept on it (schemas are shared per spec,
    specs.entity_schema; ``load`` keeps no state on them)."""
    found = schema.__dict__.get("_mockserver_fast_load")
    if found is None:
        found = schema._mockserver_fast_load = FastLoad(schema)
    return found
