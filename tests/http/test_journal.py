"""The request journal through HTTP: what is recorded, queries, count, clear, bound, masking."""
from __future__ import annotations

import json

import pytest

from mockserver import create_app
from tests.support import basic, make_jwt, strict_json

TENANT = "ACME_DB"
BATCH = "/vbasoftware/call-trackings-batch"
API_KEY = "sk-live-0123456789"
TOKEN = make_jwt({"username": "alice", "secret": "x"})
HEADERS = {"x-api-key": API_KEY, "Authorization": "Bearer " + TOKEN, "vbasoftware-database": TENANT}


def journal(client, query=""):
    resp = client.get("/__mockserver/requests" + query)
    assert resp.status_code == 200 and resp.content_type == "application/json"
    return resp.get_json()["requests"]


def test_journal_records_each_vendor_request_with_items_and_faults(client):
    client.post("/__mockserver/faults", json={"effect": "item-error", "index": 1, "times": 1})
    long_name = "x" * 65
    client.put(BATCH, json=[{"call_Key": 1}, {"call_Key": 2}, {"call_Key": 3, "first_Name": long_name}], headers=HEADERS)
    client.get("/__mockserver/health")  # the control plane is not journaled
    [entry] = journal(client)
    assert entry["method"] == "PUT" and entry["path"] == BATCH
    assert (entry["vendor"], entry["operation"], entry["tenant"], entry["status"]) == (
        "vbasoftware", "CreateOrUpdateBatchCallTracking", TENANT, 207)
    assert entry["body"] == [{"call_Key": 1}, {"call_Key": 2}, {"call_Key": 3, "first_Name": long_name}]
    assert [(i["index"], i["result"], i["key"]) for i in entry["items"]] == [
        (0, "created", 1), (1, "failed", 2), (2, "failed", 3)]
    assert entry["items"][2]["errors"] == [{"field": "first_Name", "message": "Longer than maximum length 64."}]
    assert entry["faults"] == [{"rule": "f1", "effect": "item-error", "index": 1, "status": 500}]
    assert entry["headers"]["Vbasoftware-Database"] == TENANT and entry["time"].endswith("Z")


def test_journal_records_rejected_requests_without_a_tenant(client):
    client.put(BATCH, json=[], headers={"vbasoftware-database": TENANT})
    [entry] = journal(client)
    assert entry["status"] == 401 and entry["tenant"] is None and entry["items"] is None


@pytest.mark.parametrize("query,expected", [
    ("", [207, 207, 401, 404]),
    ("?status=401", [401]),
    (f"?tenant={TENANT}", [207, 404]),
    ("?tenant=OTHER", [207]),
    ("?operation=GetCallTracking", [404]),
    ("?vendor=vbasoftware&operation=CreateOrUpdateBatchCallTracking", [207, 207, 401]),
    ("?limit=2", [401, 404]),
    ("?since=2000-01-01T00:00:00Z", [207, 207, 401, 404]),
    ("?since=2999-01-01T00:00:00%2B02:00", []),
])
def test_journal_query_filters_and_count(client, query, expected):
    client.put(BATCH, json=[], headers=HEADERS)
    client.put(BATCH, json=[], headers={**HEADERS, "vbasoftware-database": "OTHER"})
    client.put(BATCH, json=[], headers={"vbasoftware-database": TENANT})
    client.get("/vbasoftware/call-trackings/9", headers=HEADERS)
    assert [e["status"] for e in journal(client, query)] == expected
    count_query = "&".join(p for p in query.lstrip("?").split("&") if not p.startswith("limit"))
    count = client.get("/__mockserver/requests/count?" + count_query).get_json()["count"]
    assert count == (4 if query == "?limit=2" else len(expected))


@pytest.mark.parametrize("query", ["?status=abc", "?status=99", "?limit=0", "?limit=10001",
                                   "?since=yesterday", "?since=2024-01-01T00:00:00"])
def test_journal_bad_query_is_a_400_problem(client, query):
    resp = client.get("/__mockserver/requests" + query)
    assert resp.status_code == 400 and resp.content_type == "application/problem+json"


def test_journal_clear(client):
    client.put(BATCH, json=[], headers=HEADERS)
    assert client.delete("/__mockserver/requests").get_json() == {"deleted": 1}
    assert journal(client) == [] and client.get("/__mockserver/requests/count").get_json() == {"count": 0}


def test_journal_keeps_only_the_configured_number_of_requests(data_dir):
    client = create_app({"data": data_dir, "journal_size": 3}).test_client()
    for key in range(1, 6):
        client.put(BATCH, json=[{"call_Key": key}], headers=HEADERS)
    entries = journal(client)
    assert [e["body"][0]["call_Key"] for e in entries] == [3, 4, 5]
    assert client.get("/__mockserver/requests/count").get_json() == {"count": 3}


def test_journal_cuts_a_huge_body(client):
    big = [{"call_Key": i, "general_Notes": "n" * 900} for i in range(100)]
    client.put(BATCH, json=big, headers=HEADERS)
    [entry] = journal(client)
    assert entry["body_truncated"] is True and isinstance(entry["body"], str) and len(entry["body"]) == 64 * 1024


@pytest.mark.parametrize("raw", [b"[NaN]", b'[{"call_Key": 1e400}]', b'[{"call_Key": 1, "call_Length": -Infinity}]'])
def test_journal_of_a_body_with_non_finite_numbers_is_strict_json(client, raw):
    resp = client.put(BATCH, data=raw, headers={**HEADERS, "Content-Type": "application/json"})
    assert resp.status_code == 400
    answer = client.get("/__mockserver/requests")
    assert answer.status_code == 200 and answer.content_type == "application/json"
    [entry] = strict_json(answer.data)["requests"]  # readable by a strict JSON parser
    assert entry["status"] == 400 and entry["body"] == raw.decode() and entry["items"] is None


BASIC = basic("bob", "pa55word-secret")


@pytest.mark.parametrize("headers,secrets", [
    (HEADERS, [API_KEY, TOKEN]),
    ({**HEADERS, "Authorization": BASIC}, [API_KEY, BASIC.split()[1], "pa55word-secret"]),  # rejected: wrong scheme
    ({"X-Api-Key": API_KEY, "vbasoftware-database": TENANT}, [API_KEY]),  # rejected: no bearer token
])
def test_journal_never_holds_credentials(client, headers, secrets):
    """Not in the headers, nor echoed in the query, the body or the per-item outcomes."""
    body = [{"call_Key": 1, "general_Notes": " ".join(secrets)}, {"call_Key": secrets[-1]}]
    client.put(BATCH + f"?echo={secrets[-1]}", json=body, headers=headers)
    text = json.dumps(journal(client))
    for secret in secrets:
        assert secret not in text
    assert '"X-Api-Key": "***"' in text


def test_journal_items_of_a_rolled_back_batch_say_rolled_back_not_created(client):
    """Pipeliner rollback-method=0: a valid item of a batch that saved nothing was not created."""
    calls = "/api/v100/rest/spaces/sp1/entities/Calls"
    valid = {"caller_id": "00000000-0000-0000-0000-000000000001",
             "twilio_call_log_id": "00000000-0000-0000-0000-000000000002"}
    resp = client.post(f"{calls}/batch-modify", json=[valid, {}], headers={"Authorization": basic("a", "b")})
    assert resp.status_code == 422 and resp.content_type == "application/json"
    [entry] = journal(client)
    assert [(i["index"], i["result"]) for i in entry["items"]] == [(0, "rolled-back"), (1, "failed")]
    listed = client.get(calls, headers={"Authorization": basic("a", "b")}).get_json()
    assert listed["total_count"] == 0
