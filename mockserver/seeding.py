"""Put the store in a known state: seed records (file or API) and export / import snapshots.

Seeded records go through the dialect's ``seed_record`` so they get the defaults written ones get;
a seeding call is all or nothing (one transaction per tenant). A snapshot is the raw state
(records under their stored keys, plus each tenant's dialect metadata) and is imported as is.
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import yaml
from marshmallow import ValidationError

from .batch import ItemFailed, utc_now
from .dialects import DIALECTS
from .dialects.base import SeedTarget
from .entities import UnknownEntity, check_entity_known, check_sequence_known
from .jsontext import non_finite_path
from .problems import sentence
from .schemas import flatten_errors, schema_for
from .specs import Spec
from .store import Store

log = logging.getLogger(__name__)


class SeedError(ValueError):
    """Seeded records were rejected (nothing stored); ``items`` names each bad one and its fields."""

    def __init__(self, message: str, items: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.items = items or []


class UnknownVendor(LookupError):
    pass



class ReservedEntity(ValueError):
    """An entity name the store keeps for itself ("" or starting with "__")."""


def check_entity(entity: str) -> str:
    if not isinstance(entity, str) or not entity or entity.startswith("__"):
        raise ReservedEntity(f"Entity name {entity!r} is reserved: it may not be empty or start with '__'.")
    return entity


def vendor_spec(specs: list[Spec], vendor: str) -> Spec:
    spec = next((s for s in specs if s.vendor == vendor and s.dialect), None)
    if spec is None:
        known = ", ".join(sorted({s.vendor for s in specs if s.vendor and s.dialect}))
        raise UnknownVendor(f"Unknown vendor {vendor!r}; known: {known}.")
    return spec


def seed_target(spec: Spec, entity: str, user: str) -> SeedTarget:
    """The operation that writes ``entity`` (the first one naming it with a key), or free-form."""
    check_entity_known(spec, check_entity(entity))
    operation = next((op for op in spec.operations if op.entity == entity and op.key), None)
    return SeedTarget(spec=spec, entity=entity, operation=operation, user=user, now=utc_now())


def seed_records(store: Store, specs: list[Spec], vendor: str, tenant: str, entity: str,
                 records: Any, user: str) -> list[dict]:
    """Validate and store ``records`` (a list) in one transaction; all or nothing. Returns them as stored."""
    spec = vendor_spec(specs, vendor)
    target = seed_target(spec, entity, user)
    if not isinstance(records, list):
        raise SeedError("The records to seed must be a JSON array of objects.")
    dialect = DIALECTS[spec.dialect]
    stored: list[dict] = []
    failed: list[dict[str, Any]] = []
    with store.transaction(vendor, tenant) as tx:
        table = tx.records(entity)
        for index, record in enumerate(records):
            try:
                key, value = dialect.seed_record(target, table, index, record)
            except ItemFailed as failure:
                failed.append({"index": index, "errors": [{"field": f, "message": m} for f, m in failure.errors]})
                continue
            table.put(key, value)
            stored.append(value)
        if failed:
            raise SeedError(_describe(failed), failed)  # leaves the transaction: nothing is written
    log.info("seeded vendor=%s tenant=%r entity=%s records=%d", vendor, tenant, entity, len(stored))
    return stored


def _describe(failed: list[dict[str, Any]]) -> str:
    parts = []
    for item in failed:
        fields = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in item["errors"])
        parts.append(f"item {item['index']}: {fields}")
    return "Seeded records were rejected (nothing stored): " + " | ".join(parts)


def read_records(store: Store, specs: list[Spec], vendor: str, tenant: str, entity: str) -> list[dict]:
    check_entity_known(vendor_spec(specs, vendor), check_entity(entity))
    with store.transaction(vendor, tenant, write=False) as tx:
        return tx.records(entity).all()


# --- seed files --------------------------------------------------------------------------------------

def load_seed_file(path: Path) -> dict[str, Any]:
    """A JSON or YAML file: ``{vendor: {tenant: {entity: [record, ...]}}}``."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: cannot be read: {exc}") from None
    if not _nested_mappings(document, depth=3):
        raise SeedError(f"{path}: expected {{vendor: {{tenant: {{entity: [records]}}}}}}")
    where = non_finite_path(document)
    if where is not None:
        raise SeedError(f"{path}: {where}: NaN and infinite numbers are not JSON")
    return document


def _nested_mappings(node: Any, depth: int) -> bool:
    if depth == 0:
        return True
    return isinstance(node, Mapping) and all(
        isinstance(k, str) and _nested_mappings(v, depth - 1) for k, v in node.items())


def apply_seed_file(path: Path, store: Store, specs: list[Spec], user: str) -> int:
    """Seed everything a seed file holds; a bad record fails startup with its place named."""
    total = 0
    for vendor, tenants in load_seed_file(path).items():
        for tenant, entities in tenants.items():
            for entity, records in entities.items():
                try:
                    total += len(seed_records(store, specs, vendor, tenant, entity, records, user))
                except (SeedError, UnknownVendor, UnknownEntity, ReservedEntity) as exc:
                    raise SeedError(f"{path}: {vendor}/{tenant}/{entity}: {exc}") from None
    return total


# --- snapshots ---------------------------------------------------------------------------------------

# The shape of a snapshot; specs/admin.yaml (Snapshot) says the same.
TENANT_STATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "records": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "object"}}},
        "meta": {"type": "object"},
        "sequences": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}
SNAPSHOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["vendors"],
    "properties": {
        "vendors": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": TENANT_STATE_SCHEMA}},
    },
}
_SnapshotSchema = schema_for(SNAPSHOT_SCHEMA, name="Snapshot")

def export_snapshot(store: Store, vendors: list[str]) -> dict[str, Any]:
    """``{"vendors": {vendor: {tenant: {"records": {entity: {key: record}}, "meta": {...},
    "sequences": {entity: last key}}}}}``: the sequences too, so a restored state never reuses an id."""
    out: dict[str, Any] = {}
    for vendor in vendors:
        tenants: dict[str, Any] = {}
        for tenant in store.tenants(vendor):
            with store.transaction(vendor, tenant, write=False) as tx:
                tenants[tenant] = {
                    "records": {entity: dict(tx.records(entity).items()) for entity in tx.entities()},
                    "meta": dict(tx.meta),
                    "sequences": tx.sequences(),
                }
        out[vendor] = tenants
    return {"vendors": out}


def import_snapshot(store: Store, specs: list[Spec], snapshot: Any,
                    reset: Callable[[], Any] | None = None, user: str = "mockserver") -> int:
    """Replace the whole state with ``snapshot`` (validated first: a bad one changes nothing).

    Every record goes through its dialect's ``seed_record``, as a seeded one does, and must come out
    under the key it is filed under: a stored record is its own fixpoint there (an exported snapshot
    imports unchanged), while a record of the wrong shape is refused here instead of breaking a
    later vendor call. What the dialect fills in (a missing default) is stored filled in.
    """
    try:
        snapshot = _SnapshotSchema().load(snapshot) if isinstance(snapshot, Mapping) else None
    except ValidationError as exc:
        problems = "; ".join(f"{p}: {m}" for p, m in flatten_errors(exc.messages))
        raise SeedError(sentence(f"Not a snapshot: {problems}")) from None
    if snapshot is None:
        raise SeedError("Not a snapshot: expected a JSON object {\"vendors\": {...}}.")
    vendors = sorted({s.vendor for s in specs if s.vendor and s.dialect})
    for vendor, tenants in snapshot["vendors"].items():
        if vendor not in vendors:
            raise UnknownVendor(f"Unknown vendor {vendor!r}; known: {', '.join(vendors)}.")
        spec = vendor_spec(specs, vendor)
        for state in tenants.values():
            for entity in state.get("records") or {}:
                check_entity_known(spec, check_entity(entity))
            for name in state.get("sequences") or {}:
                check_sequence_known(spec, check_entity(name))
    with tempfile.TemporaryDirectory(prefix="mockserver-snapshot-") as scratch:
        checked = _checked_records(Store(scratch), specs, snapshot, user)
    (reset or store.reset)()
    written = 0
    for vendor, tenants in snapshot["vendors"].items():
        for tenant, state in tenants.items():
            with store.transaction(vendor, tenant) as tx:
                tx.meta.update(state.get("meta") or {})
                for entity, records in checked[vendor][tenant].items():
                    table = tx.records(entity)
                    for key, record in records:
                        table.put(key, record)
                        written += 1
                for entity, last in (state.get("sequences") or {}).items():
                    tx.records(entity).reserve(last)
                tx.changed = True  # an empty tenant is part of the state too
    log.info("snapshot imported: %d record(s)", written)
    return written


def _checked_records(scratch: Store, specs: list[Spec], snapshot: dict, user: str) -> dict:
    """vendor → tenant → entity → [(key, record)], each record seeded into ``scratch`` as it would be
    stored; raise SeedError naming every record that is not a record of its entity."""
    checked: dict[str, dict[str, dict[str, list]]] = {}
    failed: list[dict[str, Any]] = []
    for vendor, tenants in snapshot["vendors"].items():
        spec = vendor_spec(specs, vendor)
        dialect = DIALECTS[spec.dialect]
        for tenant, state in tenants.items():
            entities = checked.setdefault(vendor, {}).setdefault(tenant, {})
            records = state.get("records") or {}
            with scratch.transaction(vendor, tenant) as tx:
                for entity in dialect.seed_order(list(records)):
                    target = seed_target(spec, entity, user)
                    table = tx.records(entity)
                    for index, (key, record) in enumerate(records[entity].items()):
                        where = f"{vendor}/{tenant}/{entity}/{key}"
                        try:
                            got_key, value = dialect.seed_record(target, table, index, record)
                        except ItemFailed as failure:
                            failed.append({"index": where, "errors": [{"field": f, "message": m}
                                                                      for f, m in failure.errors]})
                            continue
                        if str(got_key) != str(key):
                            failed.append({"index": where, "errors": [{"field": target.key, "message":
                                           f"The record's key is {got_key!r}, not the {key!r} it is filed under."}]})
                            continue
                        table.put(got_key, value)
                        entities.setdefault(entity, []).append((got_key, value))
    if failed:  # named in the message: a snapshot's records are addressed by path, not by index
        raise SeedError(sentence("Not a snapshot: " + _describe(failed).replace("Seeded records", "Records")))
    return checked
