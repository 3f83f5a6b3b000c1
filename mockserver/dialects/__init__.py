"""The registry of dialects, by the name a spec's ``x-mockserver.dialect`` uses."""
from __future__ import annotations

from .base import Dialect
from .pipeliner import PipelinerDialect
from .vba import VBADialect
from .vcclive import VCCLiveDialect

DIALECTS: dict[str, Dialect] = {}


def register(dialect: Dialect) -> None:
    DIALECTS[dialect.name] = dialect


def known_actions(name: str) -> set[str] | None:
    dialect = DIALECTS.get(name)
    return None if dialect is None else set(dialect.actions)


register(VBADialect())
register(VCCLiveDialect())
register(PipelinerDialect())
