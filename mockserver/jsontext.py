"""Strict JSON reading for everything the server parses from a client (bodies, the fault header).

Python's ``json`` accepts ``NaN``, ``Infinity`` and numbers too large for a float (``1e400`` → inf)
and writes them back as ``NaN``/``Infinity``, which is not JSON: an answer echoing one (a batch
item's key, the journal, a fault rule) would break every strict client parser. So every parse goes
through ``loads``, which refuses them as invalid JSON (a 400 where it is a request).
"""
from __future__ import annotations

import json
import math
from typing import Any


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def loads(raw: str | bytes) -> Any:
    """JSON text (bytes must be UTF-8) → value; ValueError (UnicodeDecodeError, JSONDecodeError
    included) if it is not strict JSON; RecursionError if nested too deeply."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


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
