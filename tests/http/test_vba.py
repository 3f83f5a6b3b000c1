"""VBA Software batch endpoints through HTTP (Flask test client; a real server for restarts)."""
from __future__ import annotations

import pytest

from tests.support import make_jwt, strict_json

TENANT = "ACME_DB"
AUTH = {"x-api-key": "test-key", "Authorization": "Bearer " + make_jwt({"username": "alice"})}
HEADERS = {**AUTH, "vbasoftware-database": TENANT}

# (batch path, read path template, entity, key field, a minimal valid item without its key)
ENDPOINTS = [
    ("/vbasoftware/call-trackings-batch", "/vbasoftware/call-trackings/{}", "CallTracking", "call_Key",
     {"first_Name": "Ada", "call_Start": "2024-03-01T10:00:00"}),
    ("/vbasoftware/care-case-clinical-trials-batch", "/vbasoftware/care-case-clinical-trials/{}",
     "CareCaseClinicalTrial", "careCaseClinicalTrial_Key", {"study_Title": "Trial A", "case_Key": 3}),
    ("/vbasoftware/events-batch", "/vbasoftware/events/{}", "Event", "event_ID",
     {"claim_Audit_Event": False, "process_Automation_Event": True, "reminder": False, "subject": "Call back"}),
]
AUTO_KEY = [e for e in ENDPOINTS if e[3] != "event_ID"]  # event_ID has no database default
ids = [e[2] for e in ENDPOINTS]


def put(client, path, items, headers=HEADERS, **kw):
    return client.put(path, json=items, headers=headers, **kw)


def stored(store, entity, key, tenant=TENANT):
    with store.transaction("vbasoftware", tenant, write=False) as tx:
        return tx.records(entity).get(key)


def assert_envelope(resp, status):
    assert resp.status_code == status
    assert resp.content_type == "application/json"
    body = resp.get_json()
    assert set(body) == {"data", "error", "debug"} and body["debug"]["activityID"]
    return body


@pytest.mark.parametrize("path,read,entity,key,item", ENDPOINTS, ids=ids)
def test_vba_batch_creates_then_updates(client, store, path, read, entity, key, item):
    body = assert_envelope(put(client, path, [{key: 41, **item}]), 207)
    assert body["data"] == [{"id": [{"key": key, "value": "41"}], "status": 201, "body": "Created"}]
    assert body["error"] is None
    first = stored(store, entity, 41)
    assert first[key] == 41 and first["entry_User"] == "alice"

    changed = {**item, key: 41, "update_User": "spoofed"}
    body = assert_envelope(put(client, path, [changed]), 207)
    assert body["data"][0] == {"id": [{"key": key, "value": "41"}], "status": 200, "body": "Updated"}
    second = stored(store, entity, 41)
    assert second["entry_Date"] == first["entry_Date"] and second["entry_User"] == "alice"
    assert second["update_User"] == "alice"  # server-managed: the client's value is replaced
    assert second["update_Date"] >= first["update_Date"]

    read_resp = client.get(read.format(41), headers=HEADERS)
    got = assert_envelope(read_resp, 200)
    assert got["data"] == second and got["error"] is None


@pytest.mark.parametrize("path,read,entity,key,item", AUTO_KEY, ids=[e[2] for e in AUTO_KEY])
def test_vba_key_zero_assigns_next_keys(client, store, path, read, entity, key, item):
    put(client, path, [{key: 10, **item}])
    body = assert_envelope(put(client, path, [{key: 0, **item}, {key: 0, **item}]), 207)
    assert [d["id"][0]["value"] for d in body["data"]] == ["11", "12"]
    assert [d["status"] for d in body["data"]] == [201, 201]
    assert stored(store, entity, 11)[key] == 11 and stored(store, entity, 12)[key] == 12
    assert stored(store, entity, 0) is None


@pytest.mark.parametrize("path,read,entity,key,item", ENDPOINTS, ids=ids)
def test_vba_omitted_key_is_rejected_because_the_api_requires_it(client, store, path, read, entity, key, item):
    # The seeds: the key is NOT NULL and "required by the API"; clients must send the default 0.
    body = assert_envelope(put(client, path, [dict(item)]), 207)
    assert body["data"][0]["status"] == 400
    assert f"{key}: Missing data for required field." in body["data"][0]["body"]
    with store.transaction("vbasoftware", TENANT, write=False) as tx:
        assert len(tx.records(entity)) == 0


def test_vba_key_space_exhausted_fails_the_item_with_500(client, store):
    path = "/vbasoftware/call-trackings-batch"
    put(client, path, [{"call_Key": 2**31 - 1}])
    body = put(client, path, [{"call_Key": 0}, {"call_Key": 5}]).get_json()
    assert [d["status"] for d in body["data"]] == [500, 201]
    assert "key space exhausted" in body["data"][0]["body"]
    with store.transaction("vbasoftware", TENANT, write=False) as tx:
        assert len(tx.records("CallTracking")) == 2


def test_vba_event_id_is_required(client, store):
    item = dict(ENDPOINTS[2][4])
    body = assert_envelope(put(client, "/vbasoftware/events-batch", [item]), 207)
    entry = body["data"][0]
    assert entry["status"] == 400 and "event_ID: Missing data for required field." in entry["body"]
    assert entry["id"] == [{"key": "event_ID", "value": None}]
    with store.transaction("vbasoftware", TENANT, write=False) as tx:
        assert len(tx.records("Event")) == 0


def test_vba_put_replaces_and_omitted_nullable_fields_become_null(client, store):
    path = "/vbasoftware/call-trackings-batch"
    put(client, path, [{"call_Key": 5, "first_Name": "Ada", "last_Name": "Lovelace"}])
    put(client, path, [{"call_Key": 5, "first_Name": "Grace"}])
    record = stored(store, "CallTracking", 5)
    assert record["first_Name"] == "Grace" and record["last_Name"] is None
    assert record["organization"] is None  # every nullable column exists, null by default


def test_vba_same_key_twice_in_one_batch_updates_the_first(client, store):
    path = "/vbasoftware/call-trackings-batch"
    body = put(client, path, [{"call_Key": 9, "first_Name": "A"}, {"call_Key": 9, "first_Name": "B"}]).get_json()
    assert [d["status"] for d in body["data"]] == [201, 200]
    assert stored(store, "CallTracking", 9)["first_Name"] == "B"


def test_vba_audit_user_falls_back_to_default_when_token_is_not_a_jwt(client, store):
    headers = {**HEADERS, "Authorization": "Bearer opaque-token"}
    put(client, "/vbasoftware/call-trackings-batch", [{"call_Key": 1}], headers=headers)
    record = stored(store, "CallTracking", 1)
    assert record["entry_User"] == "mockserver" and record["update_User"] == "mockserver"


def test_vba_long_jwt_user_is_cut_to_the_column_length(client, store):
    headers = {**HEADERS, "Authorization": "Bearer " + make_jwt({"sub": "x" * 40})}
    put(client, "/vbasoftware/call-trackings-batch", [{"call_Key": 1}], headers=headers)
    assert stored(store, "CallTracking", 1)["entry_User"] == "x" * 20


# What stays per item once the body is bound (see test_vba_binding.py for what fails the whole request).
BAD_ITEMS = [
    ({"call_Key": 7, "first_Name": "x" * 65}, "first_Name: Longer than maximum length 64."),
    ({"call_Key": 7, "email_Address": "x" * 129}, "email_Address: Longer than maximum length 128."),
]


@pytest.mark.parametrize("bad,message", BAD_ITEMS, ids=[m.split(":")[0] for _, m in BAD_ITEMS])
def test_vba_invalid_item_fails_alone(client, store, bad, message):
    items = [{"call_Key": 1, "first_Name": "ok"}, bad, {"call_Key": 3}]
    body = assert_envelope(put(client, "/vbasoftware/call-trackings-batch", items), 207)
    assert [d["status"] for d in body["data"]] == [201, 400, 201]
    assert message in body["data"][1]["body"]
    assert body["data"][1]["id"] == [{"key": "call_Key", "value": "7"}]
    assert stored(store, "CallTracking", 1) is not None and stored(store, "CallTracking", 3) is not None
    assert stored(store, "CallTracking", 7) is None


def test_vba_invalid_item_names_every_bad_field(client):
    bad = {"call_Key": 4, "first_Name": "x" * 65, "email_Address": "x" * 129, "extra": True}
    body = put(client, "/vbasoftware/call-trackings-batch", [bad]).get_json()
    text = body["data"][0]["body"]
    for name in ("first_Name", "email_Address"):
        assert name + ":" in text
    assert "extra" not in text  # unknown properties are ignored by the binder


def test_vba_failed_update_keeps_the_stored_record(client, store):
    path = "/vbasoftware/call-trackings-batch"
    put(client, path, [{"call_Key": 8, "first_Name": "Kept"}])
    put(client, path, [{"call_Key": 8, "first_Name": "y" * 100}])
    assert stored(store, "CallTracking", 8)["first_Name"] == "Kept"


@pytest.mark.parametrize("payload,content_type", [
    (b"not json", "application/json"),
    (b'{"call_Key": 1}', "application/json"),
    (b"[1, 2]", "application/json"),
    (b"[{}, 3]", "application/json"),
    (b"", "application/json"),
    (b"[NaN]", "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b"\xff\xfe[]", "application/json"),
    (b'[{"call_Key": 1e400}]', "application/json"),
    (b'[{"call_Key": 1, "call_Length": -1e999}]', "application/json"),
    (b'[{"call_Key": 1, "first_Name": ' + b"[" * 70 + b"]" * 70 + b"}]", "application/json"),
], ids=["not-json", "object", "numbers", "mixed", "empty", "nan", "deeply-nested", "not-utf8",
        "infinite-key", "infinite-field", "nested-past-64"])
def test_vba_malformed_body_is_400_and_stores_nothing(client, data_dir, payload, content_type):
    resp = client.put("/vbasoftware/call-trackings-batch", data=payload,
                      headers={**HEADERS, "Content-Type": content_type})
    body = assert_envelope(resp, 400)
    assert body["data"] is None and body["error"]["status"] == 400 and body["error"]["detail"]
    assert strict_json(resp.data) == body  # no NaN/Infinity: every JSON parser reads the answer
    assert not (data_dir / "vbasoftware").exists() or not any((data_dir / "vbasoftware").glob("*.json"))


def test_vba_accepts_text_json_and_vendor_plus_json(client, store):
    for i, ctype in enumerate(["text/json", "application/vnd.vba+json", "application/json; charset=utf-8"], 1):
        resp = client.put("/vbasoftware/call-trackings-batch", data=f'[{{"call_Key": {i}}}]',
                          headers={**HEADERS, "Content-Type": ctype})
        assert resp.status_code == 207, ctype
        assert stored(store, "CallTracking", i) is not None


def test_vba_unsupported_media_type_is_415(client):
    resp = client.put("/vbasoftware/call-trackings-batch", data="[]", headers={**HEADERS, "Content-Type": "text/plain"})
    assert assert_envelope(resp, 415)["error"]["status"] == 415


@pytest.mark.parametrize("drop", ["x-api-key", "Authorization"])
def test_vba_missing_credentials_is_401(client, data_dir, drop):
    headers = {k: v for k, v in HEADERS.items() if k != drop}
    resp = put(client, "/vbasoftware/call-trackings-batch", [{"call_Key": 1}], headers=headers)
    body = assert_envelope(resp, 401)
    assert body["error"]["title"] == "Unauthorized" and body["data"] is None
    assert not (data_dir / "vbasoftware").exists()
    assert assert_envelope(client.get("/vbasoftware/events/1", headers=headers), 401)


def test_vba_basic_auth_is_not_a_bearer_token(client):
    headers = {**HEADERS, "Authorization": "Basic dXNlcjpwYXNz"}
    assert put(client, "/vbasoftware/events-batch", [], headers=headers).status_code == 401


def test_vba_api_key_allow_list(data_dir):
    from mockserver import create_app

    client = create_app({"data": data_dir, "api_keys": frozenset({"good"})}).test_client()
    bad = put(client, "/vbasoftware/call-trackings-batch", [], headers=HEADERS)
    assert bad.status_code == 401
    good = put(client, "/vbasoftware/call-trackings-batch", [], headers={**HEADERS, "x-api-key": "good"})
    assert good.status_code == 207 and good.get_json()["data"] == []


def test_vba_missing_database_header_is_400(client, data_dir):
    headers = {k: v for k, v in HEADERS.items() if k != "vbasoftware-database"}
    body = assert_envelope(put(client, "/vbasoftware/call-trackings-batch", [{"call_Key": 1}], headers=headers), 400)
    assert "vbasoftware-database" in body["error"]["detail"]
    assert not (data_dir / "vbasoftware").exists()


def test_vba_get_unknown_key_is_404_and_bad_key_is_400(client):
    body = assert_envelope(client.get("/vbasoftware/call-trackings/12345", headers=HEADERS), 404)
    assert body["error"]["status"] == 404 and "12345" in body["error"]["detail"]
    body = assert_envelope(client.get("/vbasoftware/call-trackings/abc", headers=HEADERS), 400)
    assert "callKey" in body["error"]["detail"]


def test_vba_tenants_are_isolated(client, store):
    put(client, "/vbasoftware/events-batch", [{"event_ID": 1, **ENDPOINTS[2][4]}])
    other = {**HEADERS, "vbasoftware-database": "OTHER_DB"}
    assert client.get("/vbasoftware/events/1", headers=other).status_code == 404
    assert client.get("/vbasoftware/events/1", headers=HEADERS).status_code == 200
    assert stored(store, "Event", 1, tenant="OTHER_DB") is None


def test_vba_hostile_tenant_names_stay_in_the_data_dir(client, data_dir):
    for tenant in ["../../escape", "a/b", "..", "C:\\x", "ünïcødé"]:
        resp = put(client, "/vbasoftware/call-trackings-batch", [{"call_Key": 1}],
                   headers={**HEADERS, "vbasoftware-database": tenant})
        assert resp.status_code == 207
    files = [p for p in data_dir.rglob("*") if p.is_file() and "__mockserver" not in p.parts]  # journal, rules
    assert files and all(p.resolve().is_relative_to((data_dir / "vbasoftware").resolve()) for p in files)
    assert not (data_dir.parent / "escape").exists()


def test_vba_empty_batch_is_207_with_no_data(client):
    body = assert_envelope(put(client, "/vbasoftware/events-batch", []), 207)
    assert body["data"] == []


def test_vba_unknown_path_is_problem_json_and_unknown_method_the_vba_envelope(client):
    resp = client.get("/vbasoftware/nothing-here", headers=HEADERS)
    assert resp.status_code == 404 and resp.content_type == "application/problem+json"
    resp = client.delete("/vbasoftware/call-trackings-batch", headers=HEADERS)
    assert resp.status_code == 405 and "PUT" in resp.headers["Allow"]
    assert resp.content_type == "application/json" and resp.get_json()["error"]["status"] == 405


def test_vba_data_survives_a_restart_of_a_real_server(live_server):
    server = live_server()
    status, _, body = server.request("PUT", "/vbasoftware/call-trackings-batch",
                                     [{"call_Key": 0, "first_Name": "Persisted"}], HEADERS)
    assert status == 207 and body["data"][0]["status"] == 201
    key = body["data"][0]["id"][0]["value"]
    server.restart()
    status, headers, body = server.request("GET", f"/vbasoftware/call-trackings/{key}", headers=HEADERS)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["data"]["first_Name"] == "Persisted"
    status, _, body = server.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 0}], HEADERS)
    assert body["data"][0]["id"][0]["value"] == str(int(key) + 1)  # the key sequence survives too
