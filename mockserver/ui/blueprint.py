"""The dashboard's blueprint and what its pages share: the security headers of every UI response, the
HTML error page, page numbers. The page modules import this, never the package, so no module imports back."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from ..problems import BadRequest, Problem
from . import csrf

ui = Blueprint("mockserver_ui", __name__, url_prefix="/__mockserver/ui", template_folder="templates",
               static_folder="static")
PAGE_SIZE = 50
MAX_PAGE = 1_000_000

# No script at all: the pages are server-rendered and their forms plain HTML.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def is_ui_path(path: str) -> bool:
    return path == ui.url_prefix or path.startswith(ui.url_prefix + "/")


@ui.after_app_request
def secure(response: Response) -> Response:
    """On every response under the UI's prefix, its 404s included (those come from the app's handler)."""
    if is_ui_path(request.path):
        response.headers.update(SECURITY_HEADERS)
        csrf.set_cookie(response)
    return response


ui.before_request(csrf.check)


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"dashboard/{template}", csrf_token=csrf.token(), **context), status


def error_page(problem: Problem) -> tuple[str, int]:
    """A problem (the control plane's validation) shown as a page with the problem's status."""
    return page("error.html", problem.code, problem=problem)


@ui.errorhandler(Problem)
def _problem(problem: Problem):
    return error_page(problem)


def page_number() -> int:
    """``?page=`` (from 1); anything else is a 400 page."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE):
        raise BadRequest(f"'page' must be an integer from 1 to {MAX_PAGE}, not {raw!r}.")
    return int(raw)
