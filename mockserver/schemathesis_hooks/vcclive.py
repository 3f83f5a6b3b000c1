"""Schemathesis hooks for VCC Live's batch calls (loaded through mockserver.schemathesis_hooks).

VCC Live answers a batch with HTTP 200 even when elements fail (the failed ones are listed in
``errors`` with their ``index``), so the served schemathesis config lists 200 as an expected status for negative
data of the two batch operations. This check closes the gap that opens: every element that breaks
the element schema must be listed in ``errors`` with its index and be missing from ``response``,
and failed elements must change nothing: no select value appears that only a failed element names,
and a record that only failed elements name reads the same before and after the batch.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from base64 import b64encode
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import schemathesis
from openapi_schema_validator import OAS30Validator

import yaml

from ..config import shipped_specs_dir
from ..specs import EXTENSION, dereference

ELEMENT_SCHEMAS = {"modify-records-batch": "RecordElement", "modify-dispositions-batch": "DispositionElement"}
MAX_PROBED = 20  # records read before/after one batch, to keep a fuzz run fast
_SNAPSHOTS: OrderedDict[int, dict] = OrderedDict()


@lru_cache(maxsize=None)
def _document() -> dict:
    return dereference(yaml.safe_load((shipped_specs_dir() / "vcclive.yaml").read_text()))


def _action(case) -> str | None:
    if case.method.upper() != "PUT":  # e.g. the OPTIONS / undeclared-method probes of an operation
        return None
    raw = case.operation.definition.raw
    action = raw.get(EXTENSION, {}).get("action") if isinstance(raw, dict) else None
    return action if action in ELEMENT_SCHEMAS else None


def _elements(case) -> list:
    body = case.body
    return body["elements"] if isinstance(body, dict) and isinstance(body.get("elements"), list) else []


def _numberid(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < len(value) < 19:
        return int(value)
    return None


def _named_numberids(element: Any) -> set[int]:
    """Records an element names directly (its numberid, or numberid criteria of a disposition search)."""
    if not isinstance(element, dict):
        return set()
    found = {_numberid(element.get("numberid"))}
    search = element.get("search")
    for criteria in search if isinstance(search, list) else [search]:
        if isinstance(criteria, dict):
            found.add(_numberid(criteria.get("numberid")))
    return {n for n in found if n is not None}


class _Reader:
    """GETs against the mock with the credentials schemathesis sends."""

    def __init__(self, case):
        self.project = case.path_parameters.get("projectid") if case.path_parameters else None
        base = case.operation.schema.get_base_url().rstrip("/")
        self.base = f"{base}/projects/{self.project}"
        config = case.operation.schema.config
        self.headers = dict(config.headers_for(operation=case.operation))
        basic = config.auth_for(operation=case.operation)
        if basic is not None:
            self.headers["Authorization"] = "Basic " + b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()

    @property
    def usable(self) -> bool:
        return isinstance(self.project, int) and not isinstance(self.project, bool) and self.project > 0

    def get(self, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as got:
                return got.status, json.loads(got.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def values(self) -> set[tuple[str, str]]:
        status, body = self.get("/fields")
        assert status == 200, f"listing the fields failed: {status} {body}"
        return {(field["name"], value["name"]) for field in body["response"] for value in field["values"]}


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Snapshot what a VCC Live batch may change: the project's values and the records it names."""
    if _action(case) is None:
        return
    reader = _Reader(case)
    if not reader.usable:
        return
    numberids = sorted(set().union(*(_named_numberids(e) for e in _elements(case))))[:MAX_PROBED]
    _SNAPSHOTS[id(case)] = {"values": reader.values(),
                            "records": {n: reader.get(f"/records/{n}") for n in numberids}}
    while len(_SNAPSHOTS) > 64:
        _SNAPSHOTS.popitem(last=False)


def _form_names(element: Any, defaults: Any) -> set[tuple[str, str]]:
    """(field, value name) pairs an element's form (with the batch's default) could create."""
    if not isinstance(element, dict) or not isinstance(element.get("form"), dict):
        return set()
    form = {**(defaults if isinstance(defaults, dict) else {}), **element["form"]}
    names = set()
    for field, value in form.items():
        parts = value.split("|") if isinstance(value, str) else value if isinstance(value, list) else []
        names.update((field, part.strip()) for part in parts if isinstance(part, str) and part.strip())
    return names


@schemathesis.check
def vcc_batch_invalid_elements_fail_and_change_nothing(ctx, response, case):
    """A VCC Live batch: invalid elements are listed with their index, and failed elements change nothing."""
    action = _action(case)
    if action is None or response.status_code != 200:
        return None
    snapshot = _SNAPSHOTS.pop(id(case), None)
    elements = _elements(case)
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"a 200 batch answer is not JSON: {response.text[:200]!r}") from None
    failed = [error.get("index") for error in body["errors"]]
    applied = {int(index) for index in body["response"]}
    assert all(isinstance(i, int) and 0 <= i < len(elements) for i in failed), f"error indices {failed}"
    assert len(failed) == len(set(failed)), f"an element is listed twice in errors: {failed}"
    assert not applied & set(failed), f"elements both applied and failed: {sorted(applied & set(failed))}"
    assert applied | set(failed) == set(range(len(elements))), "every element is either applied or failed"

    validator = OAS30Validator(_document()["components"]["schemas"][ELEMENT_SCHEMAS[action]],
                               format_checker=OAS30Validator.FORMAT_CHECKER)
    for index, element in enumerate(elements):
        if not validator.is_valid(element):
            assert index in failed, f"element {index} violates the schema but is not listed in errors"
            assert index not in applied, f"element {index} violates the schema but is reported applied"
    if snapshot is None:
        return True

    reader = _Reader(case)
    defaults = case.body.get("default") if action == "modify-records-batch" else None
    allowed = set().union(*(_form_names(elements[i], defaults) for i in applied)) if applied else set()
    created = reader.values() - snapshot["values"]
    assert created <= allowed, f"values created that no applied element names: {sorted(created - allowed)}"
    if any(isinstance(elements[i], dict) and "search" in elements[i] for i in applied):
        return True  # an applied search may have touched any record
    touched = set().union(*(_named_numberids(elements[i]) for i in applied)) if applied else set()
    for numberid, before in snapshot["records"].items():
        if numberid not in touched:
            assert reader.get(f"/records/{numberid}") == before, \
                f"record {numberid} changed although only failed elements name it"
    return True
