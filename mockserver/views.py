"""The one generic view that serves every vendor operation of every spec.

Pipeline: the fault header → authenticate → validate parameters → resolve the tenant → parse the
body → request-level fault rules → the dialect's action (item-level rules through
``Engine.item_fault``) → the journal. Each rejection and each injected request fault is rendered by
the operation's dialect in the vendor's envelope.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from time import perf_counter as _perf
from typing import Any, Callable
from urllib.parse import quote

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from . import jsontext
from .auth import Principal, Unauthorized, authenticate, basic_credentials
from .batch import Engine, ItemFailed, ItemFault
from .config import Settings
from .dialects import DIALECTS
from .dialects.base import NO_BODY, Call, Dialect, Reply
from .faults import FaultBook, FaultError, FaultRule, Target, parse_rules, unknown_reference
from .journal import Journal, Masker, journal_body
from .parameters import undecodable, validate_parameters
from .problems import BadRequest
from .specs import Operation, Spec

log = logging.getLogger(__name__)

JSON_MEDIA_TYPE = "application/json"
# One request's own fault rules: a JSON rule object or an array of them (see faults.py).
FAULT_HEADER = "X-Mockserver-Fault"


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
        return jsontext.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, too deep (jsontext)
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


# A Host header the mock puts into URIs it answers (Pipeliner's relation URIs): host[:port], the host
# an RFC 3986 reg-name of letters, digits, "-" and "." (ASCII; IDNs come punycoded), an IPv4 or a
# bracketed IPv6 literal.
VALID_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?"
                        r"|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
# Emulation choice: a missing or invalid Host is replaced by localhost and the port the request came in on.
FALLBACK_HOST = "localhost"


def request_host() -> str:
    """The request's Host when it is a valid host[:port], else ``FALLBACK_HOST:<the server's port>``."""
    host = request.headers.get("Host", "")
    valid = VALID_HOST.fullmatch(host)
    if valid and int(valid["port"] or 0) <= 65535:
        return host
    port = request.environ.get("SERVER_PORT", "")
    return FALLBACK_HOST + (f":{port}" if port.isdigit() else "")


def base_url(op: Operation, path_params: dict[str, Any]) -> str:
    """``http://host`` + the spec's prefix with its path parameters filled (the space of this request)."""
    prefix = re.sub(r"{([^}]+)}", lambda m: quote(str(path_params.get(m[1], m[0])), safe=""), op.spec.prefix)
    return f"{request.scheme}://{request_host()}{prefix}"


def header_fault_rules() -> tuple[FaultRule, ...]:
    """The request's X-Mockserver-Fault rules; a malformed header is a 400 problem before anything runs."""
    raw = request.headers.get(FAULT_HEADER)
    if raw is None:
        return ()
    try:
        rules = parse_rules(jsontext.loads(raw), where=f"{FAULT_HEADER} header")
    except ValueError as exc:  # FaultError and json.JSONDecodeError
        detail = str(exc) if isinstance(exc, FaultError) else f"{FAULT_HEADER} header is not valid JSON: {exc}"
        raise BadRequest(detail.rstrip(".") + ". Nothing was done.") from None
    served = current_app.extensions["mockserver"].operations
    for rule in rules:
        problem = unknown_reference(rule, served)
        if problem is not None:
            raise BadRequest(f"{FAULT_HEADER} header: {problem.rstrip('.')}. Nothing was done.")
        rule.id = "header"
    return tuple(rules)


@dataclass
class Exchange:
    """One vendor request as served: what the journal records."""

    activity_id: str
    reply: Reply
    call: Call | None = None
    principal: Principal = field(default_factory=Principal)
    faults: list[dict] = field(default_factory=list)


def fault_target(call: Call, dialect: Dialect, principal: Principal | None = None) -> Target:
    # Emulation choice: the rate-limit bucket is per API credential (the request's first one), else per tenant.
    client = principal.secrets[0] if principal is not None and principal.secrets else f"tenant:{call.tenant}"
    return Target(vendor=call.operation.vendor, operation=call.operation.operation_id, tenant=call.tenant,
                  items=dialect.batch_items(call), user_agent=call.headers.get("user-agent"), client_key=client)


def handle(op: Operation, dialect: Dialect, engine: Engine, settings: Settings, faults: FaultBook,
           path_args: dict) -> Exchange:
    once = header_fault_rules()
    activity_id = str(uuid.uuid4())
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = request.args.to_dict(flat=False)
    principal = Principal()
    try:
        try:
            principal = authenticate(op, headers, {k: v[0] for k, v in query.items()}, request.cookies,
                                     settings.api_keys)
        except Unauthorized as exc:
            challenge = {"WWW-Authenticate": exc.challenge} if exc.challenge else {}
            raise Rejected(401, "Unauthorized", exc.detail, challenge) from None
        params, errors = validate_parameters(op, path_args, query, headers)
        errors = undecodable(request.query_string) + errors
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
            raw_body=request.get_data(cache=True),
            base_url=base_url(op, params["path"]),
            strict_binding=settings.strict_binding,
            fault_rules=once,
        )
    except Rejected as rejected:
        reply = dialect.error(rejected.status, rejected.title, rejected.detail, activity_id=activity_id)
        reply.headers.update(rejected.headers)
        return Exchange(activity_id, reply, principal=principal)
    applied, answer = faults.before_action(fault_target(call, dialect, principal), once)
    call.faults.extend(applied)
    if answer is not None:
        reply = dialect.error(answer.status, answer.title, answer.message, activity_id=activity_id)
        reply.headers.update(answer.headers)
    else:
        reply = dialect.actions[op.action](call, engine)
    return Exchange(activity_id, reply, call, principal, call.faults)


def item_fault_hook(faults: FaultBook) -> ItemFault:
    """``Engine.item_fault``: per batch, None when no item-level rule may apply to the request (asked
    once: rules added during a batch apply from the next request), else a function giving an item the
    first matching item-error rule, rendered by the call's dialect."""

    def item_faults(call: Call) -> Callable[[int, Any], ItemFailed | None] | None:
        dialect = DIALECTS[call.operation.spec.dialect]
        target = fault_target(call, dialect)
        if not faults.may_fail_items(target, call.fault_rules):
            return None

        def item_fault(index: int, item: Any) -> ItemFailed | None:
            rule = faults.item_failure(target, index, item, once=call.fault_rules)
            if rule is None:
                return None
            status = rule.answer_status
            call.faults.append({"rule": rule.id, "effect": rule.effect, "index": index, "status": status})
            return dialect.injected_item_failure(call, index, item, status=status, message=rule.answer_message)

        return item_fault

    return item_faults


def journal_entry(op: Operation, exchange: Exchange, started: float, answered: bytes,
                  secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The journal's record of one exchange (``answered``: the response body sent), credentials masked
    (accepted or not); ``secrets`` are masked wherever they occur too (the admin token: a client may
    send it to a vendor path)."""
    masker = request_masker(op, exchange.principal, secrets)
    body, truncated = journal_body(request.get_data(cache=True), masker)
    response_body, response_truncated = journal_body(answered, masker)
    result = exchange.reply.result
    items = None if result is None else [
        {"index": o.index, "result": o.result, "key": o.key,
         **({"errors": [{"field": f, "message": m} for f, m in o.errors]} if o.errors else {})}
        for o in result.outcomes]
    return {
        "id": exchange.activity_id,
        "method": request.method,
        "path": masker.text(request.path),
        "query": masker.query(request.args.to_dict(flat=False)),
        "operation": op.operation_id,
        "vendor": op.vendor,
        "tenant": exchange.call.tenant if exchange.call is not None else None,
        "headers": masker.headers(dict(request.headers.items())),
        "body": body,
        "body_truncated": truncated,
        "status": exchange.reply.status,
        "response_body": response_body,
        "response_body_truncated": response_truncated,
        "items": masker.value(items),
        "faults": exchange.faults,
        "duration_ms": round((_perf() - started) * 1000, 1),
    }


def request_masker(op: Operation, principal: Principal, secrets: tuple[str, ...] = ()) -> Masker:
    """Masks every credential the request carries: the principal's, and whatever sits in a credential
    header, query parameter or cookie (also when authentication failed), and ``secrets``."""
    names = [s.get("name", "") for s in op.security_schemes.values() if s.get("type") == "apiKey"]
    masker = Masker(secret_names=names)
    sent = [v for k, v in request.headers.items() if k.lower() in masker.secret_names]
    sent += [v for k, vs in request.args.lists() if k.lower() in masker.secret_names for v in vs]
    sent += [v for k, v in request.cookies.items() if k.lower() in masker.secret_names]
    return Masker([*credential_values([*principal.secrets, *sent]), *secrets], names)


def credential_values(secrets: list[str]) -> list[str]:
    """Every form a credential may take in a request: as sent, the token after the scheme, a Basic password."""
    values = []
    for secret in secrets:
        values.append(secret)
        scheme, _, rest = secret.partition(" ")
        if rest and scheme.lower() in ("basic", "bearer"):
            values.append(rest.strip())
            pair = basic_credentials(secret)
            if pair is not None:
                values.append(pair[1])
    return values


def to_response(reply: Reply) -> Response:
    return Response(json.dumps(reply.body), status=reply.status, mimetype=JSON_MEDIA_TYPE, headers=reply.headers)


def make_view(op: Operation, engine: Engine, settings: Settings, faults: FaultBook,
              journal: Journal) -> Callable[..., Response]:
    dialect = DIALECTS[op.spec.dialect]
    secrets = (settings.admin_token,) if settings.admin_token else ()

    def view(**path_args: str) -> Response:
        at, started = datetime.now(timezone.utc), _perf()
        exchange = handle(op, dialect, engine, settings, faults, path_args)
        response = to_response(exchange.reply)
        journal.record(journal_entry(op, exchange, started, response.get_data(), secrets), at)
        return response

    view.__name__ = f"{op.spec.name}_{op.operation_id}"
    view.dialect = dialect  # type: ignore[attr-defined]  (vendor_http_error renders in it)
    return view


def vendor_http_error(exc: HTTPException) -> Response | None:
    """An HTTP-level refusal on a vendor path (405 with ``Allow``, 413 body too large, 431 headers too
    large) in that vendor's error shape, rendered by the path's dialect; None for any other path (the
    control plane and unknown paths answer RFC 7807)."""
    allowed = list(getattr(exc, "valid_methods", None) or ())
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    if endpoint is None and allowed:  # a 405: the path matched for another method
        try:
            endpoint, _ = current_app.url_map.bind_to_environ(request.environ).match(method=allowed[0])
        except HTTPException:
            return None
    dialect = getattr(current_app.view_functions.get(endpoint), "dialect", None) if endpoint else None
    if dialect is None or exc.code is None:
        return None
    detail = (f"{request.method} is not allowed here; allowed: {', '.join(allowed)}." if allowed
              else exc.description or exc.name)
    reply = dialect.error(exc.code, exc.name, detail, activity_id=str(uuid.uuid4()))
    if allowed:
        reply.headers["Allow"] = ", ".join(allowed)
    return to_response(reply)


class ExceptConverter(BaseConverter):
    """A path segment that is none of the given literals (specs.flask_rules: static siblings win)."""

    def __init__(self, url_map, *literals: str) -> None:
        super().__init__(url_map)
        self.regex = "(?!(?:" + "|".join(re.escape(literal) for literal in literals) + ")$)[^/]+"


def register_operations(app: Flask, specs: list[Spec], engine: Engine, settings: Settings,
                        faults: FaultBook, journal: Journal) -> None:
    app.url_map.converters["except"] = ExceptConverter
    for spec in specs:
        for op in spec.operations:
            app.add_url_rule(op.rule, endpoint=f"{spec.name}.{op.operation_id}",
                             view_func=make_view(op, engine, settings, faults, journal), methods=[op.method])
