"""VCC Live records and fields seeded through the control plane, given what written ones get.

A project's tables are ``fields:<projectid>`` (keyed by field name) and ``records:<projectid>`` (keyed
by numberid). A seeded field is checked as "Add field and values" checks it; a seeded record takes the
detail's shape (``data``, ``contacts``, dates, ...) with the defaults of an added record, and its
``data`` is resolved like a form (select value names are matched or created). Ids a seed gives
(``numberid``, ``fieldid``, ``valueid``) are kept and the tenant-wide sequences move past them, so a
later write never reuses one; ids a seed leaves out are assigned as for a write.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..batch import ItemFailed, load_item
from ..specs import Spec, entity_schema
from ..store import Transaction
from .vcclive_fields import (
    NUMBER_IDS,
    Project,
    field_definition,
    new_record,
    plan_form,
    value_names,
    vcc_time,
)

MAX_ID_DIGITS = 20  # the spec's NumberId: a digit string of at most 20 characters
PROJECT_TABLE = re.compile(r"^(records|fields):([1-9][0-9]*)$")


def seeded_table(entity: str) -> tuple[str, int] | None:
    """``records:22`` → ("records", 22); None for any other entity name."""
    match = PROJECT_TABLE.match(entity)
    return (match.group(1), int(match.group(2))) if match else None


def positive_id(record: dict, name: str) -> int | None:
    """A seeded id: absent, or a positive integer (the vendor's digit strings, e.g. "4", are accepted)."""
    if name not in record:
        return None
    value = record[name]
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ItemFailed([(name, "Must be a positive integer (or a string of digits).")])
    return value


def _schema(spec: Spec, name: str):
    """A component schema of the VCC spec (every operation sees them all)."""
    return entity_schema(spec.operations[0], name)


def seed_field(spec: Spec, tx: Transaction, projectid: int, record: Any) -> tuple[str, dict]:
    """A field as "Add field and values" takes it, plus optional ``fieldid`` and per-value ``valueid``."""
    if not isinstance(record, dict):
        raise ItemFailed([("", "Item is not a JSON object.")])
    fieldid = positive_id(record, "fieldid")
    values = record.get("values")
    valueids = [positive_id(v, "valueid") if isinstance(v, dict) else None for v in values] \
        if isinstance(values, list) else None
    given = [v for v in valueids or [] if v is not None]
    if len(set(given)) < len(given):
        raise ItemFailed([("values", "Value ids must be unique.")])
    plain = {k: v for k, v in record.items() if k != "fieldid"}
    if isinstance(values, list):
        plain["values"] = [{k: x for k, x in v.items() if k != "valueid"} if isinstance(v, dict) else v
                           for v in values]
    field = load_item(_schema(spec, "NewField"), plain)
    names = value_names(field)
    project = Project(tx, projectid)
    definition = field_definition(project, field, names, {"fieldid": fieldid, "valueids": valueids})
    return field["name"], definition


def seed_project_record(spec: Spec, tx: Transaction, projectid: int, record: Any,
                        now: datetime) -> tuple[int, dict]:
    """A record in the detail's shape; what it leaves out is what an added record starts with."""
    if not isinstance(record, dict):
        raise ItemFailed([("", "Item is not a JSON object.")])
    numberid = positive_id(record, "numberid")
    detail = spec.operations[0].entity_schema("RecordDetail")["properties"]
    unknown = [key for key in record if key not in detail]
    if unknown:
        raise ItemFailed([(key, "Unknown field (a seeded record has the detail's shape: data, contacts, ...).")
                          for key in unknown])
    data = record.get("data", {})
    if not isinstance(data, dict):
        raise ItemFailed([("data", "Not a valid mapping type.")])
    others = {k: v for k, v in record.items() if k not in ("numberid", "data")}
    rest = load_item(_schema(spec, "RecordDetail"), others, partial=True)
    project = Project(tx, projectid)
    plan = plan_form(project, data, where="data.")
    # valid: from here on the record is stored
    numberid = project.take_id(NUMBER_IDS, numberid)
    stored = {**new_record(numberid, vcc_time(now)), **rest, "numberid": numberid}
    stored["data"] = project.apply(plan)
    return numberid, stored

