"""The request journal: a bounded ring buffer of the vendor requests served, credentials masked.

Only vendor API requests are journaled (not the control plane). Memory stays bounded: at most
``size`` entries (``MOCKSERVER_JOURNAL_SIZE``), each body cut to ``MAX_BODY_CHARS``.
"""
from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from . import jsontext

MASK = "***"
# Header names whose values are credentials whatever the spec says (plus every apiKey scheme's name).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
# Emulation choice: a longer body is kept as its first MAX_BODY_CHARS characters (body_truncated: true).
MAX_BODY_CHARS = 64 * 1024
MAX_LIMIT = 10_000


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)


def parse_timestamp(text: str) -> datetime:
    """RFC 3339 date-time (``Z`` or an offset) → aware datetime; ValueError if not one."""
    if not _RFC3339.fullmatch(text):
        raise ValueError(f"not an RFC 3339 date-time: {text!r}")
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Masker:
    """Replaces credentials: secret header values wholesale, and every known secret wherever it occurs."""

    def __init__(self, secrets: Iterable[str] = (), secret_names: Iterable[str] = ()):
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)
        self.secret_names = SECRET_HEADERS | {n.lower() for n in secret_names}

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: MASK if name.lower() in self.secret_names else self.text(value)
                for name, value in headers.items()}

    def query(self, query: Mapping[str, list[str]]) -> dict[str, list[str]]:
        return {name: [MASK] * len(values) if name.lower() in self.secret_names else [self.text(v) for v in values]
                for name, values in query.items()}

    def value(self, data: Any) -> Any:
        """A JSON value with every secret masked (keys and strings)."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, list):
            return [self.value(v) for v in data]
        if isinstance(data, dict):
            return {self.text(k): self.value(v) for k, v in data.items()}
        return data


def journal_body(raw: bytes, masker: Masker) -> tuple[Any, bool]:
    """The request body as JSON if it parses (masked), else as text; cut to MAX_BODY_CHARS."""
    if not raw:
        return None, False
    text = raw.decode("utf-8", "replace")
    if len(text) > MAX_BODY_CHARS:
        return masker.text(text[:MAX_BODY_CHARS]), True
    try:
        return masker.value(jsontext.loads(text)), False
    except ValueError:
        return masker.text(text), False


@dataclass(frozen=True)
class JournalQuery:
    """Filters of GET /__mockserver/requests (all optional)."""

    vendor: str | None = None
    operation: str | None = None
    tenant: str | None = None
    status: int | None = None
    since: datetime | None = None
    limit: int | None = None

    def matches(self, entry: Mapping[str, Any]) -> bool:
        return ((self.vendor is None or entry["vendor"] == self.vendor)
                and (self.operation is None or entry["operation"] == self.operation)
                and (self.tenant is None or entry["tenant"] == self.tenant)
                and (self.status is None or entry["status"] == self.status)
                and (self.since is None or entry["_at"] >= self.since))


class Journal:
    """Thread-safe ring buffer of request entries (dicts), oldest first."""

    def __init__(self, size: int):
        self.size = size
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any], at: datetime) -> None:
        if self.size <= 0:
            return
        entry = {"time": utc_timestamp(at), **entry, "_at": at.astimezone(timezone.utc)}
        with self._lock:
            self._entries.append(entry)

    def find(self, query: JournalQuery) -> list[dict[str, Any]]:
        """Matching entries, oldest first; with ``limit`` the most recent ``limit`` of them."""
        with self._lock:
            found = [e for e in self._entries if query.matches(e)]
        if query.limit is not None:
            found = found[-query.limit:] if query.limit else []
        return [{k: v for k, v in e.items() if k != "_at"} for e in found]

    def count(self, query: JournalQuery) -> int:
        with self._lock:
            return sum(1 for e in self._entries if query.matches(e))

    def clear(self) -> int:
        with self._lock:
            removed = len(self._entries)
            self._entries.clear()
            return removed
