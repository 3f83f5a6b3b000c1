"""The login page of the control plane (``/__mockserver/login``) and logout, for a browser.

GET shows a form (plain HTML: no script, no external asset, no inline style); POST with the admin
token sets the HttpOnly, SameSite=Strict cookie access.py accepts (its value is not the token, see
there) and sends the browser on (303) to ``next``, a local path under /__mockserver/ (anything else,
e.g. another site, gives the dashboard: no open redirect); a wrong token is the form again, 401.
The login POST is the only control-plane POST taken without the token (access.py lets it through);
there is one token, so a forged login could only log a browser in with the token it already needs.
``POST /__mockserver/logout`` (which needs the token or the cookie) clears the cookie.
"""
from __future__ import annotations

import posixpath
import urllib.parse

from flask import Response, redirect, render_template_string, request

from . import access
from .blueprint import admin

DEFAULT_NEXT = access.UI + "/"
# No script, no style: the page stands alone whatever the dashboard serves.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
}
PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>mockserver: log in</title></head>
<body>
<h1>mockserver control plane</h1>
{% if open %}
<p>The control plane is open: no admin token is configured (MOCKSERVER_ADMIN_TOKEN), so its pages and
calls need no login.</p>
<p><a href="{{ next }}">Go on</a></p>
{% else %}
{% if error %}<p role="alert"><strong>{{ error }}</strong></p>{% endif %}
<form method="post" action="{{ action }}">
<p><label for="token">Admin token</label>
<input id="token" type="password" name="token" autocomplete="current-password" required autofocus></p>
<input type="hidden" name="next" value="{{ next }}">
<p><button type="submit">Log in</button></p>
</form>
{% endif %}
</body>
</html>
"""


def safe_next(value: str | None) -> str:
    """``value`` when it is a path of this server under /__mockserver/ (no scheme or host, no ``\\``,
    no dot segment leading out, visible ASCII only), else the dashboard."""
    if not value or not all("!" <= ch <= "~" for ch in value) or "\\" in value:
        return DEFAULT_NEXT
    parts = urllib.parse.urlsplit(value)
    # A browser resolves dot segments, %2e ones too, before it requests the path.
    resolved = posixpath.normpath(urllib.parse.unquote(parts.path))
    if parts.scheme or parts.netloc or not parts.path.startswith(access.PREFIX + "/") \
            or not access.under(access.PREFIX, resolved):
        return DEFAULT_NEXT
    return value


def _page(status: int = 200, error: str | None = None) -> Response:
    chosen = safe_next(request.values.get("next"))
    html = render_template_string(PAGE, open=access.configured_token() is None, error=error, next=chosen,
                                  action=access.LOGIN)
    return Response(html, status=status, mimetype="text/html", headers=SECURITY_HEADERS)


@admin.get("/login")
def login_form():
    return _page()


@admin.post("/login")
def login():
    token = access.configured_token()
    target = safe_next(request.form.get("next"))
    if token is None:
        return redirect(target, 303)
    if not access.same(request.form.get("token", ""), token):
        response = _page(401, "That is not the admin token.")
        response.headers["WWW-Authenticate"] = access.REALM
        return response
    response = redirect(target, 303)
    response.set_cookie(access.COOKIE, access.cookie_value(token), httponly=True, samesite="Strict",
                        path=access.PREFIX, secure=request.is_secure)
    response.headers.update(SECURITY_HEADERS)
    return response


@admin.post("/logout")
def logout():
    response = redirect(access.LOGIN, 303)
    response.delete_cookie(access.COOKIE, path=access.PREFIX, httponly=True, samesite="Strict",
                           secure=request.is_secure)
    response.headers.update(SECURITY_HEADERS)
    return response
