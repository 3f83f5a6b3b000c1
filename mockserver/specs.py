"""Load and validate the OpenAPI specs at startup → ``Operation`` objects.

Everything about an endpoint comes from its spec: path (prefixed with the path part of the spec's
``servers`` URL), parameters, body schema, security, and the ``x-mockserver`` extension that binds it
to a dialect action, an entity and its key. Any problem fails here, at startup, with the file named,
never per request (connexion's resolver does the same).
"""
from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import yaml

from . import spec_cache
from .schemas import UnsupportedSchema, field_for, schema_for

log = logging.getLogger(__name__)

EXTENSION = "x-mockserver"
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
MANAGED_ROLES = {"created-at", "created-by", "updated-at", "updated-by"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class SpecError(Exception):
    """A spec cannot be served; the message names the file and the problem."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: Mapping[str, Any]
    field: Any  # marshmallow field that validates the (coerced) value
    # OpenAPI serialization style: "form" (the query default), "simple", "deepObject" (``filter[name]=v``).
    style: str = "form"
    explode: bool = True  # form arrays: repeated (a=1&a=2) when true, one comma-separated value when false


@dataclass(frozen=True)
class Spec:
    """One loaded spec file."""

    name: str  # file stem: the name under /__mockserver/specs/<name>
    path: Path
    document: Mapping[str, Any]  # as written (served back to clients)
    vendor: str | None
    dialect: str | None
    prefix: str  # path part of servers[0].url, e.g. "/vbasoftware" or "/api/v100/rest/spaces/{space_id}"
    tenant: Mapping[str, Any]  # {in: header|path|basic-username, name: ...}
    extension: Mapping[str, Any]
    operations: tuple["Operation", ...] = ()
    schema_classes: dict = field(default_factory=dict, compare=False, repr=False)  # entity_schema_class
    schemas: dict = field(default_factory=dict, compare=False, repr=False)  # entity_schema
    # Server variables templated into the prefix → their Server Variable objects (served back as-is).
    prefix_variables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    spec: Spec
    operation_id: str
    method: str  # upper case
    path: str  # full OpenAPI path template including the prefix
    rule: str  # the same as a Flask rule
    action: str
    extension: Mapping[str, Any]  # the operation's x-mockserver (dialect-specific keys live here)
    parameters: tuple[Parameter, ...]
    security: tuple[Mapping[str, list], ...]  # OR of ANDs, as in OpenAPI
    security_schemes: Mapping[str, Mapping[str, Any]]
    body_media_types: tuple[str, ...]  # accepted request media types ("" = no body)
    body_required: bool
    body_schema: Mapping[str, Any] | None  # dereferenced
    entity_schemas: Mapping[str, Any] = field(default_factory=dict)  # dereferenced component schemas
    # What a dialect works out once from the operation rather than per item (see ``derived``).
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def vendor(self) -> str:
        return self.spec.vendor or self.spec.name

    @property
    def entity(self) -> str | None:
        return self.extension.get("entity")

    @property
    def key(self) -> str | None:
        return self.extension.get("key")

    @property
    def managed(self) -> Mapping[str, str]:
        """Server-managed fields → role (created-at, created-by, updated-at, updated-by)."""
        return self.extension.get("managed") or {}

    def entity_schema(self, name: str | None = None) -> Mapping[str, Any]:
        """The dereferenced component schema of the operation's entity (or another named one)."""
        name = name or self.entity
        if name not in self.entity_schemas:
            raise KeyError(f"{self.spec.path}: no component schema {name!r}")
        return self.entity_schemas[name]


# --- loading ---------------------------------------------------------------------------------------

def spec_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise SpecError(f"{directory}: specs directory does not exist")
    files = sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
    if not files:
        raise SpecError(f"{directory}: no spec files (*.yaml, *.yml, *.json)")
    return files


def load_specs(directory: Path, known_actions: Callable[[str], set[str] | None],
               cache: Path | None = None) -> list[Spec]:
    """Load every spec of a directory. ``known_actions(dialect)`` returns the dialect's actions or None;
    ``cache`` is a directory of validated documents (spec_cache.py), None to validate every time."""
    specs = [load_spec(path, known_actions, cache) for path in spec_files(directory)]
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        for op in spec.operations:
            key = (op.method, op.rule)
            if key in seen:
                raise SpecError(f"{spec.path}: {op.method} {op.path} is also served by {seen[key]}")
            seen[key] = str(spec.path)
    return specs


# Loaded specs by (path, file signature, resolver): every app of a test session shares them, and a
# changed file is loaded anew. Specs are immutable once built.
_LOADED: dict[tuple, Spec] = {}


def load_spec(path: Path, known_actions: Callable[[str], set[str] | None], cache: Path | None = None) -> Spec:
    try:
        stat = path.stat()
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read: {exc}") from None
    signature = (path.resolve(), stat.st_ino, stat.st_mtime_ns, stat.st_size, known_actions)
    if signature not in _LOADED:
        _LOADED[signature] = _load_spec(path, known_actions, cache)
    return _LOADED[signature]


def _load_spec(path: Path, known_actions: Callable[[str], set[str] | None], cache: Path | None) -> Spec:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read: {exc}") from None
    document = spec_cache.lookup(cache, raw)
    if document is None:
        document = _parse_and_validate(path, raw)
        spec_cache.remember(cache, raw, document)
    try:
        return _build_spec(path, document, known_actions)
    except (UnsupportedSchema, KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{path}: {exc}") from None


def _parse_and_validate(path: Path, raw: bytes) -> dict:
    try:
        document = yaml.load(raw.decode("utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read: {exc}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not an OpenAPI document (top level is not a mapping)")
    from openapi_spec_validator import validate as validate_openapi  # slow import: only on a cache miss

    try:
        validate_openapi(document)
    except Exception as exc:  # the validator raises several unrelated types; all mean "invalid spec"
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        where = "/".join(str(p) for p in getattr(exc, "path", ()) or ())
        raise SpecError(f"{path}: invalid OpenAPI: {message}" + (f" (at {where})" if where else "")) from None
    return document


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it


def _build_spec(path: Path, document: dict, known_actions: Callable[[str], set[str] | None]) -> Spec:
    ext = document.get(EXTENSION) or {}
    if not isinstance(ext, dict):
        raise SpecError(f"{path}: top-level {EXTENSION} must be a mapping")
    resolved = dereference(document)
    servers = document.get("servers") or [{"url": "/"}]
    prefix = urlsplit(servers[0]["url"]).path.rstrip("/")
    prefix_variables = _prefix_variables(path, prefix, servers[0].get("variables") or {})
    spec = Spec(
        name=path.stem,
        path=path,
        document=document,
        vendor=ext.get("vendor"),
        dialect=ext.get("dialect"),
        prefix=prefix,
        tenant=ext.get("tenant") or {},
        extension=ext,
        prefix_variables=prefix_variables,
    )
    if ext.get("control-plane"):
        return spec  # described only; served by the admin blueprint
    if not spec.dialect or not spec.vendor:
        raise SpecError(f"{path}: top-level {EXTENSION} needs 'vendor' and 'dialect' (or 'control-plane: true')")
    if not re.fullmatch(r"[a-z0-9_-]+", spec.vendor):
        raise SpecError(f"{path}: vendor {spec.vendor!r} must match [a-z0-9_-]+")
    actions = known_actions(spec.dialect)
    if actions is None:
        raise SpecError(f"{path}: unknown dialect {spec.dialect!r}")
    if spec.tenant.get("in") not in ("header", "path", "basic-username"):
        raise SpecError(f"{path}: {EXTENSION}.tenant.in must be header, path or basic-username")
    free_form = ext.get("free-form-entities", [])
    if not (isinstance(free_form, list) and all(isinstance(n, str) and n and not n.startswith("__")
                                                for n in free_form)):
        raise SpecError(f"{path}: {EXTENSION}.free-form-entities must be a list of entity names")
    operations = []
    for template, item in (resolved.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                operations.append(_build_operation(spec, resolved, template, item, method, actions))
    rules = flask_rules([op.path for op in operations])
    operations = [replace(op, rule=rules[op.path]) for op in operations]
    object.__setattr__(spec, "operations", tuple(operations))
    return spec


def flask_rules(paths: list[str]) -> dict[str, str]:
    """OpenAPI path templates → Flask rules where a static path wins over a template for EVERY method.

    ``/Calls/{id}`` must not swallow ``/Calls/batch-delete`` for GET (Werkzeug would route it there and
    advertise GET in ``Allow``), so a variable segment excludes the literal siblings at its position
    through the ``except`` converter (registered by views.py).
    """
    split = {path: path.split("/") for path in paths}
    rules = {}
    for path, parts in split.items():
        out = []
        for i, part in enumerate(parts):
            name = re.fullmatch(r"{([^}]+)}", part)
            if not name:
                out.append(part)
                continue
            siblings = sorted({other[i] for other in split.values()
                               if len(other) > i and other[:i] == parts[:i] and "{" not in other[i]})
            literals = ",".join(json.dumps(s) for s in siblings)
            out.append(f"<except({literals}):{name.group(1)}>" if siblings else f"<{name.group(1)}>")
        rules[path] = "/".join(out)
    return rules


def _build_operation(spec: Spec, resolved: dict, template: str, item: dict, method: str,
                     actions: set[str]) -> Operation:
    raw = item[method]
    where = f"{method.upper()} {template}"
    ext = raw.get(EXTENSION)
    if not isinstance(ext, dict) or "action" not in ext:
        raise SpecError(f"{spec.path}: {where} has no {EXTENSION}.action (every served operation needs one)")
    if ext["action"] not in actions:
        raise SpecError(f"{spec.path}: {where}: dialect {spec.dialect!r} has no action {ext['action']!r} "
                        f"(known: {', '.join(sorted(actions))})")
    components = resolved.get("components", {})
    schemas = components.get("schemas", {})
    for name_key in ("entity",):
        if ext.get(name_key) and ext[name_key] not in schemas:
            raise SpecError(f"{spec.path}: {where}: {EXTENSION}.{name_key} {ext[name_key]!r} is not a component schema")
    managed = ext.get("managed") or {}
    if not isinstance(managed, dict) or not set(managed.values()) <= MANAGED_ROLES:
        raise SpecError(f"{spec.path}: {where}: {EXTENSION}.managed must map fields to roles "
                        f"({', '.join(sorted(MANAGED_ROLES))})")
    params: dict[tuple[str, str], Mapping[str, Any]] = {}
    for param in prefix_parameters(spec) + list(item.get("parameters", [])) + list(raw.get("parameters", [])):
        params[(param["in"], param["name"])] = param  # operation-level overrides path-level
    parameters = tuple(
        Parameter(
            name=p["name"], location=p["in"], required=bool(p.get("required", p["in"] == "path")),
            schema=p.get("schema", {}),
            field=field_for(p.get("schema", {}), required=bool(p.get("required")), name=p["name"]),
            style=p.get("style") or ("form" if p["in"] in ("query", "cookie") else "simple"),
            explode=p.get("explode", (p.get("style") or "form") == "form" and p["in"] in ("query", "cookie")),
        )
        for p in params.values()
    )
    body = raw.get("requestBody") or {}
    content = body.get("content") or {}
    body_schema = next(iter(content.values()), {}).get("schema") if content else None
    security = raw.get("security", resolved.get("security", []))
    full_path = spec.prefix + template
    return Operation(
        spec=spec,
        operation_id=raw.get("operationId") or f"{method}{template}",
        method=method.upper(),
        path=full_path,
        rule=re.sub(r"{([^}]+)}", r"<\1>", full_path),
        action=ext["action"],
        extension=ext,
        parameters=parameters,
        security=tuple(security),
        security_schemes=components.get("securitySchemes", {}),
        body_media_types=tuple(content),
        body_required=bool(body.get("required")),
        body_schema=body_schema,
        entity_schemas=schemas,
    )


def _prefix_variables(path: Path, prefix: str, variables: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The server variables a templated prefix uses (``/spaces/{space_id}``), each declared in ``servers[0]``."""
    names = re.findall(r"{([^}]+)}", prefix)
    undeclared = [name for name in names if not isinstance(variables.get(name), dict)]
    if undeclared:
        raise SpecError(f"{path}: servers[0].url uses {', '.join(undeclared)} without declaring it "
                        "under servers[0].variables")
    return {name: variables[name] for name in names}


def prefix_parameters(spec: Spec) -> list[dict[str, Any]]:
    """A templated prefix's variables as path parameters of every operation.

    OpenAPI puts them in the server URL, so an operation may not declare them itself (the validator
    rejects a path parameter its path template lacks); the mock still routes, validates and resolves
    the tenant from them like any path parameter: a non-empty string, one of the variable's ``enum``
    when it has one.
    """
    out = []
    for name, variable in spec.prefix_variables.items():
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if variable.get("enum"):
            schema["enum"] = list(variable["enum"])
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def dereference(document: Mapping[str, Any]) -> dict:
    """A copy of the document with every local ``$ref`` inlined (cycles are rejected)."""

    def resolve(pointer: str) -> Any:
        if not pointer.startswith("#/"):
            raise SpecError(f"only local $ref are supported, got {pointer!r}")
        node: Any = document
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[part]
        return node

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                pointer = node["$ref"]
                if pointer in stack:
                    raise SpecError(f"recursive $ref {pointer!r} is not supported")
                target = walk(resolve(pointer), stack + (pointer,))
                siblings = {k: walk(v, stack) for k, v in node.items() if k != "$ref"}
                return {**target, **siblings} if isinstance(target, dict) else target
            return {k: walk(v, stack) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, stack) for v in node]
        return node

    return walk(copy.deepcopy(dict(document)), ())


def served_document(spec: Spec, base_url: str) -> dict:
    """The spec as served by the mock: ``servers`` points at this mock, keeping the vendor's path."""
    document = copy.deepcopy(dict(spec.document))
    vendor_servers = document.get("servers")
    document["servers"] = [{"url": base_url.rstrip("/") + spec.prefix, "description": "this mockserver"}]
    if spec.prefix_variables:  # a client (schemathesis) fills the prefix from the variables' defaults
        document["servers"][0]["variables"] = copy.deepcopy(dict(spec.prefix_variables))
    if vendor_servers:
        document.setdefault(EXTENSION, {})["vendor-servers"] = vendor_servers
    return document


def derived(op: Operation, name: str, build: Callable[[Operation], Any]) -> Any:
    """``build(op)``, computed on first use and kept with the operation (it depends only on the spec)."""
    try:
        return op.cache[name]
    except KeyError:
        value = op.cache[name] = build(op)
        return value


def entity_schema_class(op: Operation, name: str | None = None):
    """The marshmallow schema class of an entity, built once per loaded spec and name."""
    name = name or op.entity
    cache = op.spec.schema_classes
    if name not in cache:
        cache[name] = schema_for(op.entity_schema(name), name=name)
    return cache[name]


def entity_schema(op: Operation, name: str | None = None):
    """One shared instance of the entity's schema: building a marshmallow Schema copies every field
    (most of a seeded record's cost), while ``load`` keeps no state on the instance."""
    name = name or op.entity
    cache = op.spec.schemas
    if name not in cache:
        cache[name] = entity_schema_class(op, name)()
    return cache[name]
