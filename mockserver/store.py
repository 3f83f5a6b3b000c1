"""Per-(vendor, tenant) stores: a TinyDB file as checkpoint plus a journal of batches (store_files.py).

``<data_dir>/<vendor>/<encoded tenant>.json`` is an ordinary TinyDB file,
``{"__store__": {"meta", "seq", "info", "gen"}, entity: {str(key): record}}``, complete as of its last
checkpoint; ``<tenant>.journal`` beside it holds the batches committed since. Both are guarded by
``flock`` on ``<file>.lock``. Each process keeps the tenant in memory (tenant_state.py) and catches up
with the others' journal lines before each transaction; a transaction works on an overlay of the
records it touches and commits as one journal line. ``Store.checkpoint_all`` (a graceful stop) folds
every journal into its TinyDB file.
"""
from __future__ import annotations

import bisect
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Union

from .store_files import RESERVED, StoreError, dumps_kept, loads, read_internal
from .store_index import Order, OrderedIndex
from .tenant_state import Path_, TenantState, extract, index_key

logger = logging.getLogger(__name__)

Key = Union[int, str]
_VENDOR_RE = re.compile(r"^[a-z0-9_-]+$")
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_NAME = 200  # plain encodings are at most this long; hashed ones always longer
_HASH_PREFIX = 160
_EMPTY: dict[str, bytes] = {}

__all__ = ["Key", "Records", "RESERVED", "Store", "StoreError", "Transaction", "decode_tenant",
           "encode_tenant"]


def encode_tenant(tenant: str) -> str:
    """File stem for an untrusted tenant name: reversible, path-safe, bounded."""
    if not isinstance(tenant, str):
        raise TypeError(f"tenant must be str, not {type(tenant).__name__}")
    if tenant == "":
        return "~"
    raw = tenant.encode("utf-8", "surrogatepass")
    enc = "".join(chr(b) if b in _SAFE else f"~{b:02X}" for b in raw)
    if len(enc) <= _MAX_NAME:
        return enc
    cut = _HASH_PREFIX  # never split a ~XX escape
    cut -= 1 if enc[cut - 1] == "~" else 2 if enc[cut - 2] == "~" else 0
    return f"{enc[:cut]}~{hashlib.sha256(raw).hexdigest()}"


def decode_tenant(stem: str) -> str | None:
    """Inverse of encode_tenant; None for hashed stems (the name is kept in the file)."""
    if len(stem) > _MAX_NAME:
        return None
    out, i = bytearray(), 0
    while i < len(stem) and stem != "~":
        if stem[i] == "~":
            out.append(int(stem[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(stem[i]))
            i += 1
    name = out.decode("utf-8", "surrogatepass")
    if encode_tenant(name) != stem:  # e.g. a stray "a.b.json" is not one of ours
        raise ValueError(f"not a tenant file name: {stem!r}")
    return name


def _check_vendor(vendor: str) -> str:
    if not isinstance(vendor, str) or not _VENDOR_RE.match(vendor):
        raise ValueError(f"invalid vendor name {vendor!r}")
    return vendor




def _doc_id(key: Key) -> str:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"record key must be int or str, not {type(key).__name__}")
    return str(key)


class Records:
    """One entity's records inside a transaction, addressed by key without scanning.

    Reads see the transaction's own writes (an overlay over the tenant's records); nothing reaches
    the tenant until the transaction commits. Records come back decoded afresh: callers own them.
    """

    def __init__(self, tx: Transaction, entity: str) -> None:
        self._tx, self._entity = tx, entity
        self._state = tx._state
        self._over: dict[str, bytes | None] = tx._overlay.setdefault(entity, {})  # None: deleted

    @property
    def _base(self) -> dict[str, bytes]:
        return self._state.tables.get(self._entity, _EMPTY)

    def _raw(self, doc_id: str) -> bytes | None:
        return self._over[doc_id] if doc_id in self._over else self._base.get(doc_id)

    def get(self, key: Key) -> dict | None:
        raw = self._raw(_doc_id(key))
        return None if raw is None else loads(raw)

    def put(self, key: Key, record: dict) -> None:
        doc_id = _doc_id(key)
        if not isinstance(record, dict):
            raise TypeError("record must be a dict")
        raw = dumps_kept(record)  # rejects non-JSON values here rather than at commit
        self._bump_seq(key)
        if self._raw(doc_id) != raw:  # compared as JSON, since 1 == True
            self._over[doc_id] = raw
            self._tx.changed = True

    def delete(self, key: Key) -> bool:
        doc_id = _doc_id(key)
        if self._raw(doc_id) is None:
            return False
        self._over[doc_id] = None
        self._tx.changed = True
        return True

    def _merged(self) -> Iterator[tuple[str, bytes]]:
        over = self._over
        for doc_id, raw in self._base.items():
            current = over.get(doc_id, raw) if doc_id in over else raw
            if current is not None:
                yield doc_id, current
        for doc_id, raw in over.items():
            if raw is not None and doc_id not in self._base:
                yield doc_id, raw

    def all(self) -> list[dict]:
        return [loads(raw) for _, raw in self._merged()]

    def items(self) -> list[tuple[str, dict]]:
        """(key as stored, i.e. str, record) pairs: what a snapshot needs to restore the table exactly."""
        return [(doc_id, loads(raw)) for doc_id, raw in self._merged()]

    def __len__(self) -> int:
        base, count = self._base, len(self._base)
        for doc_id, raw in self._over.items():
            if raw is None and doc_id in base:
                count -= 1
            elif raw is not None and doc_id not in base:
                count += 1
        return count

    def __contains__(self, key: object) -> bool:
        return isinstance(key, (int, str)) and not isinstance(key, bool) and self._raw(str(key)) is not None

    # --- lookups by value and in key order (indexes kept by the tenant's state) --------------------

    def find(self, path: Path_, value: Any) -> list[str]:
        """Keys of the records whose value at ``path`` equals ``value`` (lists compare unordered; a
        missing field is null), from an index: no scan of the table per call."""
        wanted = index_key(value)
        keys = [k for k in self._state.index(self._entity, path).keys(wanted) if k not in self._over]
        keys += [k for k, raw in self._over.items()
                 if raw is not None and index_key(extract(loads(raw), path)) == wanted]
        return keys

    def count(self, path: Path_, value: Any) -> int:
        """How many records ``find(path, value)`` would name."""
        wanted = index_key(value)
        index = self._state.index(self._entity, path)
        count = len(index.keys(wanted))
        for doc_id, raw in self._over.items():
            count -= index.of.get(doc_id) == wanted
            count += raw is not None and index_key(extract(loads(raw), path)) == wanted
        return count

    def keys_sorted(self, *, after: str | None = None, before: str | None = None,
                    reverse: bool = False) -> Iterator[str]:
        """Keys in ascending (or descending) string order, strictly between ``after`` and ``before``."""
        keys = self._state.sorted_keys(self._entity)
        if self._over:
            keys = sorted(doc_id for doc_id, _ in self._merged())  # a write's own changes: rare, small
        lo = 0 if after is None else bisect.bisect_right(keys, after)
        hi = len(keys) if before is None else bisect.bisect_left(keys, before)
        span = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)
        return (keys[i] for i in span)

    def ordered(self, path: Path_) -> OrderedIndex:
        """The ordered index of a field (store_index.py): its distinct values in order, each with its
        keys. It reflects the committed records, so it is for reads: a transaction that wrote this
        entity gets a StoreError (its own writes would be missing)."""
        self._committed_only()
        return self._state.ordered_index(self._entity, path)

    def order(self, fields: list[tuple[Path_, bool]]) -> Order:
        """A multi-field order over the committed records: (path, descending) per level, ties by key."""
        self._committed_only()
        levels = [(self._state.ordered_index(self._entity, path), descending) for path, descending in fields]
        return Order(levels, self._state.sorted_keys(self._entity))

    def _committed_only(self) -> None:
        if self._over:
            raise StoreError(f"ordered reads of {self._entity!r} see committed records only; "
                             "this transaction has written to it")

    @property
    def transaction(self) -> "Transaction":
        """The transaction these records belong to (a dialect's seed hook reaches sibling tables)."""
        return self._tx

    def reserve(self, key: int) -> None:
        """Make ``next_key`` hand out keys above ``key`` (an id given from outside, e.g. by a seed)."""
        self._bump_seq(key)

    def next_key(self) -> int:
        """Reserve the next integer key; every call hands out a new one, never reused."""
        seq = self._tx._seq
        seq[self._entity] = key = seq.get(self._entity, 0) + 1
        self._tx.changed = True
        return key

    def _bump_seq(self, key: Key) -> None:
        if isinstance(key, str):
            if not (key.isascii() and key.isdigit()):
                return
            key = int(key)
        seq = self._tx._seq
        if key > seq.get(self._entity, 0):
            seq[self._entity] = key
            self._tx.changed = True


class Transaction:
    """A batch's view of one tenant; it lands as one journal line or not at all."""

    def __init__(self, vendor: str, tenant: str, state: TenantState) -> None:
        self.vendor, self.tenant = vendor, tenant
        self._state = state
        self._overlay: dict[str, dict[str, bytes | None]] = {}
        self._records: dict[str, Records] = {}
        self._dirty = False
        self._seq = dict(state.seq)
        self._meta_snapshot = json.dumps(state.meta, sort_keys=True)
        self.meta: dict[str, Any] = json.loads(self._meta_snapshot)  # detached: the caller may keep it

    @property
    def changed(self) -> bool:
        return self._dirty or json.dumps(self.meta, sort_keys=True) != self._meta_snapshot

    @changed.setter
    def changed(self, value: bool) -> None:
        self._dirty = bool(value)

    def records(self, entity: str) -> Records:
        if not isinstance(entity, str) or not entity or entity.startswith("__"):
            raise ValueError(f"invalid entity name {entity!r}")
        if entity not in self._records:
            self._records[entity] = Records(self, entity)
        return self._records[entity]

    def entities(self) -> list[str]:
        """Names of the entity tables of this tenant (a table exists once a record was put in it)."""
        added = {e for e, over in self._overlay.items() if any(raw is not None for raw in over.values())}
        return sorted(set(self._state.tables) | added)

    def sequences(self) -> dict[str, int]:
        """Each entity's key sequence (the last key ``next_key`` handed out or a put stored): part of
        the state, since a sequence may run ahead of every stored key or belong to no stored record."""
        return dict(self._seq)

    def _commit(self) -> tuple[int, int] | None:
        state, puts, deletes = self._state, {}, {}
        for entity, over in self._overlay.items():
            base = state.tables.get(entity, _EMPTY)
            written = {k: raw for k, raw in over.items() if raw is not None}
            gone = [k for k, raw in over.items() if raw is None and k in base]
            if written:
                puts[entity] = written
            if gone:
                deletes[entity] = gone
        seq = {e: n for e, n in self._seq.items() if state.seq.get(e) != n}
        meta = json.loads(json.dumps(self.meta)) if json.dumps(self.meta, sort_keys=True) != self._meta_snapshot else None
        return state.commit(puts, deletes, seq, meta, {"vendor": self.vendor, "tenant": self.tenant})


class Store:
    """All vendor/tenant stores under one data directory."""

    def __init__(self, data_dir: str | os.PathLike, *, cache_size: int = 64) -> None:
        self.data_dir = Path(data_dir)
        self._cache: OrderedDict[Path, TenantState] = OrderedDict()  # idle tenants leave memory (LRU)
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._held = threading.local()

    def path_for(self, vendor: str, tenant: str) -> Path:
        return self.data_dir / _check_vendor(vendor) / f"{encode_tenant(tenant)}.json"

    @contextmanager
    def transaction(self, vendor: str, tenant: str, *, write: bool = True) -> Iterator[Transaction]:
        """Lock the tenant, catch up with its files, yield; commit once on clean exit.

        On exception nothing is written. write=False takes a shared lock and never
        writes, even if the transaction was mutated.
        """
        path = self.path_for(vendor, tenant)
        if not write and not path.exists():  # nothing to read: leave no trace on disk
            yield Transaction(vendor, tenant, TenantState(path))
            return
        pending = None
        with self._tenant(path, shared=not write) as state:
            tx = Transaction(vendor, tenant, state)
            yield tx
            if write and tx.changed:
                pending = tx._commit()
        if pending is not None:  # outside the lock: concurrent batches share one fsync
            state.durable(*pending)

    def checkpoint_all(self) -> int:
        """Fold every journal under the data dir into its TinyDB file (a graceful stop); returns how many."""
        done = 0
        for vendor in self._vendor_dirs():
            for journal in sorted((self.data_dir / vendor).glob("*.journal")):
                if journal.name.startswith("."):
                    continue
                with self._tenant(journal.with_suffix(".json"), shared=False) as state:
                    if state.journal_pending and state.cp_signature is not None:
                        state.checkpoint()
                        done += 1
        logger.info("checkpointed %d tenant file(s) under %s", done, self.data_dir)
        return done

    def vendors(self) -> list[str]:
        """Vendors that currently hold at least one tenant file."""
        return [v for v in self._vendor_dirs() if any(self._files(v))]

    def tenants(self, vendor: str) -> list[str]:
        names = []
        for path in self._files(vendor):
            try:
                name = decode_tenant(path.stem)
                if name is None:  # hashed long name: the real one is inside
                    name = read_internal(path)["info"]["tenant"]
            except (ValueError, KeyError, TypeError, StoreError) as exc:
                logger.warning("skipping unrecognised store file %s: %s", path, exc)
                continue
            names.append(name)
        return sorted(names)

    def reset(self, vendor: str | None = None, tenant: str | None = None) -> int:
        """Delete tenant stores (all, one vendor's, or one tenant's); returns how many."""
        if vendor is None:
            if tenant is not None:
                raise ValueError("reset(tenant=...) requires a vendor")
            paths = [p for v in self.vendors() for p in self._files(v)]
        else:
            paths = [self.path_for(vendor, tenant)] if tenant is not None else list(self._files(vendor))
        removed = 0
        for path in paths:
            with self._tenant(path, shared=False, sync=False) as state:
                if path.exists():
                    path.unlink()
                    removed += 1
                state.journal_path.unlink(missing_ok=True)
                state.loaded = False
        logger.info("reset vendor=%s tenant=%r: %d file(s) removed", vendor, tenant, removed)
        return removed

    def _vendor_dirs(self) -> list[str]:
        if not self.data_dir.is_dir():
            return []
        return sorted(d.name for d in self.data_dir.iterdir()  # "__*": the server's own state, not a vendor
                      if d.is_dir() and _VENDOR_RE.match(d.name) and not d.name.startswith("__"))

    def _files(self, vendor: str) -> Iterator[Path]:
        directory = self.data_dir / _check_vendor(vendor)
        if directory.is_dir():
            yield from (p for p in sorted(directory.iterdir())
                        if p.suffix == ".json" and not p.name.startswith("."))

    @contextmanager
    def _tenant(self, path: Path, *, shared: bool, sync: bool = True) -> Iterator[TenantState]:
        """The tenant's state under its thread lock and flock, caught up with the files."""
        held: set[Path] = self._held.__dict__.setdefault("paths", set())
        if path in held:
            raise StoreError(f"nested transaction on {path} would deadlock")
        while True:
            state = self._state(path)
            state.lock.acquire()
            if not state.evicted:
                break
            state.lock.release()
        held.add(path)
        try:
            with _flock(path.with_name(path.name + ".lock"), path, shared=shared):
                if sync:
                    state.sync()
                yield state
        finally:
            held.discard(path)
            state.lock.release()

    def _state(self, path: Path) -> TenantState:
        with self._cache_lock:
            state = self._cache.get(path)
            if state is None:
                state = self._cache[path] = TenantState(path)
            self._cache.move_to_end(path)
            for old in list(self._cache.values())[:max(0, len(self._cache) - self._cache_size)]:
                if old is not state and old.lock.acquire(blocking=False):  # busy ones stay for now
                    old.evicted = True
                    old.close()
                    del self._cache[old.path]
                    old.lock.release()
        return state


@contextmanager
def _flock(lock_path: Path, data_path: Path, *, shared: bool) -> Iterator[None]:
    """flock lock_path; retry if it was unlinked while we waited (see the finally)."""
    while True:
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open lock file {lock_path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            current = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            if not shared and not data_path.exists():
                lock_path.unlink(missing_ok=True)  # nothing left to guard: leave no litter
        finally:
            os.close(fd)  # releases the lock
