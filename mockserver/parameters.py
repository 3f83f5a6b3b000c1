"""Validate an operation's path, query and header parameters against their spec schemas.

HTTP gives strings; the spec types them. A value is coerced only when the string is exactly the
JSON spelling of that type ("12" → 12, "true" → True; not "05", " 5" or "+5": schemas.scalar_from_text),
then validated by the generated field. A query parameter is given once: repeated (``first=1&first=2``)
it is an error naming it, as a repeated deepObject property is, unless it is an exploded array
(``a=1&a=2``). A query string that is not UTF-8 once percent-decoded is an error naming the parameter.
A ``style: deepObject`` query parameter is read from its ``name[property]=value`` keys into an
object (each property coerced by its own schema; a property given twice is an error), as OpenAPI
serializes it. A spec whose top-level ``x-mockserver`` says ``unknown-query-parameters: reject`` also rejects query
parameters it does not declare (a misspelt option must not silently fall back to its default).
"""
from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import unquote_to_bytes

from marshmallow import ValidationError

from .schemas import NOT_SPELLED, flatten_errors, scalar_from_text, type_and_nullable
from .specs import Operation, Parameter

_MISSING = object()
REPEATED = "Given more than once."
DEEP_OBJECT_KEY = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<prop>[^\[\]]*)\]$")


def coerce(schema: Mapping[str, Any], raw: Any) -> Any:
    kind, _ = type_and_nullable(schema)
    if isinstance(raw, list):
        if kind == "array":
            return [coerce(schema.get("items", {}), item) for item in raw]
        raw = raw[0]
    if not isinstance(raw, str):
        return raw
    if kind in ("integer", "number", "boolean"):
        value = scalar_from_text(kind, raw)
        return raw if value is NOT_SPELLED else value
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
        if param.style == "deepObject":
            raw, repeated = _deep_object(param, raw)
            errors.extend((f"{param.name}[{prop}]", REPEATED) for prop in repeated)
        elif param.location == "query" and len(raw) > 1 and not _repeatable(param):
            errors.append((param.name, REPEATED))
            continue
        elif param.location == "query" and not param.explode:
            raw = raw[0]  # one value, comma-separated (coerce splits an array's)
        try:
            values[param.location][param.name] = param.field.deserialize(coerce(param.schema, raw))
        except ValidationError as exc:
            errors.extend((_error_path(param, p), m) for p, m in flatten_errors(exc.messages))
    errors.extend((p.name, f"Give it as {p.name}[<property>]=<value> (a deepObject).") for p in op.parameters
                  if p.location == "query" and p.style == "deepObject" and p.name in query)
    if op.spec.extension.get("unknown-query-parameters") == "reject":
        deep = {p.name for p in op.parameters if p.location == "query" and p.style == "deepObject"}
        unknown = [name for name in sorted(set(query) - known_query_names(op))
                   if not ((match := DEEP_OBJECT_KEY.match(name)) and match["name"] in deep)]
        errors.extend((name, "Unknown query parameter.") for name in unknown)
    return values, errors


def _error_path(param: Parameter, path: str) -> str:
    if not path:
        return param.name
    if param.style == "deepObject":
        prop, _, rest = path.partition(".")
        return f"{param.name}[{prop}]" + (f".{rest}" if rest else "")
    return f"{param.name}.{path}"


def _deep_object(param: Parameter, raw: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """``{"caller_id": ["x"]}`` → ``{"caller_id": <coerced "x">}``, and the properties given twice."""
    props = param.schema.get("properties", {})
    extra = param.schema.get("additionalProperties")
    out, repeated = {}, []
    for prop, got in raw.items():
        if len(got) > 1:
            repeated.append(prop)
        sub = props.get(prop, extra if isinstance(extra, Mapping) else {})
        out[prop] = coerce(sub, got[-1])
    return out, repeated


def _repeatable(param: Parameter) -> bool:
    """Only an exploded array is sent as repeated values (``a=1&a=2``); any other parameter once."""
    return param.explode and type_and_nullable(param.schema)[0] == "array"


def undecodable(query_string: bytes) -> list[tuple[str, str]]:
    """The parameters of a raw query string whose name or value is not UTF-8 once percent-decoded
    (a server that replaced the bytes with U+FFFD would answer for text nobody sent)."""
    errors = []
    for pair in query_string.split(b"&"):
        name, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            name.decode("utf-8"), value.decode("utf-8")
        except UnicodeDecodeError:
            errors.append((name.decode("utf-8", "replace"), "Not UTF-8 text once percent-decoded."))
    return errors


def known_query_names(op: Operation) -> set[str]:
    """Declared query parameters plus API keys the security schemes read from the query."""
    names = {p.name for p in op.parameters if p.location == "query"}
    names |= {s["name"] for s in op.security_schemes.values() if s.get("type") == "apiKey" and s.get("in") == "query"}
    return names


def _raw(param: Parameter, path, query, headers) -> Any:
    if param.location == "path":
        return path.get(param.name, _MISSING)
    if param.location == "query":
        if param.style == "deepObject":
            found = {m["prop"]: got for key, got in query.items()
                     if (m := DEEP_OBJECT_KEY.match(key)) and m["name"] == param.name and got}
            return found if found else _MISSING
        got = query.get(param.name)
        return got if got else _MISSING  # a list; more than one value only for an exploded array
    if param.location == "header":
        return headers.get(param.name.lower(), _MISSING)
    return _MISSING
