"""A cache of validated spec documents, keyed by the file's bytes, so a start skips YAML and validation.

Validating a spec imports openapi-spec-validator and walks the document (most of a start's time);
the verdict depends only on the file's bytes and the versions of mockserver and the validator, so a
document that passed once is kept as JSON under that key. A miss, an unreadable entry or a document
JSON cannot hold exactly (a YAML date) just means the slow path; the cache never changes a verdict.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)


def _key(raw: bytes) -> str:
    from .version import __version__
    try:
        validator = metadata.version("openapi-spec-validator")
    except metadata.PackageNotFoundError:
        validator = "?"
    digest = hashlib.sha256(raw)
    digest.update(f"\0{__version__}\0{validator}".encode())
    return digest.hexdigest()


def lookup(cache: Path | None, raw: bytes) -> dict[str, Any] | None:
    """The validated document of these bytes, or None on a miss."""
    if cache is None:
        return None
    try:
        document = orjson.loads((cache / f"{_key(raw)}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def remember(cache: Path | None, raw: bytes, document: dict[str, Any]) -> None:
    """Keep a document that passed validation (best effort: a read-only home only costs speed)."""
    if cache is None:
        return
    try:
        text = orjson.dumps(document)
        if orjson.loads(text) != document:  # e.g. a YAML date would come back as a string
            return
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        os.replace(tmp, cache / f"{_key(raw)}.json")
    except (OSError, TypeError, ValueError) as exc:
        log.debug("spec cache not written: %s", exc)
