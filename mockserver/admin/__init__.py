"""The control plane under /__mockserver/ (described by specs/admin.yaml).

This module: health, reset and specs (the blueprint is in blueprint.py). The index, fault rules, records and snapshots, the
request journal and the login page are in the sibling modules, registered on the same blueprint; who may
call any of it (the admin token) is access.py, a check of the whole app.
"""
from __future__ import annotations

from flask import Response, jsonify, request

from .. import version
from ..entities import known_entities
from ..fuzzing import schemathesis_toml
from ..problems import NotFound
from ..specs import served_document
from . import access
from .blueprint import admin, known_vendor, server


@admin.get("/health")
def health():
    """Liveness plus what is loaded (the Docker HEALTHCHECK calls this)."""
    specs = [
        {"name": s.name, "vendor": s.vendor, "dialect": s.dialect, "prefix": s.prefix,
         "operations": len(s.operations)}
        for s in server().specs
    ]
    return jsonify({"status": "ok", "version": version.__version__, "specs": specs})


@admin.post("/reset")
def reset():
    """Delete stored data: everything, one vendor (``?vendor=``), one tenant of a vendor
    (``?vendor=&tenant=``) or one tenant name under every vendor (``?tenant=``)."""
    vendor, tenant = request.args.get("vendor"), request.args.get("tenant")
    if vendor is not None:
        known_vendor(vendor)
    store = server().store
    if tenant is not None and vendor is None:
        removed = sum(store.reset(v, tenant) for v in server().vendors)
    else:
        removed = store.reset(vendor, tenant)
    return jsonify({"reset": {"vendor": vendor, "tenant": tenant, "files": removed}})


@admin.get("/specs")
def list_specs():
    return jsonify({"specs": [s.name for s in server().specs]})


def _loaded_spec(name: str):
    spec = server().spec(name)
    if spec is None:
        raise NotFound(f"No spec named {name!r}; loaded: {', '.join(s.name for s in server().specs)}.")
    return spec


@admin.get("/specs/<name>")
def get_spec(name: str):
    """The loaded spec with ``servers`` pointing at this mock: `schemathesis run <this URL>` works. The
    control plane's states the admin token only when this server wants one."""
    spec = _loaded_spec(name)
    document = served_document(spec, request.host_url.rstrip("/"))
    if spec.extension.get("control-plane") and access.configured_token() is None:
        document.pop("security", None)  # this server's control plane is open: it wants no credential
    return jsonify(document)


@admin.get("/specs/<name>/schemathesis.toml")
def get_schemathesis_config(name: str):
    """The schemathesis config for a run against this spec: its operations only, and the checks module."""
    spec = _loaded_spec(name)
    operation_ids = [op.get("operationId") for item in spec.document.get("paths", {}).values()
                     if isinstance(item, dict) for op in item.values() if isinstance(op, dict)]
    return Response(schemathesis_toml(spec.name, operation_ids), mimetype="application/toml")


@admin.get("/specs/<name>/entities")
def list_entities(name: str):
    """The entities seeding, reading and snapshots accept for this spec's vendor, with their key field."""
    spec = _loaded_spec(name)
    if not spec.dialect:
        raise NotFound(f"Spec {name!r} is the control plane's own: it has no entities.")
    return jsonify({"spec": spec.name, "vendor": spec.vendor,
                    "entities": [e.as_json() for e in known_entities(spec)]})


from . import faults, index, journal, login, records  # noqa: E402,F401  (register their routes on the blueprint)

__all__ = ["admin"]
