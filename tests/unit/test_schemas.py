"""JSON Schema (OpenAPI 3.0 and 3.1) → marshmallow: each keyword, each type, both nullable spellings."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from mockserver.schemas import UnsupportedSchema, field_for, flatten_errors, merge_all_of, schema_for


def load(schema: dict, value):
    """Load ``{"v": value}`` through a one-property object schema; return the value or the error list."""
    cls = schema_for({"type": "object", "additionalProperties": False, "properties": {"v": schema}}, name="T")
    try:
        return cls().load({"v": value})["v"]
    except ValidationError as exc:
        return ("error", exc.messages["v"])


def accepts(schema, value) -> bool:
    return load(schema, value) == value


CASES = [
    # (schema, accepted values, rejected values)
    ({"type": "integer"}, [0, -5, 2**40], ["1", 1.5, True, None, []]),
    ({"type": "integer", "format": "int32"}, [2**31 - 1, -(2**31)], [2**31, -(2**31) - 1]),
    ({"type": "integer", "minimum": 1, "maximum": 3}, [1, 3], [0, 4]),
    ({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, [2], [1]),  # 3.0 boolean form
    ({"type": "integer", "exclusiveMaximum": 3}, [2], [3]),  # 3.1 numeric form
    ({"type": "number"}, [1, 1.5, -0.0], ["1.5", True, None]),
    ({"type": "boolean"}, [True, False], [1, 0, "true", None]),
    ({"type": "string"}, ["", "x"], [1, None, True]),
    ({"type": "string", "maxLength": 3, "minLength": 1}, ["a", "abc"], ["", "abcd"]),
    ({"type": "string", "enum": ["A", "B"]}, ["A"], ["C", "a"]),
    ({"type": "string", "pattern": "^[0-9]+$"}, ["123"], ["12a"]),
    ({"type": "string", "format": "date-time"},
     ["2024-01-31T10:00:00", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00.5+02:00", "2024-01-31 10:00:00"],
     ["2024-01-31", "2024-13-01T00:00:00", "yesterday", "2024-01-31T25:00:00"]),
    ({"type": "string", "format": "date"}, ["2024-02-29"], ["2023-02-29", "2024-02-29T00:00:00"]),
    ({"type": "string", "format": "uuid"}, ["01234567-abcd-dcba-ffff-000000000000"], ["not-a-uuid", "0123"]),
    ({"type": "string", "format": "email"}, ["a@example.com"], ["nope"]),
    ({"type": "string", "format": "uri"}, ["https://x.example/a"], ["no scheme"]),
    ({"type": "string", "format": "made-up"}, ["anything"], [1]),  # unknown formats only annotate
    ({"type": "string", "nullable": True}, [None, "x"], [1]),  # OpenAPI 3.0
    ({"type": ["string", "null"]}, [None, "x"], [1]),  # OpenAPI 3.1
    ({"type": "array", "items": {"type": "integer"}, "maxItems": 2}, [[], [1, 2]], [[1, 2, 3], ["1"], "1"]),
    ({"type": "object", "additionalProperties": {"type": "string"}}, [{"a": "b"}], [{"a": 1}, [1]]),
    ({}, [1, "x", None, [1], {"a": 1}], []),
    ({"oneOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}]},
     ["01234567-abcd-dcba-ffff-000000000000", 7], ["x", 1.5]),
    ({"nullable": True, "allOf": [{"type": "string", "maxLength": 2}]}, [None, "ab"], ["abc"]),
]


@pytest.mark.parametrize("schema,good,bad", CASES, ids=[str(c[0])[:60] for c in CASES])
def test_schemas_field_accepts_and_rejects(schema, good, bad):
    for value in good:
        assert accepts(schema, value), (schema, value, load(schema, value))
    for value in bad:
        result = load(schema, value)
        assert isinstance(result, tuple) and result[0] == "error", (schema, value, result)


def test_schemas_number_rejects_nan_and_infinity():
    assert load({"type": "number"}, float("nan"))[0] == "error"
    assert load({"type": "number"}, float("inf"))[0] == "error"


ENTITY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "flag"],
    "properties": {
        "key": {"type": "integer", "default": 0},
        "flag": {"type": "boolean"},
        "status": {"type": "string", "default": "New"},
        "note": {"type": "string", "nullable": True, "maxLength": 5},
        "nested": {"type": "object", "additionalProperties": False, "properties": {"x": {"type": "integer"}}},
    },
}


def test_schemas_required_field_with_default_stays_required():
    cls = schema_for(ENTITY, name="Entity")
    with pytest.raises(ValidationError) as exc:
        cls().load({"flag": True})
    assert exc.value.messages == {"key": ["Missing data for required field."]}


def test_schemas_optional_default_is_applied():
    assert schema_for(ENTITY, name="Entity")().load({"key": 1, "flag": False}) == {"key": 1, "flag": False,
                                                                                    "status": "New"}


def test_schemas_partial_load_skips_required_and_defaults():
    assert schema_for(ENTITY, name="Entity")().load({"note": "hi"}, partial=True) == {"note": "hi"}


def test_schemas_unknown_fields_are_named_and_every_error_reported():
    cls = schema_for(ENTITY, name="Entity")
    with pytest.raises(ValidationError) as exc:
        cls().load({"key": "1", "flag": 1, "note": "toolong", "extra": 1, "nested": {"x": "a", "y": 2}})
    assert flatten_errors(exc.value.messages) == [
        ("key", "Not a valid integer."),
        ("flag", "Not a valid boolean."),
        ("note", "Longer than maximum length 5."),
        ("nested.x", "Not a valid integer."),
        ("nested.y", "Unknown field."),
        ("extra", "Unknown field."),
    ]


def test_schemas_additional_properties_allowed_unless_false():
    open_schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert schema_for(open_schema, name="Open")().load({"a": 1, "b": 2}) == {"a": 1, "b": 2}


def test_schemas_all_of_merges_properties_and_required():
    merged = merge_all_of({"allOf": [{"properties": {"a": {}}, "required": ["a"]},
                                     {"properties": {"b": {}}, "required": ["b"]}]})
    assert set(merged["properties"]) == {"a", "b"} and merged["required"] == ["a", "b"]


def test_schemas_several_types_is_a_clear_startup_error():
    with pytest.raises(UnsupportedSchema, match="several non-null types"):
        field_for({"type": ["string", "integer"]}, name="x")


def test_schemas_unknown_type_is_a_clear_startup_error():
    with pytest.raises(UnsupportedSchema, match="type 'file'"):
        field_for({"type": "file"}, name="upload")
