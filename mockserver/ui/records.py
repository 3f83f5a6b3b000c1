"""The dashboard's records page: one entity of one tenant, highest key first, 50 to a page, with a
``field = value`` filter answered by the store's index (``Records.find``), never by a scan of records.

Order (an emulation of "newest first"): keys made of digits (VBA's and VCC Live's assigned ids) by
their number, highest first, so the last assigned comes first; other keys (Pipeliner's uuids, which say
nothing of age) after them, in reverse text order. Only the keys are ordered; a page decodes its 50 records.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from flask import request

from .. import jsontext
from ..admin.blueprint import known_vendor, server
from ..problems import BadRequest, NotFound
from .blueprint import PAGE_SIZE, page, page_number, ui


def newest_first(keys: Iterable[str]) -> list[str]:
    """``keys`` in text order → highest first (see the module's docstring)."""
    by_length: dict[int, list[str]] = {}
    other: list[str] = []
    for key in keys:
        if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
            by_length.setdefault(len(key), []).append(key)
        else:
            other.append(key)
    ordered = [key for length in sorted(by_length, reverse=True) for key in reversed(by_length[length])]
    return ordered + other[::-1]


def parse_filter(text: str) -> tuple[tuple[str, ...], Any] | None:
    """``field = value`` (``a.b`` for a nested field); the value is JSON when it parses (``42``, ``true``,
    ``null``, ``"42"``), else the text itself."""
    text = text.strip()
    if not text:
        return None
    name, equals, raw = text.partition("=")
    path = tuple(part.strip() for part in name.split("."))
    if not equals or not all(path):
        raise BadRequest(f"A filter is 'field = value' (a nested field as 'a.b'), not {text!r}.")
    raw = raw.strip()
    try:
        value = jsontext.loads(raw)
    except ValueError:
        value = raw
    return path, value


@ui.get("/records/<vendor>/<path:tenant>/<entity>")
def records(vendor: str, tenant: str, entity: str):
    known_vendor(vendor)
    if entity.startswith("__"):
        raise NotFound(f"{entity!r} is the store's own table, not an entity.")
    wanted = parse_filter(request.args.get("filter", ""))
    number = page_number()
    with server().store.transaction(vendor, tenant, write=False) as tx:
        table = tx.records(entity)
        total = len(table)
        keys = table.keys_sorted() if wanted is None else sorted(table.find(*wanted))
        ordered = newest_first(keys)
        shown = ordered[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
        rows = [(key, table.get(key)) for key in shown]
    columns: dict[str, None] = {}
    for _, record in rows:
        columns.update(dict.fromkeys(record))
    return page("records.html", vendor=vendor, tenant=tenant, entity=entity, total=total, matched=len(ordered),
                rows=[{"key": key, "cells": [cell(record, c) for c in columns],
                       "json": json.dumps(record, indent=2, ensure_ascii=False)} for key, record in rows],
                columns=list(columns), filter=request.args.get("filter", ""), page=number,
                pages=max(1, -(-len(ordered) // PAGE_SIZE)))


def cell(record: dict, column: str) -> str:
    """A field's value as the table shows it: text as it is, anything else as JSON, a missing field empty."""
    if column not in record:
        return ""
    value = record[column]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
