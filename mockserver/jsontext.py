"""Strict JSON reading for everything the server parses from a client (bodies, the fault header).

Python's ``json`` accepts ``NaN``, ``Infinity`` and numbers too large for a float (``1e400`` → inf)
and writes them back as ``NaN``/``Infinity``, which is not JSON: an answer echoing one (a batch
item's key, the journal, a fault rule) would break every strict client parser. And a value nested
a few thousand levels deep overflows the parser's (or later the encoder's) recursion: a 500. So
every parse goes through ``loads``, which refuses all three as invalid JSON (a 400 where it is a
request).
"""
from __future__ import annotations

import json
import math
from typing import Any

import orjson

# Emulation choice: JSON nested deeper than this is refused (System.Text.Json's default MaxDepth,
# what VBA's ASP.NET API parses with); no vendor body or control-plane document needs more.
MAX_DEPTH = 64
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


# orjson reads an integer past 64 bits as a float: a text with a run of 19+ digits takes the stdlib
# parser. Found by mapping every digit to "0" and anything else to " " (bytes.translate, in C) and looking
# for 19 zeros: ~20x faster than a regular expression's scan, which cost ~8% of a 10-item batch.
_DIGIT_MAP = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"0" * 19


def long_digit_run(data: bytes) -> bool:
    """Whether the text holds a run of 19 or more ASCII digits (an integer orjson may not hold)."""
    return _LONG_RUN in data.translate(_DIGIT_MAP)


def loads(raw: str | bytes) -> Any:
    """JSON text (bytes must be UTF-8) → value; ValueError (UnicodeDecodeError, JSONDecodeError
    included) if it is not strict JSON or is nested more than MAX_DEPTH levels deep.

    orjson first (strict RFC 8259: it refuses NaN, Infinity and out-of-range numbers itself, and
    whatever it takes the stdlib takes with the same value); a text it refuses goes through the
    stdlib parser, whose verdict and message stand (it also takes lone surrogates, as before)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    value: Any = _NOT_PARSED
    if not long_digit_run(data):
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    if value is _NOT_PARSED:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        try:
            value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError:
            raise ValueError(TOO_DEEP) from None
    # Fewer brackets than MAX_DEPTH cannot nest deeper (counted in C; most bodies stop here).
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and depth(value) > MAX_DEPTH:
        raise ValueError(TOO_DEEP)
    return value


_NOT_PARSED = object()


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; TypeError for what JSON cannot hold. orjson, or the stdlib past 64-bit ints."""
    try:
        return orjson.dumps(value)
    except TypeError:
        try:  # UTF-8 as orjson writes it (a line's text is searched for), ASCII if a lone surrogate forbids
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            try:
                return text.encode()
            except UnicodeEncodeError:
                return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
        except ValueError as exc:
            raise TypeError(str(exc)) from None


def depth(value: Any) -> int:
    """Levels of arrays/objects (a scalar is 0, ``[]`` is 1), counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, level = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def non_finite_path(data: Any, path: str = "") -> str | None:
    """Where a NaN or infinite float sits in an already parsed value (YAML's ``.inf``), or None."""
    if isinstance(data, float) and not math.isfinite(data):
        return path or "(the value)"
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = non_finite_path(value, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None
