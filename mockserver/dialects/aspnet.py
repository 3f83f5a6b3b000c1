"""ASP.NET Core model binding of a JSON request body, as System.Text.Json's web defaults bind it.

A vendor whose API is ASP.NET Core (VBA) never runs its own code on a body the framework cannot
bind: ``JsonSerializerDefaults.Web`` matches property names case-insensitively, reads numbers from
JSON strings ("42" -> 42) and skips properties the model does not have; a value it cannot convert
(a non-numeric string or an object for an integer, a number for a string, null for a non-nullable
value type, a date-time outside ISO 8601-1) throws a ``JsonException`` at the first such value, and
``[ApiController]`` answers the whole request 400 with a ValidationProblemDetails keyed by the
exception's JSON path (``$[1].call_Length``). The model is the entity's JSON Schema.
"""
from __future__ import annotations

import calendar
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..schemas import merge_all_of, type_and_nullable

# [ApiController]'s automatic 400 (ASP.NET Core 3.x-7; .NET 8 writes the rfc9110 URI instead).
VALIDATION_TYPE = "https://tools.ietf.org/html/rfc7231#section-6.5.1"
VALIDATION_TITLE = "One or more validation errors occurred."


@dataclass(frozen=True)
class JsonOptions:
    """The System.Text.Json options that decide what binds."""

    case_insensitive: bool = True  # PropertyNameCaseInsensitive
    numbers_from_strings: bool = True  # JsonNumberHandling.AllowReadingFromString
    disallow_unmapped: bool = False  # JsonUnmappedMemberHandling.Disallow


WEB_DEFAULTS = JsonOptions()
# Opt-in strictness for catching client bugs: exact names, no unknown properties, numbers as numbers.
STRICT = JsonOptions(case_insensitive=False, numbers_from_strings=False, disallow_unmapped=True)


class BindingFailed(Exception):
    """The body does not bind: one JsonException (System.Text.Json stops at the first bad value)."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path, self.message = path, message

    def errors(self) -> dict[str, list[str]]:
        """ModelState as ValidationProblemDetails.errors: the exception's path → its message."""
        return {self.path: [self.message]}


def validation_problem(failure: BindingFailed, trace_id: str) -> dict:
    """The ValidationProblemDetails body of [ApiController]'s automatic 400."""
    return {"type": VALIDATION_TYPE, "title": VALIDATION_TITLE, "status": 400,
            "traceId": trace_id, "errors": failure.errors()}


def trace_id(activity_id: str) -> str:
    """A W3C ``traceparent``-style id (what ASP.NET Core 5+ puts in ``traceId``) from the activity id."""
    hex_id = activity_id.replace("-", "").lower().ljust(32, "0")[:32]
    return f"00-{hex_id}-{hex_id[:16]}-00"


# --- paths and positions (the text of the JsonException) ---------------------------------------------

_SPECIAL = set(". '/\"[]()\t\n\r\f\b\\\u0085\u2028\u2029")


def child_path(path: str, name: str) -> str:
    """System.Text.Json's JSON path of a property: ``$.a``, or ``$['a b']`` for special characters."""
    return f"{path}['{name}']" if _SPECIAL & set(name) else f"{path}.{name}"


class _Scanner:
    """Finds where the reader stood when a value failed (the body parsed already, so it is valid JSON)."""

    def __init__(self, raw: bytes):
        self.raw = raw

    def _ws(self, i: int) -> int:
        while i < len(self.raw) and self.raw[i] in b" \t\r\n":
            i += 1
        return i

    def _string_end(self, i: int) -> int:
        i += 1
        while self.raw[i] != 0x22:
            i += 2 if self.raw[i] == 0x5C else 1  # a backslash escapes the next byte
        return i + 1

    def _end(self, i: int) -> int:
        """The index after the value starting at ``i``."""
        raw = self.raw
        if raw[i] == 0x22:
            return self._string_end(i)
        if raw[i] in b"{[":
            depth = 0
            while True:
                if raw[i] == 0x22:
                    i = self._string_end(i)
                    continue
                if raw[i] in b"{[":
                    depth += 1
                elif raw[i] in b"}]":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                i += 1
        while i < len(raw) and raw[i] not in b",]} \t\r\n":
            i += 1
        return i

    def _members(self, i: int):
        """(name, index after the name, value start) of each member of the object at ``i``."""
        i = self._ws(i + 1)
        while self.raw[i] != 0x7D:
            end = self._end(i)
            name = json.loads(self.raw[i:end])
            start = self._ws(self._ws(end) + 1)
            yield name, end, start
            i = self._ws(self._end(start))
            if self.raw[i] == 0x2C:
                i = self._ws(i + 1)

    def _elements(self, i: int):
        i = self._ws(i + 1)
        while self.raw[i] != 0x5D:
            yield i
            i = self._ws(self._end(i))
            if self.raw[i] == 0x2C:
                i = self._ws(i + 1)

    def position(self, steps: list, *, at_name: bool = False) -> tuple[int, int] | None:
        """(LineNumber, BytePositionInLine) after the token the reader failed on: the value at ``steps``
        (an index or a property name each), or its property name (``at_name``: an unmapped property)."""
        try:
            i, name_end = self._ws(0), 0
            for step in steps:
                if isinstance(step, int):
                    i = list(self._elements(i))[step]
                else:  # the last member of that name: the parsed dict kept the last value
                    name_end, i = [(end, start) for name, end, start in self._members(i) if name == step][-1]
        except (IndexError, ValueError):
            return None
        if at_name:
            at = name_end
        else:
            at = i + 1 if self.raw[i] in b"{[" else self._end(i)  # a container fails on its first byte
        line_start = self.raw.rfind(b"\n", 0, at) + 1
        return self.raw.count(b"\n", 0, at), at - line_start


# --- conversion ------------------------------------------------------------------------------------

_INTEGER_TEXT = re.compile(r"-?[0-9]+", re.ASCII)
_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
# ISO 8601-1:2019 extended profile as System.Text.Json reads a DateTime (JsonHelpers.Date.cs):
# a date, or date + 'T' + hh:mm[:ss[.1-16 digits]] + optional Z / +hh / +hh:mm.
_DATETIME_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})"
                            r"(\.[0-9]{1,16})?)?(Z|[+-]([0-9]{2})(?::([0-9]{2}))?)?)?", re.ASCII)
# Emulation choice: System.Text.Json refuses offsets beyond +-14:00 (DateTimeOffset's range); the spec's
# `format: date-time` is RFC 3339, which allows any hh:mm offset, so the mock takes those too.
MAX_OFFSET_HOURS = 23
INT_BOUNDS = {"System.Int32": (-(2**31), 2**31 - 1), "System.Int64": (-(2**63), 2**63 - 1)}


class _Unconvertible(Exception):
    pass


def clr_type(schema: Mapping[str, Any], entity: str = "") -> tuple[str, bool]:
    """The .NET type a property schema stands for, as the message names it, and whether it is a value type."""
    kind, _ = type_and_nullable(schema)
    fmt = schema.get("format")
    if kind == "integer":
        return ("System.Int64" if fmt == "int64" else "System.Int32"), True
    if kind == "number":
        return ("System.Single" if fmt == "float" else "System.Double"), True
    if kind == "boolean":
        return "System.Boolean", True
    if kind == "string":
        return ("System.DateTime", True) if fmt in ("date-time", "date") else ("System.String", False)
    if kind == "array":
        return f"System.Collections.Generic.List`1[{clr_type(schema.get('items', {}))[0]}]", False
    return (entity or "System.Object"), False


def datetime_text(value: str) -> str | None:
    """A DateTime System.Text.Json reads, spelled so RFC 3339 readers take it (seconds, ``+hh:mm``); else None."""
    found = _DATETIME_TEXT.fullmatch(value)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, zone, zone_h, zone_m = found.groups()
    year, month, day = int(year), int(month), int(day)
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    if hour is None:
        return value + "T00:00:00"
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return None
    if zone_h is not None and (int(zone_h) > MAX_OFFSET_HOURS or int(zone_m or 0) > 59):
        return None
    if zone is not None and zone != "Z" and zone_m is None:
        zone += ":00"
    return f"{value[:10]}T{hour}:{minute}:{second or '00'}{fraction or ''}{zone or ''}"


def _scalar(value: Any, node: "_Node", options: JsonOptions) -> Any:
    kind, clr = node.kind, node.clr
    if kind in ("integer", "number") and isinstance(value, str) and options.numbers_from_strings:
        pattern = _INTEGER_TEXT if kind == "integer" else _NUMBER_TEXT
        if pattern.fullmatch(value) is None:
            raise _Unconvertible()
        value = int(value) if kind == "integer" else json.loads(value)
    if kind == "integer":
        low, high = INT_BOUNDS[clr]
        if type(value) is not int or not low <= value <= high:
            raise _Unconvertible()
        return value
    if kind == "number":
        if type(value) not in (int, float) or not math.isfinite(value):
            raise _Unconvertible()
        return value
    if kind == "boolean":
        if type(value) is not bool:
            raise _Unconvertible()
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise _Unconvertible()
        if clr == "System.DateTime":
            value = datetime_text(value)
            if value is None:
                raise _Unconvertible()
        return value
    return value  # untyped: any JSON


class _Node:
    """What binding needs of one schema, worked out once (a schema is bound once per item of every
    request): its merged form, JSON type, .NET type, and for an object its member names."""

    __slots__ = ("kind", "nullable", "clr", "value_type", "shown", "is_object", "properties", "exact",
                 "folded", "items", "passes", "children", "_schema")

    def __init__(self, schema: Mapping[str, Any], entity: str):
        self._schema = schema  # keeps the id the plan cache is keyed by alive
        schema = merge_all_of(schema)
        self.kind, self.nullable = type_and_nullable(schema)
        self.clr, self.value_type = clr_type(schema, entity)
        self.shown = f"System.Nullable`1[{self.clr}]" if self.value_type and self.nullable else self.clr
        self.is_object = self.kind == "object" or (self.kind is None and "properties" in schema)
        self.properties = schema.get("properties")
        if self.properties is not None:
            self.exact = {name: name for name in self.properties}
            folded = {name.upper(): name for name in reversed(list(self.properties))}  # first declared wins
            self.folded = {**folded, **self.exact}  # an exact match wins over a folded one
        self.items = schema.get("items", {})
        self.passes = _passes(self.kind, self.clr)
        # Each member's node, built with this one (specs.py refuses recursive $refs: the tree is finite).
        self.children = {name: _node(sub) for name, sub in (self.properties or {}).items()}

    def member(self, name: str, case_insensitive: bool) -> str | None:
        if not case_insensitive:
            return self.exact.get(name)
        return self.folded.get(name) or self.folded.get(name.upper())


def _passes(kind: str | None, clr: str) -> Callable[[Any], bool] | None:
    """Whether a JSON value binds to this scalar unchanged (under any options): most values of a body
    do, and skip the general conversion."""
    if kind == "string" and clr != "System.DateTime":
        return lambda value: type(value) is str
    if kind == "integer":
        low, high = INT_BOUNDS[clr]
        return lambda value: type(value) is int and low <= value <= high
    if kind == "number":
        return lambda value: type(value) is int or (type(value) is float and math.isfinite(value))
    if kind == "boolean":
        return lambda value: type(value) is bool
    return None


_PLANS: dict[tuple[int, str], _Node] = {}


def _node(schema: Mapping[str, Any], entity: str = "") -> _Node:
    """The plan of a schema (spec schemas live as long as the server; the node holds its schema)."""
    node = _PLANS.get((id(schema), entity))
    if node is None or node._schema is not schema:
        node = _PLANS[(id(schema), entity)] = _Node(schema, entity)
    return node


class Binder:
    """Binds a JSON array of one model (an entity's JSON Schema) the way System.Text.Json does."""

    def __init__(self, model: Mapping[str, Any], name: str, options: JsonOptions = WEB_DEFAULTS,
                 raw: bytes | None = None):
        self.model, self.name, self.options = model, name, options
        self.scanner = _Scanner(raw) if raw else None

    def bind_array(self, items: list) -> list:
        node = _node(self.model, self.name)
        return [self._value(item, node, [index], self.name) for index, item in enumerate(items)]

    def _fail(self, steps: list, message: str, *, at_name: bool = False) -> BindingFailed:
        path = "$"
        for step in steps:
            path = f"{path}[{step}]" if isinstance(step, int) else child_path(path, step)
        where = self.scanner.position(steps, at_name=at_name) if self.scanner else None
        suffix = f" | LineNumber: {where[0]} | BytePositionInLine: {where[1]}" if where else ""
        return BindingFailed(path, f"{message} Path: {path}{suffix}.")

    def _value(self, value: Any, node: _Node, steps: list, entity: str = "") -> Any:
        if value is None:
            if node.value_type and not node.nullable:  # null for an int, bool, DateTime, ...
                raise self._fail(steps, f"The JSON value could not be converted to {node.clr}.")
            return None  # a reference type (string, object) takes null; nullability is validated later
        if node.is_object:
            if not isinstance(value, dict):
                raise self._fail(steps, f"The JSON value could not be converted to {node.shown}.")
            return self._object(value, node, steps, entity)
        if node.kind == "array":
            if not isinstance(value, list):
                raise self._fail(steps, f"The JSON value could not be converted to {node.shown}.")
            items = _node(node.items)
            return [self._value(v, items, [*steps, i]) for i, v in enumerate(value)]
        try:
            return _scalar(value, node, self.options)
        except _Unconvertible:
            raise self._fail(steps, f"The JSON value could not be converted to {node.shown}.") from None

    def _object(self, value: dict, node: _Node, steps: list, entity: str) -> dict:
        properties = node.properties
        if properties is None:  # a dictionary: any member binds
            return value
        case_insensitive = self.options.case_insensitive
        bound: dict[str, Any] = {}
        for sent, member in value.items():
            child = node.children.get(sent)  # a name as declared: what a client of the vendor's spec sends
            target = sent
            if child is None:
                target = node.member(sent, case_insensitive)
                if target is None:
                    if self.options.disallow_unmapped:
                        raise self._fail([*steps, sent], f"The JSON property '{sent}' could not be mapped to any "
                                         f".NET member contained in type '{entity or 'System.Object'}'.", at_name=True)
                    continue
                child = node.children[target]
            if child.passes is not None and child.passes(member):
                bound[target] = member
            else:
                bound[target] = self._value(member, child, [*steps, sent])
        return bound
