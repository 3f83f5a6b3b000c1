"""State shared by every worker process of one server: small files under ``<data>/__mockserver/``.

gunicorn forks N workers; fault rules (with their use counts and token buckets) and the request
journal must be one for all of them, and must survive a worker killed mid-request. Each piece of
state is a file guarded by its own ``fcntl.flock`` lock file; a JSON state file is replaced
atomically (temp file + ``os.replace``), so a worker killed at any point leaves the last complete
state. No file here ends in ``.json`` (the store lists ``<data>/<vendor>/*.json`` as tenants).
POSIX only, as the store.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

DIRECTORY = "__mockserver"


class SharedDir:
    """One server's shared control-plane directory."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / DIRECTORY
        self.root.mkdir(parents=True, exist_ok=True)
        # Parsed state by file, with the signature it was read at: an unchanged file is not re-read.
        self._cache: dict[str, tuple[tuple[int, int, int], Any]] = {}
        self._cache_lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.root / name

    @contextmanager
    def locked(self, name: str) -> Iterator[int]:
        """Hold the exclusive lock ``<name>.lock`` (between processes and threads: one open file
        description each); yields its file descriptor, whose content a caller may use."""
        fd = os.open(self.root / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock, also when the process dies

    def read(self, name: str, default: Any) -> Any:
        """The JSON state in ``name`` (``default`` if absent). Do not mutate the answer: it is cached."""
        path = self.root / name
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return default
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            value = json.loads(path.read_bytes())
        except FileNotFoundError:
            return default
        with self._cache_lock:
            self._cache[name] = (signature, value)
        return value

    def write(self, name: str, value: Any) -> None:
        """Replace ``name`` atomically (call under its lock)."""
        tmp = self.root / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(json.dumps(value, separators=(",", ":")).encode())
        os.replace(tmp, self.root / name)

    def clear(self) -> None:
        """Start empty (the server's start, before any worker exists)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        with self._cache_lock:
            self._cache.clear()
