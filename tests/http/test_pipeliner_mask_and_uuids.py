"""Pipeliner on a real server: validation-level bits the mask does not define are ignored; relation
uuids are stored canonical (lower-case, hyphenated), as ids are, and found by any spelling."""
from __future__ import annotations

import uuid

import pytest

from tests.support import basic

SPACE = "mask_space"
BASE = f"/api/v100/rest/spaces/{SPACE}/entities/Calls"
HEADERS = {"Authorization": basic("api-token", "api-password"), "Content-Type": "application/json"}
CALLER, TWILIO, ACCOUNT = (uuid.UUID(int=n) for n in (1, 2, 10))
NEW_CALL = {"caller_id": str(CALLER), "twilio_call_log_id": str(TWILIO)}


def shouted(value: uuid.UUID) -> str:
    """The same uuid, upper-case and without hyphens."""
    return value.hex.upper()


def modify(server, items, query=""):
    status, headers, body = server.request("POST", f"{BASE}/batch-modify{query}", items, HEADERS)
    assert headers["Content-Type"] == "application/json"
    return status, body


def stored(server) -> list[dict]:
    return server.records("pipeliner", SPACE, "Call")


@pytest.mark.parametrize("level,writable", [(1, False), (32, False), (9, True), (41, True), (2**31 - 1, True)])
def test_pipeliner_undefined_validation_level_bits_are_ignored(mockserver, level, writable):
    item = {**NEW_CALL, "created": "2019-01-01T00:00:00"}
    status, body = modify(mockserver, [item], f"?rollback-method=1&validation-level={level}")
    assert status == 200 and body["success"] is True
    if writable:  # bit 8 is set: the read-only value stands
        [call] = stored(mockserver)
        assert body["data"] == [call["id"]] and call["created"] == "2019-01-01T00:00:00"
    else:  # only undefined bits: as validation-level 0, the read-only field is refused
        assert body["data"][0]["code"] == 117 and "created: Read-only field" in body["data"][0]["message"]
        assert stored(mockserver) == []


def test_pipeliner_bit_2_still_works_beside_an_undefined_bit(mockserver):
    mockserver.seed("pipeliner", SPACE, "Account", [{"id": str(ACCOUNT)}])
    status, body = modify(mockserver, [{**NEW_CALL, "account_id": str(ACCOUNT)}])
    call_id = body["data"][0]
    mockserver.seed("pipeliner", SPACE, "Account", [{"id": str(ACCOUNT), "is_deleted": True}])
    for level, ok in [(1, False), (3, True)]:  # 3 = 2 + an undefined 1: only the sent fields are checked
        status, body = modify(mockserver, [{"id": call_id, "phone_number": str(level)}], f"?rollback-method=1&validation-level={level}")
        assert status == 200
        assert (body["data"] == [call_id]) is ok
    [call] = stored(mockserver)
    assert call["phone_number"] == "3"


def test_pipeliner_negative_validation_level_is_a_bad_request(mockserver):
    status, body = modify(mockserver, [NEW_CALL], "?validation-level=-1")
    assert status == 400 and body["code"] == 117 and "validation-level" in body["message"]
    assert stored(mockserver) == []


def test_pipeliner_relation_uuids_are_stored_canonical_and_found_by_any_spelling(mockserver):
    mockserver.seed("pipeliner", SPACE, "Account", [{"id": shouted(ACCOUNT), "name": "Acme"}])
    product = uuid.UUID(int=40)
    item = {"caller_id": shouted(CALLER), "twilio_call_log_id": str(TWILIO).upper(), "account_id": shouted(ACCOUNT),
            "oppty_product_relation": {"id": shouted(product)}}
    status, body = modify(mockserver, [item])
    assert status == 200 and body["success"] is True
    [call] = stored(mockserver)
    assert (call["caller_id"], call["twilio_call_log_id"], call["account_id"]) == (str(CALLER), str(TWILIO), str(ACCOUNT))
    assert call["oppty_product_relation"] == {"id": str(product)}
    status, _, read = mockserver.request("GET", f"{BASE}/{shouted(uuid.UUID(call['id']))}", headers=HEADERS)
    assert status == 200
    assert {k: v for k, v in read["data"].items() if k in call and k != "oppty_product_relation"} == \
        {k: v for k, v in call.items() if k != "oppty_product_relation"}
    assert read["data"]["oppty_product_relation"].endswith(f"/entities/OpptyProductRelations/{product}")

    # the Account seeded as AAAA... is found when referenced canonical, and a missing one is still refused
    missing = uuid.UUID(int=99)
    status, body = modify(mockserver, [{**NEW_CALL, "account_id": str(ACCOUNT)}, {**NEW_CALL, "account_id": shouted(missing)}],
                          "?rollback-method=1")
    assert status == 200 and isinstance(body["data"][0], str)
    assert body["data"][1]["code"] == 120 and f"Account {missing} does not exist" in body["data"][1]["message"]
    assert len(stored(mockserver)) == 2


def test_pipeliner_seeded_call_relations_are_stored_canonical(mockserver):
    [seeded] = mockserver.seed("pipeliner", SPACE, "Call", [{"caller_id": shouted(CALLER), "twilio_call_log_id": shouted(TWILIO)}])
    assert (seeded["caller_id"], seeded["twilio_call_log_id"]) == (str(CALLER), str(TWILIO))
    assert stored(mockserver) == [seeded]
