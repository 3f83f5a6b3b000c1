"""VBA bodies are bound as ASP.NET Core binds them (System.Text.Json web defaults), on a real server.

Case-insensitive names, numbers from strings, unknown properties skipped; a value that does not
convert is a whole-request 400 ValidationProblemDetails keyed by its JSON path, and nothing is stored.
"""
from __future__ import annotations

import json

import pytest

from tests.support import make_jwt

TENANT = "BIND_DB"
HEADERS = {"x-api-key": "test-key", "Authorization": "Bearer " + make_jwt({"username": "alice"}),
           "vbasoftware-database": TENANT, "Content-Type": "application/json"}
CALLS = "/vbasoftware/call-trackings-batch"
EVENTS = "/vbasoftware/events-batch"
EVENT = {"event_ID": 5, "claim_Audit_Event": False, "process_Automation_Event": False, "reminder": True}


def put(server, path, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.request("PUT", path, raw, HEADERS)


def test_vba_binding_matches_names_case_insensitively_reads_numeric_strings_and_skips_unknown(mockserver):
    items = [{"Call_Key": "7", "first_name": "Ada", "CALL_LENGTH": "42", "bogus": {"x": 1}},
             {"call_Key": 0, "Call_Start": "2026-03-01", "contacts_list": True}]
    status, headers, body = put(mockserver, CALLS, items)

    assert status == 207 and headers["Content-Type"] == "application/json"
    assert body["error"] is None
    assert body["data"] == [{"id": [{"key": "call_Key", "value": "7"}], "status": 201, "body": "Created"},
                            {"id": [{"key": "call_Key", "value": "8"}], "status": 201, "body": "Created"}]
    seven, eight = mockserver.records("vbasoftware", TENANT, "CallTracking")
    assert (seven["call_Key"], seven["first_Name"], seven["call_Length"]) == (7, "Ada", 42)
    assert "bogus" not in seven and "first_name" not in seven and "Call_Key" not in seven
    assert eight["call_Start"] == "2026-03-01T00:00:00" and eight["contacts_List"] is True
    status, _, read = mockserver.request("GET", "/vbasoftware/call-trackings/7", headers=HEADERS)
    assert status == 200 and read["data"] == seven  # not echoed either


def conversion(path: str, clr: str, line: int, byte: int) -> dict:
    return {path: [f"The JSON value could not be converted to {clr}. Path: {path} | LineNumber: {line} | "
                   f"BytePositionInLine: {byte}."]}


NULLABLE_INT = "System.Nullable`1[System.Int32]"
UNBINDABLE = [
    (CALLS, b'[{"call_Key": 0}, {"call_Key": 0, "call_Length": "x"}]', conversion("$[1].call_Length", NULLABLE_INT, 0, 52)),
    (CALLS, b'[{"call_Key": 1, "CALL_length": "4.5"}]', conversion("$[0].CALL_length", NULLABLE_INT, 0, 37)),
    (CALLS, b'[{"call_Key": {"v": 1}}]', conversion("$[0].call_Key", "System.Int32", 0, 15)),
    (CALLS, b'[{"call_Key": null}]', conversion("$[0].call_Key", "System.Int32", 0, 18)),
    (CALLS, b'[{"call_Key": 2147483648}]', conversion("$[0].call_Key", "System.Int32", 0, 24)),
    (CALLS, b'[{"call_Key": true}]', conversion("$[0].call_Key", "System.Int32", 0, 18)),
    (CALLS, b'[{"call_Key": 1, "first_Name": 5}]', conversion("$[0].first_Name", "System.String", 0, 32)),
    (CALLS, b'[{"call_Key": 1, "first_Name": ["a"]}]', conversion("$[0].first_Name", "System.String", 0, 32)),
    (CALLS, b'[{"call_Key": 1, "entry_Date": null}]', conversion("$[0].entry_Date", "System.DateTime", 0, 35)),
    (CALLS, b'[{"call_Key": 1, "call_Start": "2026-03-01 10:00:00"}]',
     conversion("$[0].call_Start", "System.Nullable`1[System.DateTime]", 0, 52)),
    (CALLS, b'[{"call_Key": 1, "contacts_List": "yes"}]',
     conversion("$[0].contacts_List", "System.Nullable`1[System.Boolean]", 0, 39)),
    # LineNumber counts lines, BytePositionInLine counts bytes (the "e" with an accent is two)
    (CALLS, '[\n  {"call_Key": 1},\n  {"first_Name": "\u00e9", "call_Length": "x"}\n]'.encode(),
     conversion("$[1].call_Length", NULLABLE_INT, 2, 41)),
    (EVENTS, json.dumps([{**EVENT, "reminder": None}]).encode(), conversion("$[0].reminder", "System.Boolean", 0, 96)),
    (EVENTS, json.dumps([{**EVENT, "completion_Percent": "half"}]).encode(),
     conversion("$[0].completion_Percent", "System.Nullable`1[System.Double]", 0, 126)),
]


@pytest.mark.parametrize("path,raw,errors", UNBINDABLE, ids=[next(iter(e)) + f"-{i}" for i, (_, _, e) in enumerate(UNBINDABLE)])
def test_vba_unbindable_body_is_one_validation_problem_and_stores_nothing(mockserver, path, raw, errors):
    mockserver.seed("vbasoftware", TENANT, "CallTracking", [{"call_Key": 1, "first_Name": "Kept"}])
    before = mockserver.records("vbasoftware", TENANT, "CallTracking")

    status, headers, body = put(mockserver, path, raw)

    assert status == 400 and headers["Content-Type"] == "application/json"
    activity = body["debug"]["activityID"]
    assert body == {"data": None, "debug": {"activityID": activity}, "error": {
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title": "One or more validation errors occurred.", "status": 400,
        "traceId": f"00-{activity.replace('-', '')}-{activity.replace('-', '')[:16]}-00", "errors": errors}}
    assert mockserver.records("vbasoftware", TENANT, "CallTracking") == before
    assert mockserver.records("vbasoftware", TENANT, "Event") == []
    [entry] = mockserver.requests(status=400)
    assert entry["id"] == activity and entry["items"] is None  # no item ran


def test_vba_binding_stops_at_the_first_bad_value_in_document_order(mockserver):
    status, _, body = put(mockserver, CALLS, [{"call_Key": 1}, {"call_Key": "x", "first_Name": 1}, {"call_Key": {}}])
    assert status == 400 and list(body["error"]["errors"]) == ["$[1].call_Key"]
    assert mockserver.records("vbasoftware", TENANT, "CallTracking") == []


def test_vba_item_rules_of_a_bound_body_stay_per_item_in_the_207(mockserver):
    items = [{"call_Key": "3", "first_Name": "x" * 65}, {"first_Name": "no key"}, {"CALL_KEY": 4}]
    status, _, body = put(mockserver, CALLS, items)
    assert status == 207
    assert body["data"] == [
        {"id": [{"key": "call_Key", "value": "3"}], "status": 400, "body": "first_Name: Longer than maximum length 64."},
        {"id": [{"key": "call_Key", "value": None}], "status": 400, "body": "call_Key: Missing data for required field."},
        {"id": [{"key": "call_Key", "value": "4"}], "status": 201, "body": "Created"}]
    assert [r["call_Key"] for r in mockserver.records("vbasoftware", TENANT, "CallTracking")] == [4]


@pytest.mark.parametrize("sent,stored", [
    ("2026-03-01T10:00", "2026-03-01T10:00:00"),
    ("2026-03-01T10:00:05.1234567Z", "2026-03-01T10:00:05.1234567Z"),
    ("2026-03-01T10:00+02", "2026-03-01T10:00:00+02:00"),
])
def test_vba_binding_takes_the_iso_8601_forms_system_text_json_reads(mockserver, sent, stored):
    status, _, body = put(mockserver, CALLS, [{"call_Key": 2, "call_Start": sent}])
    assert status == 207 and body["data"][0]["status"] == 201
    [record] = mockserver.records("vbasoftware", TENANT, "CallTracking")
    assert record["call_Start"] == stored


def test_vba_strict_binding_refuses_unknown_names_case_mismatches_and_numeric_strings(live_server):
    server = live_server(env={"MOCKSERVER_STRICT_BINDING": "true"})
    unmapped = "The JSON property '{0}' could not be mapped to any .NET member contained in type 'CallTracking'. " \
               "Path: $[0].{0} | LineNumber: 0 | BytePositionInLine: {1}."
    for raw, errors in [
        (b'[{"Call_Key": 1}]', {"$[0].Call_Key": [unmapped.format("Call_Key", 12)]}),
        (b'[{"call_Key": 1, "bogus": 2}]', {"$[0].bogus": [unmapped.format("bogus", 24)]}),
        (b'[{"call_Key": "1"}]', conversion("$[0].call_Key", "System.Int32", 0, 17)),
    ]:
        status, headers, body = put(server, CALLS, raw)
        assert status == 400 and headers["Content-Type"] == "application/json"
        assert body["data"] is None and body["error"]["errors"] == errors
    assert server.records("vbasoftware", TENANT, "CallTracking") == []

    status, _, body = put(server, CALLS, [{"call_Key": 1, "first_Name": "Exact"}])
    assert status == 207 and body["data"][0] == {"id": [{"key": "call_Key", "value": "1"}], "status": 201,
                                                 "body": "Created"}
    assert [r["first_Name"] for r in server.records("vbasoftware", TENANT, "CallTracking")] == ["Exact"]
