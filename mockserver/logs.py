"""Logging of the served mock: one configuration for mockserver, gunicorn and the access log.

``MOCKSERVER_LOG_FORMAT=text`` is for people; ``json`` writes every line (access, batch, server)
as one JSON object, so a log collector never sees a mix. The access log is a WSGI middleware, so
it reports what the client got (status, bytes, time) whatever server runs the app.
"""
from __future__ import annotations

import json
import logging
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

ACCESS_LOGGER = "mockserver.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"

access_log = logging.getLogger(ACCESS_LOGGER)


class JSONLinesFormatter(logging.Formatter):
    """One JSON object per line; the access log's fields sit at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "http", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class MaskingFormatter(logging.Formatter):
    """Another formatter's lines with each secret (the admin token) replaced by ``***``, whatever wrote
    it there: a client may put the token in a URL the access log or gunicorn's debug line shows."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        # As written, as a JSON string holds it (a quote or backslash escaped) and as a URL does; longest first.
        forms = {form for s in secrets if s
                 for form in (s, json.dumps(s)[1:-1], urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s))}
        self.secrets = sorted(forms, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


def configure_logging(level: str, log_format: str, secrets: Iterable[str | None] = ()) -> None:
    """Replace the root logger's handlers with one stderr handler in the chosen format; ``secrets``
    never show in a line."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JSONLinesFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    known = [s for s in secrets if s]
    handler.setFormatter(MaskingFormatter(formatter, known) if known else formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


class AccessLog:
    """WSGI middleware: one INFO line per request on ``mockserver.access``, logged when the
    response has been sent (so ``bytes`` and ``ms`` are what the client got)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[int] = []

        def recording_start_response(status_line: str, headers: list, exc_info=None):
            status[:] = [int(status_line.split(" ", 1)[0])]
            return start_response(status_line, headers, exc_info)

        body = self.app(environ, recording_start_response)
        return _LoggedBody(body, environ, status, started)


class _LoggedBody:
    """The response iterable, counted as it is sent; logs on close() as PEP 3333 guarantees."""

    def __init__(self, body: Iterable[bytes], environ: dict, status: list[int], started: float) -> None:
        self.body, self.environ, self.status, self.started = body, environ, status, started
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._log()

    def _log(self) -> None:
        env = self.environ
        http = {
            "remote": env.get("REMOTE_ADDR", ""),
            "method": env.get("REQUEST_METHOD", ""),
            "path": env.get("SCRIPT_NAME", "") + env.get("PATH_INFO", ""),
            "query": env.get("QUERY_STRING", ""),
            "status": self.status[0] if self.status else None,
            "bytes": self.sent,
            "ms": round((time.perf_counter() - self.started) * 1000, 1),
            "user_agent": env.get("HTTP_USER_AGENT", ""),
        }
        target = http["path"] + ("?" + http["query"] if http["query"] else "")
        access_log.info('%s "%s %s" %s %dB %.1fms', http["remote"] or "-", http["method"], target, http["status"],
                        http["bytes"], http["ms"], extra={"http": http})
