"""Per-(vendor, tenant) TinyDB files with atomic writes and one-write-per-batch transactions.

Each ``<data_dir>/<vendor>/<encoded tenant>.json`` is an ordinary TinyDB file,
``{entity: {str(key): record}, "__store__": {"meta", "seq", "info"}}``, guarded by
``flock`` on ``<file>.lock`` and only ever replaced whole (temp file + os.replace).
"""
from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Union

from tinydb import TinyDB
from tinydb.middlewares import Middleware
from tinydb.storages import Storage
from tinydb.table import Table

logger = logging.getLogger(__name__)

Key = Union[int, str]
Signature = tuple[int, int, int]  # (st_ino, st_mtime_ns, st_size)
RESERVED = "__store__"  # internal table; entity names may not start with "__"
_VENDOR_RE = re.compile(r"^[a-z0-9_-]+$")
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_NAME = 200  # plain encodings are at most this long; hashed ones always longer
_HASH_PREFIX = 160


class StoreError(Exception):
    """The server's own storage failed (I/O, corrupt file) - not the client's fault."""


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


class AtomicJSONStorage(Storage):
    """JSON file replaced atomically, so readers and crashes never see half a write."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(path)
        self.signature: Signature | None = None  # of the version last read or written

    def read(self) -> dict[str, Any] | None:
        try:
            with open(self.path, "rb") as fh:
                st, raw = os.fstat(fh.fileno()), fh.read()
        except FileNotFoundError:
            self.signature = None
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc
        self.signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        try:
            return json.loads(raw) if raw else None  # None: TinyDB's "empty database"
        except ValueError as exc:
            raise StoreError(f"corrupt store file {self.path}: {exc}") from exc

    def write(self, data: dict[str, Any]) -> None:
        directory, tmp = self.path.parent, None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            prev = self.path.stat().st_mtime_ns if self.path.exists() else 0
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
                # Strictly increasing mtime keeps (ino, mtime, size) unique per version
                # although inode numbers get recycled and clocks can be coarse.
                stamp = max(time.time_ns(), prev + 1)
                os.utime(fh.fileno(), ns=(stamp, stamp))
            os.replace(tmp, self.path)
            tmp = None
            st = self.path.stat()
        except Exception as exc:
            raise StoreError(f"cannot write {self.path}: {exc}") from exc
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        self.signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        try:  # make the rename durable; the data is already visible, so only warn
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            logger.warning("fsync of directory %s failed: %s", directory, exc)
        logger.debug("wrote %s (%d bytes)", self.path, st.st_size)


class TransactionMiddleware(Middleware):
    """Serve TinyDB from one in-memory copy and hold back writes until commit()."""

    def __init__(self, storage_cls: type[Storage] = AtomicJSONStorage) -> None:
        super().__init__(storage_cls)
        self._data: dict[str, Any] | None = None
        self.dirty = False

    def load(self, data: dict[str, Any]) -> None:
        """Seed the working copy (from the Store's cache) instead of reading the file."""
        self._data, self.dirty = data, False

    def read(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self.storage.read() or {}
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data, self.dirty = data, True

    def commit(self) -> None:
        if self.dirty and self._data is not None:
            self.storage.write(self._data)
            self.dirty = False


class KeyedTable(Table):
    """doc_id is the record's own key (as str), so lookups are dict hits, not scans."""

    document_id_class = str


class _DB(TinyDB):
    table_class = KeyedTable


def _doc_id(key: Key) -> str:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"record key must be int or str, not {type(key).__name__}")
    return str(key)


class Records:
    """One entity's records inside a transaction, addressed by key without scanning.

    Reads go through TinyDB's Table; writes go straight into the table dict because
    Table's writers rebuild the whole table per call and update() merges fields.
    """

    def __init__(self, tx: Transaction, table: Table) -> None:
        self._tx, self._table = tx, table

    def _docs(self, create: bool = False) -> dict[str, Any]:
        tables = self._table.storage.read()
        return tables.setdefault(self._table.name, {}) if create else tables.get(self._table.name, {})

    def get(self, key: Key) -> dict | None:
        doc = self._table.get(doc_id=_doc_id(key))  # type: ignore[arg-type]
        return None if doc is None else copy.deepcopy(dict(doc))  # Document is a shallow copy

    def put(self, key: Key, record: dict) -> None:
        doc_id = _doc_id(key)
        if not isinstance(record, dict):
            raise TypeError("record must be a dict")
        text = json.dumps(record)  # rejects non-JSON values here rather than at commit
        self._bump_seq(key)
        docs = self._docs(create=True)
        if doc_id not in docs or json.dumps(docs[doc_id]) != text:  # JSON, since 1 == True
            docs[doc_id] = json.loads(text)  # detached, and exactly what a reload returns
            self._touch()

    def delete(self, key: Key) -> bool:
        if self._docs().pop(_doc_id(key), None) is None:
            return False
        self._touch()
        return True

    def all(self) -> list[dict]:
        return [copy.deepcopy(dict(doc)) for doc in self._table]

    def items(self) -> list[tuple[str, dict]]:
        """(key as stored, i.e. str, record) pairs: what a snapshot needs to restore the table exactly."""
        return [(doc_id, copy.deepcopy(doc)) for doc_id, doc in self._docs().items()]

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, (int, str)) and not isinstance(key, bool) and str(key) in self._docs()

    def next_key(self) -> int:
        """Reserve the next integer key; every call hands out a new one, never reused."""
        seq = self._tx._internal("seq")
        seq[self._table.name] = key = seq.get(self._table.name, 0) + 1
        self._tx.changed = True
        return key

    def _bump_seq(self, key: Key) -> None:
        if isinstance(key, str):
            if not (key.isascii() and key.isdigit()):
                return
            key = int(key)
        seq = self._tx._internal("seq")
        if key > seq.get(self._table.name, 0):
            seq[self._table.name] = key
            self._tx.changed = True

    def _touch(self) -> None:
        self._table.clear_cache()  # we bypassed Table's writers; drop its query cache
        self._tx.changed = True


class Transaction:
    """A batch's view of one tenant file; it lands in one write or not at all."""

    def __init__(self, vendor: str, tenant: str, db: TinyDB) -> None:
        self.vendor, self.tenant = vendor, tenant
        self._db = db
        self._records: dict[str, Records] = {}
        self._dirty = False
        self.meta: dict[str, Any] = self._internal("meta")
        self._meta_snapshot = json.dumps(self.meta, sort_keys=True)

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
            self._records[entity] = Records(self, self._db.table(entity))
        return self._records[entity]

    @property
    def sequences(self) -> dict[str, int]:
        """The key sequences (table name → last key handed out; see ``Records.next_key``), live:
        a snapshot carries them, since some name tables that hold no records."""
        return self._internal("seq")

    def entities(self) -> list[str]:
        """Names of the entity tables in this tenant file (the internal table excluded)."""
        return sorted(name for name in self._db.storage.read() if name != RESERVED)

    def _internal(self, section: str) -> dict[str, Any]:
        return self._db.storage.read().setdefault(RESERVED, {}).setdefault(section, {})

    def _commit(self) -> tuple[Signature | None, dict[str, Any]]:
        """Write once; returns (signature, data) for the cache."""
        mw: TransactionMiddleware = self._db.storage  # type: ignore[assignment]
        data = mw.read()
        internal = data.setdefault(RESERVED, {})
        internal["meta"] = copy.deepcopy(self.meta)  # detach: the caller may keep tx.meta
        internal["info"] = {"vendor": self.vendor, "tenant": self.tenant}
        mw.write(data)
        mw.commit()
        return mw.storage.signature, data


class Store:
    """All vendor/tenant files under one data directory."""

    def __init__(self, data_dir: str | os.PathLike, *, cache_size: int = 64) -> None:
        self.data_dir = Path(data_dir)
        self._cache: OrderedDict[Path, tuple[Signature, dict[str, Any]]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._locks: weakref.WeakValueDictionary[Path, Any] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self._held = threading.local()

    def path_for(self, vendor: str, tenant: str) -> Path:
        return self.data_dir / _check_vendor(vendor) / f"{encode_tenant(tenant)}.json"

    @contextmanager
    def transaction(self, vendor: str, tenant: str, *, write: bool = True) -> Iterator[Transaction]:
        """Lock the (vendor, tenant) file, load it, yield; write it once on clean exit.

        On exception nothing is written. write=False takes a shared lock and never
        writes, even if the transaction was mutated.
        """
        path = self.path_for(vendor, tenant)
        if not write and not path.exists():  # nothing to read: leave no trace on disk
            yield self._begin(vendor, tenant, path, {})
            return
        with self._locked(path, shared=not write):
            tx = self._begin(vendor, tenant, path, self._load(path))
            yield tx
            if write and tx.changed:
                self._remember(path, *tx._commit())

    def vendors(self) -> list[str]:
        """Vendors that currently hold at least one tenant file."""
        if not self.data_dir.is_dir():
            return []
        return sorted(d.name for d in self.data_dir.iterdir()
                      if d.is_dir() and _VENDOR_RE.match(d.name) and any(self._files(d.name)))

    def tenants(self, vendor: str) -> list[str]:
        names = []
        for path in self._files(vendor):
            try:
                name = decode_tenant(path.stem)
                if name is None:  # hashed long name: the real one is inside
                    name = AtomicJSONStorage(path).read()[RESERVED]["info"]["tenant"]  # type: ignore[index]
            except (ValueError, KeyError, TypeError, StoreError) as exc:
                logger.warning("skipping unrecognised store file %s: %s", path, exc)
                continue
            names.append(name)
        return sorted(names)

    def reset(self, vendor: str | None = None, tenant: str | None = None) -> int:
        """Delete tenant files (all, one vendor's, or one tenant's); returns how many."""
        if vendor is None:
            if tenant is not None:
                raise ValueError("reset(tenant=...) requires a vendor")
            paths = [p for v in self.vendors() for p in self._files(v)]
        else:
            paths = [self.path_for(vendor, tenant)] if tenant is not None else list(self._files(vendor))
        removed = 0
        for path in paths:
            with self._locked(path, shared=False):
                if path.exists():
                    path.unlink()
                    removed += 1
                with self._cache_lock:
                    self._cache.pop(path, None)
        logger.info("reset vendor=%s tenant=%r: %d file(s) removed", vendor, tenant, removed)
        return removed

    def _files(self, vendor: str) -> Iterator[Path]:
        directory = self.data_dir / _check_vendor(vendor)
        if directory.is_dir():
            yield from (p for p in sorted(directory.iterdir())
                        if p.suffix == ".json" and not p.name.startswith("."))

    def _begin(self, vendor: str, tenant: str, path: Path, data: dict[str, Any]) -> Transaction:
        db = _DB(path, storage=TransactionMiddleware(AtomicJSONStorage))
        db.storage.load(data)
        return Transaction(vendor, tenant, db)

    def _load(self, path: Path) -> dict[str, Any]:
        """A private deep copy of the file, from the cache if the file is unchanged."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return {}
        with self._cache_lock:
            hit = self._cache.get(path)
        if hit is None or hit[0] != (st.st_ino, st.st_mtime_ns, st.st_size):
            storage = AtomicJSONStorage(path)
            data = storage.read() or {}
            hit = self._remember(path, storage.signature, data)
        return copy.deepcopy(hit[1])

    def _remember(self, path: Path, signature: Signature | None, data: dict[str, Any]):
        with self._cache_lock:
            if signature is None:
                self._cache.pop(path, None)
            else:
                self._cache[path] = (signature, data)
                self._cache.move_to_end(path)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return signature, data

    @contextmanager
    def _locked(self, path: Path, *, shared: bool) -> Iterator[None]:
        """Per-path thread lock (writers) + flock; same-thread nesting would deadlock."""
        held: set[Path] = self._held.__dict__.setdefault("paths", set())
        if path in held:
            raise StoreError(f"nested transaction on {path} would deadlock")
        thread_lock = None
        if not shared:
            with self._locks_guard:
                thread_lock = self._locks.get(path)
                if thread_lock is None:
                    thread_lock = self._locks[path] = threading.Lock()
            thread_lock.acquire()
        held.add(path)
        try:
            with _flock(path.with_name(path.name + ".lock"), path, shared=shared):
                yield
        finally:
            held.discard(path)
            if thread_lock is not None:
                thread_lock.release()


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
