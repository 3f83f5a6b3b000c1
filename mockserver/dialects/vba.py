"""VBA Software (VBAPI) dialect: ``PUT /<entities>-batch`` with a JSON array, answered 207.

Every batch item gets its own ``{"id": [{"key", "value"}], "status", "body"}`` entry, in order:
201 Created, 200 Updated, or 400 with every bad field named. Envelope: ``{data, error, debug}``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from marshmallow import ValidationError

from ..batch import CREATED, UPDATED, Engine, ItemFailed, ItemOutcome, load_item
from ..schemas import INT_RANGES
from ..specs import Operation, entity_schema
from ..store import Records, Transaction
from .base import Call, Dialect, Reply, SeedTarget

ITEM_STATUS = {CREATED: (201, "Created"), UPDATED: (200, "Updated")}
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


def echoed_key(op: Operation, key: Any) -> Any:
    """The key to echo in a failed item's ``id``: the sent one, or None when it is not a valid key
    (2147483648, "x"): an ``id`` names a record the client could read back (the spec's links do)."""
    try:
        entity_schema(op).fields[op.key].deserialize(key)
    except ValidationError:
        return None
    return key


def nullable_fields(op: Operation) -> list[str]:
    props = op.entity_schema()["properties"]
    return [name for name, sub in props.items()
            if sub.get("nullable") or (isinstance(sub.get("type"), list) and "null" in sub["type"])]


def stamp(op: Operation, record: dict, previous: dict | None, user: str, now: str) -> None:
    """Set the server-managed audit fields (``x-mockserver.managed``: field → role)."""
    props = op.entity_schema()["properties"]
    for name, role in op.managed.items():
        if role in ("created-at", "created-by") and previous is not None:
            record[name] = previous.get(name)
            continue
        value = now if role.endswith("-at") else user
        limit = props.get(name, {}).get("maxLength")
        record[name] = value[:limit] if limit else value  # a long user name must still fit the column


def build_record(op: Operation, records: Records, data: dict, user: str, now: str) -> tuple[Any, dict, dict | None]:
    """A validated item → (key, the record as the database stores it, the previous record).

    Key 0 (the key's database default) takes the next key; PUT replaces, so client-writable fields
    not sent become null; the audit fields are stamped; fields keep the spec's order.
    """
    key = data[op.key]
    assign = auto_key(op)
    if assign is not None and key == assign:
        key = records.next_key()
        if key > key_maximum(op):
            raise ItemFailed([(op.key, "The database could not assign a new key: key space exhausted.")],
                             key=data[op.key], status=500)
    previous = records.get(key)
    record = {**dict.fromkeys(nullable_fields(op)), **data, op.key: key}
    stamp(op, record, previous, user, now)
    order = list(op.entity_schema()["properties"])
    return key, {name: record[name] for name in order if name in record}, previous


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
        identity = [{"key": op.key, "value": outcome.key}]
        if outcome.ok:
            status, body = ITEM_STATUS[outcome.result]
            return {"id": identity, "status": status, "body": body}
        status = outcome.detail.get("status", INVALID_ITEM_STATUS)
        return {"id": [{"key": op.key, "value": echoed_key(op, outcome.key)}], "status": status,
                "body": outcome.message()}


__all__ = ["VBADialect", "ItemFailed"]
