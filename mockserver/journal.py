"""The request journal: a bounded ring of the vendor requests served, credentials masked.

Only vendor API requests are journaled (not the control plane). The journal is shared by every
worker process of the server (shared.py): entries are JSON lines appended, under one lock, to
segment files of ``segment`` entries each, numbered by a counter kept in the lock file. Recording
costs one append (plus, once per segment, dropping the segments that fell out of the ring),
whatever the journal holds. At most ``size`` entries (``MOCKSERVER_JOURNAL_SIZE``) are answered,
each body cut to ``MAX_BODY_CHARS``. An entry is written before its response is sent, so a worker
killed later loses nothing answered; a line cut short by a kill is skipped when reading.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from . import jsontext
from .shared import SharedDir

MASK = "***"
# Header names whose values are credentials whatever the spec says (plus every apiKey scheme's name);
# also the query parameter and cookie names whose values are: the control plane's header and login
# cookie (admin/access.py) included, should a client send them to a vendor path.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie",
                            "x-mockserver-admin-token", "mockserver_admin"})
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

    def json_text(self, raw: bytes) -> bytes | None:
        """A JSON text with every secret masked in its strings (keys included), found in the text itself,
        or None when that cannot be done safely (then mask the parsed value). In a JSON text with no
        escape (``\\u0061`` would spell a letter), every string's content is a run of the text's bytes;
        a secret with no quote, backslash or control character, and with a character that can only
        stand in a string (not in a number, true/false/null, or the syntax), therefore only occurs
        inside strings, and replacing it in the text replaces it in each string."""
        if b"\\" in raw:
            return None
        for secret in self.secrets:
            if secret.encode() in raw and not _string_only(secret):
                return None
        for secret in self.secrets:  # longest first, as ``text`` does
            raw = raw.replace(secret.encode(), MASK.encode())
        return raw

    def value(self, data: Any) -> Any:
        """A JSON value with every secret masked (keys and strings)."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, list):
            return [self.value(v) for v in data]
        if isinstance(data, dict):
            return {self.text(k): self.value(v) for k, v in data.items()}
        return data


# What a JSON text has outside its strings: numbers, true/false/null, the syntax, whitespace.
_OUTSIDE_STRINGS = frozenset("0123456789+-.eEtruefalsn{}[],: \t\r\n")


def _string_only(secret: str) -> bool:
    return (not any(c in secret for c in '"\\') and all(c >= " " for c in secret)
            and not _OUTSIDE_STRINGS.issuperset(secret))


def journal_body(raw: bytes, masker: Masker) -> tuple[Any, bool]:
    """The request body as JSON if it parses (masked), else as text; cut to MAX_BODY_CHARS."""
    if not raw:
        return None, False
    text = raw.decode("utf-8", "replace")
    if len(text) > MAX_BODY_CHARS:
        return masker.text(text[:MAX_BODY_CHARS]), True
    masked = masker.json_text(raw)
    try:
        value = jsontext.loads(raw if masked is None else masked)
        return (masker.value(value) if masked is None else value), False
    except ValueError:
        pass
    try:  # not UTF-8: the text with U+FFFD for the bad bytes may still be JSON
        return masker.value(jsontext.loads(text)), False
    except ValueError:
        return masker.text(text), False


ANY_BODY = object()  # the body filter's "not given" (null is a body one may look for)


@dataclass(frozen=True)
class JournalQuery:
    """Filters of the journal's calls (all optional): each given one must hold."""

    vendor: str | None = None
    operation: str | None = None
    tenant: str | None = None
    status: int | None = None
    since: datetime | None = None
    path: str | None = None
    method: str | None = None  # compared upper-cased
    header: tuple[str, str] | None = None  # (name, value): the name case-insensitive, the value exact
    body: Any = ANY_BODY  # a JSON value the request body contains (json_contains)
    limit: int | None = None

    def given(self) -> dict[str, Any]:
        """The filters given, as a client wrote them (for messages)."""
        named = {"vendor": self.vendor, "operation": self.operation, "tenant": self.tenant,
                 "status": self.status, "path": self.path, "method": self.method,
                 "since": None if self.since is None else utc_timestamp(self.since),
                 "header": None if self.header is None else f"{self.header[0]}:{self.header[1]}"}
        return {**{k: v for k, v in named.items() if v is not None}, **({} if self.body is ANY_BODY else {"body": self.body})}

    def mismatches(self, entry: Mapping[str, Any]) -> list[str]:
        """The names of the filters ``entry`` fails (none: it matches)."""
        failed = [name for name, want in (("vendor", self.vendor), ("operation", self.operation),
                                          ("tenant", self.tenant), ("status", self.status), ("path", self.path))
                  if want is not None and entry.get(name) != want]
        if self.method is not None and entry.get("method") != self.method.upper():
            failed.append("method")
        if self.since is not None and entry["_at"] < self.since:
            failed.append("since")
        if self.header is not None:
            name, value = self.header[0].lower(), self.header[1]
            if not any(k.lower() == name and v == value for k, v in (entry.get("headers") or {}).items()):
                failed.append("header")
        if self.body is not ANY_BODY and (entry.get("body_truncated") or not json_contains(entry.get("body"), self.body)):
            failed.append("body")
        return failed

    def matches(self, entry: Mapping[str, Any]) -> bool:
        return not self.mismatches(entry)


def json_contains(got: Any, want: Any) -> bool:
    """JSON containment: an object holds every field given (each contained), an array holds each
    element given (somewhere), anything else is JSON-equal (1 is not true)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and json_contains(got[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and all(any(json_contains(g, w) for g in got) for w in want)
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    return want == got


LOCK = "journal"
_SEGMENT = re.compile(r"journal-(\d+)\.jsonl")
_COUNTER_WIDTH = 20  # the lock file holds the next entry number, fixed width (rewritten in place)


class Journal:
    """The shared ring of request entries (dicts), oldest first."""

    def __init__(self, shared: SharedDir, size: int):
        self.shared, self.size = shared, size
        self.segment = max(1, size // 8)  # ~9 segment files at most: dropping one costs little

    def record(self, entry: dict[str, Any], at: datetime) -> None:
        if self.size <= 0:
            return
        at = at.astimezone(timezone.utc)
        with self.shared.locked(LOCK) as fd:
            number = _read_counter(fd)
            os.pwrite(fd, str(number + 1).rjust(_COUNTER_WIDTH).encode(), 0)
            line = jsontext.dumps({"time": utc_timestamp(at), **entry, "_at": at.isoformat(), "_n": number})
            if number % self.segment == 0:
                self._drop_segments_before(number - self.size + 1)
            # One write on an O_APPEND file; the leading newline ends a line a killed writer left cut.
            out = os.open(self.shared.path(f"journal-{number // self.segment}.jsonl"),
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(out, b"\n" + line + b"\n")
            finally:
                os.close(out)

    def _segments(self) -> list[tuple[int, Any]]:
        found = [(int(m.group(1)), p) for p in self.shared.root.iterdir() if (m := _SEGMENT.fullmatch(p.name))]
        return sorted(found)

    def _drop_segments_before(self, first_kept: int) -> None:
        for index, path in self._segments():
            if (index + 1) * self.segment <= first_kept:
                path.unlink(missing_ok=True)

    def entries(self) -> list[dict[str, Any]]:
        """The entries of the ring, oldest first (read under the lock: a consistent view)."""
        with self.shared.locked(LOCK) as fd:
            entries = self._read(fd)
        for entry in entries:
            entry["_at"] = datetime.fromisoformat(entry["_at"])
        return entries

    def _read(self, fd: int) -> list[dict[str, Any]]:
        first = _read_counter(fd) - self.size
        entries = []
        for _, path in self._segments():
            for line in path.read_bytes().splitlines():
                try:
                    entry = json.loads(line) if line.strip() else None
                except ValueError:
                    continue  # cut short by a killed worker: its request was never answered
                if isinstance(entry, dict) and entry.get("_n", -1) >= first:
                    entries.append(entry)
        return entries

    def find(self, query: JournalQuery) -> list[dict[str, Any]]:
        """Matching entries, oldest first; with ``limit`` the most recent ``limit`` of them."""
        if query.limit is not None:  # read from the newest end: costs the entries it keeps, not the ring
            return list(reversed(self.newest(query, 0, query.limit)[0])) if query.limit else []
        return [_public(e) for e in self.entries() if query.matches(e)]

    def newest(self, query: JournalQuery, skip: int, count: int) -> tuple[list[dict[str, Any]], bool]:
        """The matching entries ``skip`` to ``skip + count`` counted from the most recent, and whether older
        ones match too (a page of the dashboard). Lines are read newest first and a line that lacks a
        filter's exact field text is not parsed, so a page costs what it skips and shows, not the ring."""
        needles = [jsontext.dumps({name: value})[1:-1]  # as record() wrote it
                   for name, value in (("vendor", query.vendor), ("operation", query.operation),
                                       ("tenant", query.tenant), ("status", query.status)) if value is not None]
        with self.shared.locked(LOCK) as fd:
            first = _read_counter(fd) - self.size
            segments = [path.read_bytes() for _, path in self._segments()]
        found: list[dict[str, Any]] = []
        for data in reversed(segments):
            for line in reversed(data.splitlines()):
                if not line.strip() or not all(needle in line for needle in needles):
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # cut short by a killed worker
                if not isinstance(entry, dict) or entry.get("_n", -1) < first:
                    continue
                entry["_at"] = datetime.fromisoformat(entry["_at"])
                if query.matches(entry):
                    found.append(entry)
                    if len(found) > skip + count:
                        return [_public(e) for e in found[skip:skip + count]], True
        return [_public(e) for e in found[skip:]], False

    def get(self, entry_id: str) -> dict[str, Any] | None:
        """The entry with this id (a request's activity id), or None; lines not naming it are not parsed."""
        needle = jsontext.dumps({"id": entry_id})[1:-1]
        with self.shared.locked(LOCK) as fd:
            first = _read_counter(fd) - self.size
            for _, path in self._segments():
                for line in path.read_bytes().splitlines():
                    if needle not in line:
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict) and entry.get("id") == entry_id and entry.get("_n", -1) >= first:
                        return _public(entry)
        return None

    def count(self, query: JournalQuery) -> int:
        return sum(1 for e in self.entries() if query.matches(e))

    def clear(self) -> int:
        with self.shared.locked(LOCK) as fd:
            removed = len(self._read(fd))
            for _, path in self._segments():
                path.unlink(missing_ok=True)
            return removed


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without the journal's own bookkeeping (``_at``, ``_n``)."""
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def _read_counter(fd: int) -> int:
    text = os.pread(fd, _COUNTER_WIDTH, 0).strip()
    return int(text) if text.isdigit() else 0
