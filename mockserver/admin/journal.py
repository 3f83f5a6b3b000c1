"""Control plane: the request journal (/__mockserver/requests) and its verify call."""
from __future__ import annotations

from typing import Any, Mapping

from flask import jsonify, request

from .. import jsontext
from ..journal import ANY_BODY, MAX_LIMIT, JournalQuery, parse_timestamp
from ..problems import BadRequest, Conflict
from .blueprint import admin, json_body, server

# The journal's filters (query parameters of list and count, fields of verify's "where").
FILTERS = ("vendor", "operation", "tenant", "status", "since", "path", "method", "header", "body")
TEXT_FILTERS = ("vendor", "operation", "tenant", "since", "path", "method", "header")
COUNTS = ("exactly", "at_least", "at_most")
NEAR_MISSES = 5  # shown when a verify fails: the requests failing the fewest filters, most recent first


def _status(raw: Any, where: str) -> int:
    if isinstance(raw, str):
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3):
            raise BadRequest(f"{where} 'status' must be an integer from 100 to 599, not {raw!r}.")
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 100 <= raw <= 599:
        raise BadRequest(f"{where} 'status' must be an integer from 100 to 599, not {raw!r}.")
    return raw


def build_query(given: Mapping[str, Any], where: str, limit: int | None = None,
                also: tuple[str, ...] = ()) -> JournalQuery:
    """Validated filters → JournalQuery; an unknown filter, vendor or operation is a 400 naming the known
    (``also``: the names the caller took out of ``given`` itself)."""
    unknown = sorted(set(given) - set(FILTERS))
    if unknown:
        raise BadRequest(f"Unknown {where} {', '.join(map(repr, unknown))}; known: {', '.join((*FILTERS, *also))}.")
    for name in TEXT_FILTERS:
        if name in given and not isinstance(given[name], str):
            raise BadRequest(f"{where} {name!r} must be a string, not {given[name]!r}.")
    vendor, operation = given.get("vendor"), given.get("operation")
    served = server().operations
    if vendor is not None and vendor not in served:
        raise BadRequest(f"Unknown vendor {vendor!r}; known: {', '.join(sorted(served))}.")
    if operation is not None:
        known = sorted(served[vendor] if vendor is not None else {op for ops in served.values() for op in ops})
        if operation not in known:
            of = f" of vendor {vendor!r}" if vendor is not None else ""
            raise BadRequest(f"Unknown operation {operation!r}{of}; known: {', '.join(known)}.")
    since = given.get("since")
    try:
        since_at = None if since is None else parse_timestamp(since)
    except ValueError:
        raise BadRequest(f"{where} 'since' must be an RFC 3339 date-time, not {since!r}.") from None
    header = given.get("header")
    if header is not None:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise BadRequest(f"{where} 'header' must be NAME:VALUE, not {header!r}.")
        header = (name.strip(), value.strip())
    return JournalQuery(vendor=vendor, operation=operation, tenant=given.get("tenant"),
                        status=None if "status" not in given else _status(given["status"], where),
                        since=since_at, path=given.get("path"), method=given.get("method"), header=header,
                        body=given.get("body", ANY_BODY), limit=limit)


def query_filters(*, with_limit: bool) -> JournalQuery:
    """The filters of the query string (``body`` is JSON text); ``limit`` only where it is allowed."""
    args: dict[str, Any] = {}
    for name, values in request.args.lists():
        if len(values) > 1:
            raise BadRequest(f"Query parameter {name!r} is given {len(values)} times; give it once.")
        args[name] = values[0]
    limit = args.pop("limit", None) if with_limit else None
    if limit is not None and not (limit.isascii() and limit.isdigit() and len(limit) <= 5
                                  and 1 <= int(limit) <= MAX_LIMIT):
        raise BadRequest(f"Query parameter 'limit' must be an integer from 1 to {MAX_LIMIT}, not {limit!r}.")
    if "body" in args:
        try:
            args["body"] = jsontext.loads(args["body"])
        except ValueError as exc:
            raise BadRequest(f"Query parameter 'body' must be JSON: {exc}.") from None
    return build_query(args, "query parameter", None if limit is None else int(limit),
                       ("limit",) if with_limit else ())


@admin.get("/requests")
def list_requests():
    """Journaled vendor requests, oldest first; ``limit`` keeps the most recent ones."""
    return jsonify({"requests": server().journal.find(query_filters(with_limit=True))})


@admin.get("/requests/count")
def count_requests():
    return jsonify({"count": server().journal.count(query_filters(with_limit=False))})


@admin.delete("/requests")
def clear_requests():
    return jsonify({"deleted": server().journal.clear()})


def _expected(body: Mapping[str, Any]) -> dict[str, int]:
    expected = {name: body[name] for name in COUNTS if name in body}
    for name, value in expected.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT * 10:
            raise BadRequest(f"{name!r} must be an integer from 0 to {MAX_LIMIT * 10}, not {value!r}.")
    if "exactly" in expected and len(expected) > 1:
        raise BadRequest("Give 'exactly', or 'at_least' and/or 'at_most', not both.")
    if expected.get("at_least", 0) > expected.get("at_most", MAX_LIMIT * 10):
        raise BadRequest("'at_least' is more than 'at_most': no count can hold.")
    return expected or {"at_least": 1}  # Emulation choice (as WireMock's verify): at least once


def _holds(count: int, expected: Mapping[str, int]) -> bool:
    return (count == expected.get("exactly", count) and count >= expected.get("at_least", 0)
            and count <= expected.get("at_most", count))


def _summary(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: entry.get(key) for key in ("id", "time", "method", "path", "operation", "vendor", "tenant",
                                            "status")}


@admin.post("/requests/verify")
def verify_requests():
    """Does the count of journaled requests matching ``where`` hold? 200 if so, else 409 with the
    near misses (the requests failing the fewest filters)."""
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object: {\"where\": {filters}, \"exactly\" | \"at_least\" | \"at_most\": N}.")
    unknown = sorted(set(body) - {"where", *COUNTS})
    if unknown:
        raise BadRequest(f"Unknown field {', '.join(map(repr, unknown))}; known: where, {', '.join(COUNTS)}.")
    where = body.get("where", {})
    if not isinstance(where, dict):
        raise BadRequest(f"'where' must be a JSON object of filters, not {where!r}.")
    query, expected = build_query(where, "filter"), _expected(body)
    entries = server().journal.entries()
    matched = [e for e in entries if query.matches(e)]
    answer = {"count": len(matched), "expected": expected, "where": query.given()}
    if _holds(len(matched), expected):
        return jsonify(answer)
    misses = [(len(failed), -n, e, failed) for n, e in enumerate(entries) if (failed := query.mismatches(e))]
    near = [{"request": _summary(e), "mismatched": failed} for _, _, e, failed in sorted(misses, key=lambda m: m[:2])]
    wanted = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in expected.items())
    raise Conflict(f"Expected {wanted} request(s) matching {query.given() or 'anything'}; found {len(matched)}.",
                   **answer, matched=[_summary(e) for e in matched[-NEAR_MISSES:]],
                   near_misses=near[:NEAR_MISSES])
