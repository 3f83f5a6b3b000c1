"""One tenant's records held in a process's memory, kept in step with its files (store_files.py).

Each record is kept as its JSON bytes and decoded on read, so a tenant costs about its file size and
no transaction copies it. Before each transaction the state catches up with what other processes
appended to the journal (a tail read: the cost follows what changed), or reloads after another
process's checkpoint. A batch is appended to the journal (fsynced) before it is applied here, and a
checkpoint rewrites the TinyDB file once the journal has grown past a fraction of it, so a record
written is rewritten O(1) times on average.

Indexes (keys by a field's value), ordered indexes (store_index.py) and sorted key lists are built
on first use and kept up to date as records are applied, so searches and ordered paging do not scan
the tenant per request.
"""
from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import orjson

from .store_index import OrderedIndex, field_value as extract  # extract: a path's value (missing: None)
from .store_files import (StoreError, Table, append_entry, create_journal, dumps, dumps_kept, loads, open_journal,
                          read_checkpoint, read_entries, signature, sync_journal, write_checkpoint)

logger = logging.getLogger(__name__)

# A checkpoint runs when the journal outgrows this fraction of the checkpoint file (amortised O(1)
# rewrites per record written), but not before it holds this much (small tenants rarely rewrite).
CHECKPOINT_FRACTION = 0.5
CHECKPOINT_MIN_BYTES = 1 << 20

Path_ = tuple[str, ...]  # a field path inside a record, e.g. ("data", "email")


def index_key(value: Any) -> bytes:
    """What two values have in common when they count as equal: canonical JSON (lists unordered)."""
    if isinstance(value, list):
        try:
            value = sorted(value)
        except TypeError:
            pass
    try:  # an exact-size copy: indexes keep these (see store_files.dumps_kept)
        return bytes(memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)))
    except TypeError:
        return dumps_kept(value)


class Index:
    """Keys by the value at one field path (a missing field counts as null)."""

    def __init__(self, path: Path_) -> None:
        self.path = path
        self.buckets: dict[bytes, dict[str, None]] = {}  # value -> keys, in the order they were added
        self.of: dict[str, bytes] = {}  # key -> its value, to move it without decoding the old record

    def add(self, key: str, record: Any) -> None:
        value = index_key(extract(record, self.path))
        self.of[key] = value
        self.buckets.setdefault(value, {})[key] = None

    def remove(self, key: str) -> None:
        value = self.of.pop(key, None)
        if value is not None:
            bucket = self.buckets[value]
            bucket.pop(key, None)
            if not bucket:
                del self.buckets[value]

    def keys(self, value: bytes) -> Mapping[str, None]:
        return self.buckets.get(value, {})


class TenantState:
    """The records, sequences and meta of one tenant file, plus where this process is in its journal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal_path = path.with_suffix(".journal")
        self.lock = threading.Lock()  # one transaction of this process at a time
        self.loaded = False
        self.evicted = False  # dropped from the store's cache: a waiter must fetch a fresh state
        self.tables: dict[str, Table] = {}
        self.internal: dict[str, Any] = {}
        self.cp_signature = None
        self.fd: int | None = None  # held open, so its inode cannot be recycled under us
        self.journal_ok = False  # the journal continues our checkpoint (its header gen matches)
        self.journal_start = 0
        self.offset = 0
        self.indexes: dict[str, dict[Path_, Index]] = {}
        self.ordered: dict[str, dict[Path_, OrderedIndex]] = {}
        self.sorted: dict[str, list[str]] = {}
        # Group commit: batches append under the tenant's lock and fsync after it, one fdatasync
        # covering every line appended so far (the threads of a worker share it).
        self.sync_lock = threading.Lock()
        self.epoch = 0  # which journal fd: a new one (after a checkpoint, reload, close) moves it on
        self.synced = 0  # journal offset known to be on disk

    # --- the internal section ----------------------------------------------------------------

    @property
    def gen(self) -> int:
        return self.internal.get("gen", 0)

    @property
    def seq(self) -> dict[str, int]:
        return self.internal.setdefault("seq", {})

    @property
    def meta(self) -> dict[str, Any]:
        return self.internal.setdefault("meta", {})

    # --- keeping in step with the files --------------------------------------------------------

    def sync(self) -> None:
        """Catch up with the files (caller holds the tenant's flock)."""
        if self.loaded and signature(self.path) == self.cp_signature:
            try:
                on_disk = os.stat(self.journal_path)
            except FileNotFoundError:
                on_disk = None
            if self.fd is None and on_disk is None:
                return
            if self.fd is not None and on_disk is not None and os.path.samestat(os.fstat(self.fd), on_disk):
                if self.journal_ok and on_disk.st_size > self.offset:
                    self._replay(on_disk.st_size)
                return
        self.reload()

    def reload(self) -> None:
        self.close()
        self.indexes.clear()
        self.ordered.clear()
        self.sorted.clear()
        self.cp_signature = signature(self.path)
        found = read_checkpoint(self.path)
        self.internal, self.tables = found if found is not None else ({}, {})
        opened = open_journal(self.journal_path)
        if opened is not None:
            self.fd, gen, self.journal_start = opened
            self.offset = self.journal_start
            self.journal_ok = gen is not None and gen == self.gen and found is not None
            if self.journal_ok:
                self._replay(os.fstat(self.fd).st_size)
        self.loaded = True

    def _replay(self, size: int) -> None:
        assert self.fd is not None
        entries, self.offset = read_entries(self.fd, self.offset, size)
        for entry in entries:
            for entity, records in (entry.get("put") or {}).items():
                for key, record in records.items():
                    self._put(entity, key, dumps_kept(record), record)
            for entity, keys in (entry.get("del") or {}).items():
                for key in keys:
                    self._delete(entity, key)
            self.seq.update(entry.get("seq") or {})
            if "meta" in entry:
                self.internal["meta"] = entry["meta"]

    def close(self) -> None:
        with self.sync_lock:
            if self.fd is not None:
                try:
                    if self.synced < self.offset:
                        sync_journal(self.fd)  # a waiter of this journal may still count on it
                finally:
                    os.close(self.fd)
            self.fd, self.journal_ok = None, False
            self.epoch += 1
            self.synced = 0

    def durable(self, epoch: int, end: int) -> None:
        """Return once the journal is on disk up to ``end`` (called after the tenant lock is released)."""
        with self.sync_lock:
            if epoch != self.epoch or self.synced >= end:
                return  # a later fsync, a checkpoint (itself fsynced) or close already covered it
            target = self.offset  # everything appended so far, by any thread of this process
            sync_journal(self.fd)
            self.synced = max(self.synced, target)

    # --- writing ---------------------------------------------------------------------------------

    def commit(self, puts: dict[str, dict[str, bytes]], deletes: dict[str, list[str]],
               seq: dict[str, int], meta: dict[str, Any] | None, info: dict[str, Any]) -> tuple[int, int] | None:
        """Write one batch (a journal line, or the first checkpoint), then apply it here. Returns what
        ``durable`` must be called with before the batch is acknowledged (None: already on disk)."""
        try:
            if self.cp_signature is None:  # a new tenant: its first batch is its first checkpoint
                self.internal = {"gen": time.time_ns(), "info": info}  # unique: never matches a stale journal
                self._apply(puts, deletes, seq, meta)
                self.cp_signature = write_checkpoint(self.path, self.internal, self.tables)
                return None
            if self.fd is None or not self.journal_ok:
                self._new_journal()
            self.offset = append_entry(self.fd, self.offset, _entry_line(puts, deletes, seq, meta))
            pending = (self.epoch, self.offset)
        except BaseException:
            self.loaded = False  # memory may be ahead of the files: reload at the next transaction
            raise
        self._apply(puts, deletes, seq, meta)
        if self.offset - self.journal_start > max(CHECKPOINT_MIN_BYTES, CHECKPOINT_FRACTION * self.cp_signature[2]):
            try:
                self.checkpoint()
            except StoreError as exc:  # the batch is in the journal already
                logger.error("checkpoint of %s failed (the journal keeps the data): %s", self.path, exc)
                self.loaded = False
        return pending

    def checkpoint(self) -> None:
        """Rewrite the TinyDB file with everything, then start an empty journal after it."""
        internal = {**self.internal, "gen": self.gen + 1}
        try:
            self.cp_signature = write_checkpoint(self.path, internal, self.tables)
            self.internal = internal
            self._new_journal()
        except BaseException:
            self.loaded = False  # the files say what happened: read them again
            raise
        logger.debug("checkpoint of %s (%d bytes)", self.path, self.cp_signature[2])

    @property
    def journal_pending(self) -> bool:
        """Whether the journal holds lines the checkpoint does not (or is stale and should go)."""
        return self.fd is not None and (not self.journal_ok or self.offset > self.journal_start)

    def _new_journal(self) -> None:
        self.close()
        self.fd, self.offset = create_journal(self.journal_path, self.gen)
        self.journal_start, self.journal_ok = self.offset, True

    def _apply(self, puts: dict[str, dict[str, bytes]], deletes: dict[str, list[str]],
               seq: dict[str, int], meta: dict[str, Any] | None) -> None:
        for entity, records in puts.items():
            for key, raw in records.items():
                self._put(entity, key, raw, None)
        for entity, keys in deletes.items():
            for key in keys:
                self._delete(entity, key)
        self.seq.update(seq)
        if meta is not None:
            self.internal["meta"] = meta

    def _put(self, entity: str, key: str, raw: bytes, record: Any) -> None:
        table = self.tables.setdefault(entity, {})
        new = key not in table
        table[key] = raw
        indexes = [*(self.indexes.get(entity) or {}).values(), *(self.ordered.get(entity) or {}).values()]
        if indexes:
            record = loads(raw) if record is None else record
            for index in indexes:
                index.remove(key)
                index.add(key, record)
        if new and entity in self.sorted:
            bisect.insort(self.sorted[entity], key)

    def _delete(self, entity: str, key: str) -> None:
        table = self.tables.get(entity)
        if table is None or table.pop(key, None) is None:
            return
        for index in [*(self.indexes.get(entity) or {}).values(), *(self.ordered.get(entity) or {}).values()]:
            index.remove(key)
        keys = self.sorted.get(entity)
        if keys is not None:
            at = bisect.bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                del keys[at]

    # --- lookups ---------------------------------------------------------------------------------

    def index(self, entity: str, path: Path_) -> Index:
        return self._built(self.indexes, Index, entity, path)

    def ordered_index(self, entity: str, path: Path_) -> OrderedIndex:
        return self._built(self.ordered, OrderedIndex, entity, path)

    def _built(self, kept: dict, kind: type, entity: str, path: Path_) -> Any:
        """The entity's index of ``kind`` on ``path``, built from its records on first use."""
        indexes = kept.setdefault(entity, {})
        if path not in indexes:
            index = kind(path)
            for key, raw in (self.tables.get(entity) or {}).items():
                index.add(key, loads(raw))
            indexes[path] = index
        return indexes[path]

    def sorted_keys(self, entity: str) -> list[str]:
        if entity not in self.sorted:
            self.sorted[entity] = sorted(self.tables.get(entity) or ())
        return self.sorted[entity]


def _entry_line(puts: dict[str, dict[str, bytes]], deletes: dict[str, list[str]],
                seq: dict[str, int], meta: dict[str, Any] | None) -> bytes:
    """One journal line, built from the records' JSON without decoding them again."""
    parts = []
    if puts:
        parts.append(b'"put":{' + b",".join(
            dumps(entity) + b":{" + b",".join(dumps(key) + b":" + raw for key, raw in records.items()) + b"}"
            for entity, records in puts.items()) + b"}")
    if deletes:
        parts.append(b'"del":' + dumps(deletes))
    if seq:
        parts.append(b'"seq":' + dumps(seq))
    if meta is not None:
        parts.append(b'"meta":' + dumps(meta))
    return b"{" + b",".join(parts) + b"}\n"

