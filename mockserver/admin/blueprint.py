"""The control plane's blueprint and what its route modules share (the app's state, the JSON body,
a known vendor). The route modules import this, never the package, so no module imports back."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from .. import jsontext
from ..problems import BadRequest, NotFound

admin = Blueprint("mockserver_admin", __name__, url_prefix="/__mockserver")


def server():
    return current_app.extensions["mockserver"]


def json_body() -> Any:
    """The request's JSON body (whatever its Content-Type label), or a 400 problem."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("A JSON request body is required.")
    try:
        return jsontext.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None


def known_vendor(vendor: str) -> str:
    if vendor not in server().vendors:
        raise NotFound(f"Unknown vendor {vendor!r}; known: {', '.join(server().vendors)}.")
    return vendor
