"""The version, a leaf module: the package and its modules read it from here (no import of the package itself)."""
from __future__ import annotations

__version__ = "0.1.0"
