"""Per-(vendor, tenant) TinyDB files with atomic writes and batch transactions.

Layout: ``<data_dir>/<vendor>/<encoded tenant>.json``, each an ordinary TinyDB
file: ``{entity: {str(key): record}, "__store__": {meta, seq, info}}``.
A transaction holds ``<file>.lock`` (``flock``) for its whole duration, works on
an in-memory copy and writes the file at most once, atomically, at the end.
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
Signature = tuple[int, int, int]

RESERVED = "__store__"  # internal table: {"meta": {...}, "seq": {entity: n}, "info": {...}}
_VENDOR_RE = re.compile(r"^[a-z0-9_-]+$")
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_NAME = 200  # longer encodings are hashed; hashed names are always longer than this
_HASH_PREFIX = 160


class StoreError(Exception):
    """The server's own storage failed (I/O, corrupt file) - not the client's fault."""


# --------------------------------------------------------------------------- names

def encode_tenant(tenant: str) -> str:
    """File stem for a tenant: reversible, path-safe, and bounded in length."""
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
    """Inverse of encode_tenant; None for hashed stems (the name lives in the file)."""
    if len(stem) > _MAX_NAME:
        return None
    if stem == "~":
        return ""
    out, i = bytearray(), 0
    while i < len(stem):
        if stem[i] == "~":
            out.append(int(stem[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(stem[i]))
            i += 1
    name = out.decode("utf-8", "surrogatepass")
    if encode_tenant(name) != stem:  # e.g. a foreign "a.b.json": not one of ours
        raise ValueError(f"not a canonical tenant file name: {stem!r}")
    return name


def _check_vendor(vendor: str) -> str:
    if not isinstance(vendor, str) or not _VENDOR_RE.match(vendor):
        raise ValueError(f"invalid vendor name {vendor!r}")
    return vendor


# --------------------------------------------------------------------- storages

class AtomicJSONStorage(Storage):
    """JSON file replaced atomically, so readers and crashes never see half a write."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(path)
        self.signature: Signature | None = None  # of the version last read or written

    def read(self) -> dict[str, Any] | None:
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                raw = fh.read()
        except FileNotFoundError:
            self.signature = None
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc
        self.signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if not raw:
            return None  # TinyDB's convention for "empty database"
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise StoreError(f"corrupt store file {self.path}: {exc}") from exc

    def write(self, data: dict[str, Any]) -> None:
        directory = self.path.parent
        tmp: str | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
                # Strictly increasing mtime per version: (ino, mtime, size) then
                # identifies a version even if the inode number gets recycled.
                stamp = max(time.time_ns(), self._mtime_ns() + 1)
                os.utime(fh.fileno(), ns=(stamp, stamp))
            os.replace(tmp, self.path)
            tmp = None
            st = os.stat(self.path)
        except Exception as exc:
            raise StoreError(f"cannot write {self.path}: {exc}") from exc
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    logger.warning("could not remove temp file %s", tmp)
        self.signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        self._fsync_dir(directory)
        logger.debug("wrote %s (%d bytes)", self.path, st.st_size)

    def _mtime_ns(self) -> int:
        try:
            return os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        """Make the rename itself durable; the data is already visible, so only warn."""
        try:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            logger.warning("fsync of directory %s failed: %s", directory, exc)


class TransactionMiddleware(Middleware):
    """Serve TinyDB from one in-memory copy and hold back writes until commit()."""

    def __init__(self, storage_cls: type[Storage] = AtomicJSONStorage) -> None:
        super().__init__(storage_cls)
        self._data: dict[str, Any] | None = None
        self.dirty = False

    def load(self, data: dict[str, Any]) -> None:
        """Seed the working copy (e.g. from a cache) instead of reading the file."""
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
    """A table whose doc_ids are the records' own keys, so lookups are dict hits."""

    document_id_class = str


class _DB(TinyDB):
    table_class = KeyedTable


# ------------------------------------------------------------------ transaction

class Records:
    """One entity's records inside a transaction, addressed by key without scanning."""

    def __init__(self, tx: Transaction, table: Table) -> None:
        self._tx, self._table = tx, table

    def _docs(self, create: bool = False) -> dict[str, Any]:
        tables = self._table.storage.read()
        if create:
            return tables.setdefault(self._table.name, {})
        return tables.get(self._table.name, {})

    def get(self, key: Key) -> dict | None:
        doc = self._table.get(doc_id=_doc_id(key))
        return None if doc is None else copy.deepcopy(dict(doc))

    def put(self, key: Key, record: dict) -> None:
        """Insert or replace the whole record (TinyDB's update() would merge fields)."""
        doc_id = _doc_id(key)
        if not isinstance(record, dict):
            raise TypeError("record must be a dict")
        text = json.dumps(record)  # rejects non-JSON values now, not at commit
        self._bump_seq(key)
        docs = self._docs(create=True)
        if doc_id not in docs or json.dumps(docs[doc_id]) != text:  # 1 == True, "1" != "true"
            docs[doc_id] = json.loads(text)  # detached, exactly what a reload returns
            self._touch()

    def delete(self, key: Key) -> bool:
        docs = self._docs()
        if docs.pop(_doc_id(key), None) is None:
            return False
        self._touch()
        return True

    def all(self) -> list[dict]:
        return [copy.deepcopy(dict(doc)) for doc in self._table]

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, (int, str)) and not isinstance(key, bool) \
            and str(key) in self._docs()

    def next_key(self) -> int:
        """Hand out the next integer key; each call reserves one, so ids never repeat."""
        seq = self._tx._internal("seq")
        key = int(seq.get(self._table.name, 0)) + 1
        seq[self._table.name] = key
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


def _doc_id(key: Key) -> str:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"record key must be int or str, not {type(key).__name__}")
    return str(key)


class Transaction:
    """A batch's view of one tenant file; everything lands in one write or none."""

    def __init__(self, vendor: str, tenant: str, db: TinyDB) -> None:
        self.vendor, self.tenant = vendor, tenant
        self._db = db
        self._records: dict[str, Records] = {}
        self._dirty = False
        self.meta: dict[str, Any] = self._internal("meta")
        self._meta_snapshot = _dump(self.meta)

    @property
    def changed(self) -> bool:
        return self._dirty or _dump(self.meta) != self._meta_snapshot

    @changed.setter
    def changed(self, value: bool) -> None:
        self._dirty = bool(value)

    def records(self, entity: str) -> Records:
        if not isinstance(entity, str) or not entity or entity.startswith("__"):
            raise ValueError(f"invalid entity name {entity!r}")
        if entity not in self._records:
            self._records[entity] = Records(self, self._db.table(entity))
        return self._records[entity]

    def _internal(self, section: str) -> dict[str, Any]:
        return self._db.storage.read().setdefault(RESERVED, {}).setdefault(section, {})

    def _commit(self) -> tuple[Signature | None, dict[str, Any]]:
        """Write once; returns what the cache should remember."""
        mw: TransactionMiddleware = self._db.storage  # type: ignore[assignment]
        data = mw.read()
        internal = data.setdefault(RESERVED, {})
        internal["meta"] = copy.deepcopy(self.meta)  # detach: callers may keep tx.meta
        internal["info"] = {"vendor": self.vendor, "tenant": self.tenant}
        mw.write(data)
        mw.commit()
        return mw.storage.signature, data


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# ------------------------------------------------------------------------ store

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
        """Lock the (vendor, tenant) file, load it, yield; write once on clean exit.

        On exception nothing is written. write=False takes a shared lock and never
        writes, even if the transaction was mutated.
        """
        path = self.path_for(vendor, tenant)
        if not write and not path.exists():  # nothing to read: touch no disk at all
            yield self._begin(vendor, tenant, path, {})
            return
        with self._locked(path, shared=not write):
            tx = self._begin(vendor, tenant, path, self._load(path))
            yield tx
            if write and tx.changed:
                signature, data = tx._commit()
                self._remember(path, signature, data)

    def vendors(self) -> list[str]:
        """Vendors that currently hold at least one tenant file."""
        if not self.data_dir.is_dir():
            return []
        return sorted(
            d.name for d in self.data_dir.iterdir()
            if d.is_dir() and _VENDOR_RE.match(d.name) and any(self._files(d.name))
        )

    def tenants(self, vendor: str) -> list[str]:
        names = []
        for path in self._files(vendor):
            try:
                name = decode_tenant(path.stem)
                if name is None:  # hashed long name: the real one is inside
                    name = AtomicJSONStorage(path).read()[RESERVED]["info"]["tenant"]
            except (ValueError, KeyError, TypeError, StoreError) as exc:
                logger.warning("skipping unrecognised store file %s: %s", path, exc)
                continue
            names.append(name)
        return sorted(names)

    def reset(self, vendor: str | None = None, tenant: str | None = None) -> int:
        """Delete tenant files (all, one vendor's, or one tenant's); returns how many."""
        if tenant is not None and vendor is None:
            raise ValueError("reset(tenant=...) requires a vendor")
        if tenant is not None:
            paths = [self.path_for(vendor, tenant)]  # type: ignore[arg-type]
        else:
            vendors = [_check_vendor(vendor)] if vendor is not None else self.vendors()
            paths = [p for v in vendors for p in self._files(v)]
        removed = 0
        for path in paths:
            with self._locked(path, shared=False):
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
                with self._cache_lock:
                    self._cache.pop(path, None)
        logger.info("reset vendor=%s tenant=%s: %d file(s) removed", vendor, tenant, removed)
        return removed

    # -- internals -------------------------------------------------------------

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
        """A private deep copy of the file, from cache if the file is unchanged."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return {}
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            hit = self._cache.get(path)
        if hit is None or hit[0] != signature:
            storage = AtomicJSONStorage(path)
            data = storage.read() or {}
            hit = self._remember(path, storage.signature, data)
        return copy.deepcopy(hit[1])

    def _remember(self, path: Path, signature: Signature | None, data: dict[str, Any]):
        entry = (signature, data)
        with self._cache_lock:
            if signature is None:
                self._cache.pop(path, None)
                return entry
            self._cache[path] = entry
            self._cache.move_to_end(path)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return entry

    @contextmanager
    def _locked(self, path: Path, *, shared: bool) -> Iterator[None]:
        """Thread lock (writers) + flock on <file>.lock; refuses same-thread nesting."""
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
    """flock the lock file; retry if it was unlinked while we waited for it."""
    while True:
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open lock file {lock_path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            if _same_file(fd, lock_path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        try:
            if not shared and not data_path.exists():
                lock_path.unlink(missing_ok=True)  # no data left to guard: leave no litter
        finally:
            os.close(fd)  # releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)
