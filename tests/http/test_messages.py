"""Problem details are sentences with one full stop, also when they quote a validator's message
(which brings its own): "Unknown field." must not become "Unknown field..". Nothing changes."""
from __future__ import annotations

import pytest

from mockserver.problems import sentence

BAD_CALLS = [
    ("POST", "/__mockserver/faults", {"effect": "delay", "delay_ms": 20000},
     "invalid fault rules: delay_ms: Must be greater than or equal to 0 and less than or equal to 10000."),
    ("POST", "/__mockserver/faults", {"effect": "delay", "bogus": 1}, "invalid fault rules: bogus: Unknown field."),
    ("PUT", "/__mockserver/snapshot", {"vendors": {"vbasoftware": {"T": {"records": {"CallTracking": {
        "1": {"call_Key": 1, "bogus": 2}}}}}}},
     "Not a snapshot: Records were rejected (nothing stored): item vbasoftware/T/CallTracking/1: bogus: Unknown field."),
    ("PUT", "/__mockserver/snapshot", {"vendors": {"vbasoftware": {"T": {"recordz": {}}}}},
     "Not a snapshot: vendors.vbasoftware.value.T.value.recordz: Unknown field."),
]


@pytest.mark.parametrize("method, path, body, detail", BAD_CALLS)
def test_problem_details_end_in_one_full_stop(live_server, method, path, body, detail):
    server = live_server()
    before = server.snapshot()
    status, headers, answer = server.request(method, path, body)
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert answer["detail"] == detail and ".." not in answer["detail"]
    assert server.faults() == [] and server.snapshot() == before


def test_sentence_ends_in_exactly_one_full_stop():
    assert [sentence(t) for t in ("Unknown field.", "no stop", "two.. ", "a.b")] == \
        ["Unknown field.", "no stop.", "two.", "a.b."]
