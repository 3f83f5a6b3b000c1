"""Seeding, reading and snapshots through the control plane; seed files at startup."""
from __future__ import annotations

import json
import uuid

import pytest

from mockserver.seeding import SeedError, load_seed_file
from tests.support import basic, make_jwt

TENANT = "ACME_DB"
RECORDS = f"/__mockserver/records/vbasoftware/{TENANT}"
PROBLEM = "application/problem+json"
HEADERS = {"x-api-key": "k", "Authorization": "Bearer " + make_jwt({"username": "alice"}),
           "vbasoftware-database": TENANT}


def stored(store, entity, tenant=TENANT, vendor="vbasoftware"):
    with store.transaction(vendor, tenant, write=False) as tx:
        return tx.records(entity).all()


def keep(client, store):
    """One stored record (what a refused call must leave as it is)."""
    assert client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 1}]).status_code == 200
    return stored(store, "CallTracking")


def test_records_seeded_get_the_defaults_of_written_ones(client, store):
    client.put("/vbasoftware/call-trackings-batch", json=[{"call_Key": 7, "first_Name": "w"}], headers=HEADERS)
    written = stored(store, "CallTracking")[0]
    resp = client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 0, "first_Name": "Ada"},
                                                        {"call_Key": 20, "entry_User": "legacy"}])
    assert resp.status_code == 200 and resp.content_type == "application/json"
    seeded = resp.get_json()["records"]
    assert [r["call_Key"] for r in seeded] == [8, 20]  # key 0 → the next key, as for a write
    assert set(seeded[0]) == set(written)  # the same fields: nullable ones null, audit ones stamped
    assert seeded[0]["last_Name"] is None and seeded[0]["entry_User"] == "mockserver"
    assert seeded[0]["entry_Date"].endswith("Z")
    assert seeded[1]["entry_User"] == "legacy"  # audit values a seed gives are kept
    assert sorted(r["call_Key"] for r in stored(store, "CallTracking")) == [7, 8, 20]
    got = client.get(f"{RECORDS}/CallTracking").get_json()
    assert got == {"vendor": "vbasoftware", "tenant": TENANT, "entity": "CallTracking",
                   "records": stored(store, "CallTracking")}
    read = client.get("/vbasoftware/call-trackings/8", headers=HEADERS)
    assert read.status_code == 200 and read.get_json()["data"] == seeded[0]


def test_records_seed_with_a_bad_record_is_400_naming_index_and_fields_and_stores_nothing(client, store):
    resp = client.post(f"{RECORDS}/Event", json=[
        {"event_ID": 1, "claim_Audit_Event": False, "process_Automation_Event": False, "reminder": True},
        {"event_ID": "two", "reminder": True, "subject": "x" * 300},
    ])
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    problem = resp.get_json()
    assert "item 1" in problem["detail"]
    assert problem["items"][0]["index"] == 1
    fields = {e["field"] for e in problem["items"][0]["errors"]}
    assert {"event_ID", "subject", "claim_Audit_Event", "process_Automation_Event"} <= fields
    assert stored(store, "Event") == []


def test_records_free_form_entity_needs_only_an_id(client, store):
    """Pipeliner's Account is named by a Call relation and written by no operation: free-form."""
    accounts = "/__mockserver/records/pipeliner/sp1/Account"
    resp = client.post(accounts, json=[{"id": "acc-1", "name": "Acme", "tags": ["a"]}, {"id": 2}])
    assert resp.status_code == 200
    assert stored(store, "Account", "sp1", "pipeliner") == [{"id": "acc-1", "name": "Acme", "tags": ["a"]}, {"id": 2}]
    bad = client.post(accounts, json=[{"name": "no id"}])
    assert bad.status_code == 400 and bad.get_json()["items"][0]["errors"][0]["field"] == "id"
    assert len(stored(store, "Account", "sp1", "pipeliner")) == 2


@pytest.mark.parametrize("method,path,body,status", [
    ("POST", "/__mockserver/records/nope/T/CallTracking", [], 404),
    ("GET", "/__mockserver/records/nope/T/CallTracking", None, 404),
    ("POST", f"{RECORDS}/__store__", [], 409),
    ("GET", f"{RECORDS}/__store__", None, 409),
    ("POST", f"{RECORDS}/CallTracking", {"call_Key": 1}, 400),
    ("POST", f"{RECORDS}/CallTracking", [1, 2], 400),
    ("POST", f"{RECORDS}/CallTrackings", [{"call_Key": 1}], 404),
    ("GET", f"{RECORDS}/CallTrackings", None, 404),
    ("POST", "/__mockserver/records/vcclive/c/records:x", [], 404),
])
def test_records_bad_requests_are_problems_and_store_nothing(client, store, method, path, body, status):
    resp = client.open(path, method=method, json=body)
    assert resp.status_code == status and resp.content_type == PROBLEM
    assert store.vendors() == []


DEEP = b"[" * 5000 + b"]" * 5000
TOO_DEEP_RECORD = b'[{"id": "a", "x": ' + b"[" * 70 + b"]" * 70 + b"}]"


@pytest.mark.parametrize("method,path,raw", [
    ("POST", f"{RECORDS}/CallTracking", DEEP),
    ("POST", f"{RECORDS}/CallTracking", TOO_DEEP_RECORD),
    ("PUT", "/__mockserver/snapshot", DEEP),
], ids=["records-5000", "records-72", "snapshot-5000"])
def test_records_body_nested_too_deeply_is_400_and_stores_nothing(client, store, method, path, raw):
    before = keep(client, store)
    resp = client.open(path, method=method, data=raw, content_type="application/json")
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    assert "nested more than 64 levels deep" in resp.get_json()["detail"]
    assert stored(store, "CallTracking") == before


def test_records_seed_body_that_is_not_json_is_400(client, store):
    resp = client.post(f"{RECORDS}/CallTracking", data="[{", content_type="application/json")
    assert resp.status_code == 400 and resp.content_type == PROBLEM and "not valid JSON" in resp.get_json()["detail"]


def test_records_snapshot_round_trips_and_import_replaces_everything(client, store):
    client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 5, "first_Name": "A"}])
    client.post("/__mockserver/records/vbasoftware/OTHER/CallTracking", json=[{"call_Key": 9}])
    snapshot = client.get("/__mockserver/snapshot").get_json()
    assert set(snapshot["vendors"]["vbasoftware"]) == {TENANT, "OTHER"}
    assert snapshot["vendors"]["vbasoftware"][TENANT]["records"]["CallTracking"]["5"]["first_Name"] == "A"

    client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 6}])
    client.post("/__mockserver/records/vbasoftware/THIRD/CallTracking", json=[{"call_Key": 1}])
    resp = client.put("/__mockserver/snapshot", json=snapshot)
    assert resp.status_code == 200 and resp.get_json() == {"imported": 2}
    assert client.get("/__mockserver/snapshot").get_json() == snapshot
    assert sorted(store.tenants("vbasoftware")) == sorted([TENANT, "OTHER"])  # THIRD is gone
    # next keys continue after the imported ones
    seeded = client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 0}]).get_json()["records"]
    assert seeded[0]["call_Key"] == 6


def test_records_snapshot_without_sequences_still_imports(client, store):
    """Snapshots written before sequences were exported: keys continue after the stored ones."""
    snapshot = {"vendors": {"vbasoftware": {TENANT: {"records": {"CallTracking": {"4": {"call_Key": 4}}}}}}}
    assert client.put("/__mockserver/snapshot", json=snapshot).get_json() == {"imported": 1}
    seeded = client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 0}]).get_json()["records"]
    assert seeded[0]["call_Key"] == 5


@pytest.mark.parametrize("tenant", ["ACME/EU", "a/b/c", "../up"])
def test_records_of_a_tenant_with_slashes_are_read_and_seeded(client, store, tenant):
    """A tenant is any header value (VBA's database, VCC Live's customer): one with "/" (sent as %2F)
    is reachable through the control plane too."""
    quoted = tenant.replace("/", "%2F")
    written = client.put("/vbasoftware/call-trackings-batch", json=[{"call_Key": 1}],
                         headers={**HEADERS, "vbasoftware-database": tenant})
    assert written.status_code == 207
    seeded = client.post(f"/__mockserver/records/vbasoftware/{quoted}/CallTracking", json=[{"call_Key": 2}])
    assert seeded.status_code == 200 and seeded.content_type == "application/json"
    read = client.get(f"/__mockserver/records/vbasoftware/{quoted}/CallTracking")
    assert read.status_code == 200 and read.get_json()["tenant"] == tenant
    assert [r["call_Key"] for r in read.get_json()["records"]] == [1, 2]
    assert [r["call_Key"] for r in stored(store, "CallTracking", tenant)] == [1, 2]


@pytest.mark.parametrize("snapshot,status", [
    ({"vendors": {"nope": {}}}, 404),
    ({"vendors": {"vbasoftware": {"T": {"records": {"__store__": {}}}}}}, 409),
    ({"vendors": {"vbasoftware": {"T": {"records": {"Event": {"1": "not an object"}}}}}}, 400),
    ({"vendors": {"vbasoftware": {"T": {"records": {"CallTrackings": {}}}}}}, 404),
    ({"vendors": {"vbasoftware": {"T": {"sequences": {"Calls": 3}}}}}, 404),
    ({"vendor": {}}, 400),
    ({"vendors": {"vbasoftware": {"T": {"sequences": {"CallTracking": -1}}}}}, 400),
    ({"vendors": {"vbasoftware": {"T": {"sequences": {"CallTracking": "7"}}}}}, 400),
    ([], 400),
])
def test_records_bad_snapshot_changes_nothing(client, store, snapshot, status):
    before = keep(client, store)
    resp = client.put("/__mockserver/snapshot", json=snapshot)
    assert resp.status_code == status and resp.content_type == PROBLEM
    assert stored(store, "CallTracking") == before


@pytest.mark.parametrize("query,left", [
    ("", []),
    ("?vendor=vbasoftware", []),
    (f"?vendor=vbasoftware&tenant={TENANT}", ["OTHER"]),
    ("?tenant=OTHER", [TENANT]),
])
def test_records_reset_all_vendor_or_tenant(client, store, query, left):
    for tenant in (TENANT, "OTHER"):
        client.post(f"/__mockserver/records/vbasoftware/{tenant}/CallTracking", json=[{"call_Key": 1}])
    resp = client.post("/__mockserver/reset" + query)
    assert resp.status_code == 200
    assert store.tenants("vbasoftware") == left


SEED_YAML = """
vbasoftware:
  ACME_DB:
    CallTracking:
      - {call_Key: 3, first_Name: Ada}
pipeliner:
  sp1:
    Account:
      - {id: acc-1, name: Acme}
"""


@pytest.mark.parametrize("how", ["flag", "env"])
def test_records_seed_file_is_applied_at_startup(live_server, tmp_path, how):
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    server = live_server("--seed", str(seed)) if how == "flag" else live_server(env={"MOCKSERVER_SEED": str(seed)})
    status, _, body = server.request("GET", "/vbasoftware/call-trackings/3", headers=HEADERS)
    assert status == 200 and body["data"]["first_Name"] == "Ada" and body["data"]["last_Name"] is None
    accounts = server.request("GET", "/__mockserver/records/pipeliner/sp1/Account")[2]["records"]
    assert accounts == [{"id": "acc-1", "name": "Acme"}]


def test_records_bad_seed_file_stops_startup_naming_the_place(live_server, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"vbasoftware": {"T": {"CallTracking": [{"call_Key": "x"}]}}}))
    with pytest.raises(RuntimeError, match=r"vbasoftware/T/CallTracking.*item 0: call_Key"):
        live_server("--seed", str(seed))


# --- Pipeliner and VCC Live: seeded records get the defaults of written ones ----------------------------

BASIC = {"Authorization": basic("acme", "token")}
CALLS = "/api/v100/rest/spaces/sp1/entities/Calls"
NEW_CALL = {"caller_id": "00000000-0000-0000-0000-000000000001",
            "twilio_call_log_id": "00000000-0000-0000-0000-000000000002"}


def test_records_pipeliner_seeded_call_gets_the_defaults_of_a_written_one(client, store):
    written = client.post(f"{CALLS}/batch-modify", json=[NEW_CALL], headers=BASIC).get_json()["data"][0]
    upper = "AAAAAAAA-0000-0000-0000-0000000000AA"
    resp = client.post("/__mockserver/records/pipeliner/sp1/Call",
                       json=[NEW_CALL, {**NEW_CALL, "id": upper, "created": "2020-01-01T00:00:00"}])
    assert resp.status_code == 200 and resp.content_type == "application/json"
    fresh, given = resp.get_json()["records"]
    with store.transaction("pipeliner", "sp1", write=False) as tx:
        written_call = tx.records("Call").get(written)
    assert list(fresh) == list(written_call)  # the same fields, in the same order: nulls, defaults, stamps
    assert str(uuid.UUID(fresh["id"])) == fresh["id"]  # a new uuid, as for a create
    assert (fresh["audio_status"], fresh["is_deleted"], fresh["is_delete_protected"]) == ("NoRecording", False, False)
    assert fresh["account_id"] is None and fresh["created"] == fresh["modified"]
    assert given["id"] == upper.lower() and given["created"] == "2020-01-01T00:00:00"  # stored canonical
    read = client.get(f"{CALLS}/{upper}", headers=BASIC)  # found by any spelling, like a written Call
    assert read.status_code == 200
    assert {k: v for k, v in read.get_json()["data"].items() if k in given} == given  # the read model holds it
    with store.transaction("pipeliner", "sp1", write=False) as tx:
        assert sorted(r["id"] for r in tx.records("Call").all()) == sorted([written, fresh["id"], upper.lower()])


def test_records_pipeliner_seeded_call_is_validated_like_a_create(client, store):
    resp = client.post("/__mockserver/records/pipeliner/sp1/Call",
                       json=[NEW_CALL, {"caller_id": "not-a-uuid", "audio_status": "Loud"}])
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    fields = {e["field"] for e in resp.get_json()["items"][0]["errors"]}
    assert fields == {"caller_id", "audio_status", "twilio_call_log_id"}
    with store.transaction("pipeliner", "sp1", write=False) as tx:
        assert tx.records("Call").all() == []


def test_records_pipeliner_seeded_relation_is_found_by_any_spelling_of_its_id(client):
    account = "BBBBBBBB-0000-0000-0000-0000000000BB"
    seeded = client.post("/__mockserver/records/pipeliner/sp1/Account", json=[{"id": account, "name": "Acme"}])
    assert seeded.status_code == 200 and seeded.get_json()["records"][0]["id"] == account.lower()
    resp = client.post(f"{CALLS}/batch-modify", json=[{**NEW_CALL, "account_id": account}], headers=BASIC)
    assert resp.status_code == 200, resp.get_json()
    assert isinstance(resp.get_json()["data"][0], str)


VCC = "/v2/projects/22"
VCC_SEED = "/__mockserver/records/vcclive/mycc"
VCC_AUTH = {"Authorization": basic("mycc", "token")}


def vcc(client, method, path, body=None):
    resp = client.open(f"{VCC}{path}", method=method, json=body, headers=VCC_AUTH)
    assert resp.content_type == "application/json"
    return resp.status_code, resp.get_json()


def test_records_vcclive_seeded_fields_and_records_get_the_defaults_of_written_ones(client, store):
    assert vcc(client, "POST", "/fields", {"name": "name", "type": "text"}) == (200, {"errors": [], "response": 1})
    fields = client.post(f"{VCC_SEED}/fields:22", json=[
        {"name": "likes", "type": "multiple", "values": [{"name": "sports"}]},
        {"name": "color", "type": "simple", "fieldid": 9, "values": [{"name": "red", "valueid": 30}]}])
    assert fields.status_code == 200, fields.get_json()
    assert [(f["fieldid"], [v["valueid"] for v in f["values"]]) for f in fields.get_json()["records"]] == \
        [(2, [1]), (9, [30])]  # assigned from the sequences, or taken as given
    written = vcc(client, "POST", "/records", {"form": {"name": "Written"}})[1]["response"]
    resp = client.post(f"{VCC_SEED}/records:22", json=[
        {"data": {"name": "Seeded", "likes": "sports|movies", "color": "red"}},
        {"numberid": "40", "data": {"name": "Forty"}, "create_date": "2020-01-01 00:00:00"}])
    assert resp.status_code == 200 and resp.content_type == "application/json", resp.get_json()
    fresh, forty = resp.get_json()["records"]
    status, detail = vcc(client, "GET", f"/records/{written}")
    assert list(fresh) == list(detail["response"])  # the same keys a written record has
    assert fresh["numberid"] == written + 1 and forty["numberid"] == 40
    assert forty["create_date"] == "2020-01-01 00:00:00"  # dates a seed gives are kept
    likes = {v["name"]: v["valueid"] for v in stored_fields(store)["likes"]["values"]}
    assert fresh["data"] == {"name": "Seeded", "likes": [likes["sports"], likes["movies"]], "color": 30}
    assert (fresh["events"], fresh["contacts"], fresh["act_status"]) == ([], {}, None)
    # the seeded records behave as written ones: searchable, dispositions apply, new ids come after them
    found = {"elements": [{"form": {"name": "Found"}, "search": {"likes": "movies|sports"}}]}
    assert vcc(client, "PUT", "/records", found) == (200, {"errors": [], "response": {"0": True}})
    assert vcc(client, "PUT", "/records/dispositions", {"elements": [{"numberid": 40, "dispositionid": 5}]}) \
        == (200, {"errors": [], "response": {"0": True}})
    assert vcc(client, "GET", "/records/40")[1]["response"]["act_status"] == 5
    assert vcc(client, "POST", "/records", {"form": {"name": "Next"}})[1]["response"] == 41
    assert vcc(client, "POST", "/fields", {"name": "city", "type": "text"})[1]["response"] == 10
    assert [f["name"] for f in vcc(client, "GET", "/fields")[1]["response"]] == ["name", "likes", "color", "city"]


@pytest.mark.parametrize("entity,record,field", [
    ("records:22", {"data": {"nope": "x"}}, "data.nope"),  # not a field of the project
    ("records:22", {"data": {"name": ["a"]}}, "data.name"),
    ("records:22", {"form": {"name": "x"}}, "form"),  # the stored shape is `data`
    ("records:22", {"numberid": "abc"}, "numberid"),
    ("records:22", {"numberid": 0}, "numberid"),
    ("records:22", {"numberid": "9" * 5000}, "numberid"),  # longer than int() converts
    ("records:22", {"data": {"name": "x"}, "contacts": {"phone1": {"phone": "x"}}}, "contacts.phone1.value.phone"),
    ("fields:22", {"name": "Bad Name", "type": "text"}, "name"),
    ("fields:22", {"name": "kind", "type": "simple"}, "values"),
    ("fields:22", {"name": "kind", "type": "simple", "values": [{"name": "a"}, {"name": "a"}]}, "name"),
    ("fields:22", {"name": "kind", "type": "text", "fieldid": True}, "fieldid"),
])
def test_records_vcclive_seeded_record_is_validated_and_a_bad_one_stores_nothing(client, store, entity, record, field):
    assert vcc(client, "POST", "/fields", {"name": "name", "type": "text"})[0] == 200
    before = json.dumps(client.get("/__mockserver/snapshot").get_json(), sort_keys=True)
    resp = client.post(f"{VCC_SEED}/{entity}", json=[{"data": {"name": "ok"}} if entity.startswith("r") else
                                                     {"name": "ok", "type": "text"}, record])
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    assert resp.get_json()["items"][0]["index"] == 1
    assert field in {e["field"] for e in resp.get_json()["items"][0]["errors"]}
    assert json.dumps(client.get("/__mockserver/snapshot").get_json(), sort_keys=True) == before


def stored_fields(store, tenant="mycc", project=22):
    with store.transaction("vcclive", tenant, write=False) as tx:
        return {f["name"]: f for f in tx.records(f"fields:{project}").all()}


def test_records_snapshot_keeps_the_id_sequences_so_a_restored_state_never_reuses_an_id(client, store):
    """VCC numberids, field ids and value ids come from sequences of their own (no record holds them):
    a round trip through a snapshot must not hand them out again."""
    assert vcc(client, "POST", "/fields", {"name": "name", "type": "simple", "values": [{"name": "a"}]})[0] == 200
    assert [vcc(client, "POST", "/records", {"form": {"name": n}})[1]["response"] for n in "ab"] == [1, 2]
    snapshot = client.get("/__mockserver/snapshot").get_json()
    assert snapshot["vendors"]["vcclive"]["mycc"]["sequences"] == {"fieldid-sequence": 1, "numberid-sequence": 2,
                                                                   "valueid-sequence": 2, "records:22": 2}
    assert client.put("/__mockserver/snapshot", json=snapshot).status_code == 200
    assert vcc(client, "POST", "/records", {"form": {"name": "c"}}) == (200, {"errors": [], "response": 3})
    assert vcc(client, "GET", "/records/1")[1]["response"]["data"]["name"] == 1  # record 1 is untouched
    assert vcc(client, "POST", "/fields", {"name": "city", "type": "text"})[1]["response"] == 2
    values = {v["name"]: v["valueid"] for v in stored_fields(store)["name"]["values"]}
    assert values == {"a": 1, "b": 2, "c": 3}
    old = {"vendors": {"vcclive": {"mycc": {"records": snapshot["vendors"]["vcclive"]["mycc"]["records"]}}}}
    assert client.put("/__mockserver/snapshot", json=old).status_code == 200  # a snapshot without sequences


def test_records_seed_file_with_a_non_finite_number_is_refused(tmp_path):
    """YAML's .inf is not JSON: stored, it would make the data file and every answer reading it invalid."""
    seed = tmp_path / "seed.yaml"
    seed.write_text("pipeliner: {T: {Account: [{id: a, balance: .inf}]}}")
    with pytest.raises(SeedError, match=r"seed.yaml.*pipeliner\.T\.Account\.0\.balance.*not JSON"):
        load_seed_file(seed)


@pytest.mark.parametrize("vendor,tenant,entity,key,record,named", [
    ("vcclive", "mycc", "records:7", "1", {"x": 1}, "vcclive/mycc/records:7/1"),
    ("vcclive", "mycc", "fields:7", "city", {}, "vcclive/mycc/fields:7/city"),
    ("vbasoftware", TENANT, "CallTracking", "5", {"call_Key": "zz"}, "call_Key"),
    ("vbasoftware", TENANT, "CallTracking", "5", {"call_Key": 6}, "not the '5' it is filed under"),
    ("pipeliner", "sp1", "Call", "11111111-1111-1111-1111-111111111111", {"id": 3}, "pipeliner/sp1/Call"),
])
def test_records_snapshot_with_a_record_of_the_wrong_shape_is_400_and_changes_nothing(
        client, store, vendor, tenant, entity, key, record, named):
    """A snapshot's records pass the checks a seeded record passes: a wrong one would break every later
    call of its vendor (VCC answered 500 to its field and record calls after such an import)."""
    seeded = client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 1}])
    assert seeded.status_code == 200
    before = client.get("/__mockserver/snapshot").get_json()
    bad = {"vendors": {vendor: {tenant: {"records": {entity: {key: record}}}}}}
    resp = client.put("/__mockserver/snapshot", json=bad)
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    assert named in resp.get_json()["detail"]
    assert client.get("/__mockserver/snapshot").get_json() == before


def test_records_snapshot_of_every_vendor_round_trips_exactly(client):
    """Exported records are fixpoints of the import's checks: a snapshot imports unchanged."""
    vcc = {"Authorization": basic("mycc", "token")}
    assert client.post("/v2/projects/7/fields", json={"name": "likes", "type": "multiple", "values": [{"name": "a"}]},
                       headers=vcc).status_code == 200
    assert client.post("/v2/projects/7/records", json={"form": {"likes": "a|b"}}, headers=vcc).status_code == 200
    assert client.put("/v2/projects/7/records/dispositions", json={"elements": [{"numberid": "1", "dispositionid": 4}]},
                      headers=vcc).status_code == 200
    calls = "/api/v100/rest/spaces/sp1/entities/Calls/batch-modify"
    assert client.post(calls, json=[NEW_CALL], headers=BASIC).status_code == 200
    assert client.post(f"{RECORDS}/CallTracking", json=[{"call_Key": 0, "first_Name": "Ada"}]).status_code == 200
    snapshot = client.get("/__mockserver/snapshot").get_json()
    assert client.post("/__mockserver/reset").status_code == 200
    assert client.put("/__mockserver/snapshot", json=snapshot).status_code == 200
    assert client.get("/__mockserver/snapshot").get_json() == snapshot


def test_records_unknown_entity_is_404_naming_the_known_and_stores_nothing(client, store):
    resp = client.post(f"{RECORDS}/CallTrackings", json=[{"call_Key": 1}])
    assert resp.status_code == 404 and resp.content_type == PROBLEM
    detail = resp.get_json()["detail"]
    assert "'CallTrackings'" in detail and "CallTracking, CareCaseClinicalTrial, Event" in detail
    assert store.tenants("vbasoftware") == []


@pytest.mark.parametrize("spec,expected", [
    ("vbasoftware", [{"name": "CallTracking", "key": "call_Key", "kind": "written"},
                     {"name": "CareCaseClinicalTrial", "key": "careCaseClinicalTrial_Key", "kind": "written"},
                     {"name": "Event", "key": "event_ID", "kind": "written"}]),
    ("vcclive", [{"name": "records:{projectid}", "key": "numberid", "kind": "family"},
                 {"name": "fields:{projectid}", "key": "name", "kind": "family"}]),
])
def test_records_entities_of_a_spec_are_listed_with_their_key(client, spec, expected):
    resp = client.get(f"/__mockserver/specs/{spec}/entities")
    assert resp.status_code == 200
    assert resp.get_json() == {"spec": spec, "vendor": spec, "entities": expected}


def test_records_pipeliner_entities_are_the_call_and_its_related_records(client):
    entities = client.get("/__mockserver/specs/pipeliner/entities").get_json()["entities"]
    assert entities[0] == {"name": "Call", "key": "id", "kind": "written"}
    related = {e["name"] for e in entities if e["kind"] == "related"}
    assert related == {"Account", "Client", "Contact", "Lead", "Opportunity", "OpptyProductRelation", "Product"}
    # every listed entity is accepted for seeding (the list is what seeding checks)
    for entity in related:
        assert client.post(f"/__mockserver/records/pipeliner/sp/{entity}", json=[{"id": "x"}]).status_code == 200


@pytest.mark.parametrize("name,status", [("nope", 404), ("admin", 404)])
def test_records_entities_of_an_unknown_or_control_plane_spec_is_404(client, name, status):
    resp = client.get(f"/__mockserver/specs/{name}/entities")
    assert resp.status_code == status and resp.content_type == PROBLEM
