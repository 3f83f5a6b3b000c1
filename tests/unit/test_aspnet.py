"""System.Text.Json's rules the binder copies: its DateTime grammar and its JSON path spelling."""
from __future__ import annotations

import pytest

from mockserver.dialects.aspnet import Binder, BindingFailed, JsonOptions, child_path, datetime_text


@pytest.mark.parametrize("text,read", [
    ("2024-02-29", "2024-02-29T00:00:00"),
    ("2024-02-29T23:59", "2024-02-29T23:59:00"),
    ("2024-02-29T23:59:59.1234567890123456Z", "2024-02-29T23:59:59.1234567890123456Z"),
    ("2024-02-29T23:59-05", "2024-02-29T23:59:00-05:00"),
    ("2023-02-29", None), ("0000-01-01", None), ("2024-13-01", None), ("2024-01-01T24:00", None),
    ("2024-01-01T10:00:60", None), ("2024-01-01 10:00:00", None), ("2024-01-01t10:00:00", None),
    ("2024-01-01T10:00:00.", None), ("2024-01-01T10:00:00.12345678901234567", None),
    ("2024-01-01T10:00:00+05:60", None), ("2024-01-01+05:00", None), ("2024-1-01", None), ("", None),
])
def test_aspnet_datetime_grammar(text, read):
    assert datetime_text(text) == read


@pytest.mark.parametrize("name,path", [("call_Key", "$.call_Key"), ("a b", "$['a b']"), ("a.b", "$['a.b']")])
def test_aspnet_json_path_quotes_special_names(name, path):
    assert child_path("$", name) == path


def test_aspnet_strict_binder_names_an_unmapped_property_with_special_characters():
    binder = Binder({"type": "object", "properties": {"n": {"type": "integer"}}}, "Thing",
                    JsonOptions(disallow_unmapped=True), b'[{"a b": 1}]')
    with pytest.raises(BindingFailed) as failed:
        binder.bind_array([{"a b": 1}])
    assert failed.value.errors() == {"$[0]['a b']": [
        "The JSON property 'a b' could not be mapped to any .NET member contained in type 'Thing'. "
        "Path: $[0]['a b'] | LineNumber: 0 | BytePositionInLine: 7."]}
