"""The tenant's files on disk: a TinyDB checkpoint and the journal of batches committed since.

``<tenant>.json`` is a TinyDB database (``{table: {doc_id: record}}``, plus our ``__store__`` table),
written whole and atomically (temp file, fsync, ``os.replace``) at a checkpoint only. We write it one
record per line, with ``__store__`` first, so that loading it slices each record's JSON out of its line
without decoding it (TinyDB, like any JSON reader, ignores the line breaks). A file in any other
layout (written by TinyDB or by hand) is read with a full JSON parse.

``<tenant>.journal`` holds a header line ``{"journal":1,"gen":G}`` and then one line per committed
batch, appended and fsynced before the answer is sent. The header's ``gen`` names the checkpoint the
journal continues: a journal whose ``gen`` differs from the checkpoint's was superseded by a checkpoint
that already holds its lines (a crash between the two replaces of a checkpoint) and is ignored. A line
without its newline, or that does not parse, was never acknowledged (a write cut by a crash): it and
anything after it are dropped, and the next writer truncates them away.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from .jsontext import dumps, long_digit_run

logger = logging.getLogger(__name__)

RESERVED = "__store__"  # internal table; entity names may not start with "__"
LAYOUT = 1  # one record per line, __store__ first (see the module docstring)
JOURNAL_VERSION = 1
_FIRST = b'{"' + RESERVED.encode() + b'":'
_KEY = re.compile(rb'^,?("(?:[^"\\]|\\.)*"):')
_WRITE_BUFFER = 1 << 20

Signature = tuple[int, int, int]  # (st_ino, st_mtime_ns, st_size) of a checkpoint version
Table = dict[str, bytes]  # doc_id -> the record's JSON


class StoreError(Exception):
    """The server's own storage failed (I/O, corrupt file) - not the client's fault."""


# --------------------------------------------------------------------------------------- JSON codec

def dumps_kept(value: Any) -> bytes:
    """``dumps`` for a value kept in memory: an exact-size copy. Recent orjson releases return bytes
    whose allocation keeps its whole write buffer (~8 KiB per record measured with 3.13), which
    would make a 100k-record tenant cost ~900 MiB instead of ~200."""
    return bytes(memoryview(dumps(value)))


def loads(raw: bytes) -> Any:
    if long_digit_run(raw):
        return json.loads(raw)
    return orjson.loads(raw)


# ------------------------------------------------------------------------------------- checkpoints

def signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Table]] | None:
    """(internal section, tables of record JSON) or None when there is no file."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
            if first.startswith(_FIRST):
                internal = _layout_header(first)
                if internal is not None:
                    return internal, _read_lines(fh, path)
            raw = first + fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    return _read_whole(raw, path)


def read_internal(path: Path) -> dict[str, Any]:
    """Only the ``__store__`` section (e.g. the tenant name of a hashed file name)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    internal = _layout_header(first) if first.startswith(_FIRST) else None
    if internal is None:
        found = read_checkpoint(path)
        internal = found[0] if found else {}
    return internal


def _layout_header(first: bytes) -> dict[str, Any] | None:
    try:
        internal = loads(first[len(_FIRST):])
    except ValueError:
        return None  # the whole file on one line: not our layout
    return internal if isinstance(internal, dict) and internal.get("layout") == LAYOUT else None


def _read_lines(lines: Iterable[bytes], path: Path) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    table: Table | None = None
    for line in lines:
        line = line.rstrip(b"\n")
        if table is None:
            if line == b"}":
                return tables
            match = _KEY.match(line)
            if match is None or line[match.end():] != b"{":
                raise StoreError(f"corrupt store file {path}: unexpected line {line[:80]!r}")
            table = tables.setdefault(loads(match.group(1)), {})
        elif line == b"}":
            table = None
        else:
            match = _KEY.match(line)
            if match is None:
                raise StoreError(f"corrupt store file {path}: unexpected line {line[:80]!r}")
            table[loads(match.group(1))] = line[match.end():]
    raise StoreError(f"corrupt store file {path}: it ends before its last line")


def _read_whole(raw: bytes, path: Path) -> tuple[dict[str, Any], dict[str, Table]] | None:
    if not raw.strip():
        return None  # TinyDB's "empty database"
    try:
        data = loads(raw)
    except ValueError as exc:
        raise StoreError(f"corrupt store file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StoreError(f"corrupt store file {path}: not a TinyDB database")
    internal = data.pop(RESERVED, None) or {}
    tables = {name: {str(k): dumps_kept(v) for k, v in docs.items()}
              for name, docs in data.items() if isinstance(docs, dict)}
    return internal, tables


def write_checkpoint(path: Path, internal: dict[str, Any], tables: dict[str, Table]) -> Signature:
    """Replace the file atomically with this state; returns the new version's signature."""
    def chunks() -> Iterator[bytes]:
        yield _FIRST + dumps({**internal, "layout": LAYOUT}) + b"\n"
        for name, table in tables.items():
            yield b"," + dumps(name) + b":{\n"
            sep = b""
            for doc_id, raw in table.items():
                yield sep + dumps(doc_id) + b":" + raw + b"\n"
                sep = b","
            yield b"}\n"
        yield b"}\n"

    previous = signature(path)
    return _replace(path, chunks(), after_ns=previous[1] if previous else 0)


def _replace(path: Path, chunks: Iterable[bytes], *, after_ns: int = 0) -> Signature:
    directory, tmp = path.parent, None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
            # Strictly increasing mtime keeps (ino, mtime, size) unique per version although inode
            # numbers get recycled and clocks can be coarse.
            stamp = max(time.time_ns(), after_ns + 1)
            os.utime(fh.fileno(), ns=(stamp, stamp))
        os.replace(tmp, path)
        tmp = None
        found = signature(path)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    fsync_directory(directory)
    assert found is not None
    return found


def fsync_directory(directory: Path) -> None:
    """Make a rename durable; the data is already visible, so a failure only warns."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        logger.warning("fsync of directory %s failed: %s", directory, exc)


# ---------------------------------------------------------------------------------------- journals

def journal_header(gen: int) -> bytes:
    return dumps({"journal": JOURNAL_VERSION, "gen": gen}) + b"\n"


def create_journal(path: Path, gen: int) -> tuple[int, int]:
    """A new, empty journal continuing checkpoint ``gen``: (open fd, offset after the header)."""
    header = journal_header(gen)
    _replace(path, [header])
    try:
        return os.open(path, os.O_RDWR), len(header)
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc


def open_journal(path: Path) -> tuple[int, int | None, int] | None:
    """(fd, gen of its header or None when unreadable, offset after the header) or None if absent."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    head = os.pread(fd, 256, 0)
    end = head.find(b"\n")
    try:
        header = loads(head[:end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("journal") != JOURNAL_VERSION:
        return fd, None, 0
    gen = header.get("gen")
    return fd, gen if isinstance(gen, int) else None, end + 1


def read_entries(fd: int, offset: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """The complete, parseable batch lines between offset and size: (entries, offset after them)."""
    if size <= offset:
        return [], offset
    raw = os.pread(fd, size - offset, offset)
    entries: list[dict[str, Any]] = []
    start = 0
    while True:
        end = raw.find(b"\n", start)
        if end < 0:
            break  # a line without its newline was cut by a crash: never acknowledged
        try:
            entry = loads(raw[start:end])
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            logger.warning("journal at fd %d: dropping a torn line at offset %d", fd, offset + start)
            break
        entries.append(entry)
        start = end + 1
    return entries, offset + start


def append_entry(fd: int, offset: int, line: bytes) -> int:
    """Write one batch line at offset (dropping any torn tail after it); returns the new end. The
    caller makes it durable (``sync_journal``) before acknowledging it: a SIGKILL cannot lose what
    the kernel has, a power cut can lose what was not synced."""
    try:
        if os.fstat(fd).st_size != offset:
            os.ftruncate(fd, offset)  # bytes past what we read are a torn, unacknowledged write
        view, at = memoryview(line), offset
        while view:
            written = os.pwrite(fd, view, at)
            view, at = view[written:], at + written
    except OSError as exc:
        raise StoreError(f"cannot append to the journal: {exc}") from exc
    return at


def sync_journal(fd: int) -> None:
    try:
        os.fdatasync(fd)
    except OSError as exc:
        raise StoreError(f"cannot sync the journal: {exc}") from exc
