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


# --- the fast path of a valid item (FastLoad) equals marshmallow's load -----------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from mockserver.dialects import known_actions  # noqa: E402
from mockserver.config import shipped_specs_dir  # noqa: E402
from mockserver.fast_load import fast_load  # noqa: E402
from mockserver.specs import load_specs  # noqa: E402


def shipped_entity_schemas():
    """Every entity schema of the shipped specs, with a few made-up ones for the other unknown modes."""
    found = {}
    for spec in load_specs(shipped_specs_dir(), known_actions):
        for op in spec.operations:
            for name, schema in op.entity_schemas.items():
                found.setdefault(f"{spec.name}.{name}", schema)
    found["made-up.include"] = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "integer", "minimum": 0}, "b": {"type": "string", "default": "x"},
        "c": {"type": "array", "items": {"type": "number"}, "maxItems": 2},
        "d": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "e": {"type": "object", "properties": {"f": {"type": "boolean"}}, "additionalProperties": False}}}
    found["made-up.exclude"] = {**found["made-up.include"], "additionalProperties": {}}
    found["made-up.raise"] = {**found["made-up.include"], "additionalProperties": False}
    return found


ENTITY_SCHEMAS = shipped_entity_schemas()
ODD_VALUES = [None, True, False, 0, -1, 2**31, 2**63, 1.5, float("1e300"), "", "x", "1", "a" * 300,
              "2026-01-01T10:00:00Z", "2026-13-01", "a@b.co", "3fa85f64-5717-4562-b3fc-2c963f66afa6",
              "https://x.io/a", [], [1], {}, {"f": True}, {"f": 1}]


def item_for(schema: dict):
    """Items near the schema: each property absent, a value of its type, or an odd value; maybe an unknown key."""
    def value_of(sub):
        kind = sub.get("type")
        kind = [t for t in kind if t != "null"][0] if isinstance(kind, list) and len(kind) > 1 else kind
        typed = {"string": st.text(max_size=(sub.get("maxLength") or 20) + 1),
                 "integer": st.integers(sub.get("minimum", -10) - 1, sub.get("maximum", 10**6) + 1),
                 "number": st.floats(allow_nan=False, allow_infinity=False), "boolean": st.booleans()}.get(kind)
        options = [st.sampled_from(ODD_VALUES)] + ([typed] if typed is not None else [])
        if "enum" in sub:
            options.append(st.sampled_from(sub["enum"]))
        return st.one_of(*options)

    props = merge_all_of(schema).get("properties", {})
    present = st.fixed_dictionaries({}, optional={name: value_of(sub) for name, sub in props.items()})
    return st.tuples(present, st.dictionaries(st.sampled_from(["zz", "Id", "x-y"]), st.sampled_from(ODD_VALUES),
                                              max_size=1)).map(lambda parts: {**parts[0], **parts[1]})


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(ENTITY_SCHEMAS)).flatmap(lambda name: st.tuples(st.just(name), item_for(ENTITY_SCHEMAS[name]))),
       st.booleans())
def test_fast_load_loads_what_marshmallow_loads_and_defers_the_rest(named_item, partial):
    name, item = named_item
    schema = schema_for(ENTITY_SCHEMAS[name], name=name.replace(".", "_").replace("-", "_"))()
    fast = fast_load(schema)(item, partial)
    try:
        expected = schema.load(item, partial=partial)
    except ValidationError:
        assert fast is None, f"{name}: the fast path took an item marshmallow refuses: {item!r}"
        return
    assert fast is None or fast == expected


def test_fast_load_takes_a_valid_item_and_defers_an_invalid_one():
    schema = schema_for(ENTITY_SCHEMAS["made-up.raise"], name="T")()
    loader = fast_load(schema)
    assert loader({"a": 1, "c": [1.5], "d": 2, "e": {"f": True}}) == {"a": 1, "b": "x", "c": [1.5], "d": 2,
                                                                     "e": {"f": True}}
    assert loader({"a": -1}) is None and loader({"b": "y"}) is None and loader({"a": 1, "zz": 1}) is None
    assert loader({"b": "y"}, partial=True) == {"b": "y"}
