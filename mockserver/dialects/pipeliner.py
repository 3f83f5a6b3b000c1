"""Pipeliner CRM Cloud API dialect: ``POST .../entities/<Entity>/batch-modify`` and its siblings.

A batch answers ``{"success": true, "data": [<id> | <Error>, ...]}`` (one slot per item, in order).
``rollback-method`` 0 turns any failed item into a 422 ERROR_ENTITY_VALIDATION envelope with nothing
saved; 1 saves the valid items. ``validation-level`` bits change what an item is checked for (see
``Checks``). Which field is the key, which are read-only, managed or relations comes from the spec.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from marshmallow import ValidationError

from ..batch import CREATED, DELETED, FAILED, RESTORED, ROLLED_BACK, UPDATED, Engine, ItemFailed, ItemOutcome, load_item
from ..schemas import field_for, flatten_errors, merge_all_of
from ..specs import Operation, entity_schema_class
from ..store import Records, Transaction
from .base import Call, Dialect, ItemReport, Reply, SeedTarget
from .pipeliner_list import ListError, ListQuery, Spellings, page
from .pipeliner_read_model import ReadModel, ReadModelError, Related

# validation-level bits (the vendor's documented meaning; what the mock does with each is in Checks).
ONLY_SENT_FIELDS = 2
ONLY_SYSTEM_FIELDS = 4  # accepted; every field the mock knows is a system field, so it changes nothing
OVERRIDE_READ_ONLY = 8
ALLOW_DELETED_RELATION = 16
# Emulation choice: the seed says "use them as bit mask", so a bit it does not define (1, 32, ...)
# means nothing and is ignored, as a mask's reader ignores unknown flags (validation-level=3 is 2).
DEFINED_BITS = ONLY_SENT_FIELDS | ONLY_SYSTEM_FIELDS | OVERRIDE_READ_ONLY | ALLOW_DELETED_RELATION

# rollback-method values. Emulation choice: absent means ROLLBACK_ALL (the spec's parameter default,
# which parameters.py applies; the fallback here only guards a spec that drops it).
ROLLBACK_ALL, ROLLBACK_FAILED = 0, 1
DEFAULT_ROLLBACK = ROLLBACK_ALL

# (http_status, code, name). The vendor documents 117, 120, 40000 and 40002; the others are the
# mock's choice: the HTTP status as the code.
PARAMETER_INVALID = (400, 117, "ERROR_PARAMETER_INVALID")
RELATIONS_DOESNT_EXIST = (400, 120, "ERROR_RELATIONS_DOESNT_EXIST")
ENTITY_NOT_FOUND = (404, 404, "ERROR_ENTITY_NOT_FOUND")
ENTITY_VALIDATION = (422, 40000, "ERROR_ENTITY_VALIDATION")
FIELD_VALIDATION = (40002, "ERROR_FIELD_VALIDATION")
REQUEST_ERRORS = {
    400: PARAMETER_INVALID,
    401: (401, 401, "ERROR_UNAUTHORIZED"),
    404: ENTITY_NOT_FOUND,
    415: (415, 415, "ERROR_UNSUPPORTED_MEDIA_TYPE"),
}


def pipeliner_timestamp(moment: datetime) -> str:
    """The vendor's ``2019-01-01T00:00:00`` style (UTC, whole seconds, no zone)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?")


def pipeliner_instant(text: str) -> str | None:
    """A date-time filter or cursor value in the stored spelling, so that comparing the text compares
    the instants: ``2025-01-01T12:00:00+02:00``, ``...10:00:00Z``, ``...10:00:00.000`` → ``2025-01-01T10:00:00``
    (no zone = UTC, as stored; a fraction is kept without its trailing zeros: ``...10:00:00.5`` lies
    between ``...10:00:00`` and ``...10:00:01``). None when ``text`` is no date-time."""
    match = DATE_TIME.fullmatch(text)
    if match is None:
        return None
    *parts, fraction, zone = match.groups()
    try:
        moment = datetime(*map(int, parts))
        if zone and zone not in "Zz":
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                return None
            moment -= (1 if zone[0] == "+" else -1) * timedelta(hours=hours, minutes=minutes)
    except (ValueError, OverflowError):
        return None
    fraction = (fraction or "").rstrip("0")
    return pipeliner_timestamp(moment) + (f".{fraction}" if fraction else "")


def list_spellings(op: Operation) -> Spellings:
    """How Calls.list reads filter and cursor values: uuids canonical, the entity's server-stamped
    fields (``x-mockserver.managed`` of the operations writing it) as date-times."""
    stamped = frozenset(name for other in op.spec.operations if other.entity == op.entity
                        for name, role in other.managed.items() if role in ("created-at", "updated-at"))
    return Spellings(uuid=canonical_id, instant=pipeliner_instant, timestamps=stamped)


def canonical_id(value: str) -> str:
    """Ids are stored lower-case and hyphenated, so any spelling of a uuid finds its record
    (a value that is no uuid stays as it is: it names no record)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def canonical_uuids(schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict:
    """Every ``format: uuid`` value (relations, ``twilio_call_log_id``, ``oppty_product_relation.id``)
    in its canonical spelling, as ``id`` is: stored once, found and compared by any spelling."""
    out = dict(values)
    for name, sub in schema.get("properties", {}).items():
        sub, value = merge_all_of(sub), out.get(name)
        if isinstance(value, str) and sub.get("format") == "uuid":
            out[name] = canonical_id(value)
        elif isinstance(value, Mapping) and "properties" in sub:
            out[name] = canonical_uuids(sub, value)
    return out


BATCH_OUTCOMES = {"batch-delete": DELETED, "batch-restore": RESTORED}  # batch-modify: created or updated
# Emulation choice: the Error name of an injected item fault whose status has no documented name.
INJECTED_ERROR_NAME = "ERROR_INTERNAL"


def error_object(kind: tuple[int, int, str], message: str) -> dict:
    status, code, name = kind
    return {"success": False, "http_status": status, "code": code, "name": name, "message": message}


def fail(kind: tuple[int, int, str], errors: list[tuple[str, str]], key: Any = None) -> ItemFailed:
    status, code, name = kind
    return ItemFailed(errors, key=key, http_status=status, code=code, name=name)


def outcome_error(outcome: ItemOutcome) -> dict:
    """A failed item's Error object (schema failures carry no detail: they are ERROR_PARAMETER_INVALID)."""
    detail = outcome.detail
    kind = (detail["http_status"], detail["code"], detail["name"]) if "code" in detail else PARAMETER_INVALID
    return error_object(kind, outcome.message())


def lookup(values: Mapping[str, Any], dotted: str) -> Any:
    """``oppty_product_relation.id`` → values["oppty_product_relation"]["id"] (None when absent)."""
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def entity_shape(op: Operation) -> tuple[Any, dict[str, None], list[str]]:
    """What a create of ``op``'s entity starts from: the input schema (its ``required`` = required on
    create, its ``default``s applied), the nullable fields as nulls, the stored field order (the input
    schema's: the entity's own schema is its read model, pipeliner_read_model.py)."""
    input_name = op.extension["input"]
    properties = op.entity_schema(input_name)["properties"]
    nulls = {name: None for name, sub in properties.items() if sub.get("nullable")}
    return entity_schema_class(op, input_name)(), nulls, list(properties)


def load_input(op: Operation, schema: Any, item: Any, *, partial: bool = False, key: Any = None) -> dict:
    """A validated item of ``op``'s input schema, its uuids canonical."""
    return canonical_uuids(op.entity_schema(op.extension["input"]), load_item(schema, item, partial=partial, key=key))


def stamp(op: Operation, record: dict, previous: Mapping[str, Any] | None, *, sent: Mapping[str, Any],
          now: str) -> dict:
    """The server-managed timestamps: a value the client sent stands (validation-level 8, or a seed);
    else ``created`` is kept from the previous version or set to now, ``modified`` is now."""
    for name, role in op.managed.items():
        if name not in sent:
            record[name] = previous[name] if role == "created-at" and previous else now
    return record


@dataclass(frozen=True)
class Checks:
    """What one batch-modify request validates, from its ``validation-level`` bits."""

    level: int

    @property
    def read_only_writable(self) -> bool:  # bit 8: the client's created/modified/is_deleted are kept
        return bool(self.level & OVERRIDE_READ_ONLY)

    @property
    def deleted_relations_allowed(self) -> bool:  # bit 16: a relation may name a soft-deleted record
        return bool(self.level & ALLOW_DELETED_RELATION)

    def relation_scope(self, sent: Mapping[str, Any], record: Mapping[str, Any]) -> Mapping[str, Any]:
        """Bit 2 checks only the fields sent; otherwise the whole resulting record is re-validated, so
        an update fails when a relation it did not touch now names a missing or deleted record."""
        return sent if self.level & ONLY_SENT_FIELDS else record


def relation_errors(tx: Transaction, relations: Mapping[str, Any], values: Mapping[str, Any],
                    allow_deleted: bool) -> list[tuple[str, str]]:
    """Relation fields naming no record (or a deleted one) of their entity in this space.

    Emulation choice: when nothing of a related entity was ever stored in the space (its table is
    empty), that relation is not checked: the mock cannot know the space's Accounts until they are seeded.
    """
    errors = []
    for field, targets in relations.items():
        value = lookup(values, field)
        if not isinstance(value, str):
            continue
        names = [targets] if isinstance(targets, str) else list(targets)
        tables = [tx.records(name) for name in names]
        if not any(len(table) for table in tables):
            continue
        key = canonical_id(value)
        found = next((r for r in (table.get(key) for table in tables) if r is not None), None)
        if found is None:
            errors.append((field, f"{' or '.join(names)} {value} does not exist in this space."))
        elif found.get("is_deleted") is True and not allow_deleted:
            errors.append((field, f"{' or '.join(names)} {value} is deleted "
                                  "(validation-level 16 allows a relation to a deleted record)."))
    return errors


class PipelinerDialect(Dialect):
    name = "pipeliner"

    def __init__(self) -> None:
        self.actions = {"batch-modify": self.batch_modify, "batch-delete": self.batch_delete,
                        "batch-restore": self.batch_restore, "get": self.get, "list": self.list}

    def error(self, status, title, detail, *, activity_id, extra=None) -> Reply:
        kind = REQUEST_ERRORS.get(status, (status, status, "ERROR_" + title.upper().replace(" ", "_")))
        return Reply(status, {**error_object(kind, detail), **(extra or {})})

    def injected_item_failure(self, call, index, item, *, status, message):
        """An injected item fault is an Error object with the rule's status (rollback-method=0: a 422)."""
        kind = REQUEST_ERRORS.get(status, (status, status, INJECTED_ERROR_NAME))
        key = item.get("id") if isinstance(item, dict) else None
        return fail(kind, [("", message)], key=key)

    def seed_record(self, target: SeedTarget, records: Records, index: int, record: Any) -> tuple[Any, dict]:
        """A seeded Call is a create (new uuid unless given, defaults, nulls, ``created``/``modified``
        stamped unless given; relations are not checked: a seed describes a known state). Every
        seeded uuid is stored canonical, so any spelling finds it, as for a written Call."""
        op = target.operation
        if op is None or op.entity != target.entity or "input" not in op.extension:
            key, record = super().seed_record(target, records, index, record)
            if isinstance(key, str):  # a related record (Account, Contact, ...): relations look it up canonical
                key = record[target.key] = canonical_id(key)
            return key, record
        schema, nulls, order = entity_shape(op)
        data = load_input(op, schema, record)
        key = data[op.key] if op.key in data else str(uuid.uuid4())
        # An existing key is replaced, not updated: the seed is the whole record.
        stored = stamp(op, {**nulls, **data, op.key: key}, None, sent=data, now=pipeliner_timestamp(target.now))
        return key, {name: stored[name] for name in order if name in stored}

    def item_reports(self, operation, body, status, response):
        """``data[i]``: an id (created when the item had no ``id``, else updated; deleted/restored for those
        calls) or an Error with ``success: false``. A rollback-all 422 names its first failed item
        (``entity_index``); every other item is reported rolled back."""
        if operation.action not in ("batch-modify", *BATCH_OUTCOMES) or not isinstance(body, list) \
                or not isinstance(response, dict):
            return None
        if status == 422 and isinstance(response.get("entity_index"), int):
            failed = response["entity_index"]
            return [ItemReport(i, FAILED, response.get("entity_id"), str(response.get("message")))
                    if i == failed else ItemReport(i, ROLLED_BACK, item.get("id") if isinstance(item, dict) else None)
                    for i, item in enumerate(body)]
        data = response.get("data")
        if status != 200 or not isinstance(data, list):
            return None
        done = BATCH_OUTCOMES.get(operation.action)
        reports = []
        for index, (item, slot) in enumerate(zip(body, data)):
            if isinstance(slot, dict):
                reports.append(ItemReport(index, FAILED, item.get("id") if isinstance(item, dict) else item,
                                          f"{slot.get('name')}: {slot.get('message')}"))
            else:
                outcome = done or (UPDATED if isinstance(item, dict) and "id" in item else CREATED)
                reports.append(ItemReport(index, outcome, slot))
        return reports

    def _not_array(self, call: Call, what: str) -> Reply:
        return self.error(400, "Bad Request", f"The request body must be a JSON array of {what}.",
                          activity_id=call.activity_id)

    # --- batch-modify ------------------------------------------------------------------------------

    def batch_modify(self, call: Call, engine: Engine) -> Reply:
        op = call.operation
        if not isinstance(call.body, list):
            return self._not_array(call, f"{op.entity} objects")
        ext = op.extension
        schema, nulls, order = entity_shape(op)
        read_only = list(ext.get("read-only") or [])
        relations = ext.get("relations") or {}
        checks = Checks(call.query.get("validation-level", 0) & DEFINED_BITS)
        now = pipeliner_timestamp(engine.clock())
        key_field = op.key

        def step(tx: Transaction, index: int, item: Any) -> ItemOutcome:
            if not isinstance(item, dict):
                raise fail(PARAMETER_INVALID, [("", "Item is not a JSON object.")])
            updating = key_field in item
            data = load_input(op, schema, item, partial=updating, key=item.get(key_field))
            key = data[key_field] if updating else None
            forbidden = [name for name in read_only if name in item and not checks.read_only_writable]
            if forbidden:
                raise fail(PARAMETER_INVALID, [(name, "Read-only field (validation-level 8 allows overriding it).")
                                               for name in forbidden], key)
            records = tx.records(op.entity)
            previous = records.get(key) if updating else None
            if updating and previous is None:
                raise fail(ENTITY_NOT_FOUND, [(key_field, f"{op.entity} {key} does not exist in this space.")], key)
            record = {**(previous or nulls), **data, key_field: key or str(uuid.uuid4())}
            record = stamp(op, record, previous, sent=item, now=now)
            errors = relation_errors(tx, relations, checks.relation_scope(data, record),
                                     checks.deleted_relations_allowed)
            if errors:
                raise fail(RELATIONS_DOESNT_EXIST, errors, key)
            record = {name: record[name] for name in order if name in record}
            records.put(record[key_field], record)
            return ItemOutcome(index, UPDATED if previous else CREATED, key=record[key_field], record=record)

        rollback = call.query.get("rollback-method", DEFAULT_ROLLBACK)
        result = engine.run_batch(call, call.body, step, all_or_nothing=rollback == ROLLBACK_ALL)
        if not result.committed:
            return Reply(422, self._entity_validation(op, result.failed[0]), result=result)
        data = [outcome.key if outcome.ok else outcome_error(outcome) for outcome in result.outcomes]
        # Emulation choice: top-level success stays true when some items failed (their slots say so).
        return Reply(200, {"success": True, "data": data}, result=result)

    @staticmethod
    def _entity_validation(op: Operation, failed: ItemOutcome) -> dict:
        """The rollback-all answer: the first failed item, its errors grouped by field."""
        slot = outcome_error(failed)
        field_errors: dict[str, dict] = {}
        entity_errors = []
        for path, message in failed.errors:
            error = {**slot, "message": message}
            if not path:
                entity_errors.append(error)
                continue
            code, name = FIELD_VALIDATION
            entry = field_errors.setdefault(path, {"field_name": path, "name": name, "code": code,
                                                   "message": "", "errors": []})
            entry["errors"].append(error)
            entry["message"] = "; ".join(e["message"] for e in entry["errors"])
        _, code, name = ENTITY_VALIDATION
        return {
            "success": False, "http_status": 422, "code": code, "name": name,
            "message": f"{op.entity} at index {failed.index} is not valid; nothing was saved. {failed.message()}",
            "entity_id": failed.key if isinstance(failed.key, str) else None,
            "entity_name": op.entity, "entity_errors": entity_errors, "field_errors": list(field_errors.values()),
            "step_checklist_errors": [], "entity_index": failed.index,
        }

    # --- batch-delete / batch-restore --------------------------------------------------------------

    def batch_delete(self, call: Call, engine: Engine) -> Reply:
        return self._set_deleted(call, engine, True)

    def batch_restore(self, call: Call, engine: Engine) -> Reply:
        return self._set_deleted(call, engine, False)

    def _set_deleted(self, call: Call, engine: Engine, deleted: bool) -> Reply:
        """Soft delete / restore: each id fails alone (an unknown id is ERROR_ENTITY_NOT_FOUND); setting
        the flag it already has is a success that changes nothing. No rollback-method: always per item."""
        op = call.operation
        if not isinstance(call.body, list):
            return self._not_array(call, "ids")
        id_field = field_for(op.body_schema.get("items", {}), name="id")
        stamps = [name for name, role in op.managed.items() if role == "updated-at"]
        now = pipeliner_timestamp(engine.clock())

        def step(tx: Transaction, index: int, item: Any) -> ItemOutcome:
            try:
                key = canonical_id(id_field.deserialize(item))
            except ValidationError as exc:
                raise fail(PARAMETER_INVALID, flatten_errors(exc.messages, "id"), item) from None
            records = tx.records(op.entity)
            record = records.get(key)
            if record is None:
                raise fail(ENTITY_NOT_FOUND, [("id", f"{op.entity} {key} does not exist in this space.")], key)
            if record.get("is_deleted") is not deleted:
                record.update({"is_deleted": deleted, **dict.fromkeys(stamps, now)})
                records.put(key, record)
            return ItemOutcome(index, DELETED if deleted else RESTORED, key=key, record=record)

        result = engine.run_batch(call, call.body, step)
        data = [outcome.key if outcome.ok else outcome_error(outcome) for outcome in result.outcomes]
        return Reply(200, {"success": True, "data": data}, result=result)

    # --- reads (the read model: pipeliner_read_model.py; the list: pipeliner_list.py) ------------

    def _bad_read(self, call: Call, errors: list[tuple[str, str]]) -> Reply:
        return self.error(400, "Bad Request", "Invalid parameters: " + "; ".join(f"{p}: {m}" for p, m in errors),
                          activity_id=call.activity_id)

    def get(self, call: Call, engine: Engine) -> Reply:
        """One record by key, deleted or not (a soft-deleted Call still exists: it says is_deleted)."""
        op = call.operation
        model = read_model(op)
        expand = call.query.get("expand") or []
        try:
            model.check(expand, None)
        except ReadModelError as exc:
            return self._bad_read(call, exc.errors)
        key = canonical_id(call.path[op.key])
        with engine.read(call) as tx:
            record = tx.records(op.entity).get(key)
            if record is None:
                return self.error(404, "Not Found", f"{op.entity} {key} does not exist in this space.",
                                  activity_id=call.activity_id)
            shown = model.render(record, related(tx), call.base_url, expand=expand)
        return Reply(200, {"success": True, "data": shown})

    def list(self, call: Call, engine: Engine) -> Reply:
        """A page of records: filters, order-by, cursors and page_info from the store's indexes
        (pipeliner_list.py), each record in the read model."""
        op = call.operation
        model = read_model(op)
        expand, load_only = call.query.get("expand") or [], call.query.get("load-only")
        try:
            model.check(expand, load_only)
            query = ListQuery.parse(call.query, op.entity_schema()["properties"], op.key, list_spellings(op))
        except (ReadModelError, ListError) as exc:
            return self._bad_read(call, exc.errors)
        with engine.read(call) as tx:
            records = tx.records(op.entity)
            found = page(records, query, DELETED_FIELD)
            data = [model.render(records.get(key), related(tx), call.base_url, expand=expand, load_only=load_only)
                    for key in found.keys]
        start, end = found.cursors
        page_info = {"start_cursor": start, "end_cursor": end,
                     "has_next_page": found.has_next, "has_previous_page": found.has_previous}
        return Reply(200, {"success": True, "data": data, "page_info": page_info, "total_count": found.total})


DELETED_FIELD = "is_deleted"  # the soft-delete flag: include-deleted=false leaves out the records where it is true


def read_model(op: Operation) -> ReadModel:
    """The operation's read model, built once per loaded spec."""
    cache = op.spec.schema_classes
    name = ("read-model", op.operation_id)
    if name not in cache:
        cache[name] = ReadModel(op)
    return cache[name]


def related(tx: Transaction) -> Related:
    """The read model's view of the space's related records (canonical ids, as they are stored)."""
    return Related(get=lambda entity, key: tx.records(entity).get(canonical_id(key)),
                   holds=lambda entity, key: canonical_id(key) in tx.records(entity))


__all__ = ["PipelinerDialect"]
