"""Schemathesis checks of our own, loaded with SCHEMATHESIS_HOOKS=tests.conformance.hooks.

The VBA batch endpoints answer a schema-violating item with 207 (the vendor's documented partial
success), so schemathesis.toml lists 207 as an expected status for them. That alone would let a
mock that stores bad items pass; this check closes the gap: every item of a 207 batch that breaks
the item schema must be reported as failed, and must not be what is stored under its key.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import schemathesis
from openapi_schema_validator import OAS30Validator, OAS31Validator

from mockserver.config import shipped_specs_dir
from mockserver.specs import EXTENSION, dereference

import yaml


@lru_cache(maxsize=None)
def _spec(prefix_path: str) -> dict | None:
    """The dereferenced shipped spec whose server path prefixes ``prefix_path``."""
    for path in Path(shipped_specs_dir()).glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        for server in document.get("servers", []):
            prefix = urlsplit(server["url"]).path.rstrip("/")
            if prefix and prefix_path.startswith(prefix + "/"):
                return dereference(document)
    return None


def _validator(document: dict, schema: dict):
    cls = OAS31Validator if str(document.get("openapi", "")).startswith("3.1") else OAS30Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _read_url(request_url: str, document: dict, entity: str, key) -> str | None:
    """The URL of the GET operation that reads ``entity`` by key, if the spec has one."""
    for template, item in document.get("paths", {}).items():
        op = item.get("get", {})
        ext = op.get(EXTENSION, {})
        if ext.get("action") == "get" and ext.get("entity") == entity:
            parts = urlsplit(request_url)
            prefix = urlsplit(document["servers"][0]["url"]).path.rstrip("/")
            return f"{parts.scheme}://{parts.netloc}{prefix}" + template.replace("{" + ext["path-key"] + "}", str(key))
    return None


@schemathesis.check
def batch_invalid_items_fail_and_are_not_stored(ctx, response, case):
    """A 207 batch: each invalid item is reported >= 400 and is not the record stored under its key."""
    if response.status_code != 207 or not isinstance(case.body, list):
        return None
    url = response.request.url
    path = urlsplit(url).path
    document = _spec(path)
    if document is None:
        return None
    operation = next((item.get("put") for tpl, item in document.get("paths", {}).items()
                      if path.endswith(tpl) and item.get("put", {}).get(EXTENSION, {}).get("action") == "upsert-batch"),
                     None)
    if operation is None:
        return None
    ext = operation[EXTENSION]
    item_schema = document["components"]["schemas"][ext["entity"]]
    validator = _validator(document, item_schema)
    entries = response.json()["data"]
    assert len(entries) == len(case.body), "one data entry per input item"
    headers = {k: v for k, v in response.request.headers.items() if k.lower() != "content-length"}
    for index, (item, entry) in enumerate(zip(case.body, entries)):
        if validator.is_valid(item):
            continue
        assert entry["status"] >= 400, f"item {index} violates the schema but was reported {entry['status']}"
        key = item.get(ext["key"]) if isinstance(item, dict) else None
        if not isinstance(key, int) or isinstance(key, bool) or key == 0:
            continue
        read = _read_url(url, document, ext["entity"], key)
        if read is None:
            continue
        request = urllib.request.Request(read, headers={k: v for k, v in headers.items() if k.lower() != "content-type"})
        try:
            with urllib.request.urlopen(request, timeout=10) as got:
                record = json.loads(got.read())["data"]
        except urllib.error.HTTPError:
            continue  # nothing stored under that key: fine
        managed = set(ext.get("managed") or {})
        sent = {k: v for k, v in item.items() if k not in managed}
        assert any(record.get(k) != v for k, v in sent.items()), \
            f"item {index} was rejected but its values are stored under {ext['key']}={key}"
    return True


# VCC Live's batch check and its snapshot hook live in their own module.
from tests.conformance import hooks_vcclive  # noqa: E402,F401
