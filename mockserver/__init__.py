"""mockserver: a stateful mock of vendor batch create-or-update APIs, for contract testing."""
from __future__ import annotations

from .version import __version__


def create_app(settings=None):
    """Build the Flask app (imported lazily so `import mockserver` stays cheap)."""
    from .app import create_app as _create_app

    return _create_app(settings)


__all__ = ["create_app", "__version__"]
