"""Validate an operation's path, query and header parameters against their spec schemas.

HTTP gives strings; the spec types them. A value is coerced only when the string is exactly the
JSON spelling of that type ("12" → 12, "true" → True), then validated by the generated field.
A spec whose top-level ``x-mockserver`` says ``unknown-query-parameters: reject`` also rejects query
parameters it does not declare (a misspelt option must not silently fall back to its default).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from marshmallow import ValidationError

from .schemas import flatten_errors, type_and_nullable
from .specs import Operation, Parameter

_MISSING = object()


def coerce(schema: Mapping[str, Any], raw: Any) -> Any:
    kind, _ = type_and_nullable(schema)
    if isinstance(raw, list):
        if kind == "array":
            return [coerce(schema.get("items", {}), item) for item in raw]
        raw = raw[0]
    if not isinstance(raw, str):
        return raw
    if kind in ("integer", "number", "boolean"):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw
        if kind == "boolean":
            return value if isinstance(value, bool) else raw
        if kind == "integer" and type(value) is int:
            return value
        if kind == "number" and type(value) in (int, float):
            return value
        return raw
    if kind == "array":
        return [coerce(schema.get("items", {}), part) for part in raw.split(",")]
    return raw


def validate_parameters(op: Operation, path: Mapping[str, str], query: Mapping[str, list[str]],
                        headers: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """``({"path": {...}, "query": {...}, "header": {...}}, errors)``; errors name the parameter."""
    values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}, "cookie": {}}
    errors: list[tuple[str, str]] = []
    for param in op.parameters:
        raw = _raw(param, path, query, headers)
        if raw is _MISSING:
            if param.required:
                errors.append((param.name, f"Missing required {param.location} parameter."))
            elif "default" in param.schema:
                values[param.location][param.name] = param.schema["default"]
            continue
        try:
            values[param.location][param.name] = param.field.deserialize(coerce(param.schema, raw))
        except ValidationError as exc:
            errors.extend((f"{param.name}{'.' + p if p else ''}", m) for p, m in flatten_errors(exc.messages))
    if op.spec.extension.get("unknown-query-parameters") == "reject":
        errors.extend((name, "Unknown query parameter.") for name in sorted(set(query) - known_query_names(op)))
    return values, errors


def known_query_names(op: Operation) -> set[str]:
    """Declared query parameters plus API keys the security schemes read from the query."""
    names = {p.name for p in op.parameters if p.location == "query"}
    names |= {s["name"] for s in op.security_schemes.values() if s.get("type") == "apiKey" and s.get("in") == "query"}
    return names


def _raw(param: Parameter, path, query, headers) -> Any:
    if param.location == "path":
        return path.get(param.name, _MISSING)
    if param.location == "query":
        got = query.get(param.name)
        return got if got else _MISSING
    if param.location == "header":
        return headers.get(param.name.lower(), _MISSING)
    return _MISSING
