"""Pipeliner's ``Calls.list``: filters, order, cursors and the page, answered from the store's indexes.

``filter[field]=value`` with ``filter-op[field]=op`` (every filter must hold) selects keys from the
field's ordered index (store_index.py): ``eq`` is a bucket, ranges are bisects, text operators visit
each distinct value once; no record is decoded to filter or order. ``order-by`` (``-`` descending,
ties by id) is an ``Order`` walked lazily from the cursor, so a page costs about what it shows.

Cursors are the vendor's shape (``WyIwMzU4...`` = base64 of ``["0358...-..."]``): the base64 of a JSON
array of the record's ``order-by`` values followed by its id. ``after``/``before`` bound a window;
``first`` N are taken from its start, ``last`` M from its end (both: the last M of the first N).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Collection, Iterator, Mapping

from ..schemas import FORMAT_CHECKS, NOT_SPELLED, scalar_from_text, type_and_nullable
from ..store import Records
from ..store_index import NULL_KEY, Order, OrderedIndex, Without, key_value, sort_key, union

DEFAULT_FIRST = 30  # the vendor's default page size ("Max: 100. Default: 30")

UNARY = {"null", "not-null", "empty", "not-empty"}  # the value is ignored
TEXT_ONLY = {"ieq", "not-ieq", "contains", "starts", "ends", "icontains", "istarts", "iends"}


class ListError(ValueError):
    """Bad list input; ``errors`` are (parameter, message) pairs, answered as a 400."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))
        self.errors = errors


def _text(predicate: Callable[[str, str], bool], fold: bool = False) -> Callable[[OrderedIndex, Any], set]:
    """A text operator: the values that are strings and pass ``predicate(value, wanted)``. Emulation
    choice, as SQL compares: null never passes a comparison (nor its negation)."""

    def select(index: OrderedIndex, wanted: Any) -> set:
        want = wanted.lower() if fold else wanted
        return union(index.where(lambda v: isinstance(v, str) and predicate(v.lower() if fold else v, want)))

    return select


def _range(low: bool, high: bool, inclusive: bool) -> Callable[[OrderedIndex, Any], set]:
    """gt/gte/lt/lte: the values of the wanted value's type on one side of it."""

    def select(index: OrderedIndex, wanted: Any) -> set:
        key = sort_key(wanted)
        rank = key[0]
        return union(index.between(key if low else (rank,), (rank + 1,) if low else key,
                                   low_inclusive=inclusive or not low, high_inclusive=inclusive and high))

    return select


def _between(index: OrderedIndex, wanted: tuple[Any, Any]) -> set:
    return union(index.between(sort_key(wanted[0]), sort_key(wanted[1])))


def _not_eq(index: OrderedIndex, wanted: Any) -> set:
    key = sort_key(wanted)
    return union(index.buckets[v] for v in index.values if v != key and v != NULL_KEY)


def _empty(index: OrderedIndex, wanted: Any) -> set:
    return {*index.keys(None), *index.keys("")}


def _not_empty(index: OrderedIndex, wanted: Any) -> set:
    return union(index.where(lambda v: v is not None and v != ""))


# The vendor's filter operators (its spec's enum), each: (ordered index, typed value) → matching keys.
OPERATORS: dict[str, Callable[[OrderedIndex, Any], Collection[str]]] = {
    "eq": lambda index, wanted: index.keys(wanted),
    "ieq": _text(lambda v, w: v == w, fold=True),
    "not-eq": _not_eq,
    "not-ieq": _text(lambda v, w: v != w, fold=True),
    "contains": _text(lambda v, w: w in v),
    "starts": _text(lambda v, w: v.startswith(w)),
    "ends": _text(lambda v, w: v.endswith(w)),
    "icontains": _text(lambda v, w: w in v, fold=True),
    "istarts": _text(lambda v, w: v.startswith(w), fold=True),
    "iends": _text(lambda v, w: v.endswith(w), fold=True),
    "null": lambda index, wanted: index.keys(None),
    "not-null": lambda index, wanted: union(index.between(None, NULL_KEY, high_inclusive=False)),
    "empty": _empty,
    "not-empty": _not_empty,
    "gt": _range(low=True, high=False, inclusive=False),
    "gte": _range(low=True, high=False, inclusive=True),
    "lt": _range(low=False, high=True, inclusive=False),
    "lte": _range(low=False, high=True, inclusive=True),
    "between": _between,
}


@dataclass(frozen=True)
class Spellings:
    """How the store spells values, so a filter or cursor value compares as stored: ``uuid`` turns a
    valid uuid into its stored spelling; ``instant`` turns a date-time of a ``timestamps`` field into its
    stored spelling (None: not a date-time)."""

    uuid: Callable[[str], str] = str
    instant: Callable[[str], str | None] = lambda text: text
    timestamps: frozenset[str] = frozenset()


def typed(name: str, schema: Mapping[str, Any], raw: str, where: str, spellings: Spellings = Spellings()) -> Any:
    """A filter's text as a value of field ``name``: booleans ``true``/``false``, numbers in JSON's
    spelling, uuids valid and in their stored spelling, date-times as stored, enums one of theirs.
    A text the field cannot hold is a ListError naming ``where``."""
    kind, _ = type_and_nullable(schema)
    if kind in ("boolean", "integer", "number"):
        value = scalar_from_text(kind, raw)
        if value is NOT_SPELLED:
            wanted = "a boolean (true or false)" if kind == "boolean" else f"an {kind}" if kind == "integer" else "a number"
            raise ListError([(where, f"{raw!r} is not {wanted}.")])
        return value
    return _string_value(name, schema, raw, where, spellings)


def _string_value(name: str, schema: Mapping[str, Any], text: str, where: str, spellings: Spellings) -> str:
    if name in spellings.timestamps:
        instant = spellings.instant(text)
        if instant is None:
            raise ListError([(where, f"{text!r} is not a date-time (2019-01-01T00:00:00, a zone optional).")])
        return instant
    if schema.get("format") == "uuid":
        if not FORMAT_CHECKS["uuid"][0](text):
            raise ListError([(where, f"{text!r} is not a uuid.")])
        return spellings.uuid(text)
    if "enum" in schema and text not in schema["enum"]:
        raise ListError([(where, f"{text!r} is not one of: {', '.join(map(str, schema['enum']))}.")])
    return text


@dataclass
class ListQuery:
    """``Calls.list``'s parameters, checked against the entity's fields."""

    first: int | None
    last: int | None
    after: tuple | None
    before: tuple | None
    order: list[tuple[str, bool]]
    filters: dict[str, tuple[str, Any]] = field(default_factory=dict)
    include_deleted: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]], key: str,
              spellings: Spellings = Spellings()) -> "ListQuery":
        """``fields``: the entity's field schemas; ``key``: its key field (a cursor's last value)."""
        errors: list[tuple[str, str]] = []
        order = [(name.lstrip("-"), name.startswith("-")) for name in query.get("order-by") or ()]
        seen = [name for name, _ in order]
        errors += [("order-by", f"{name} is given more than once.") for name in sorted(set(seen)) if seen.count(name) > 1]
        errors += [("order-by", f"{name} is not a field of the Call.") for name in seen if name not in fields]
        filters = {}
        values, operators = query.get("filter") or {}, query.get("filter-op") or {}
        for name in sorted(set(values) | set(operators)):
            op = operators.get(name, "eq")
            where = f"filter[{name}]"
            if name not in fields:
                errors.append((where, f"{name} is not a field of the Call."))
            elif op not in OPERATORS:
                errors.append((f"filter-op[{name}]", f"{op!r} is not an operator ({', '.join(OPERATORS)})."))
            elif name not in values and op not in UNARY:
                errors.append((where, f"filter-op[{name}]={op} needs a value."))
            elif op in TEXT_ONLY and type_and_nullable(fields[name])[0] != "string":
                errors.append((f"filter-op[{name}]", f"{op} compares text; {name} is not a text field."))
            else:
                try:
                    filters[name] = (op, cls._value(op, name, values.get(name), fields[name], where, spellings))
                except ListError as exc:
                    errors += exc.errors
        cursors = {}
        for name in ("after", "before"):
            if query.get(name) is not None:
                try:
                    cursors[name] = decode_cursor(query[name], [(f, fields.get(f, {})) for f, _ in order], (key, fields[key]),
                                                  name, spellings)
                except ListError as exc:
                    errors += exc.errors
        if errors:
            raise ListError(errors)
        return cls(first=query.get("first"), last=query.get("last"), after=cursors.get("after"),
                   before=cursors.get("before"), order=order, filters=filters,
                   include_deleted=bool(query.get("include-deleted", False)))

    @staticmethod
    def _value(op: str, name: str, raw: str | None, schema: Mapping[str, Any], where: str,
               spellings: Spellings) -> Any:
        if op in UNARY:
            return None
        if op in TEXT_ONLY:
            return raw  # any text: a part of a uuid, a date or an enum value is a fair search
        if op == "between":
            parts = raw.split(",")
            if len(parts) != 2:
                raise ListError([(where, "between takes two values: low,high.")])
            return typed(name, schema, parts[0], where, spellings), typed(name, schema, parts[1], where, spellings)
        return typed(name, schema, raw, where, spellings)


# --- cursors -------------------------------------------------------------------------------------

def encode_cursor(values: list[Any]) -> str:
    return base64.b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(text: str, order_fields: list[tuple[str, Mapping[str, Any]]], key: tuple[str, Mapping[str, Any]],
                  name: str, spellings: Spellings = Spellings()) -> tuple:
    """A cursor → its position (sort keys, then the key). It must hold one value per ``order-by``
    field, each null or a value that field can hold (as a filter value must), then a key. Emulation
    choice: a cursor of another order-by whose values the current fields can hold is read as a position
    in the current order (a cursor carries values, not the order it came from)."""
    try:
        values = json.loads(base64.b64decode(text.encode(), validate=True))
    except (ValueError, binascii.Error, UnicodeError):
        values = None
    if not (isinstance(values, list) and len(values) == len(order_fields) + 1):
        raise ListError([(name, "Not a cursor of this listing: pass a page_info cursor of a page listed "
                                "with the same order-by.")])
    checked = []
    for value, (field_name, schema) in zip(values, [*order_fields, key]):
        if value is None and field_name != key[0]:
            checked.append(None)
            continue
        kind, _ = type_and_nullable(schema)
        fits = isinstance(value, bool) if kind == "boolean" else isinstance(value, str) if kind in ("string", None) \
            else isinstance(value, (int, float)) and not isinstance(value, bool)
        try:
            if not fits:
                raise ListError([])
            checked.append(_string_value(field_name, schema, value, name, spellings) if isinstance(value, str) else value)
        except ListError:
            raise ListError([(name, f"Not a cursor of this order-by: {field_name} cannot be {value!r}; pass a "
                                    "page_info cursor of a page listed with the same order-by.")]) from None
    return (*(sort_key(value) for value in checked[:-1]), checked[-1])


def cursor_of(order: Order, key: str) -> str:
    position = order.position(key)
    return encode_cursor([*(key_value(part) for part in position[:-1]), key])


# --- the page ------------------------------------------------------------------------------------

@dataclass
class Page:
    keys: list[str]
    cursors: tuple[str | None, str | None]
    has_previous: bool
    has_next: bool
    total: int


def candidates(records: Records, order: Order, query: ListQuery, deleted_field: str) -> Collection[str] | None:
    """The keys passing every filter (None: every key), without deleted ones unless asked for."""
    sets = [OPERATORS[op](records.ordered((name,)), value) for name, (op, value) in query.filters.items()]
    deleted = () if query.include_deleted else records.ordered((deleted_field,)).keys(True)
    if not sets:
        return Without(order.sorted_keys, deleted) if deleted else None
    sets.sort(key=len)
    chosen = set(sets[0])
    for other in sets[1:]:
        chosen = {key for key in chosen if key in other}
    return {key for key in chosen if key not in deleted} if deleted else chosen


def page(records: Records, query: ListQuery, deleted_field: str) -> Page:
    """The keys of one page and its page_info, walking the order from the cursors."""
    order = records.order([((name,), descending) for name, descending in query.order])
    allowed = candidates(records, order, query, deleted_field)
    total = len(records) if allowed is None else len(allowed)

    def within(walk: Iterator[str], bound: tuple | None, reverse: bool) -> Iterator[str]:
        for key in walk:
            if bound is not None and not order.is_beyond(bound, order.position(key), reverse):
                return  # reached the window's other end
            yield key

    first, last = query.first, query.last
    if first is None and last is None:
        first = DEFAULT_FIRST
    if first is not None:
        keys = list(islice(within(order.walk(allowed, query.after), query.before, False), first))
        if last is not None:
            keys = keys[-last:]
    else:
        keys = list(islice(within(order.walk(allowed, query.before, reverse=True), query.after, True), last))[::-1]

    def exists(bound: tuple | None, reverse: bool, inclusive: bool = False) -> bool:
        return bound is not None and next(order.walk(allowed, bound, reverse=reverse, inclusive=inclusive),
                                          None) is not None

    if keys:  # is anything listed before the page's first Call, after its last one?
        has_previous = exists(order.position(keys[0]), True)
        has_next = exists(order.position(keys[-1]), False)
        cursors = (cursor_of(order, keys[0]), cursor_of(order, keys[-1]))
    else:  # an empty window: is anything at or past its ends?
        has_previous = exists(query.after, True, inclusive=True)
        has_next = exists(query.before, False, inclusive=True)
        cursors = (None, None)
    return Page(keys, cursors, has_previous, has_next, total)


__all__ = ["DEFAULT_FIRST", "ListError", "ListQuery", "OPERATORS", "Page", "Spellings", "decode_cursor", "encode_cursor",
           "page", "typed"]
