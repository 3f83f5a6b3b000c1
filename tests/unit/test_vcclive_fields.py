"""VCC Live form-value resolution and error mapping, without HTTP (tables of cases)."""
from __future__ import annotations

import pytest

from mockserver.batch import ItemFailed
from mockserver.dialects.vcclive_errors import error_object, schema_failure
from mockserver.dialects.vcclive_fields import Pending, resolve, valid_call_date

TEXT = {"type": "text", "values": []}
SIMPLE = {"type": "simple", "values": [{"valueid": 7, "name": "male"}, {"valueid": 8, "name": "female"}]}
MULTIPLE = {"type": "multiple", "values": [{"valueid": 3, "name": "sports"}]}


@pytest.mark.parametrize("definition,value,expected", [
    (TEXT, "Budapest", "Budapest"),
    (TEXT, 30, "30"),
    (TEXT, None, None),
    (SIMPLE, "male", 7),
    (SIMPLE, " female ", 8),
    (SIMPLE, 8, 8),
    (SIMPLE, "other", Pending("other")),
    (SIMPLE, "", None),
    (SIMPLE, None, None),
    (MULTIPLE, "sports|movies", [3, Pending("movies")]),
    (MULTIPLE, "movies|sports|movies", [Pending("movies"), 3]),
    (MULTIPLE, "sports||", [3]),
    (MULTIPLE, ["sports", 3, "chess"], [3, Pending("chess")]),
    (MULTIPLE, ["chess|sports", "golf"], [Pending("chess"), 3, Pending("golf")]),  # a name in a list is text too
    (MULTIPLE, 3, [3]),
    (MULTIPLE, "", []),
    (MULTIPLE, None, []),
], ids=lambda v: repr(v)[:20])
def test_vcclive_resolve_maps_values_to_what_a_record_stores(definition, value, expected):
    assert resolve(definition, value, "f") == expected


@pytest.mark.parametrize("definition,value,errormessage", [
    (TEXT, ["a"], "error.wrong_value_format"),
    (TEXT, True, "error.wrong_value_format"),
    (SIMPLE, ["male"], "error.wrong_value_format"),
    (SIMPLE, 99, "error.value_not_exists"),
    (SIMPLE, "x" * 256, "error.name_must_be_between"),
    (SIMPLE, "   ", "error.name_must_be_between"),
    (MULTIPLE, [99], "error.value_not_exists"),
    (MULTIPLE, [True], "error.wrong_values_format"),
    (MULTIPLE, {"a": 1}, "error.wrong_values_format"),
], ids=lambda v: repr(v)[:20])
def test_vcclive_resolve_rejects_what_the_field_cannot_hold(definition, value, errormessage):
    with pytest.raises(ItemFailed) as failed:
        resolve(definition, value, "f")
    assert error_object(failed.value, 3) == {"errorcode": 417, "errormessage": errormessage, "index": 3,
                                             "property": "f"}


@pytest.mark.parametrize("errors,errormessage,prop", [
    ([("form.likes.value", "Does not match any allowed schema.")], "error.wrong_value_format", "likes"),
    ([("form", "Missing data for required field.")], "error.missing_form", "form"),
    ([("extra", "Unknown field.")], "error.unknown_property", "extra"),
    ([("contacts.phone1.email", "Not a valid email address.")], "error.wrong_email_format", "contacts.phone1.email"),
    ([("next_calldate", "Does not match pattern '...'.")], "error.wrong_date_format", "next_calldate"),
    ([("name", "Longer than maximum length 64.")], "error.name_must_be_between", "name"),
    ([("name", "Does not match pattern '^[a-z_]+$'.")], "error.wrong_name_format", "name"),
    ([("(item)", "Item is not a JSON object.")], "error.wrong_element_format", None),
], ids=lambda v: repr(v)[:24])
def test_vcclive_schema_errors_become_vendor_messages(errors, errormessage, prop):
    expected = {"errorcode": 417, "errormessage": errormessage, **({"property": prop} if prop else {})}
    assert error_object(schema_failure(errors)) == expected


@pytest.mark.parametrize("text,valid", [("2026-12-01 09:30:00", True), ("2026-02-29 10:00:00", False),
                                        ("2028-02-29 23:59:59", True), ("2026-12-01 24:00:00", False),
                                        ("2026-12-01T09:30:00", False)])
def test_vcclive_call_dates_are_real_calendar_moments(text, valid):
    assert valid_call_date(text) is valid
