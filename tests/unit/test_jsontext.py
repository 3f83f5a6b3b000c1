"""jsontext: the fast path (orjson) reads every text exactly as the strict stdlib reading does."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from mockserver import jsontext


def reference_loads(raw: str | bytes):
    """The strict stdlib reading alone (what jsontext.loads did before its orjson fast path)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw

    def refuse(name):
        raise ValueError(name)

    def finite(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    try:
        value = json.loads(text, parse_constant=refuse, parse_float=finite)
    except RecursionError:
        raise ValueError("deep") from None
    if jsontext.depth(value) > jsontext.MAX_DEPTH:
        raise ValueError("deep")
    return value


def outcome(read, raw):
    try:
        value = read(raw)
    except ValueError:
        return "refused"
    return ("value", json.dumps(value, sort_keys=True), repr(value))  # repr: 1 vs 1.0 vs True


scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                      max_leaves=20)
TRICKY = ["NaN", "-Infinity", "1e400", "-1e400", "1e-400", "12345678901234567890", "-9223372036854775809",
          "9223372036854775807", '"\\ud800"', '"\\u0000"', '"\x01"', "\ufeff[]", "[1,]", "{\"a\":1,\"a\":2}",
          "[" * 65 + "]" * 65, "[" * 64 + "]" * 64, "[" * 2000 + "]" * 2000, " 1 ", "01", "-0", "-0.0", "1E2",
          "tru", '"\\x"', "[1 2]", "{}", "\"é\"", "1.0", "2e308"]


@given(values, st.sampled_from([None, 2]), st.booleans())
@settings(max_examples=300, deadline=None)
def test_jsontext_loads_reads_json_as_the_stdlib_reading(value, indent, as_bytes):
    text = json.dumps(value, indent=indent, ensure_ascii=as_bytes)
    raw = text.encode() if as_bytes else text
    assert outcome(jsontext.loads, raw) == outcome(reference_loads, raw)


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("as_bytes", [True, False])
def test_jsontext_loads_refuses_and_takes_the_tricky_texts_as_the_stdlib_reading(text, as_bytes):
    raw = text.encode("utf-8", "surrogatepass") if as_bytes else text
    assert outcome(jsontext.loads, raw) == outcome(reference_loads, raw)


def test_jsontext_loads_keeps_big_integers_exact_and_refuses_too_deep():
    assert jsontext.loads(b"[123456789012345678901234567890]") == [123456789012345678901234567890]
    with pytest.raises(ValueError, match="levels deep"):
        jsontext.loads("[" * 65 + "]" * 65)


@pytest.mark.parametrize("value", [{"a": "é", "n": 2**70}, ["\ud800", 1], {"x": [1.5, None, True]}])
def test_jsontext_dumps_writes_json_the_stdlib_reads_back(value):
    assert json.loads(jsontext.dumps(value)) == value


def test_jsontext_dumps_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError):
        jsontext.dumps({"x": float("nan"), "n": 2**70})
