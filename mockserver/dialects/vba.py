"""VBA Software (VBAPI) dialect: ``PUT /<entities>-batch`` with a JSON array, answered 207.

The body is bound first, as VBA's ASP.NET Core stack binds it (``aspnet.py``): a body that does not
bind is a whole-request 400 and nothing runs. Then every item gets its own
``{"id": [{"key", "value"}], "status", "body"}`` entry, in order: 201 Created, 200 Updated, or 400
with every bad field named. Envelope: ``{data, error, debug}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from ..batch import CREATED, FAILED, UPDATED, Engine, ItemFailed, ItemOutcome, load_item
from ..schemas import INT_RANGES
from ..specs import Operation, derived, entity_schema
from ..store import Records, Transaction
from .aspnet import STRICT, WEB_DEFAULTS, Binder, BindingFailed, JsonOptions, trace_id, validation_problem
from .base import Call, Dialect, ItemReport, Reply, SeedTarget

ITEM_STATUS = {CREATED: (201, "Created"), UPDATED: (200, "Updated")}
STATUS_OUTCOME = {status: outcome for outcome, (status, _) in ITEM_STATUS.items()}
# Emulation choice: an item that fails validation is reported 400 with the field errors (VBA's
# documented per-item statuses are 200, 201, 4xx and 500; the exact text is not documented).
INVALID_ITEM_STATUS = 400


def vba_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as ASP.NET serializes DateTime (RFC 3339 valid)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def envelope(data: Any, activity_id: str, error: Mapping[str, Any] | None = None) -> dict:
    return {"data": data, "error": error, "debug": {"activityID": activity_id}}


def auto_key(op: Operation) -> Any:
    """The key value that asks the database to assign a key: the key field's spec ``default`` (0)."""
    return op.entity_schema()["properties"][op.key].get("default")


def key_maximum(op: Operation) -> int:
    """The largest key the key column holds (int32 unless the spec says otherwise)."""
    key_schema = op.entity_schema()["properties"][op.key]
    return key_schema.get("maximum", INT_RANGES.get(key_schema.get("format", "int32"), (0, 2**31 - 1))[1])


def json_options(call: Call) -> JsonOptions:
    """How VBA binds a body: System.Text.Json's web defaults (ASP.NET Core's), or the opt-in strict mode."""
    return STRICT if call.strict_binding else WEB_DEFAULTS


def key_value(key: Any) -> str | None:
    """``data.id.value``: the key as a JSON string (seed 002 and the vendor's SDK type it string)."""
    return None if key is None else str(key)


def binding_error(call: Call, failure: BindingFailed) -> Reply:
    """Emulation choice: [ApiController]'s ValidationProblemDetails, inside VBA's usual error envelope
    (every VBA error answer is ``{data, error, debug}``; the spec's 400 says so too)."""
    return Reply(400, envelope(None, call.activity_id, validation_problem(failure, trace_id(call.activity_id))))


def nullable_fields(op: Operation) -> list[str]:
    props = op.entity_schema()["properties"]
    return [name for name, sub in props.items()
            if sub.get("nullable") or (isinstance(sub.get("type"), list) and "null" in sub["type"])]


@dataclass(frozen=True)
class RecordShape:
    """What every record of an operation's entity shares, worked out once per operation (not per item)."""

    nulls: dict  # the nullable fields, each None: PUT replaces, so a field not sent becomes null
    order: tuple[str, ...]  # the spec's field order, kept in the stored record
    limits: dict  # audit field → its maxLength (None: no limit)
    assign: Any  # the key value that asks for a new key (auto_key)
    maximum: int  # key_maximum


def record_shape(op: Operation) -> RecordShape:
    props = op.entity_schema()["properties"]
    return derived(op, "vba-record-shape", lambda op: RecordShape(
        dict.fromkeys(nullable_fields(op)), tuple(props),
        {name: props.get(name, {}).get("maxLength") for name in op.managed}, auto_key(op), key_maximum(op)))


def stamp(op: Operation, record: dict, previous: dict | None, user: str, now: str) -> None:
    """Set the server-managed audit fields (``x-mockserver.managed``: field → role)."""
    limits = record_shape(op).limits
    for name, role in op.managed.items():
        if role in ("created-at", "created-by") and previous is not None:
            record[name] = previous.get(name)
            continue
        value = now if role.endswith("-at") else user
        limit = limits[name]
        record[name] = value[:limit] if limit else value  # a long user name must still fit the column


def build_record(op: Operation, records: Records, data: dict, user: str, now: str) -> tuple[Any, dict, dict | None]:
    """A validated item → (key, the record as the database stores it, the previous record).

    Key 0 (the key's database default) takes the next key; PUT replaces, so client-writable fields
    not sent become null; the audit fields are stamped; fields keep the spec's order.
    """
    shape = record_shape(op)
    key = data[op.key]
    if shape.assign is not None and key == shape.assign:
        key = records.next_key()
        if key > shape.maximum:
            raise ItemFailed([(op.key, "The database could not assign a new key: key space exhausted.")],
                             key=data[op.key], status=500)
    previous = records.get(key)
    record = {**shape.nulls, **data, op.key: key}
    stamp(op, record, previous, user, now)
    return key, {name: record[name] for name in shape.order if name in record}, previous


class VBADialect(Dialect):
    name = "vba"

    def __init__(self) -> None:
        self.actions = {"upsert-batch": self.upsert_batch, "get": self.get}

    def error(self, status, title, detail, *, activity_id, extra=None) -> Reply:
        problem = {"type": f"https://httpstatuses.io/{status}", "title": title, "status": status,
                   "detail": detail, "instance": f"urn:vbapi:activity:{activity_id}", **(extra or {})}
        return Reply(status, envelope(None, activity_id, problem))

    # --- actions ---------------------------------------------------------------------------------

    def upsert_batch(self, call: Call, engine: Engine) -> Reply:
        items = call.body
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return self.error(400, "Bad Request", "The request body must be a JSON array of "
                              f"{call.operation.entity} objects.", activity_id=call.activity_id)
        op = call.operation
        try:  # the framework binds the whole body before VBA's code sees an item
            items = Binder(op.entity_schema(), op.entity, json_options(call), call.raw_body).bind_array(items)
        except BindingFailed as failure:
            return binding_error(call, failure)
        schema = entity_schema(op)
        now = vba_timestamp(engine.clock())

        def step(tx: Transaction, index: int, item: dict) -> ItemOutcome:
            data = load_item(schema, item, key=item.get(op.key))
            records = tx.records(op.entity)
            key, record, previous = build_record(op, records, data, call.user, now)
            records.put(key, record)
            return ItemOutcome(index, UPDATED if previous else CREATED, key=key, record=record)

        result = engine.run_batch(call, items, step)
        data = [self._item_entry(op, outcome) for outcome in result.outcomes]
        return Reply(207, envelope(data, call.activity_id), result=result)

    def get(self, call: Call, engine: Engine) -> Reply:
        op = call.operation
        key = call.path[op.extension["path-key"]]
        with engine.read(call) as tx:
            record = tx.records(op.entity).get(key)
        if record is None:
            return self.error(404, "Not Found", f"{op.entity} with {op.key} {key} was not found.",
                              activity_id=call.activity_id)
        return Reply(200, envelope(record, call.activity_id))

    # --- control-plane hooks ----------------------------------------------------------------------

    def injected_item_failure(self, call, index, item, *, status, message):
        """A 207 entry with the rule's status (500 by default) and message, keyed like any item."""
        key = item.get(call.operation.key) if isinstance(item, dict) and call.operation.key else None
        return ItemFailed([("", message)], key=key, status=status, injected=True)

    def item_reports(self, operation, body, status, response):
        """A 207's ``data[i]``: status 201 created, 200 updated, anything else failed (``body`` says why)."""
        data = response.get("data") if isinstance(response, dict) else None
        if operation.action != "upsert-batch" or status != 207 or not isinstance(data, list):
            return None
        reports = []
        for index, entry in enumerate(data):
            entry = entry if isinstance(entry, dict) else {}
            ids = entry.get("id") if isinstance(entry.get("id"), list) else []
            key = ids[0].get("value") if ids and isinstance(ids[0], dict) else None
            outcome = STATUS_OUTCOME.get(entry.get("status"), FAILED)
            reports.append(ItemReport(index, outcome, key, None if outcome != FAILED else str(entry.get("body"))))
        return reports

    def seed_record(self, target: SeedTarget, records: Records, index: int, record: Any) -> tuple[Any, dict]:
        """The defaults of a written record (key 0 → assigned, nulls, audit fields); audit values the
        seed gives are kept (a seed describes a known past state)."""
        op = target.operation
        if op is None or op.entity != target.entity:
            return super().seed_record(target, records, index, record)
        data = load_item(entity_schema(op), record)
        key, stored, _ = build_record(op, records, data, target.user, vba_timestamp(target.now))
        stored.update({name: data[name] for name in op.managed if name in data})
        return key, stored

    @staticmethod
    def _item_entry(op: Operation, outcome: ItemOutcome) -> dict:
        identity = [{"key": op.key, "value": key_value(outcome.key)}]
        if outcome.ok:
            status, body = ITEM_STATUS[outcome.result]
            return {"id": identity, "status": status, "body": body}
        return {"id": identity, "status": outcome.detail.get("status", INVALID_ITEM_STATUS), "body": outcome.message()}


__all__ = ["VBADialect", "ItemFailed"]
