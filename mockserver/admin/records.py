"""Control plane: stored records (read, seed) and whole-state snapshots (export, import)."""
from __future__ import annotations

from flask import jsonify

from ..entities import UnknownEntity
from ..problems import BadRequest, Conflict, NotFound
from ..seeding import (
    ReservedEntity,
    SeedError,
    UnknownVendor,
    export_snapshot,
    import_snapshot,
    read_records,
    seed_records,
)
from .blueprint import admin, json_body, server


def _translate(exc: Exception):
    """seeding's exceptions → problems (400 bad records, 404 unknown vendor or entity, 409 reserved entity)."""
    if isinstance(exc, SeedError):
        return BadRequest(str(exc), items=exc.items) if exc.items else BadRequest(str(exc))
    if isinstance(exc, (UnknownVendor, UnknownEntity)):
        return NotFound(str(exc))
    return Conflict(str(exc))


# <path:tenant>: a tenant is any header value or Basic username, "/" included (sent as %2F, which the
# server decodes before routing); entities never hold "/", so the last segment is the entity.
@admin.get("/records/<vendor>/<path:tenant>/<entity>")
def get_records(vendor: str, tenant: str, entity: str):
    try:
        records = read_records(server().store, server().specs, vendor, tenant, entity)
    except (UnknownVendor, UnknownEntity, ReservedEntity) as exc:
        raise _translate(exc) from None
    return jsonify({"vendor": vendor, "tenant": tenant, "entity": entity, "records": records})


@admin.post("/records/<vendor>/<path:tenant>/<entity>")
def post_records(vendor: str, tenant: str, entity: str):
    """Seed records (a JSON array): validated and given the defaults written records get; all or nothing."""
    body = json_body()
    try:
        stored = seed_records(server().store, server().specs, vendor, tenant, entity, body,
                              server().settings.default_user)
    except (SeedError, UnknownVendor, UnknownEntity, ReservedEntity) as exc:
        raise _translate(exc) from None
    return jsonify({"vendor": vendor, "tenant": tenant, "entity": entity, "records": stored})


@admin.get("/snapshot")
def get_snapshot():
    return jsonify(export_snapshot(server().store, server().vendors))


@admin.put("/snapshot")
def put_snapshot():
    """Replace the whole state (every vendor's data) with the snapshot."""
    body = json_body()
    try:
        written = import_snapshot(server().store, server().specs, body, user=server().settings.default_user)
    except (SeedError, UnknownVendor, UnknownEntity, ReservedEntity) as exc:
        raise _translate(exc) from None
    return jsonify({"imported": written})
