"""What this mock serves, for a person who lands on it: the index at ``/`` and ``/__mockserver``, and
the 404 for a path nothing serves (it names the served base paths instead of werkzeug's generic text)."""
from __future__ import annotations

from flask import jsonify, redirect, request

from .. import version
from ..problems import NotFound
from .blueprint import admin, server

SPECS = admin.url_prefix + "/specs"
DASHBOARD = admin.url_prefix + "/ui/"  # the ui package's blueprint (app.py registers it)


def served() -> list[dict]:
    """One entry per loaded spec: where its operations live and where its document is."""
    return [{"name": s.name, "vendor": s.vendor, "base_path": s.prefix or "/", "operations": len(s.operations),
             "spec": f"{SPECS}/{s.name}"} for s in server().specs]


@admin.get("/", strict_slashes=False)  # /__mockserver and /__mockserver/; the app adds / (app.py)
def index():
    """JSON, unless the client prefers HTML (a browser): then it is sent to the dashboard."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return redirect(DASHBOARD, 303)
    return jsonify({"service": "mockserver", "version": version.__version__, "served": served(),
                    "specs": SPECS, "health": admin.url_prefix + "/health", "dashboard": DASHBOARD})


def unknown_path(path: str) -> NotFound:
    """The RFC 7807 404 of a path no spec serves."""
    bases = ", ".join(f"{entry['base_path']} ({entry['name']})" for entry in served())
    return NotFound(f"Nothing is served at {path}. Served base paths: {bases}; the specs are listed at {SPECS}.",
                    served=served(), specs=SPECS)
