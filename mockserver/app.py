"""create_app(settings): wires specs, store, engine, views and the control plane. No logic of its own."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, NotFound

from . import request_limits
from .admin import access, admin
from .admin.index import index, unknown_path
from .batch import Engine
from .config import Settings, StartupError
from .dialects import known_actions
from .faults import FaultBook, FaultError, limit_rules, load_rules_file, unknown_reference
from .journal import Journal
from .problems import PROBLEM_JSON, InternalError, Problem, from_status
from .seeding import SeedError, apply_seed_file
from .shared import SharedDir
from .specs import Spec, load_specs
from .store import Store
from .ui import ui
from .views import item_fault_hook, register_operations, vendor_http_error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024


@dataclass
class MockServer:
    """What the control plane and tests reach through ``app.extensions["mockserver"]``."""

    settings: Settings
    specs: list[Spec]
    store: Store
    engine: Engine
    faults: FaultBook
    journal: Journal

    def spec(self, name: str) -> Spec | None:
        return next((s for s in self.specs if s.name == name), None)

    @property
    def vendors(self) -> list[str]:
        return sorted({s.vendor for s in self.specs if s.vendor and s.dialect})

    @property
    def operations(self) -> dict[str, set[str]]:
        """vendor → the operationIds it serves (what fault rules may name)."""
        return {v: {op.operation_id for s in self.specs if s.vendor == v for op in s.operations}
                for v in self.vendors}


def create_app(settings: Settings | Mapping[str, Any] | None = None) -> Flask:
    """The app factory. ``settings`` may be a Settings or a mapping of overrides (tests)."""
    if not isinstance(settings, Settings):
        settings = Settings.from_env(**dict(settings or {}))
    specs = load_specs(settings.specs, known_actions, settings.cache)
    store = Store(settings.data)
    shared = SharedDir(settings.data)
    shared.clear()  # a server starts with no rules and an empty journal (before its workers fork)
    faults = FaultBook(shared)
    server = MockServer(settings=settings, specs=specs, store=store,
                        engine=Engine(store, item_fault=item_fault_hook(faults)), faults=faults,
                        journal=Journal(shared, settings.journal_size))
    start_control_plane(server)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["mockserver"] = server
    register_operations(app, specs, server.engine, settings, faults, server.journal)
    app.register_blueprint(admin)
    app.register_blueprint(ui)
    request_limits.init_app(app)  # header fields past the limits: a 431 in the path's shape
    access.init_app(app)  # the admin token, for every path under /__mockserver (any blueprint's)
    app.add_url_rule("/", "index", index, methods=["GET"])
    app.register_error_handler(HTTPException, _http_problem)
    app.register_error_handler(Problem, _problem)
    app.register_error_handler(Exception, _unexpected)
    return app


def start_control_plane(server: MockServer) -> None:
    """Vendor limits, the fault file and the seed file of the settings; a bad one stops startup."""
    settings = server.settings
    for vendor in sorted(settings.limits):
        if vendor not in server.vendors or not limit_rules(vendor):
            raise StartupError(f"MOCKSERVER_LIMITS: no documented limits for vendor {vendor!r} "
                               f"(served: {', '.join(server.vendors)})")
        server.faults.add(limit_rules(vendor))
    try:
        if settings.faults is not None:
            rules = load_rules_file(settings.faults)
            for rule in rules:
                problem = unknown_reference(rule, server.operations)
                if problem is not None:
                    raise FaultError(f"{settings.faults}: {problem}")
            server.faults.add(rules)
        if settings.seed is not None:
            count = apply_seed_file(settings.seed, server.store, server.specs, settings.default_user)
            log.info("seeded %d record(s) from %s", count, settings.seed)
    except (FaultError, SeedError) as exc:
        raise StartupError(str(exc)) from None


def _problem(problem: Problem) -> Response:
    return Response(problem.to_json(request.path), status=problem.code, mimetype=PROBLEM_JSON)


def _http_problem(exc: HTTPException) -> Response:
    """Routing errors (unknown path, method not allowed, body or headers too large) as RFC 7807; on a
    vendor path (405, 413, 431) in that vendor's shape."""
    if (vendor := vendor_http_error(exc)) is not None:
        return vendor
    problem = unknown_path(request.path) if isinstance(exc, NotFound) else from_status(exc.code or 500,
                                                                                        exc.description or "")
    response = _problem(problem)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error serving %s %s", request.method, request.path)
    return _problem(InternalError(f"{type(exc).__name__}: the mock failed; see its log."))
