"""The one generic view that serves every vendor operation of every spec.

Pipeline: authenticate → validate parameters → resolve the tenant → parse the body → the dialect's
action. Each rejection is rendered by the operation's dialect in the vendor's envelope.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable

import re

from flask import Flask, Response, request
from werkzeug.routing import BaseConverter

from .auth import Unauthorized, authenticate
from .batch import Engine
from .config import Settings
from .dialects import DIALECTS
from .dialects.base import NO_BODY, Call, Dialect, Reply
from .parameters import validate_parameters
from .specs import Operation, Spec

log = logging.getLogger(__name__)

JSON_MEDIA_TYPE = "application/json"


class Rejected(Exception):
    """A request-level rejection, rendered by the dialect (status, title, detail)."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def media_type(header: str | None) -> str:
    """``"Application / JSON; charset=utf-8"`` → ``"application/json"`` (Pipeliner's spec writes the spaces)."""
    return "".join((header or "").split(";", 1)[0].split()).lower()


def media_type_accepted(got: str, accepted: tuple[str, ...]) -> bool:
    for pattern in (media_type(a) for a in accepted):
        if got == pattern or pattern == "*/*":
            return True
        kind, _, sub = pattern.partition("/")
        got_kind, _, got_sub = got.partition("/")
        if kind == got_kind and sub.startswith("*") and got_sub.endswith(sub[1:]):
            return True  # application/*+json
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(op: Operation) -> Any:
    raw = request.get_data(cache=True)
    if not op.body_media_types:
        return NO_BODY
    if not raw.strip():
        if op.body_required:
            raise Rejected(400, "Bad Request", "A JSON request body is required.")
        return NO_BODY
    got = media_type(request.headers.get("Content-Type"))
    if got and not media_type_accepted(got, op.body_media_types):
        raise Rejected(415, "Unsupported Media Type",
                       f"Content-Type {got!r} is not accepted; use one of: {', '.join(op.body_media_types)}.")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected(400, "Bad Request", f"The request body is not valid JSON: {exc}.") from None


def resolve_tenant(op: Operation, params: dict[str, dict[str, Any]], basic_username: str | None) -> str:
    where, name = op.spec.tenant.get("in"), op.spec.tenant.get("name", "")
    if where == "header":
        tenant = params["header"].get(name)
    elif where == "path":
        tenant = params["path"].get(name)
    else:
        tenant = basic_username
    if tenant is None or str(tenant) == "":
        raise Rejected(400, "Bad Request", f"The tenant ({where} {name!r}) is missing.".replace(" ''", ""))
    return str(tenant)


def handle(op: Operation, dialect: Dialect, engine: Engine, settings: Settings, path_args: dict) -> Reply:
    activity_id = str(uuid.uuid4())
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = request.args.to_dict(flat=False)
    try:
        try:
            principal = authenticate(op, headers, {k: v[0] for k, v in query.items()}, request.cookies,
                                     settings.api_keys)
        except Unauthorized as exc:
            challenge = {"WWW-Authenticate": exc.challenge} if exc.challenge else {}
            raise Rejected(401, "Unauthorized", exc.detail, challenge) from None
        params, errors = validate_parameters(op, path_args, query, headers)
        if errors:
            raise Rejected(400, "Bad Request", "Invalid parameters: " + "; ".join(f"{p}: {m}" for p, m in errors))
        call = Call(
            operation=op,
            tenant=resolve_tenant(op, params, principal.basic_username),
            user=principal.user or settings.default_user,
            path=params["path"],
            query=params["query"],
            headers=headers,
            body=parse_body(op),
            activity_id=activity_id,
        )
    except Rejected as rejected:
        reply = dialect.error(rejected.status, rejected.title, rejected.detail, activity_id=activity_id)
        reply.headers.update(rejected.headers)
        return reply
    return dialect.actions[op.action](call, engine)


def to_response(reply: Reply) -> Response:
    return Response(json.dumps(reply.body), status=reply.status, mimetype=JSON_MEDIA_TYPE, headers=reply.headers)


def make_view(op: Operation, engine: Engine, settings: Settings) -> Callable[..., Response]:
    dialect = DIALECTS[op.spec.dialect]

    def view(**path_args: str) -> Response:
        return to_response(handle(op, dialect, engine, settings, path_args))

    view.__name__ = f"{op.spec.name}_{op.operation_id}"
    return view


class ExceptConverter(BaseConverter):
    """A path segment that is none of the given literals (specs.flask_rules: static siblings win)."""

    def __init__(self, url_map, *literals: str) -> None:
        super().__init__(url_map)
        self.regex = "(?!(?:" + "|".join(re.escape(literal) for literal in literals) + ")$)[^/]+"


def register_operations(app: Flask, specs: list[Spec], engine: Engine, settings: Settings) -> None:
    app.url_map.converters["except"] = ExceptConverter
    for spec in specs:
        for op in spec.operations:
            app.add_url_rule(op.rule, endpoint=f"{spec.name}.{op.operation_id}",
                             view_func=make_view(op, engine, settings), methods=[op.method])
