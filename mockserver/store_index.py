"""Ordered indexes: a field's distinct values kept sorted, each with the keys that hold it.

``OrderedIndex`` is maintained on every write (tenant_state.py) like the equality ``Index``: a put
moves one key from its old value's bucket to its new one (a bisect into the sorted distinct values
when the value is new). Queries read it without touching a record: a range of values is a bisect, a
predicate on values (substring, case-insensitive equality) visits each distinct value once, and
``walk`` yields keys in a multi-field order (ties broken by key) from a keyset bound, lazily, so a
page costs what it shows.

Values of every JSON type share one order (``sort_key``): booleans, then numbers, then strings, then
other values by their JSON text, and null last (PostgreSQL's default: NULLS LAST ascending).
"""
from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

SortKey = tuple  # (rank, value): comparable across every JSON type
NULL_RANK = 4
NULL_KEY: SortKey = (NULL_RANK, "")
# Below this many candidates, a level sorts them outright instead of walking its values in order.
SMALL_RUN = 512


def sort_key(value: Any) -> SortKey:
    """The position of a JSON value in the order every ordered index and query shares."""
    if value is None:
        return NULL_KEY
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, json.dumps(value, sort_keys=True))


def key_value(key: SortKey) -> Any:
    """The JSON value a sort key was made from (``sort_key``'s inverse)."""
    if key == NULL_KEY:
        return None
    return json.loads(key[1]) if key[0] == 3 else key[1]


def field_value(record: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(record, dict):
            return None
        record = record.get(name)
    return record


class OrderedIndex:
    """Keys by the value at one field path, the distinct values in order (a missing field is null)."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path
        self.values: list[SortKey] = []  # distinct, ascending
        self.buckets: dict[SortKey, dict[str, None]] = {}
        self.of: dict[str, SortKey] = {}

    def add(self, key: str, record: Any) -> None:
        value = sort_key(field_value(record, self.path))
        self.of[key] = value
        bucket = self.buckets.get(value)
        if bucket is None:
            bucket = self.buckets[value] = {}
            bisect.insort(self.values, value)
        bucket[key] = None

    def remove(self, key: str) -> None:
        value = self.of.pop(key, None)
        if value is None:
            return
        bucket = self.buckets[value]
        bucket.pop(key, None)
        if not bucket:
            del self.buckets[value]
            del self.values[bisect.bisect_left(self.values, value)]

    def keys(self, value: Any) -> Mapping[str, None]:
        """The keys whose value equals ``value`` (a JSON value)."""
        return self.buckets.get(sort_key(value), {})

    def between(self, low: SortKey | None, high: SortKey | None, *, low_inclusive: bool = True,
                high_inclusive: bool = True) -> Iterator[Mapping[str, None]]:
        """The buckets of the values in a range (None: unbounded on that side)."""
        lo = 0 if low is None else (bisect.bisect_left if low_inclusive else bisect.bisect_right)(self.values, low)
        hi = len(self.values) if high is None else \
            (bisect.bisect_right if high_inclusive else bisect.bisect_left)(self.values, high)
        for value in self.values[lo:hi]:
            yield self.buckets[value]

    def where(self, predicate: Callable[[Any], bool]) -> Iterator[Mapping[str, None]]:
        """The buckets of the values ``predicate`` accepts (called once per distinct value, with the
        JSON value; other values of an object type come as their JSON text)."""
        for value in self.values:
            if predicate(None if value == NULL_KEY else value[1]):
                yield self.buckets[value]


def union(buckets: Iterator[Mapping[str, None]]) -> set[str]:
    keys: set[str] = set()
    for bucket in buckets:
        keys.update(bucket)
    return keys


class Without:
    """The keys of ``keys`` (every key of a table) but ``excluded``, without building the set: as
    ``Order.walk`` candidates (which it tests only for keys the indexes hold, i.e. stored ones)."""

    def __init__(self, keys: Sequence[str], excluded: Collection[str]) -> None:
        self._keys, self._excluded = keys, excluded

    def __contains__(self, key: object) -> bool:
        return key not in self._excluded

    def __len__(self) -> int:
        return len(self._keys) - len(self._excluded)

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._keys if key not in self._excluded)


class Meet:
    """The keys every one of ``parts`` holds, without building the set: a run of a level inside the
    candidates of the levels above. Its ``len`` is an upper bound (the smallest part's)."""

    def __init__(self, parts: Sequence[Collection[str]]) -> None:
        self._parts = sorted(parts, key=len)

    def __contains__(self, key: object) -> bool:
        return all(key in part for part in self._parts)

    def __len__(self) -> int:
        return len(self._parts[0])

    def __iter__(self) -> Iterator[str]:
        first, rest = self._parts[0], self._parts[1:]
        return (key for key in first if all(key in part for part in rest))


def _meet(bucket: Mapping[str, None], candidates: Collection[str] | None) -> Collection[str]:
    """A level's run: the bucket's keys among the candidates (a set when either side is small, else a
    lazy ``Meet``, so a big run costs nothing until a page is taken from it)."""
    if candidates is None:
        return bucket
    if min(len(bucket), len(candidates)) > SMALL_RUN:
        parts = [bucket, *(candidates._parts if isinstance(candidates, Meet) else [candidates])]
        return Meet(parts)
    small, large = (bucket, candidates) if len(bucket) <= len(candidates) else (candidates, bucket)
    return {key for key in small if key in large}


def _position(levels: Sequence[tuple[OrderedIndex, bool]], key: str) -> tuple:
    return (*(index.of.get(key, NULL_KEY) for index, _ in levels), key)


def _beyond(levels: Sequence[tuple[OrderedIndex, bool]], position: tuple, bound: tuple, reverse: bool) -> bool:
    for depth, (mine, theirs) in enumerate(zip(position, bound)):
        if mine != theirs:
            descending = levels[depth][1] if depth < len(levels) else False
            return (mine > theirs) != (descending != reverse)
    return False


class Order:
    """A multi-field order: ``levels`` are (index, descending) pairs, ties broken by key ascending
    (descending too when the whole walk is reversed). ``sorted_keys`` is every key, ascending."""

    def __init__(self, levels: Sequence[tuple[OrderedIndex, bool]], sorted_keys: Sequence[str]) -> None:
        self.levels = list(levels)
        self.sorted_keys = sorted_keys

    def position(self, key: str) -> tuple:
        """The key's place in this order: its sort key at each level, then the key."""
        return _position(self.levels, key)

    def is_beyond(self, position: tuple, bound: tuple, reverse: bool = False) -> bool:
        """Whether ``position`` comes strictly after ``bound`` when walking (reversed or not)."""
        return _beyond(self.levels, position, bound, reverse)

    def walk(self, candidates: Collection[str] | None = None, bound: tuple | None = None, *,
             reverse: bool = False, inclusive: bool = False) -> Iterator[str]:
        """Keys among ``candidates`` (None: all) in this order, from just past ``bound`` (a
        ``position``; at it when ``inclusive``), lazily."""
        return self._walk(0, candidates, bound, reverse, inclusive)

    def _walk(self, depth: int, candidates, bound, reverse, inclusive) -> Iterator[str]:
        if candidates is not None and len(candidates) <= SMALL_RUN:
            yield from self._sorted(depth, candidates, bound, reverse, inclusive)
            return
        if depth == len(self.levels):
            yield from self._keys(candidates, None if bound is None else bound[0], reverse, inclusive)
            return
        index, descending = self.levels[depth]
        backwards = descending != reverse
        values = index.values
        if bound is None:
            span = range(len(values) - 1, -1, -1) if backwards else range(len(values))
        elif backwards:
            span = range(bisect.bisect_right(values, bound[0]) - 1, -1, -1)
        else:
            span = range(bisect.bisect_left(values, bound[0]), len(values))
        for at in span:
            value = values[at]
            run = _meet(index.buckets[value], candidates)
            if run:
                rest = bound[1:] if bound is not None and value == bound[0] else None
                yield from self._walk(depth + 1, run, rest, reverse, inclusive)

    def _keys(self, candidates, bound: str | None, reverse: bool, inclusive: bool) -> Iterator[str]:
        """The last level: keys in key order, walking the sorted key list and skipping non-candidates."""
        keys = self.sorted_keys
        if reverse:
            start = len(keys) if bound is None else (bisect.bisect_right if inclusive else bisect.bisect_left)(keys, bound)
            span = range(start - 1, -1, -1)
        else:
            start = 0 if bound is None else (bisect.bisect_left if inclusive else bisect.bisect_right)(keys, bound)
            span = range(start, len(keys))
        for at in span:
            key = keys[at]
            if candidates is None or key in candidates:
                yield key

    def _sorted(self, depth: int, candidates, bound, reverse: bool, inclusive: bool) -> Iterator[str]:
        """A small run: sort it by the remaining levels (stable passes, least significant first)."""
        levels = self.levels[depth:]
        run = sorted(candidates, reverse=reverse)
        for index, descending in reversed(levels):
            of = index.of
            run.sort(key=lambda key: of.get(key, NULL_KEY), reverse=descending != reverse)
        for key in run:
            if bound is None or _beyond(levels, _position(levels, key), bound, reverse) \
                    or (inclusive and _position(levels, key) == bound):
                yield key


__all__ = ["NULL_KEY", "Order", "OrderedIndex", "SortKey", "Without", "field_value", "key_value", "sort_key", "union"]
