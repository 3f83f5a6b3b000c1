"""The web dashboard under /__mockserver/ui: server-rendered pages over the control plane's own objects
(store, journal, fault book), no script. The blueprint is in blueprint.py; each page is a module."""
from __future__ import annotations

from . import faults, overview, records, requests  # noqa: F401  (register their routes on the blueprint)
from .blueprint import ui

__all__ = ["ui"]
