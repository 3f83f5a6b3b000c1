"""mockserver's own schemathesis checks: ``SCHEMATHESIS_HOOKS=mockserver.schemathesis_hooks`` (the
config served at ``/__mockserver/specs/<name>/schemathesis.toml`` names this module as its ``hooks``).

The vendors answer schema-violating batch items with a success status and a per-item error (VBA 207,
VCC Live 200, Pipeliner 200/422), so the served config lists those statuses as expected answers to
negative data; these checks close the gap that opens: each such item must be reported failed and
must change nothing. Importing this module needs schemathesis (the package's ``test`` extra).
"""
from __future__ import annotations

from . import admin, batches, vcclive  # noqa: F401  (importing registers their checks and hooks)
