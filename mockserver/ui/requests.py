"""The dashboard's journal pages: the requests served (filtered, newest first, paged) and one request
with its bodies and, for a batch, each item's outcome as the vendor's answer reports it (the dialect's
``item_reports`` hook reads its own envelope)."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from ..admin.blueprint import server
from ..admin.journal import build_query
from ..dialects import DIALECTS
from ..dialects.base import ItemReport
from ..problems import BadRequest, NotFound
from .blueprint import PAGE_SIZE, page, page_number, ui

FILTERS = ("vendor", "tenant", "operation", "status")


def given_filters() -> dict[str, str]:
    """The filter form's values: empty fields are not filters; any other parameter is a 400."""
    unknown = sorted(set(request.args) - {*FILTERS, "page"})
    if unknown:
        raise BadRequest(f"Unknown filter {', '.join(map(repr, unknown))}; known: {', '.join(FILTERS)}.")
    return {name: request.args[name] for name in FILTERS if request.args.get(name, "") != ""}


@ui.get("/requests")
def requests():
    given = given_filters()
    number = page_number()  # before the filters: a bad page is a 400 too
    try:
        query = build_query(given, "filter")  # the journal API's validation: unknown values are a 400
    except BadRequest as problem:
        return page("requests.html", 400, problem=problem, given=given, entries=[], page=1, older=False,
                    vendors=server().vendors)
    entries, older = server().journal.newest(query, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    return page("requests.html", given=given, entries=entries, page=number, older=older,
                vendors=server().vendors, problem=None)


def pretty(body: Any) -> str:
    """A journaled body as the page shows it: JSON indented, text (a cut or non-JSON body) as it is."""
    if body is None:
        return ""
    return body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)


def item_reports(entry: dict) -> list[ItemReport] | None:
    """The batch's items from the vendor's answer; when a body was cut, the engine's outcomes the
    journal kept (``items``)."""
    spec = next((s for s in server().specs if s.vendor == entry.get("vendor") and s.dialect), None)
    op = None if spec is None else next((o for o in spec.operations if o.operation_id == entry.get("operation")), None)
    reports = None if op is None else DIALECTS[spec.dialect].item_reports(
        op, entry.get("body"), entry.get("status"), entry.get("response_body"))
    if reports is None and entry.get("items"):
        reports = [ItemReport(i["index"], i["result"], i.get("key"),
                              "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else e["message"]
                                        for e in i.get("errors", [])) or None)
                   for i in entry["items"]]
    return reports


@ui.get("/requests/<entry_id>")
def request_detail(entry_id: str):
    entry = server().journal.get(entry_id)
    if entry is None:
        raise NotFound(f"No request {entry_id!r} in the journal (it keeps the last "
                       f"{server().settings.journal_size} requests).")
    return page("request.html", entry=entry, request_body=pretty(entry.get("body")),
                response_body=pretty(entry.get("response_body")), items=item_reports(entry))
