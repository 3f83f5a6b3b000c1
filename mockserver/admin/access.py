"""Who may drive the control plane: the admin token (``MOCKSERVER_ADMIN_TOKEN``), when one is set.

An app-level ``before_request`` keyed on the path prefix, so everything under ``/__mockserver`` needs
it whatever blueprint serves the path (the JSON API, the dashboard under ``/ui``, a path nothing
serves): all but ``GET /__mockserver/health`` (the Docker HEALTHCHECK) and the login page. The vendor
APIs are not under the prefix and keep their own auth (auth.py).

A client sends the token as ``Authorization: Bearer <token>`` or ``X-Mockserver-Admin-Token: <token>``;
a browser logs in once (login.py) and then sends the cookie ``mockserver_admin``. The cookie holds
HMAC-SHA256(key = the token, message = COOKIE_LABEL), never the token: a leaked cookie (a browser
profile, a proxy log) does not reveal a token that CI jobs may also hold, and it stops working when the
token changes. The cookie is SameSite=Strict, so another site cannot make the browser send it; a page
of the same site (another port of localhost) can, so the cookie is taken only for reads and for the
dashboard (whose forms carry a CSRF token) and logout: the JSON calls that change state want a header.
Every comparison is constant-time (``hmac.compare_digest``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse

from flask import Flask, Response, current_app, redirect, request

from ..problems import PROBLEM_JSON, Unauthorized

PREFIX = "/__mockserver"
HEALTH = PREFIX + "/health"
LOGIN = PREFIX + "/login"
LOGOUT = PREFIX + "/logout"
UI = PREFIX + "/ui"
HEADER = "X-Mockserver-Admin-Token"
COOKIE = "mockserver_admin"
COOKIE_LABEL = b"mockserver admin session v1"
REALM = 'Bearer realm="mockserver"'
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def configured_token() -> str | None:
    return current_app.extensions["mockserver"].settings.admin_token


def cookie_value(token: str) -> str:
    """What the login cookie holds for ``token`` (a keyed hash of a fixed label, not the token)."""
    return hmac.new(token.encode(), COOKIE_LABEL, hashlib.sha256).hexdigest()


def same(sent: str, expected: str) -> bool:
    """Constant-time equality of two texts (any characters: compare_digest takes only ASCII str)."""
    return hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode())


def _path() -> str:
    return re.sub("/{2,}", "/", request.path)  # //__mockserver/reset is that path too (routing merges slashes)


def under(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _needs_token(path: str) -> bool:
    if not under(PREFIX, path):
        return False
    return not ((path == HEALTH and request.method in ("GET", "HEAD")) or path == LOGIN)


def _cookie_taken(path: str) -> bool:
    return request.method in READS or under(UI, path) or path == LOGOUT


def _sent(path: str) -> tuple[list[str], str | None, bool]:
    """(the token values of the headers, the login cookie where it is taken, whether one came where it is not)."""
    values = []
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        values.append(value.strip())
    if request.headers.get(HEADER, "").strip():
        values.append(request.headers[HEADER].strip())
    cookie = request.cookies.get(COOKIE)
    taken = cookie is not None and _cookie_taken(path)
    return values, cookie if taken else None, cookie is not None and not taken


def check() -> Response | None:
    """Before every request: None to go on, or the 401 (a browser asking a dashboard page or the index:
    the login page)."""
    token = configured_token()
    path = _path()
    if token is None or not _needs_token(path):
        return None
    values, cookie, misplaced_cookie = _sent(path)
    matches = [same(value, token) for value in values]  # each one compared: no early exit
    if cookie is not None:
        matches.append(same(cookie, cookie_value(token)))
    if any(matches):
        return None
    if (under(UI, path) or path in (PREFIX, PREFIX + "/")) and request.method == "GET" and _prefers_html():
        target = path + ("?" + request.query_string.decode("latin-1") if request.query_string else "")
        return redirect(LOGIN + "?" + urllib.parse.urlencode({"next": target}), 303)
    return refused(bool(matches), misplaced_cookie)


def _prefers_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def refused(wrong: bool, misplaced_cookie: bool = False) -> Response:
    """The RFC 7807 401 with its WWW-Authenticate challenge (RFC 6750: invalid_token when one was sent)."""
    if wrong:
        detail = "The admin token sent does not match this server's (MOCKSERVER_ADMIN_TOKEN)."
    elif misplaced_cookie:
        detail = (f"The login cookie is taken for reads and the dashboard only: a control-plane call that "
                  f"changes state needs the token in `Authorization: Bearer <token>` or `{HEADER}: <token>`.")
    else:
        detail = (f"The control plane needs the admin token (MOCKSERVER_ADMIN_TOKEN): send "
                  f"`Authorization: Bearer <token>` or `{HEADER}: <token>`, or log in at {LOGIN}.")
    challenge = REALM + (', error="invalid_token"' if wrong else "")
    return Response(Unauthorized(detail).to_json(request.path), status=401, mimetype=PROBLEM_JSON,
                    headers={"WWW-Authenticate": challenge})


def init_app(app: Flask) -> None:
    app.before_request(check)
