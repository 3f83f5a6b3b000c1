"""A VCC Live project's fields and the resolution of form values into what a record stores.

A record's ``data`` holds text for a text field, a value id for a simple field and a list of value
ids for a multiple field. Text sent to a select field is matched to the field's values by name, and
a name that does not exist yet is created (seed 001). Resolution is split in two so a batch element
never changes anything before it is known to be valid: ``plan_form`` only reads (new names become
``Pending``), ``Project.apply`` then creates the values and returns the data with their ids.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..store import Records, Transaction
from . import vcclive_errors as E

TEXT, SIMPLE, MULTIPLE = "text", "simple", "multiple"
MULTIPLE_SEPARATOR = "|"
# Emulation choice: a value name is 1..255 characters after trimming spaces; longer fails the element.
VALUE_NAME_MAX = 255
VCC_TIME = "%Y-%m-%d %H:%M:%S"  # the vendor's "YYYY-MM-DD HH:MM:SS"

# Tenant-wide id sequences (Records.next_key on a table that holds no documents): numberids, field
# ids and value ids are unique within a customer, so an id used in the wrong project is not found.
NUMBER_IDS, FIELD_IDS, VALUE_IDS = "numberid-sequence", "fieldid-sequence", "valueid-sequence"


def vcc_time(moment: datetime) -> str:
    return moment.strftime(VCC_TIME)


def valid_call_date(text: str) -> bool:
    """A real calendar moment in the vendor's format (the spec's pattern checks only the shape)."""
    try:
        datetime.strptime(text, VCC_TIME)
    except ValueError:
        return False
    return True


def new_record(numberid: int, now: str) -> dict:
    """A record as the vendor's detail shows it (``cdrs`` stays empty: the mock places no calls)."""
    return {"numberid": numberid, "data": {}, "contacts": {}, "phone_field": None, "next_calldate": None,
            "act_status": None, "pref_userid": None, "events": [], "cdrs": [],
            # Emulation choice: the mock's call centre runs on UTC, so both creation dates agree.
            "create_date": now, "create_date_utc": now, "modify_date": now}


@dataclass(frozen=True)
class Pending:
    """A select value that a form names but that does not exist yet."""

    name: str


@dataclass
class FormPlan:
    data: dict[str, Any]  # field name → text | value id | [value ids]; Pending where a value is new
    new_values: dict[str, list[str]] = field(default_factory=dict)  # field name → names to create


class Project:
    """One project of a customer inside a transaction.

    Emulation choice: every project id exists and starts empty (projects are created in the
    vendor's admin UI, not through this API); fields and records are kept per project, in the
    tables ``fields:<projectid>`` (keyed by field name) and ``records:<projectid>`` (by numberid).
    """

    def __init__(self, tx: Transaction, projectid: int):
        self.tx = tx
        self.fields: Records = tx.records(f"fields:{projectid}")
        self.records: Records = tx.records(f"records:{projectid}")

    def field(self, name: str) -> dict | None:
        return self.fields.get(name)

    def all_fields(self) -> list[dict]:
        return sorted(self.fields.all(), key=lambda f: f["fieldid"])

    def next_id(self, sequence: str) -> int:
        return self.tx.records(sequence).next_key()

    def take_id(self, sequence: str, given: int | None) -> int:
        """``given`` (a seeded id; later ids of the sequence come after it), else the next id."""
        if given is None:
            return self.next_id(sequence)
        self.tx.records(sequence).reserve(given)
        return given

    def apply(self, plan: FormPlan) -> dict[str, Any]:
        """Create the plan's new values; the data with every Pending replaced by its new id."""
        created: dict[tuple[str, str], int] = {}
        for name, value_names in plan.new_values.items():
            definition = self.field(name)
            for value_name in value_names:
                valueid = self.next_id(VALUE_IDS)
                definition["values"].append({"valueid": valueid, "name": value_name})
                created[(name, value_name)] = valueid
            self.fields.put(name, definition)

        def real(name: str, value: Any) -> Any:
            if isinstance(value, Pending):
                return created[(name, value.name)]
            if isinstance(value, list):
                return [real(name, v) for v in value]
            return value

        return {name: real(name, value) for name, value in plan.data.items()}


def value_names(field: Mapping[str, Any]) -> list[str]:
    """A new field's value names, trimmed, after the checks of "Add field and values"."""
    values = field.get("values")
    if field["type"] == TEXT and values:
        raise E.fail(E.VALUES_NOT_ALLOWED, "values")
    if field["type"] in (SIMPLE, MULTIPLE) and values is None:
        raise E.fail(E.MISSING_VALUES, "values")
    names = [value["name"].strip() for value in values or []]
    for index, name in enumerate(names):
        if not name:
            raise E.fail(E.NAME_LENGTH, "name", index=index)
        if name in names[:index]:
            raise E.fail(E.VALUE_NAME_EXISTS, "name", index=index)
    return names


def field_definition(project: Project, field: Mapping[str, Any], names: list[str],
                     ids: Mapping[str, Any] | None = None) -> dict:
    """What a project stores for a checked new field; ids are taken from ``ids`` (``fieldid`` and
    ``valueids``, as a seed gives them) or from the tenant-wide sequences."""
    ids = ids or {}
    valueids = list(ids.get("valueids") or [None] * len(names))
    return {"fieldid": project.take_id(FIELD_IDS, ids.get("fieldid")), "name": field["name"],
            "label": field.get("label", field["name"]), "type": field["type"],
            **{k: field[k] for k in ("indexed", "customised", "quota") if k in field},
            "values": [{"valueid": project.take_id(VALUE_IDS, valueid), **value, "name": name}
                       for value, name, valueid in zip(field.get("values") or [], names, valueids)]}


def plan_form(project: Project, form: Mapping[str, Any], *, where: str = "") -> FormPlan:
    """Check every key and value of a form against the project's fields; change nothing."""
    plan = FormPlan(data={})
    for name, value in form.items():
        prop = f"{where}{name}"
        definition = project.field(name)
        if definition is None:
            raise E.fail(E.FIELD_NOT_EXISTS, prop)
        resolved = resolve(definition, value, prop)
        plan.data[name] = resolved
        new = [v.name for v in (resolved if isinstance(resolved, list) else [resolved]) if isinstance(v, Pending)]
        if new:
            plan.new_values[name] = new
    return plan


def resolve(definition: Mapping[str, Any], value: Any, prop: str) -> Any:
    """One form value → what the record stores (Pending for a select value to be created)."""
    kind = definition["type"]
    if kind == TEXT:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a number sent to a text field is stored as its text
        raise E.fail(E.WRONG_VALUE_FORMAT, prop)
    by_name = {v["name"]: v["valueid"] for v in definition["values"]}
    known_ids = set(by_name.values())
    if kind == SIMPLE:
        if value is None or value == "":
            return None
        if isinstance(value, list) or isinstance(value, bool):
            raise E.fail(E.WRONG_VALUE_FORMAT, prop)
        return _select(value, by_name, known_ids, prop)
    # multiple
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts: list[Any] = value.split(MULTIPLE_SEPARATOR)
    elif isinstance(value, list):  # a name in the list is text like any other: "a|b" is two values
        parts = [piece for part in value
                 for piece in (part.split(MULTIPLE_SEPARATOR) if isinstance(part, str) else [part])]
    elif isinstance(value, int) and not isinstance(value, bool):
        parts = [value]
    else:
        raise E.fail(E.WRONG_VALUES_FORMAT, prop)
    chosen: list[Any] = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (str, int)):
            raise E.fail(E.WRONG_VALUES_FORMAT, prop)
        if isinstance(part, str) and not part.strip():
            continue  # "a||b" and a trailing "|" name nothing
        selected = _select(part, by_name, known_ids, prop)
        if selected not in chosen:
            chosen.append(selected)
    return chosen


def _select(value: str | int, by_name: Mapping[str, int], known_ids: set[int], prop: str) -> int | Pending:
    if isinstance(value, int):
        if value not in known_ids:
            raise E.fail(E.VALUE_NOT_EXISTS, prop)
        return value
    name = value.strip()
    if not name or len(name) > VALUE_NAME_MAX:
        raise E.fail(E.NAME_LENGTH, prop)
    return by_name.get(name, Pending(name))


def find_by_form(project: Project, criteria: Mapping[str, Any]) -> list[dict]:
    """Records whose stored data equals every criterion (select criteria compare by value)."""
    expected: dict[str, Any] = {}
    for name, value in criteria.items():
        definition = project.field(name)
        if definition is None:
            raise E.fail(E.FIELD_NOT_EXISTS, f"search.{name}")
        resolved = resolve(definition, value, f"search.{name}")
        if any(isinstance(v, Pending) for v in (resolved if isinstance(resolved, list) else [resolved])):
            return []  # a value that does not exist is held by no record
        expected[name] = sorted(resolved) if isinstance(resolved, list) else resolved
    keys: set[str] | None = None
    for name, want in expected.items():  # each criterion narrows by an index, no scan of the project
        matches = set(project.records.find(("data", name), want))
        if want == []:  # no value stored counts as the empty selection
            matches |= set(project.records.find(("data", name), None))
        keys = matches if keys is None else keys & matches
        if not keys:
            return []
    if keys is None:
        return project.records.all()
    return in_key_order(project.records, keys)


def in_key_order(records: Records, keys: set[str]) -> list[dict]:
    """The records of ``keys`` in numberid order (the order the vendor's list calls use)."""
    ordered = sorted(keys, key=lambda k: (len(k), k))  # numeric order for digit strings
    return [record for record in (records.get(k) for k in ordered) if record is not None]


