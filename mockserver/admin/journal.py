"""Control plane: the request journal (/__mockserver/requests)."""
from __future__ import annotations

from flask import jsonify, request

from ..journal import MAX_LIMIT, JournalQuery, parse_timestamp
from ..problems import BadRequest
from .blueprint import admin, server


def _integer(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))) or not low <= int(raw) <= high:
        raise BadRequest(f"Query parameter {name!r} must be an integer from {low} to {high}, not {raw!r}.")
    return int(raw)


def journal_query(with_limit: bool = True) -> JournalQuery:
    """The filters of the query string, validated (a bad one is a 400 problem)."""
    since = request.args.get("since")
    try:
        since_at = None if since is None else parse_timestamp(since)
    except ValueError:
        raise BadRequest(f"Query parameter 'since' must be an RFC 3339 date-time, not {since!r}.") from None
    return JournalQuery(
        vendor=request.args.get("vendor"),
        operation=request.args.get("operation"),
        tenant=request.args.get("tenant"),
        status=_integer("status", 100, 599),
        since=since_at,
        limit=_integer("limit", 1, MAX_LIMIT) if with_limit else None,
    )


@admin.get("/requests")
def list_requests():
    """Journaled vendor requests, oldest first; ``limit`` keeps the most recent ones."""
    return jsonify({"requests": server().journal.find(journal_query())})


@admin.get("/requests/count")
def count_requests():
    return jsonify({"count": server().journal.count(journal_query(with_limit=False))})


@admin.delete("/requests")
def clear_requests():
    return jsonify({"deleted": server().journal.clear()})
