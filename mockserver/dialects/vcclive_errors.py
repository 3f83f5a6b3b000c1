"""VCC Live error objects: ``{errorcode, errormessage, index?, property?}`` and where they come from.

Every message a VCC Live element or single call can fail with is named here, so the vendor-facing
vocabulary lives in one place. Documented by the vendor: ``error.missing_numberid_or_search``,
``error.wrong_value_format``, ``error.name_must_be_between``, ``error.wrong_email_format``,
``error.value_name_already_exists`` (all errorcode 417). The others are the mock's choices in the
vendor's style (README, "Emulation choices").
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema

from ..batch import ItemFailed, load_item

INVALID = 417  # the vendor's errorcode for every element / value that cannot be applied

MISSING_TARGET = "error.missing_numberid_or_search"
BOTH_TARGETS = "error.numberid_and_search_both_set"
RECORD_NOT_FOUND = "error.record_not_found"  # a numberid that does not exist in the project
SEARCH_NO_MATCH = "error.search_no_match"  # a search that matches no record
SEARCH_MULTIPLE_MATCHES = "error.search_multiple_matches"  # a record search that matches several
FIELD_NOT_EXISTS = "error.field_not_exists"  # a form / search key that is not a field of the project
VALUE_NOT_EXISTS = "error.value_not_exists"  # a value id that is not a value of the field
WRONG_VALUE_FORMAT = "error.wrong_value_format"
WRONG_VALUES_FORMAT = "error.wrong_values_format"  # a multiple field's list holds a non-value
WRONG_DATE_FORMAT = "error.wrong_date_format"
WRONG_EMAIL_FORMAT = "error.wrong_email_format"
WRONG_NAME_FORMAT = "error.wrong_name_format"
NAME_LENGTH = "error.name_must_be_between"
UNKNOWN_PROPERTY = "error.unknown_property"
WRONG_ELEMENT_FORMAT = "error.wrong_element_format"
MISSING_DISPOSITIONID = "error.missing_dispositionid"
FIELD_NAME_EXISTS = "error.field_name_already_exists"
VALUE_NAME_EXISTS = "error.value_name_already_exists"
MISSING_VALUES = "error.missing_values"  # a simple / multiple field added without `values`
VALUES_NOT_ALLOWED = "error.values_not_allowed"  # a text field added with `values`

# Whole-request errors: errorcode = the HTTP status.
REQUEST_ERRORS = {400: "error.bad_request", 401: "error.unauthorized", 403: "error.forbidden",
                  404: "error.not_found", 415: "error.unsupported_media_type", 429: "error.too_many_requests"}
# Emulation choice: an injected item fault's errormessage when its status has no name of its own.
INJECTED_ITEM_ERROR = "error.internal_error"
MISSING_ELEMENTS = "error.missing_elements"
WRONG_ELEMENTS_FORMAT = "error.wrong_elements_format"
WRONG_BODY_FORMAT = "error.wrong_body_format"


def fail(errormessage: str, prop: str | None = None, *, index: int | None = None, key: Any = None) -> ItemFailed:
    """An element (or single call) failure carrying the vendor's error fields."""
    return ItemFailed([(prop or "", errormessage)], key=key, errormessage=errormessage, property=prop,
                      index=index)


def error_object(failure: ItemFailed, index: int | None = None) -> dict:
    """The vendor's error object for one failure (``index`` for batch elements)."""
    detail = failure.detail
    if "errormessage" not in detail:  # a failure the engine raised (an injected item fault)
        status = detail.get("status", INVALID)
        detail = {"errorcode": status, "errormessage": REQUEST_ERRORS.get(status, INJECTED_ITEM_ERROR)}
    body: dict[str, Any] = {"errorcode": detail.get("errorcode", INVALID), "errormessage": detail["errormessage"]}
    index = index if index is not None else detail.get("index")
    if index is not None:
        body["index"] = index
    if detail.get("property"):
        body["property"] = detail["property"]
    return body


def load(schema: Schema, item: Any, *, partial: Any = False) -> dict:
    """Validate against a generated schema; the first problem becomes a vendor-style failure."""
    try:
        return load_item(schema, item, partial=partial)
    except ItemFailed as failed:
        raise schema_failure(failed.errors) from None


def schema_failure(errors: list[tuple[str, str]]) -> ItemFailed:
    """marshmallow's ``(path, message)`` → the vendor's errormessage and property."""
    path, message = errors[0] if errors else ("", "")
    parts = [p for p in path.split(".") if p and p != "(item)"]  # "(item)": flatten_errors' root
    while parts and parts[-1] in ("value", "key"):  # marshmallow's Dict error nesting
        parts.pop()
    if len(parts) > 1 and parts[0] in ("form", "default"):
        parts = parts[1:]  # a form value: the property is the field's name, as the vendor names it
    prop = ".".join(parts) or None
    leaf = parts[-1] if parts else ""
    if message == "Missing data for required field.":
        errormessage = f"error.missing_{leaf}" if leaf else WRONG_ELEMENT_FORMAT
    elif message == "Unknown field.":
        errormessage = UNKNOWN_PROPERTY
    elif "email" in message.lower():
        errormessage = WRONG_EMAIL_FORMAT
    elif leaf.endswith("date"):
        errormessage = WRONG_DATE_FORMAT
    elif leaf == "name" and message.startswith(("Length", "Longer", "Shorter")):
        errormessage = NAME_LENGTH
    elif leaf == "name" and message.startswith("Does not match pattern"):
        errormessage = WRONG_NAME_FORMAT
    elif message == "Item is not a JSON object.":
        errormessage = WRONG_ELEMENT_FORMAT
    else:
        errormessage = WRONG_VALUE_FORMAT
    return fail(errormessage, prop)
