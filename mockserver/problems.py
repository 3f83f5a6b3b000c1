"""RFC 7807 problem details for the server's own failures (not vendor errors: dialects render those).

One class per HTTP error with ``code`` and ``title`` class attributes, as werkzeug does.
"""
from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    code = 500
    title = "Internal Server Error"

    def __init__(self, detail: str = "", **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body = {"type": "about:blank", "title": self.title, "status": self.code, "detail": self.detail}
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body

    def to_json(self, instance: str | None = None) -> str:
        return json.dumps(self.to_dict(instance))


class BadRequest(Problem):
    code = 400
    title = "Bad Request"


class Unauthorized(Problem):
    code = 401
    title = "Unauthorized"


class NotFound(Problem):
    code = 404
    title = "Not Found"


class MethodNotAllowed(Problem):
    code = 405
    title = "Method Not Allowed"


class Conflict(Problem):
    code = 409
    title = "Conflict"


class UnsupportedMediaType(Problem):
    code = 415
    title = "Unsupported Media Type"


class InternalError(Problem):
    code = 500
    title = "Internal Server Error"


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop (a joined validator message often brings its own)."""
    return text.rstrip().rstrip(".") + "."


def from_status(code: int, detail: str = "") -> Problem:
    """A Problem for any status (used for werkzeug's HTTPExceptions)."""
    for cls in (BadRequest, Unauthorized, NotFound, MethodNotAllowed, Conflict, UnsupportedMediaType, InternalError):
        if cls.code == code:
            return cls(detail)
    problem = Problem(detail)
    problem.code = code
    try:  # the status's own name (413 Request Entity Too Large, 431 ...), as the classes above have
        problem.title = HTTPStatus(code).phrase
    except ValueError:
        problem.title = detail or f"HTTP {code}"
    return problem
