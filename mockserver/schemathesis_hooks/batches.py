"""Checks of the VBA and Pipeliner batches (loaded through mockserver.schemathesis_hooks).

The VBA batch endpoints answer a schema-violating item with 207 (the vendor's documented partial
success), so the served schemathesis config lists 207 as an expected status for them. That alone would let a
mock that stores bad items pass; this check closes the gap: every item of a 207 batch that breaks
the item schema once bound (README, VBA: names case-insensitive, numeric strings read as numbers,
unknown properties skipped) must be reported as failed, and must not be what is stored under its key.
A 400 that says the body did not bind must name a value the body really has.

Pipeliner's batches answer 200 with one slot per item (rollback-method=1) or 422 (rollback-method=0),
also for schema-violating items; `batch_failed_items_are_errors_and_not_stored` closes that gap the
same way.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import schemathesis
from openapi_schema_validator import OAS30Validator, OAS31Validator

import yaml

from ..config import shipped_specs_dir
from ..specs import EXTENSION, dereference


@lru_cache(maxsize=None)
def _shipped() -> list[tuple[str, dict]]:
    """(server path prefix as written, dereferenced document) of every shipped spec."""
    out = []
    for path in sorted(Path(shipped_specs_dir()).glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        for server in document.get("servers", []):
            out.append((urlsplit(server["url"]).path.rstrip("/"), dereference(document)))
    return out


def _prefix_pattern(prefix: str) -> str:
    """A server path prefix as a regex: ``/spaces/{space_id}`` matches ``/spaces/demo``."""
    return re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(prefix))


def _match(request_path: str) -> tuple[dict, str] | tuple[None, None]:
    """The shipped spec serving ``request_path`` and the prefix as the request spelled it."""
    for prefix, document in _shipped():
        found = re.match(_prefix_pattern(prefix) + "(?=/)", request_path) if prefix else None
        if found:
            return document, found.group(0)
    return None, None


def _spec(prefix_path: str) -> dict | None:
    """The dereferenced shipped spec whose server path prefixes ``prefix_path``."""
    return _match(prefix_path)[0]


def _validator(document: dict, schema: dict):
    cls = OAS31Validator if str(document.get("openapi", "")).startswith("3.1") else OAS30Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _read_url(request_url: str, document: dict, entity: str, key) -> str | None:
    """The URL of the GET operation that reads ``entity`` by key, if the spec has one."""
    parts = urlsplit(request_url)
    _, prefix = _match(parts.path)
    for template, item in document.get("paths", {}).items():
        op = item.get("get", {})
        ext = op.get(EXTENSION, {})
        if ext.get("action") == "get" and ext.get("entity") == entity:
            name = ext.get("path-key", ext.get("key"))
            path = template.replace("{" + name + "}", quote(str(key), safe=""))
            return f"{parts.scheme}://{parts.netloc}{prefix}{path}"
    return None


def _read(request_url: str, headers: dict, document: dict, entity: str, key) -> dict | None:
    """The record the spec's read operation returns for ``key`` (its ``data``), None when not found."""
    url = _read_url(request_url, document, entity, key)
    if url is None:
        return None
    request = urllib.request.Request(url, headers={k: v for k, v in headers.items()
                                                   if k.lower() not in ("content-type", "content-length")})
    try:
        with urllib.request.urlopen(request, timeout=10) as got:
            return json.loads(got.read())["data"]
    except urllib.error.HTTPError:
        return None


def _assert_not_stored(url: str, headers: dict, document: dict, ext: dict, index: int, items: list, key) -> None:
    """A rejected item's values are not what is stored under its key (nothing stored is fine).

    Only decidable when no other item of the batch names the same key (a valid one may have written
    it) and the item sends something besides its key and the server-managed fields.
    """
    item = items[index]
    if any(isinstance(other, dict) and other.get(ext["key"]) == key for i, other in enumerate(items) if i != index):
        return
    managed = set(ext.get("managed") or {}) | {ext["key"]}
    sent = {k: v for k, v in item.items() if k not in managed}
    record = _read(url, headers, document, ext["entity"], key) if sent else None
    if record is None:
        return
    assert any(record.get(k) != v for k, v in sent.items()), \
        f"item {index} was rejected but its values are stored under {ext['key']}={key}"


_INTEGER_TEXT = re.compile(r"-?[0-9]+", re.ASCII)
_NUMBER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)
_SHORT_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2})?", re.ASCII)


def _as_bound(item, schema: dict):
    """A VBA item as System.Text.Json's web defaults bind it: a property matched case-insensitively,
    a numeric string read as a number, an unknown property skipped, a date (or a time without
    seconds) read as a full date-time. Only what this check must not call invalid; conversion
    failures are the mock's 400."""
    if not isinstance(item, dict):
        return item
    props = schema.get("properties", {})
    folded = {name.upper(): name for name in props}
    bound = {}
    for sent, value in item.items():
        name = sent if sent in props else folded.get(sent.upper())
        if name is None:
            continue
        kind, fmt = props[name].get("type"), props[name].get("format")
        if kind == "integer" and isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
            value = int(value)
        elif kind == "number" and isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
            value = json.loads(value)
        if fmt == "date-time" and isinstance(value, str) and _SHORT_DATETIME.fullmatch(value):
            value += ":00" if "T" in value else "T00:00:00"
        bound[name] = value
    return bound


def _names_a_sent_value(body, path: str) -> bool:
    """``$[1].call_Length`` (or ``$[0]['a b']``) addresses a value of ``body``."""
    node = body
    for index, name, quoted in re.findall(r"\[(\d+)\]|\.([^.\[]+)|\['([^']*)'\]", path[1:]):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return False
            node = node[int(index)]
        else:
            if not isinstance(node, dict) or (name or quoted) not in node:
                return False
            node = node[name or quoted]
    return path.startswith("$")


@schemathesis.check
def batch_unbound_body_names_its_bad_value(ctx, response, case):
    """A VBA 400 ValidationProblemDetails names, by JSON path, a value the request body holds."""
    if response.status_code != 400 or not isinstance(case.body, list):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if not isinstance(errors, dict):
        return None
    assert errors, "a ValidationProblemDetails names at least one value"
    for path in errors:
        assert _names_a_sent_value(case.body, path), f"{path} names no value of the request body"
    return True


@schemathesis.check
def batch_invalid_items_fail_and_are_not_stored(ctx, response, case):
    """A 207 batch: each invalid item is reported >= 400 and is not the record stored under its key."""
    if response.status_code != 207 or not isinstance(case.body, list):
        return None
    url = response.request.url
    path = urlsplit(url).path
    document = _spec(path)
    if document is None:
        return None
    operation = next((item.get("put") for tpl, item in document.get("paths", {}).items()
                      if path.endswith(tpl) and item.get("put", {}).get(EXTENSION, {}).get("action") == "upsert-batch"),
                     None)
    if operation is None:
        return None
    ext = operation[EXTENSION]
    item_schema = document["components"]["schemas"][ext["entity"]]
    validator = _validator(document, item_schema)
    entries = response.json()["data"]
    assert len(entries) == len(case.body), "one data entry per input item"
    headers = {k: v for k, v in response.request.headers.items() if k.lower() != "content-length"}
    items = [_as_bound(item, item_schema) for item in case.body]
    for index, (item, entry) in enumerate(zip(items, entries)):
        if validator.is_valid(item):
            continue
        assert entry["status"] >= 400, f"item {index} violates the schema but was reported {entry['status']}"
        key = item.get(ext["key"]) if isinstance(item, dict) else None
        if not isinstance(key, int) or isinstance(key, bool) or key == 0:
            continue
        _assert_not_stored(url, headers, document, ext, index, items, key)
    return True


SLOT_ACTIONS = ("batch-modify", "batch-delete", "batch-restore")
OVERRIDE_READ_ONLY = 8  # Pipeliner's validation-level bit that lets a client write read-only fields


def _slot_operation(document: dict, path: str, prefix: str) -> dict | None:
    """The POST operation of ``path`` whose action answers one slot per item (Pipeliner's batches)."""
    item = document.get("paths", {}).get(path[len(prefix):], {})
    operation = item.get("post", {})
    return operation if operation.get(EXTENSION, {}).get("action") in SLOT_ACTIONS else None


def _is_error(slot) -> bool:
    return isinstance(slot, dict) and slot.get("success") is False and slot.get("http_status", 0) >= 400


@schemathesis.check
def batch_failed_items_are_errors_and_not_stored(ctx, response, case):
    """Pipeliner's batches: a schema-invalid item's slot is an Error object and nothing of it is stored;
    a 422 (rollback-all) names an item that really broke the schema or a rule (read-only field without
    validation-level 8, an `id` that is not a stored Call)."""
    if response.request.method != "POST" or response.status_code not in (200, 422) \
            or not isinstance(case.body, list):
        return None
    url = response.request.url
    parts = urlsplit(url)
    document, prefix = _match(parts.path)
    operation = _slot_operation(document, parts.path, prefix) if document else None
    if operation is None:
        return None
    ext = operation[EXTENSION]
    validator = _validator(document, operation["requestBody"]["content"]["application/json"]["schema"]["items"])
    headers = dict(response.request.headers)
    body = response.json()
    if response.status_code == 422:
        index = body["entity_index"]
        item = case.body[index]
        level = int((parse_qs(parts.query).get("validation-level") or ["0"])[0])
        read_only_sent = isinstance(item, dict) and not level & OVERRIDE_READ_ONLY \
            and any(name in item for name in ext.get("read-only", []))
        unknown_id = isinstance(item, dict) and isinstance(item.get(ext["key"]), str) \
            and _read(url, headers, document, ext["entity"], item[ext["key"]]) is None
        assert not validator.is_valid(item) or read_only_sent or unknown_id, \
            f"422 names item {index}, which breaks neither the schema nor a documented rule: {item!r}"
        return True
    slots = body["data"]
    assert len(slots) == len(case.body), "one data slot per input item"
    for index, (item, slot) in enumerate(zip(case.body, slots)):
        if validator.is_valid(item):
            continue
        assert _is_error(slot), f"item {index} violates the schema but its slot is {slot!r}"
        key = item.get(ext["key"]) if isinstance(item, dict) else None
        if isinstance(key, str):
            _assert_not_stored(url, headers, document, ext, index, case.body, key)
    return True

