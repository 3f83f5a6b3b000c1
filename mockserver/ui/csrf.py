"""CSRF protection of the dashboard's forms: a double-submitted token.

A random token lives in an HttpOnly, SameSite=Strict cookie and is repeated as a hidden field of every
form; a POST whose field does not equal its cookie (compared in constant time) is refused with 403
before its view runs, so nothing changes. Another site can neither read the cookie nor make the browser
send it (SameSite=Strict), so it cannot forge the field.
"""
from __future__ import annotations

import hmac
import re
import secrets

from flask import Response, g, request

from ..problems import Problem

COOKIE = "mockserver_csrf"
FIELD = "csrf_token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


class Forbidden(Problem):
    code = 403
    title = "Forbidden"


def _cookie() -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value is not None and _TOKEN.fullmatch(value) else None


def token() -> str:
    """This browser's token (from its cookie, or a new one that the response sets)."""
    if "csrf_token" not in g:
        g.csrf_token = _cookie()
        if g.csrf_token is None:
            g.csrf_token = g.csrf_new = secrets.token_urlsafe(32)
    return g.csrf_token


def set_cookie(response: Response) -> None:
    new = g.get("csrf_new")
    if new is not None:
        response.set_cookie(COOKIE, new, httponly=True, samesite="Strict", path="/__mockserver/ui")


def check() -> None:
    """Before every dashboard request: a POST must carry its cookie's token as the form field."""
    if request.method != "POST":
        return
    cookie, sent = _cookie(), request.form.get(FIELD, "")
    if cookie is None or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden("The form's CSRF token is missing or does not match this browser's: nothing was "
                        "changed. Reload the page and submit the form again.")
