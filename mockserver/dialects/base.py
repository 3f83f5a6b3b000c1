"""What a dialect is: plain data in (``Call``), plain data out (``Reply``). No Flask here.

A dialect knows how one vendor shapes a batch request and its response, its error envelope and
the meaning of its actions; the shared machinery (validation, transactions, outcomes) is batch.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from ..batch import BatchResult, Engine
    from ..specs import Operation

NO_BODY = object()  # the request had no body (distinct from a JSON null)


@dataclass(frozen=True)
class Call:
    """One authenticated, parameter-checked request, as the dialect sees it."""

    operation: "Operation"
    tenant: str
    user: str  # who is writing (audit fields)
    path: Mapping[str, Any]  # validated path parameters (typed)
    query: Mapping[str, Any]  # validated query parameters (typed; absent ones missing)
    headers: Mapping[str, str]  # lower-case names
    body: Any  # parsed JSON, or NO_BODY
    activity_id: str  # this request's id (VBA's debug.activityID, journal id)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    result: "BatchResult | None" = None  # for the log line and the journal


Action = Callable[[Call, "Engine"], Reply]


class Dialect:
    """Base of every vendor dialect; subclasses fill ``name``, ``actions`` and ``error``."""

    name: str = ""
    actions: Mapping[str, Action] = {}

    def error(self, status: int, title: str, detail: str, *, activity_id: str,
              extra: Mapping[str, Any] | None = None) -> Reply:
        """A whole-request error in the vendor's envelope (401, 400, 415, 429, 5xx, ...)."""
        raise NotImplementedError
