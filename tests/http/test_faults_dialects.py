"""Injected item faults rendered by the VCC Live and Pipeliner dialects, and relations seeded through
the control plane: the cross-dialect contracts of the control plane (VBA's are in test_faults.py)."""
from __future__ import annotations

import json

import pytest

from tests.support import basic

AUTH = {"Authorization": basic("acme", "token")}
ITEM_FAULT = {"X-Mockserver-Fault": json.dumps({"effect": "item-error", "index": 1, "status": 500})}
CALLS = "/api/v100/rest/spaces/sp1/entities/Calls"
CALL = {"caller_id": "00000000-0000-0000-0000-000000000001",
        "twilio_call_log_id": "00000000-0000-0000-0000-000000000002"}


def test_faults_vcclive_item_error_is_an_errors_entry_and_stores_nothing(client, store):
    project = "/v2/projects/3"
    assert client.post(f"{project}/fields", json={"name": "name", "type": "text"}, headers=AUTH).status_code == 200
    assert client.post(f"{project}/records", json={"form": {"name": "x"}}, headers=AUTH).status_code == 200
    elements = [{"form": {"name": "first"}, "numberid": "1"}, {"form": {"name": "second"}, "numberid": "1"}]
    resp = client.put(f"{project}/records", json={"elements": elements}, headers={**AUTH, **ITEM_FAULT})
    assert resp.status_code == 200 and resp.content_type == "application/json"
    assert resp.get_json() == {"errors": [{"errorcode": 500, "errormessage": "error.internal_error", "index": 1}],
                               "response": {"0": True}}
    with store.transaction("vcclive", "acme", write=False) as tx:
        assert tx.records("records:3").get(1)["data"]["name"] == "first"  # element 1 changed nothing


def test_faults_pipeliner_item_error_is_an_error_object_with_the_rule_status(client, store):
    resp = client.post(f"{CALLS}/batch-modify?rollback-method=1", json=[CALL, CALL], headers={**AUTH, **ITEM_FAULT})
    assert resp.status_code == 200 and resp.content_type == "application/json"
    ok, failed = resp.get_json()["data"]
    assert failed == {"success": False, "http_status": 500, "code": 500, "name": "ERROR_INTERNAL",
                      "message": "Injected fault: this item failed."}
    with store.transaction("pipeliner", "sp1", write=False) as tx:
        assert [r["id"] for r in tx.records("Call").all()] == [ok]


def test_faults_pipeliner_item_error_rolls_back_everything_with_rollback_all(client, data_dir):
    resp = client.post(f"{CALLS}/batch-modify?rollback-method=0", json=[CALL, CALL], headers={**AUTH, **ITEM_FAULT})
    body = resp.get_json()
    assert resp.status_code == 422 and body["name"] == "ERROR_ENTITY_VALIDATION" and body["entity_index"] == 1
    assert not any(data_dir.rglob("*.json"))


def test_faults_pipeliner_relations_follow_the_records_seeded_through_the_control_plane(client):
    account, deleted, unknown = ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
                                 "33333333-3333-3333-3333-333333333333")
    seeded = client.post("/__mockserver/records/pipeliner/sp1/Account",
                         json=[{"id": account, "name": "Acme"}, {"id": deleted, "is_deleted": True}])
    assert seeded.status_code == 200
    items = [{**CALL, "account_id": a} for a in (account, unknown, deleted)]
    data = client.post(f"{CALLS}/batch-modify?rollback-method=1", json=items, headers=AUTH).get_json()["data"]
    assert isinstance(data[0], str)
    assert [(d["code"], d["name"]) for d in data[1:]] == [(120, "ERROR_RELATIONS_DOESNT_EXIST")] * 2
    allowed = client.post(f"{CALLS}/batch-modify?rollback-method=1&validation-level=16", json=[items[2]],
                          headers=AUTH).get_json()["data"]
    assert isinstance(allowed[0], str)  # bit 16: a relation to a deleted record passes


@pytest.mark.parametrize("rule,elements,status", [
    ({"min_items": 2}, 2, 503),  # batch size: the VCC limit "more than 1000 items" is such a rule
    ({"min_items": 3}, 2, 200),
    ({"index": 1}, 2, 503),  # a request-level rule with item criteria: the batch holds such an item
    ({"fields": {"numberid": "1"}}, 1, 503),
    ({"fields": {"numberid": "2"}}, 1, 200),
])
def test_faults_vcclive_request_rules_see_the_elements_of_a_batch(client, store, rule, elements, status):
    project = "/v2/projects/3"
    assert client.post(f"{project}/fields", json={"name": "name", "type": "text"}, headers=AUTH).status_code == 200
    assert client.post(f"{project}/records", json={"form": {"name": "x"}}, headers=AUTH).status_code == 200
    assert client.post("/__mockserver/faults", json={"effect": "request-error", "vendor": "vcclive", "status": 503,
                                                     **rule}).status_code == 201
    body = {"elements": [{"form": {"name": "changed"}, "numberid": "1"}] * elements}
    resp = client.put(f"{project}/records", json=body, headers=AUTH)
    assert resp.status_code == status and resp.content_type == "application/json"
    if status == 503:
        assert resp.get_json()["errors"][0]["errorcode"] == 503 and resp.get_json()["response"] is None
    with store.transaction("vcclive", "acme", write=False) as tx:
        assert tx.records("records:3").get(1)["data"]["name"] == ("x" if status == 503 else "changed")
