"""The shared batch engine: run items in order inside one store transaction, collect outcomes.

Every dialect's batch action reduces to ``engine.run_batch(call, items, step)``: ``step`` validates
one item and, only if it is valid, applies it to the transaction. Items see the effects of the
items before them (the same key twice: the second updates the first). The transaction is written
once at the end; with ``all_or_nothing`` a single failure writes nothing.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Protocol, Sequence

from marshmallow import Schema, ValidationError

from .fast_load import fast_load
from .schemas import flatten_errors
from .store import Store, Transaction


class BatchCall(Protocol):
    """What the engine reads of a request (dialects.base.Call has it): whose store, for the log line."""

    operation: Any  # an Operation: .vendor, .operation_id
    tenant: str


log = logging.getLogger(__name__)

CREATED, UPDATED, DELETED, RESTORED, FAILED = "created", "updated", "deleted", "restored", "failed"
ROLLED_BACK = "rolled-back"  # a valid item of an all-or-nothing batch that another item's failure undid


@dataclass
class ItemOutcome:
    index: int
    result: str  # created | updated | deleted | restored | failed | rolled-back
    key: Any = None
    record: dict | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field path, message)
    detail: dict[str, Any] = field(default_factory=dict)  # dialect extras: status, code, name, ...

    @property
    def ok(self) -> bool:
        return self.result != FAILED

    def message(self) -> str:
        """All errors as one line: ``field: message; other: message``."""
        return "; ".join(f"{path}: {msg}" if path else msg for path, msg in self.errors)


@dataclass
class BatchResult:
    outcomes: list[ItemOutcome]
    committed: bool

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def failed(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if not o.ok]


class ItemFailed(Exception):
    """Raised by an item step: this item fails alone, nothing of it is stored."""

    def __init__(self, errors: list[tuple[str, str]], *, key: Any = None, **detail: Any):
        super().__init__("; ".join(f"{p}: {m}" for p, m in errors))
        self.errors = errors
        self.key = key
        self.detail = detail


class _Rollback(Exception):
    pass


Step = Callable[[Transaction, int, Any], ItemOutcome]
# Per batch: None (no item can fail by a fault rule), or index, item → the injected failure or None.
ItemFault = Callable[[BatchCall], "Callable[[int, Any], ItemFailed | None] | None"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def load_item(schema: Schema, item: Any, *, partial: bool = False, key: Any = None) -> dict:
    """Validate one item against its generated schema or raise ItemFailed naming every bad field."""
    if not isinstance(item, dict):
        raise ItemFailed([("", "Item is not a JSON object.")], key=key)
    loaded = fast_load(schema)(item, partial)
    if loaded is not None:
        return loaded
    try:
        return schema.load(item, partial=partial)
    except ValidationError as exc:
        raise ItemFailed(flatten_errors(exc.messages), key=key) from None


class Engine:
    """Store access for dialects, with the clock and the item-fault hook injected (tests, faults.py)."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utc_now,
                 item_fault: ItemFault | None = None):
        self.store = store
        self.clock = clock
        self.item_fault = item_fault

    @contextmanager
    def read(self, call: BatchCall) -> Iterator[Transaction]:
        with self.store.transaction(call.operation.vendor, call.tenant, write=False) as tx:
            yield tx

    @contextmanager
    def write(self, call: BatchCall) -> Iterator[Transaction]:
        """A single-record write (not a batch): one transaction, one file write."""
        with self.store.transaction(call.operation.vendor, call.tenant) as tx:
            yield tx

    def run_batch(self, call: BatchCall, items: Sequence[Any], step: Step, *,
                  all_or_nothing: bool = False) -> BatchResult:
        started = time.perf_counter()
        outcomes: list[ItemOutcome] = []
        try:
            with self.store.transaction(call.operation.vendor, call.tenant) as tx:
                item_fault = self.item_fault(call) if self.item_fault else None
                for index, item in enumerate(items):
                    outcomes.append(self._run_item(tx, index, item, step, item_fault))
                if all_or_nothing and any(not o.ok for o in outcomes):
                    raise _Rollback()
            committed = True
        except _Rollback:
            committed = False
            for outcome in outcomes:  # the journal and the log line must not report them as stored
                if outcome.ok:
                    outcome.result = ROLLED_BACK
        result = BatchResult(outcomes, committed)
        log.info("batch vendor=%s operation=%s tenant=%r items=%d created=%d updated=%d failed=%d "
                 "committed=%s ms=%.1f", call.operation.vendor, call.operation.operation_id, call.tenant,
                 len(items), result.count(CREATED), result.count(UPDATED), result.count(FAILED), committed,
                 (time.perf_counter() - started) * 1000)
        return result

    def _run_item(self, tx: Transaction, index: int, item: Any, step: Step,
                  item_fault: Callable[[int, Any], ItemFailed | None] | None) -> ItemOutcome:
        try:
            fault = item_fault(index, item) if item_fault else None
            if fault is not None:
                raise fault
            return step(tx, index, item)
        except ItemFailed as failure:
            return ItemOutcome(index, FAILED, key=failure.key, errors=failure.errors, detail=failure.detail)
