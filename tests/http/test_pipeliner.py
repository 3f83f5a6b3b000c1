"""Pipeliner Calls through HTTP (Flask test client): batch-modify, batch-delete/restore, get, list."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import basic

SPACE = "space_a"
BASE = f"/api/v100/rest/spaces/{SPACE}/entities/Calls"
AUTH = {"Authorization": basic("api-token", "api-password")}
CALLER, TWILIO = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
NEW_CALL = {"caller_id": CALLER, "twilio_call_log_id": TWILIO}
T0 = datetime(2024, 3, 1, 10, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(app):
    """The server's clock, moved by hand: ``clock.now += timedelta(...)``."""
    class Clock:
        now = T0

        def __call__(self):
            return self.now

    fake = Clock()
    app.extensions["mockserver"].engine.clock = fake
    return fake


def modify(client, items, query="", headers=AUTH, base=BASE):
    return client.post(f"{base}/batch-modify{query}", json=items, headers=headers)


def calls(store, space=SPACE) -> dict[str, dict]:
    with store.transaction("pipeliner", space, write=False) as tx:
        return {record["id"]: record for record in tx.records("Call").all()}


def seed(store, entity, *records, space=SPACE) -> None:
    """Related records of the space, straight into the store (the control plane's seed call is elsewhere)."""
    with store.transaction("pipeliner", space) as tx:
        for record in records:
            tx.records(entity).put(record["id"], record)


def body_of(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == "application/json"
    return resp.get_json()


def assert_error(body, status, code, name):
    assert body["success"] is False
    assert (body["http_status"], body["code"], body["name"]) == (status, code, name)
    assert body["message"]


# --- create / update -------------------------------------------------------------------------------

def test_pipeliner_create_sets_uuid_defaults_and_timestamps(client, store, clock):
    body = body_of(modify(client, [NEW_CALL]), 200)
    assert body["success"] is True and len(body["data"]) == 1
    new_id = body["data"][0]
    assert str(uuid.UUID(new_id)) == new_id
    record = calls(store)[new_id]
    assert record["audio_status"] == "NoRecording"
    assert record["is_deleted"] is False and record["is_delete_protected"] is False
    assert record["created"] == record["modified"] == "2024-03-01T10:00:00"
    assert record["account_id"] is None and record["caller_id"] == CALLER
    got = body_of(client.get(f"{BASE}/{new_id}", headers=AUTH), 200)
    assert got["success"] is True and {k: got["data"][k] for k in record} == record  # the read model holds it


def test_pipeliner_update_changes_only_the_fields_sent(client, store, clock):
    new_id = modify(client, [{**NEW_CALL, "phone_number": "+1 555", "audio_status": "Uploaded"}]).get_json()["data"][0]
    clock.now = T0 + timedelta(minutes=5)
    body = body_of(modify(client, [{"id": new_id.upper(), "transcription_summary": "Asked for a quote"}]), 200)
    assert body["data"] == [new_id]  # any spelling of the uuid names the same Call
    record = calls(store)[new_id]
    assert record["transcription_summary"] == "Asked for a quote"
    assert record["phone_number"] == "+1 555" and record["audio_status"] == "Uploaded"  # no default on update
    assert record["created"] == "2024-03-01T10:00:00" and record["modified"] == "2024-03-01T10:05:00"
    assert len(calls(store)) == 1


@pytest.mark.parametrize("item,field,message", [
    ({"twilio_call_log_id": TWILIO}, "caller_id", "Missing data for required field."),
    ({"caller_id": CALLER}, "twilio_call_log_id", "Missing data for required field."),
    ({**NEW_CALL, "audio_status": "Lost"}, "audio_status", "Must be one of"),
    ({**NEW_CALL, "account_id": "not-a-uuid"}, "account_id", "Not a valid UUID."),
    ({**NEW_CALL, "nickname": "x"}, "nickname", "Unknown field."),
])
def test_pipeliner_schema_invalid_item_fails_with_parameter_invalid(client, store, item, field, message):
    body = body_of(modify(client, [item], "?rollback-method=1"), 200)
    assert_error(body["data"][0], 400, 117, "ERROR_PARAMETER_INVALID")
    assert f"{field}: {message}" in body["data"][0]["message"]
    assert calls(store) == {}


def test_pipeliner_update_does_not_require_the_create_fields(client, store):
    new_id = modify(client, [NEW_CALL]).get_json()["data"][0]
    body = body_of(modify(client, [{"id": new_id, "phone_number": "42"}]), 200)
    assert body["data"] == [new_id] and calls(store)[new_id]["phone_number"] == "42"


def test_pipeliner_unknown_id_fails_the_item_with_entity_not_found(client, store):
    ghost = str(uuid.uuid4())
    body = body_of(modify(client, [{"id": ghost, "phone_number": "1"}, NEW_CALL], "?rollback-method=1"), 200)
    assert_error(body["data"][0], 404, 404, "ERROR_ENTITY_NOT_FOUND")
    assert ghost in body["data"][0]["message"]
    assert list(calls(store)) == [body["data"][1]]


# --- rollback methods ------------------------------------------------------------------------------

MIXED = [NEW_CALL, {"caller_id": CALLER}, {**NEW_CALL, "phone_number": "2"}]


def test_pipeliner_rollback_failed_saves_the_valid_items(client, store):
    body = body_of(modify(client, MIXED, "?rollback-method=1"), 200)
    assert body["success"] is True  # the choice: top-level success stays true, the slot says it failed
    first, failed, third = body["data"]
    assert_error(failed, 400, 117, "ERROR_PARAMETER_INVALID")
    assert "twilio_call_log_id" in failed["message"]
    assert set(calls(store)) == {first, third}


@pytest.mark.parametrize("query", ["?rollback-method=0", ""], ids=["explicit", "default"])
def test_pipeliner_rollback_all_saves_nothing_and_answers_422(client, store, query):
    body = body_of(modify(client, MIXED, query), 422)
    assert_error(body, 422, 40000, "ERROR_ENTITY_VALIDATION")
    assert body["entity_index"] == 1 and body["entity_name"] == "Call" and body["entity_id"] is None
    assert body["entity_errors"] == [] and body["step_checklist_errors"] == []
    [field_error] = body["field_errors"]
    assert field_error["field_name"] == "twilio_call_log_id"
    assert (field_error["code"], field_error["name"]) == (40002, "ERROR_FIELD_VALIDATION")
    assert_error(field_error["errors"][0], 400, 117, "ERROR_PARAMETER_INVALID")
    assert calls(store) == {}


def test_pipeliner_rollback_all_reports_a_non_object_item_as_an_entity_error(client, store):
    body = body_of(modify(client, [NEW_CALL, 5]), 422)
    assert body["entity_index"] == 1 and body["field_errors"] == []
    [error] = body["entity_errors"]
    assert_error(error, 400, 117, "ERROR_PARAMETER_INVALID")
    assert error["message"] == "Item is not a JSON object."
    assert calls(store) == {}


def test_pipeliner_rollback_all_keeps_earlier_state_untouched(client, store):
    new_id = modify(client, [{**NEW_CALL, "phone_number": "old"}]).get_json()["data"][0]
    before = calls(store)
    body = body_of(modify(client, [{"id": new_id, "phone_number": "new"}, {"id": str(uuid.uuid4())}]), 422)
    assert body["entity_index"] == 1 and body["field_errors"][0]["field_name"] == "id"
    assert_error(body["field_errors"][0]["errors"][0], 404, 404, "ERROR_ENTITY_NOT_FOUND")
    assert calls(store) == before


# --- validation-level bits -------------------------------------------------------------------------

@pytest.mark.parametrize("level,ok", [(0, False), (4, False), (2, False), (8, True), (24, True)])
def test_pipeliner_read_only_fields_need_bit_8(client, store, level, ok):
    item = {**NEW_CALL, "created": "2019-01-01T00:00:00", "is_deleted": True}
    body = body_of(modify(client, [item], f"?rollback-method=1&validation-level={level}"), 200)
    if not ok:
        assert_error(body["data"][0], 400, 117, "ERROR_PARAMETER_INVALID")
        assert "created: Read-only field" in body["data"][0]["message"]
        assert calls(store) == {}
        return
    record = calls(store)[body["data"][0]]
    assert record["created"] == "2019-01-01T00:00:00" and record["is_deleted"] is True  # the client's values stand


ACCOUNT, GONE = str(uuid.UUID(int=10)), str(uuid.UUID(int=11))


@pytest.mark.parametrize("account,level,error", [
    (ACCOUNT, 0, None),
    (str(uuid.UUID(int=99)), 0, "does not exist in this space"),
    (GONE, 0, "is deleted"),
    (GONE, 16, None),
    (str(uuid.UUID(int=99)), 16, "does not exist in this space"),
])
def test_pipeliner_relations_are_checked_against_the_space(client, store, account, level, error):
    seed(store, "Account", {"id": ACCOUNT, "name": "Acme"}, {"id": GONE, "name": "Old", "is_deleted": True})
    query = f"?rollback-method=1&validation-level={level}"
    body = body_of(modify(client, [{**NEW_CALL, "account_id": account}], query), 200)
    slot = body["data"][0]
    if error is None:
        assert calls(store)[slot]["account_id"] == account
        return
    assert_error(slot, 400, 120, "ERROR_RELATIONS_DOESNT_EXIST")
    assert f"account_id: Account {account} {error}" in slot["message"]
    assert calls(store) == {}


def test_pipeliner_relation_check_is_skipped_when_nothing_of_that_type_was_seeded(client, store):
    seed(store, "Account", {"id": ACCOUNT})
    item = {**NEW_CALL, "account_id": ACCOUNT, "contact_id": str(uuid.uuid4())}  # no Contact seeded at all
    body = body_of(modify(client, [item]), 200)
    assert calls(store)[body["data"][0]]["contact_id"] == item["contact_id"]
    seed(store, "Contact", {"id": str(uuid.UUID(int=5))}, space="other_space")  # another space's Contacts don't count
    assert modify(client, [item]).status_code == 200


def test_pipeliner_lead_oppty_relation_accepts_either_entity(client, store):
    lead, oppty = str(uuid.UUID(int=20)), str(uuid.UUID(int=21))
    seed(store, "Lead", {"id": lead})
    seed(store, "Opportunity", {"id": oppty})
    items = [{**NEW_CALL, "lead_oppty_id": lead}, {**NEW_CALL, "lead_oppty_id": oppty},
             {**NEW_CALL, "lead_oppty_id": ACCOUNT}]
    slots = body_of(modify(client, items, "?rollback-method=1"), 200)["data"]
    assert isinstance(slots[0], str) and isinstance(slots[1], str)
    assert_error(slots[2], 400, 120, "ERROR_RELATIONS_DOESNT_EXIST")


@pytest.mark.parametrize("level,ok", [(0, False), (4, False), (2, True), (18, True)])
def test_pipeliner_bit_2_validates_only_the_fields_sent(client, store, level, ok):
    """A stored relation that went stale fails a whole-record validation, not a sent-fields one."""
    seed(store, "Account", {"id": ACCOUNT})
    new_id = modify(client, [{**NEW_CALL, "account_id": ACCOUNT}]).get_json()["data"][0]
    seed(store, "Account", {"id": ACCOUNT, "is_deleted": True})
    query = f"?rollback-method=1&validation-level={level}"
    body = body_of(modify(client, [{"id": new_id, "phone_number": "7"}], query), 200)
    if ok:
        assert body["data"] == [new_id] and calls(store)[new_id]["phone_number"] == "7"
    else:
        assert_error(body["data"][0], 400, 120, "ERROR_RELATIONS_DOESNT_EXIST")
        assert calls(store)[new_id]["phone_number"] is None


def test_pipeliner_nested_relation_object_is_checked(client, store):
    seed(store, "OpptyProductRelation", {"id": str(uuid.UUID(int=30))})
    items = [{**NEW_CALL, "oppty_product_relation": {"id": str(uuid.UUID(int=30))}},
             {**NEW_CALL, "oppty_product_relation": {"id": str(uuid.UUID(int=31))}}]
    slots = body_of(modify(client, items, "?rollback-method=1"), 200)["data"]
    assert calls(store)[slots[0]]["oppty_product_relation"] == {"id": str(uuid.UUID(int=30))}
    assert_error(slots[1], 400, 120, "ERROR_RELATIONS_DOESNT_EXIST")
    assert "oppty_product_relation.id" in slots[1]["message"]


# --- batch-delete / batch-restore / reads ----------------------------------------------------------

def test_pipeliner_delete_and_restore_round_trip(client, store, clock):
    kept, gone = modify(client, [NEW_CALL, NEW_CALL]).get_json()["data"]
    ghost = str(uuid.uuid4())
    clock.now = T0 + timedelta(hours=1)
    body = body_of(client.post(f"{BASE}/batch-delete", json=[gone, ghost, "nope"], headers=AUTH), 200)
    assert body["success"] is True and body["data"][0] == gone
    assert_error(body["data"][1], 404, 404, "ERROR_ENTITY_NOT_FOUND")
    assert_error(body["data"][2], 400, 117, "ERROR_PARAMETER_INVALID")
    stored = calls(store)
    assert stored[gone]["is_deleted"] is True and stored[gone]["modified"] == "2024-03-01T11:00:00"
    assert stored[kept]["is_deleted"] is False and stored[kept]["modified"] == "2024-03-01T10:00:00"

    read = body_of(client.get(f"{BASE}/{gone}", headers=AUTH), 200)  # soft-deleted: still readable
    assert read["data"]["is_deleted"] is True
    listed = body_of(client.get(BASE, headers=AUTH), 200)
    assert [c["id"] for c in listed["data"]] == [kept] and listed["total_count"] == 1
    with_deleted = body_of(client.get(f"{BASE}?include-deleted=true", headers=AUTH), 200)
    assert sorted(c["id"] for c in with_deleted["data"]) == sorted([kept, gone])

    clock.now = T0 + timedelta(hours=2)
    body = body_of(client.post(f"{BASE}/batch-restore", json=[gone, kept], headers=AUTH), 200)
    assert body["data"] == [gone, kept]
    stored = calls(store)
    assert stored[gone]["is_deleted"] is False and stored[gone]["modified"] == "2024-03-01T12:00:00"
    assert stored[kept]["modified"] == "2024-03-01T10:00:00"  # already live: nothing changed


def test_pipeliner_get_unknown_call_is_404(client):
    for key in (str(uuid.uuid4()), "not-a-uuid"):
        body = body_of(client.get(f"{BASE}/{key}", headers=AUTH), 404)
        assert_error(body, 404, 404, "ERROR_ENTITY_NOT_FOUND")


def test_pipeliner_list_pages_by_cursor(client, store):
    ids = sorted(modify(client, [NEW_CALL] * 5).get_json()["data"])
    client.post(f"{BASE}/batch-delete", json=[ids[2]], headers=AUTH)
    live = [i for i in ids if i != ids[2]]
    seen, after, pages = [], None, 0
    while True:
        query = "?first=2" + (f"&after={after}" if after else "")
        page = body_of(client.get(BASE + query, headers=AUTH), 200)
        pages += 1
        assert page["total_count"] == 4 and len(page["data"]) <= 2
        assert page["page_info"]["has_previous_page"] is (after is not None)
        seen += [c["id"] for c in page["data"]]
        # the vendor's cursor shape: base64 of a JSON array, here [id] (the default order is by id)
        assert json.loads(base64.b64decode(page["page_info"]["end_cursor"])) == [page["data"][-1]["id"]]
        if not page["page_info"]["has_next_page"]:
            break
        after = page["page_info"]["end_cursor"]
    assert seen == live and pages == 2
    everything = body_of(client.get(f"{BASE}?first=100&include-deleted=true", headers=AUTH), 200)
    assert [c["id"] for c in everything["data"]] == ids and everything["page_info"]["has_next_page"] is False
    end = base64.b64encode(b'["ffffffff-ffff-ffff-ffff-ffffffffffff"]').decode()
    past_end = body_of(client.get(f"{BASE}?after={end}", headers=AUTH), 200)
    assert past_end["data"] == [] and past_end["page_info"]["end_cursor"] is None
    assert past_end["page_info"]["has_previous_page"] is True and past_end["page_info"]["has_next_page"] is False


# --- request level ---------------------------------------------------------------------------------

def test_pipeliner_spaced_json_media_type_is_served(client, store):
    resp = client.post(f"{BASE}/batch-modify", data=b'[{"caller_id": "%s", "twilio_call_log_id": "%s"}]' % (
        CALLER.encode(), TWILIO.encode()), headers={**AUTH, "Content-Type": "application / json"})
    body = body_of(resp, 200)
    assert list(calls(store)) == body["data"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer x"}, {"Authorization": "Basic !!"}],
                         ids=["none", "bearer", "garbage"])
def test_pipeliner_missing_credentials_are_401(client, store, headers):
    resp = modify(client, [NEW_CALL], headers=headers)
    assert_error(body_of(resp, 401), 401, 401, "ERROR_UNAUTHORIZED")
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert calls(store) == {}


@pytest.mark.parametrize("query,data,content_type,status,fragment", [
    ("?validation-level=-1", b"[]", "application/json", 400, "validation-level"),
    ("?rollback-method=2", b"[]", "application/json", 400, "rollback-method"),
    ("?rollback_method=1", b"[]", "application/json", 400, "rollback_method: Unknown query parameter."),
    ("", b'{"caller_id": "x"}', "application/json", 400, "JSON array"),
    ("", b"[{", "application/json", 400, "not valid JSON"),
    ("", b"[]", "text/plain", 415, "text/plain"),
])
def test_pipeliner_bad_requests_are_rejected_whole(client, store, query, data, content_type, status, fragment):
    resp = client.post(f"{BASE}/batch-modify{query}", data=data, headers={**AUTH, "Content-Type": content_type})
    body = body_of(resp, status)
    assert body["success"] is False and body["http_status"] == status and fragment in body["message"]
    assert calls(store) == {}


def test_pipeliner_spaces_are_isolated(client, store):
    new_id = modify(client, [NEW_CALL]).get_json()["data"][0]
    other = "/api/v100/rest/spaces/space_b/entities/Calls"
    assert client.get(f"{other}/{new_id}", headers=AUTH).status_code == 404
    body = body_of(modify(client, [{"id": new_id, "phone_number": "x"}], "?rollback-method=1", base=other), 200)
    assert_error(body["data"][0], 404, 404, "ERROR_ENTITY_NOT_FOUND")
    assert calls(store, "space_b") == {} and calls(store)[new_id]["phone_number"] is None


def test_pipeliner_static_batch_paths_are_not_read_as_ids(client):
    resp = client.get(f"{BASE}/batch-delete", headers=AUTH)
    assert resp.status_code == 405
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == {"POST", "OPTIONS"}


def test_pipeliner_real_server_serves_the_spaced_media_type_and_keeps_calls_across_restarts(live_server):
    server = live_server()
    status, headers, body = server.request("POST", f"{BASE}/batch-modify?rollback-method=1", [NEW_CALL, {}],
                                           {**AUTH, "Content-Type": "application / json"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    new_id, failed = body["data"]
    assert failed["code"] == 117
    server.restart()
    status, _, got = server.request("GET", f"{BASE}/{new_id}", headers=AUTH)
    assert status == 200 and got["data"]["caller_id"] == CALLER
    status, _, listed = server.request("GET", BASE, headers=AUTH)
    assert [c["id"] for c in listed["data"]] == [new_id]
