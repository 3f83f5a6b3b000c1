"""Journal filters through HTTP: mistakes are 400s naming what is known; path, method, header and body
filters; the verify call (200 when the count holds, 409 with near misses) and `assert_requested`."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from mockserver.testing import MockServerError

BATCH = "/vbasoftware/call-trackings-batch"
HEADERS = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "ACME_DB",
           "User-Agent": "sync/2.0"}
OP = "CreateOrUpdateBatchCallTracking"


def send_three(client):
    client.put(BATCH, json=[{"call_Key": 1, "first_Name": "Ada"}], headers=HEADERS)
    client.put(BATCH, json=[{"call_Key": 2, "first_Name": "Bob"}, {"call_Key": 3, "first_Name": "x" * 99}], headers=HEADERS)
    client.get("/vbasoftware/call-trackings/1", headers={**HEADERS, "User-Agent": "other/1.0"})


def count(client, **query) -> int:
    resp = client.get("/__mockserver/requests/count?" + urllib.parse.urlencode(query))
    assert resp.status_code == 200 and resp.content_type == "application/json", resp.get_json()
    return resp.get_json()["count"]


def problem(resp, status: int) -> str:
    assert resp.status_code == status and resp.content_type == "application/problem+json"
    return resp.get_json()["detail"]


@pytest.mark.parametrize("query, named", [
    ("stauts=207", "Unknown query parameter 'stauts'; known: vendor, operation, tenant, status"),
    ("vendor=vba", "Unknown vendor 'vba'; known: pipeliner, vbasoftware, vcclive."),
    ("vendor=vbasoftware&operation=AddRecord", "Unknown operation 'AddRecord' of vendor 'vbasoftware'; known: "),
    ("operation=Nope", "Unknown operation 'Nope'; known: "),
    ("limit=3", "Unknown query parameter 'limit'"),  # count takes no limit
    ("header=no-colon", "'header' must be NAME:VALUE"),
    ("body=%7Bnot", "'body' must be JSON"),
    ("status=207&status=400", "'status' is given 2 times"),
])
def test_journal_filter_mistakes_are_400_naming_the_known(client, query, named):
    send_three(client)
    assert named in problem(client.get("/__mockserver/requests/count?" + query), 400)
    assert count(client) == 3  # the journal is unchanged


def test_journal_list_names_limit_among_its_known_parameters(client):
    detail = problem(client.get("/__mockserver/requests?stauts=1"), 400)
    assert detail.endswith("known: vendor, operation, tenant, status, since, path, method, header, body, limit.")


def test_journal_filters_on_path_method_header_and_body(client):
    send_three(client)
    assert count(client, path=BATCH) == 2 and count(client, path="/vbasoftware/call-trackings/1") == 1
    assert count(client, method="put") == 2 and count(client, method="GET") == 1
    assert count(client, header="user-agent:sync/2.0") == 2 and count(client, header="User-Agent: other/1.0") == 1
    assert count(client, body=json.dumps([{"first_Name": "Bob"}])) == 1  # an item holding these fields
    assert count(client, body=json.dumps([{"call_Key": 1}])) == 1
    assert count(client, body=json.dumps([{"call_Key": "1"}])) == 0  # JSON equality: "1" is not 1
    assert count(client, body=json.dumps({"call_Key": 1})) == 0  # an object is not the array sent
    resp = client.get("/__mockserver/requests?" + urllib.parse.urlencode({"body": '[{"call_Key": 2}]'}))
    assert resp.status_code == 200 and resp.content_type == "application/json"
    assert [len(e["body"]) for e in resp.get_json()["requests"]] == [2]


def verify(client, body):
    return client.post("/__mockserver/requests/verify", json=body)


def test_journal_verify_answers_200_when_the_count_holds(client):
    send_three(client)
    resp = verify(client, {"where": {"operation": OP, "status": 207}, "exactly": 2})
    assert resp.status_code == 200 and resp.content_type == "application/json"
    assert resp.get_json() == {"count": 2, "expected": {"exactly": 2}, "where": {"operation": OP, "status": 207}}
    assert verify(client, {"where": {"method": "GET"}}).get_json()["expected"] == {"at_least": 1}
    assert verify(client, {"where": {}, "at_least": 3, "at_most": 3}).status_code == 200
    assert count(client) == 3  # verifying records nothing


def test_journal_verify_answers_409_with_the_near_misses(client):
    send_three(client)
    resp = verify(client, {"where": {"path": BATCH, "body": [{"first_Name": "Cy"}]}, "at_least": 1})
    detail = problem(resp, 409)
    assert detail.startswith("Expected at least 1 request(s) matching {'path': '/vbasoftware/call-trackings-batch',")
    answer = resp.get_json()
    assert answer["count"] == 0 and answer["matched"] == []
    near = answer["near_misses"]
    assert [(m["request"]["path"], m["mismatched"]) for m in near] == [
        (BATCH, ["body"]), (BATCH, ["body"]), ("/vbasoftware/call-trackings/1", ["path", "body"])]
    assert near[0]["request"]["time"] > near[1]["request"]["time"]  # the most recent first among equals
    too_many = verify(client, {"where": {"vendor": "vbasoftware"}, "at_most": 1})
    assert "found 3" in problem(too_many, 409) and len(too_many.get_json()["matched"]) == 3


@pytest.mark.parametrize("body, named", [
    ([], "must be a JSON object"),
    ({"where": {"stauts": 1}}, "Unknown filter 'stauts'"),
    ({"where": {"vendor": "vba"}}, "Unknown vendor 'vba'"),
    ({"where": {"status": "2x"}}, "'status' must be an integer"),
    ({"where": {"path": 3}}, "'path' must be a string"),
    ({"where": [], "exactly": 1}, "'where' must be a JSON object"),
    ({"exactly": 1, "at_most": 2}, "not both"),
    ({"at_least": 3, "at_most": 2}, "no count can hold"),
    ({"exactly": -1}, "'exactly' must be an integer"),
    ({"count": 1}, "Unknown field 'count'"),
])
def test_journal_verify_refuses_bad_calls(client, body, named):
    send_three(client)
    assert named in problem(verify(client, body), 400)
    assert count(client) == 3


def test_testing_client_assert_requested_and_filter_mistakes(mockserver):
    status, _, _ = mockserver.request("PUT", BATCH, [{"call_Key": 5, "first_Name": "Eve"}], HEADERS)
    assert status == 207
    answer = mockserver.assert_requested(1, operation=OP, body=[{"first_Name": "Eve"}])
    assert answer["count"] == 1
    mockserver.assert_requested(at_least=1, header="User-Agent:sync/2.0")
    with pytest.raises(AssertionError) as failed:
        mockserver.assert_requested(2, operation=OP, status=400)
    message = str(failed.value)
    assert message.startswith("Expected exactly 2 request(s) matching")
    assert f"near miss: PUT {BATCH} -> 207 ({OP}, tenant 'ACME_DB'); differs in: status" in message
    with pytest.raises(MockServerError, match="Unknown query parameter 'stauts'"):
        mockserver.request_count(stauts=207)
    with pytest.raises(MockServerError, match="Unknown vendor 'vba'; known: pipeliner, vbasoftware, vcclive"):
        mockserver.requests(vendor="vba")
    assert mockserver.request_count(body=[{"call_Key": 5}]) == 1
