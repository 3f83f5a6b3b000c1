"""VCC Live Database API v2 dialect: batch record and disposition modification, and their helpers.

Envelope ``{"errors": [...], "response": ...}``. A batch answers HTTP 200 with
``response = {"<index>": true}`` for the applied elements and one error object (with ``index``) per
failed element; a failed element changes nothing (the engine's step validates and plans first,
then applies). A single call that fails as a whole answers with the status its ``errorcode``
names (417 invalid data, 404 unknown record); a malformed request is 400/401/415 (views.py).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from ..batch import FAILED, UPDATED, Engine, ItemFailed, ItemOutcome
from ..specs import entity_schema_class
from ..store import Records, Transaction
from . import vcclive_errors as E
from .base import Call, Dialect, EntityFamily, ItemReport, Reply, SeedTarget
from .vcclive_fields import (
    FIELD_IDS,
    NUMBER_IDS,
    VALUE_IDS,
    Project,
    field_definition,
    find_by_form,
    in_key_order,
    new_record,
    plan_form,
    valid_call_date,
    value_names,
    vcc_time,
)
from .vcclive_seeding import seed_field, seed_project_record, seeded_table

log = logging.getLogger(__name__)

DISPOSITION_KEYS = ("description", "dispositionid", "next_calldate", "userid")
BATCH_ACTIONS = ("modify-records-batch", "modify-dispositions-batch")


def envelope(response: Any, errors: list[dict] | None = None) -> dict:
    """The vendor's body; ``errors`` first, as the vendor's examples print it."""
    return {"errors": errors or [], "response": response}


def has_target(element: Mapping[str, Any]) -> bool:
    """Does the element name its record(s)? An empty search names nothing."""
    search = element.get("search")
    if isinstance(search, list):
        search = [criteria for criteria in search if criteria != {}]
    return element.get("numberid") is not None or bool(search)


def identifier(value: Any) -> int | None:
    """The vendor documents ids both as strings ("4") and integers; the mock stores integers."""
    return None if value is None else int(value)


def load_element(schema, element: Any) -> dict:
    """One batch element, validated, naming its record by exactly one of ``numberid`` and ``search``."""
    if not isinstance(element, dict):
        raise E.fail(E.WRONG_ELEMENT_FORMAT)
    if not has_target(element):
        raise E.fail(E.MISSING_TARGET)
    data = E.load(schema, element)
    if "numberid" in data and "search" in data:
        raise E.fail(E.BOTH_TARGETS)
    return data


class VCCLiveDialect(Dialect):
    name = "vcclive"
    # One records table and one fields table per project (vcclive_seeding.PROJECT_TABLE names them).
    entity_families = (EntityFamily("records:{projectid}", r"records:[1-9][0-9]*", "numberid"),
                       EntityFamily("fields:{projectid}", r"fields:[1-9][0-9]*", "name"))
    sequences = (NUMBER_IDS, FIELD_IDS, VALUE_IDS)

    def __init__(self) -> None:
        self.actions = {
            "modify-records-batch": self.modify_records_batch,
            "modify-dispositions-batch": self.modify_dispositions_batch,
            "add-record": self.add_record,
            "get-record": self.get_record,
            "add-field": self.add_field,
            "list-fields": self.list_fields,
        }

    def error(self, status, title, detail, *, activity_id, extra=None) -> Reply:
        extra = dict(extra or {})
        body = {"errorcode": status,
                "errormessage": extra.pop("errormessage", None) or E.REQUEST_ERRORS.get(status, "error.request_failed")}
        if extra.get("property"):
            body["property"] = extra["property"]
        body["detail"] = detail
        return Reply(status, envelope(None, [body]))

    def seed_record(self, target: SeedTarget, records: Records, index: int, record: Any) -> tuple[Any, dict]:
        """``records:<projectid>`` and ``fields:<projectid>`` get what written ones get
        (vcclive_seeding.py); any other entity is free-form."""
        table = seeded_table(target.entity)
        if table is None:
            return super().seed_record(target, records, index, record)
        kind, projectid = table
        if kind == "fields":
            return seed_field(target.spec, records.transaction, projectid, record)
        return seed_project_record(target.spec, records.transaction, projectid, record, target.now)

    def seed_order(self, entities: list[str]) -> list[str]:
        """A project's fields before its records: a seeded record's data is resolved against them."""
        return sorted(entities, key=lambda name: (not name.startswith("fields:"), name))

    def batch_items(self, call: Call) -> list | None:
        """A batch's items are its ``elements`` (fault rules match on their number, index and fields)."""
        elements = call.body.get("elements") if isinstance(call.body, dict) else None
        return elements if call.operation.action in BATCH_ACTIONS and isinstance(elements, list) else None

    def item_reports(self, operation, body, status, response):
        """A batch's 200: ``response["<index>"]`` for an applied element (an update: batches only modify),
        an ``errors`` entry with that ``index`` for a failed one."""
        elements = body.get("elements") if isinstance(body, dict) else None
        applied = response.get("response") if isinstance(response, dict) else None
        if operation.action not in BATCH_ACTIONS or status != 200 or not isinstance(elements, list) \
                or not isinstance(applied, dict):
            return None
        errors = {e.get("index"): e for e in response.get("errors") or [] if isinstance(e, dict)}
        reports = []
        for index, element in enumerate(elements):
            key = element.get("numberid") if isinstance(element, dict) else None
            if str(index) in applied:
                reports.append(ItemReport(index, UPDATED, key))
                continue
            error = errors.get(index, {})
            reason = " ".join(str(error[k]) for k in ("errormessage", "property") if error.get(k))
            reports.append(ItemReport(index, FAILED, key, reason or "not applied"))
        return reports

    def _bad_request(self, call: Call, errormessage: str, detail: str, prop: str | None = None) -> Reply:
        return self.error(400, "Bad Request", detail, activity_id=call.activity_id,
                          extra={"errormessage": errormessage, "property": prop})

    def _invalid(self, failure: ItemFailed) -> Reply:
        return Reply(E.INVALID, envelope(None, [E.error_object(failure)]))

    # --- batch calls -------------------------------------------------------------------------------

    def _batch_request(self, call: Call, request_schema: str) -> dict | Reply:
        """The request's top-level keys checked (not its elements), or the whole-request error."""
        body = call.body
        if not isinstance(body, dict):
            return self._bad_request(call, E.WRONG_BODY_FORMAT,
                                     "The request body must be a JSON object with an 'elements' list.")
        if "elements" not in body:
            return self._bad_request(call, E.MISSING_ELEMENTS, "The request body has no 'elements' list.", "elements")
        if not isinstance(body["elements"], list):
            return self._bad_request(call, E.WRONG_ELEMENTS_FORMAT, "'elements' must be a list of objects.",
                                     "elements")
        top = {k: v for k, v in body.items() if k != "elements"}
        try:
            return E.load(entity_schema_class(call.operation, request_schema)(), top, partial=("elements",))
        except ItemFailed as failed:
            prop = failed.detail.get("property")
            return self._bad_request(call, failed.detail["errormessage"],
                                     f"Invalid request key {prop!r}: {failed.detail['errormessage']}.", prop)

    def _run_batch(self, call: Call, engine: Engine, request_schema: str, element_schema: str, apply) -> Reply:
        """The shared shape of both batch calls: check the request's top level, then run each element
        (validated by ``load_element``) through ``apply(project, data, request, now) -> numberid(s)``."""
        request = self._batch_request(call, request_schema)
        if isinstance(request, Reply):
            return request
        schema = entity_schema_class(call.operation, element_schema)()
        projectid = call.path["projectid"]
        now = vcc_time(engine.clock())

        def step(tx: Transaction, index: int, element: Any) -> ItemOutcome:
            data = load_element(schema, element)
            return ItemOutcome(index, UPDATED, key=apply(Project(tx, projectid), data, request, now))

        result = engine.run_batch(call, call.body["elements"], step)
        errors = [E.error_object(ItemFailed(o.errors, **o.detail), o.index) for o in result.outcomes if not o.ok]
        response = {str(o.index): True for o in result.outcomes if o.ok}
        return Reply(200, envelope(response, errors), result=result)

    def modify_records_batch(self, call: Call, engine: Engine) -> Reply:
        def apply(project: Project, data: dict, request: dict, now: str) -> int:
            record = self._record_of(project, data)
            plan = plan_form(project, {**(request.get("default") or {}), **data["form"]})
            # valid: from here on the element is applied
            record["data"].update(project.apply(plan))
            record["modify_date"] = now
            project.records.put(record["numberid"], record)
            return record["numberid"]

        return self._run_batch(call, engine, "RecordBatchRequest", "RecordElement", apply)

    @staticmethod
    def _record_of(project: Project, element: Mapping[str, Any]) -> dict:
        """The one record an element of a record batch names."""
        if "numberid" in element:
            record = project.records.get(int(element["numberid"]))
            if record is None:
                raise E.fail(E.RECORD_NOT_FOUND, "numberid")
            return record
        found = find_by_form(project, element["search"])
        if not found:
            raise E.fail(E.SEARCH_NO_MATCH, "search")
        if len(found) > 1:
            # Emulation choice: an ambiguous search changes nothing rather than guessing a record.
            raise E.fail(E.SEARCH_MULTIPLE_MATCHES, "search")
        return found[0]

    def modify_dispositions_batch(self, call: Call, engine: Engine) -> Reply:
        def apply(project: Project, data: dict, request: dict, now: str) -> list[int]:
            defaults = request.get("disposition") or {}
            event = self._event({**defaults, **{k: data[k] for k in DISPOSITION_KEYS if k in data}}, now)
            targets = self._disposition_targets(project, data)
            for record in targets:  # valid: apply to every record the element names
                self._set_disposition(record, event, now)
                project.records.put(record["numberid"], record)
            return [r["numberid"] for r in targets]

        return self._run_batch(call, engine, "DispositionBatchRequest", "DispositionElement", apply)

    @staticmethod
    def _event(disposition: Mapping[str, Any], now: str) -> dict:
        """A disposition to set, checked; becomes one entry of the record's ``events``."""
        if disposition.get("dispositionid") is None:
            raise E.fail(E.MISSING_DISPOSITIONID, "dispositionid")
        next_calldate = disposition.get("next_calldate")
        if next_calldate is not None and not valid_call_date(next_calldate):
            raise E.fail(E.WRONG_DATE_FORMAT, "next_calldate")
        return {"dispositionid": identifier(disposition["dispositionid"]),
                "description": disposition.get("description"), "next_calldate": next_calldate,
                "userid": identifier(disposition.get("userid")), "create_date": now}

    @staticmethod
    def _set_disposition(record: dict, event: dict, now: str) -> None:
        record["events"].append(dict(event))
        record["act_status"] = event["dispositionid"]
        if event["userid"] is not None:
            record["pref_userid"] = event["userid"]
        if event["next_calldate"] is not None:
            record["next_calldate"] = event["next_calldate"]
        record["modify_date"] = now

    @staticmethod
    def _disposition_targets(project: Project, element: Mapping[str, Any]) -> list[dict]:
        """Records a disposition element names: by numberid, or every record its search matches.

        Emulation choice: unlike a record batch, a disposition search may match several records and
        applies to all of them (its criteria, user and status, are made for mass changes).
        """
        if "numberid" in element:
            record = project.records.get(int(element["numberid"]))
            if record is None:
                raise E.fail(E.RECORD_NOT_FOUND, "numberid")
            return [record]
        search = element["search"]
        alternatives = [c for c in (search if isinstance(search, list) else [search]) if c]
        wanted = [{k: identifier(v) for k, v in criteria.items()} for criteria in alternatives]
        keys: set[str] = set()
        for criteria in wanted:  # alternatives: any of them; within one, every field (by index)
            matches: set[str] | None = None
            for name, value in criteria.items():
                found_here = set(project.records.find((name,), value))
                matches = found_here if matches is None else matches & found_here
            keys |= matches or set()
        found = in_key_order(project.records, keys)
        if not found:
            raise E.fail(E.SEARCH_NO_MATCH, "search")
        return found

    # --- single calls ------------------------------------------------------------------------------

    def add_record(self, call: Call, engine: Engine) -> Reply:
        if not isinstance(call.body, dict):
            return self._bad_request(call, E.WRONG_BODY_FORMAT, "The request body must be a JSON object.")
        now = vcc_time(engine.clock())
        try:
            data = E.load(entity_schema_class(call.operation, "NewRecord")(), call.body)
            if data.get("next_calldate") is not None and not valid_call_date(data["next_calldate"]):
                raise E.fail(E.WRONG_DATE_FORMAT, "next_calldate")
            event = self._event(data["disposition"], now) if "disposition" in data else None
            with engine.write(call) as tx:
                project = Project(tx, call.path["projectid"])
                plan = plan_form(project, data["form"])
                numberid = project.next_id(NUMBER_IDS)
                record = new_record(numberid, now)
                record.update(data=project.apply(plan), contacts=data.get("contacts") or {},
                              phone_field=data.get("phone_field"), next_calldate=data.get("next_calldate"))
                if event is not None:
                    self._set_disposition(record, event, now)
                project.records.put(numberid, record)
        except ItemFailed as failed:
            return self._invalid(failed)
        log.info("vcclive add-record tenant=%r project=%s numberid=%s", call.tenant, call.path["projectid"], numberid)
        return Reply(200, envelope(numberid))

    def get_record(self, call: Call, engine: Engine) -> Reply:
        with engine.read(call) as tx:
            record = Project(tx, call.path["projectid"]).records.get(call.path["numberid"])
        if record is None:
            return self.error(404, "Not Found", f"No record {call.path['numberid']} in project "
                              f"{call.path['projectid']}.", activity_id=call.activity_id,
                              extra={"errormessage": E.RECORD_NOT_FOUND, "property": "numberid"})
        return Reply(200, envelope(record))

    def add_field(self, call: Call, engine: Engine) -> Reply:
        if not isinstance(call.body, dict):
            return self._bad_request(call, E.WRONG_BODY_FORMAT, "The request body must be a JSON object.")
        try:
            data = E.load(entity_schema_class(call.operation, "NewField")(), call.body)
            names = value_names(data)
            with engine.write(call) as tx:
                project = Project(tx, call.path["projectid"])
                if project.field(data["name"]) is not None:
                    raise E.fail(E.FIELD_NAME_EXISTS, "name")
                definition = field_definition(project, data, names)
                fieldid = definition["fieldid"]
                project.fields.put(data["name"], definition)
        except ItemFailed as failed:
            return self._invalid(failed)
        log.info("vcclive add-field tenant=%r project=%s field=%s", call.tenant, call.path["projectid"], data["name"])
        return Reply(200, envelope(fieldid))

    def list_fields(self, call: Call, engine: Engine) -> Reply:
        with engine.read(call) as tx:
            fields = Project(tx, call.path["projectid"]).all_fields()
        return Reply(200, envelope(fields))


__all__ = ["VCCLiveDialect"]
