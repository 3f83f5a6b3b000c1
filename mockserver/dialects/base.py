"""What a dialect is: plain data in (``Call``), plain data out (``Reply``). No Flask here.

A dialect knows how one vendor shapes a batch request and its response, its error envelope and
the meaning of its actions; the shared machinery (validation, transactions, outcomes) is batch.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..batch import ItemFailed, load_item
from ..specs import entity_schema

if TYPE_CHECKING:
    from ..batch import BatchResult, Engine
    from ..specs import Operation, Spec
    from ..store import Records

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
    raw_body: bytes = field(default=b"", compare=False)  # as sent (error positions quote it)
    # The spec's base path as this request addressed it, with scheme and host and the path's
    # parameters filled (``http://host/api/v100/rest/spaces/demo``): links in a response start here.
    base_url: str = field(default="", compare=False)
    # Settings.strict_binding: an ASP.NET vendor refuses unknown properties, case mismatches and numeric strings.
    strict_binding: bool = field(default=False, compare=False)
    # The control plane's view: this request's own fault rules (X-Mockserver-Fault header) and the
    # faults applied to it so far (filled by the fault hooks; shown in the journal).
    fault_rules: tuple[Any, ...] = field(default=(), compare=False)
    faults: list[dict] = field(default_factory=list, compare=False)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    result: "BatchResult | None" = None  # for the log line and the journal


Action = Callable[[Call, "Engine"], Reply]


@dataclass(frozen=True)
class EntityFamily:
    """Tables a dialect names by a pattern, e.g. VCC Live's one table per project (``records:22``)."""

    template: str  # as users read it: "records:{projectid}"
    pattern: str  # a regular expression the whole entity name must match
    key: str  # the field its records are keyed by

    def matches(self, entity: str) -> bool:
        return re.fullmatch(self.pattern, entity) is not None


@dataclass(frozen=True)
class ItemReport:
    """One item of a journaled batch as the vendor's answer reports it (the dashboard's item table)."""

    index: int
    outcome: str  # batch.py's results: created | updated | deleted | restored | failed | rolled-back
    key: Any = None
    reason: str | None = None  # why it failed


# Emulation choice: an entity that no operation of its vendor's spec writes (e.g. Pipeliner's
# Account/Contact, seeded as related records) is free-form: any JSON object with this key field.
FREE_FORM_KEY = "id"


@dataclass(frozen=True)
class SeedTarget:
    """Where seeded records go: one entity of one vendor, with what the spec says about it."""

    spec: "Spec"
    entity: str
    operation: "Operation | None"  # an operation of the spec that writes this entity; None = free-form
    user: str  # audit user of seeded records (Settings.default_user)
    now: datetime

    @property
    def key(self) -> str:
        return self.operation.key if self.operation is not None and self.operation.key else FREE_FORM_KEY


class Dialect:
    """Base of every vendor dialect; subclasses fill ``name``, ``actions`` and ``error``."""

    name: str = ""
    actions: Mapping[str, Action] = {}
    # Tables the dialect keeps beyond its spec's entities (entities.py lists them with the spec's).
    entity_families: tuple[EntityFamily, ...] = ()
    sequences: tuple[str, ...] = ()  # id sequences kept under their own names (snapshots carry them)

    def error(self, status: int, title: str, detail: str, *, activity_id: str,
              extra: Mapping[str, Any] | None = None) -> Reply:
        """A whole-request error in the vendor's envelope (401, 400, 415, 429, 5xx, ...)."""
        raise NotImplementedError

    # --- control-plane hooks (faults.py, seeding.py); the defaults suit most dialects ------------

    def batch_items(self, call: Call) -> Sequence[Any] | None:
        """The items of a batch request, as ``Engine.run_batch`` will see them (fault rules match
        on their index, their fields and their number). Default: a JSON array body; a dialect whose
        batch is wrapped (e.g. ``{"elements": [...]}``) overrides this."""
        return call.body if isinstance(call.body, list) else None

    def injected_item_failure(self, call: Call, index: int, item: Any, *, status: int, message: str) -> ItemFailed:
        """The failure of one item provoked by an ``item-error`` fault rule, in this vendor's terms.

        Contract: return (not raise) an ``ItemFailed``; the engine treats it exactly like a
        validation failure of that item (nothing of it stored; with all-or-nothing the batch rolls
        back), and the dialect's own renderer turns it into the vendor's item error. ``status`` is
        the rule's HTTP status (default 500), ``message`` its text. The default carries both as
        ``errors=[("", message)]`` and ``detail={"status": status, "injected": True}``; a dialect maps
        them (VBA: a 207 entry with that status; VCC: an ``errors`` entry with an errorcode;
        Pipeliner: an Error object with ``http_status``) and may add the item's key.
        """
        return ItemFailed([("", message)], status=status, injected=True)

    def item_reports(self, operation: "Operation", body: Any, status: int,
                     response: Any) -> list[ItemReport] | None:
        """Each item of a journaled batch and its outcome, read from the request body and the vendor's
        answer (its envelope is the dialect's to know). None: not a batch, a whole-request answer,
        or a body the journal kept only as (cut) text."""
        return None

    def seed_order(self, entities: list[str]) -> list[str]:
        """The order a snapshot's entities are seeded in (a dialect whose records refer to other
        tables, e.g. VCC's records to their project's fields, puts those tables first)."""
        return sorted(entities)

    def seed_record(self, target: SeedTarget, records: "Records", index: int, record: Any) -> tuple[Any, dict]:
        """Validate one seeded record and give it the defaults a written one gets → (key, record).

        Raise ``ItemFailed`` naming the bad fields (the seeding call then stores nothing). The
        default validates against the entity's schema (spec ``default``s applied) and requires the
        key; a free-form entity (no operation writes it) needs only its ``FREE_FORM_KEY``. Dialects
        override it to add their database defaults (assigned keys, nulls, audit fields).
        """
        if target.operation is not None:
            record = load_item(entity_schema(target.operation, target.entity), record)
        elif not isinstance(record, dict):
            raise ItemFailed([("", "Item is not a JSON object.")])
        key = record.get(target.key)
        if isinstance(key, bool) or not isinstance(key, (int, str)) or key == "":
            raise ItemFailed([(target.key, "A key (a non-empty string or an integer) is required.")])
        return key, record
