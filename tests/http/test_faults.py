"""Fault rules through HTTP: every effect, matching, expiry, the header form, the file form, vendor limits."""
from __future__ import annotations

import json

import pytest

from mockserver import create_app
from mockserver.config import StartupError
from tests.support import make_jwt

TENANT = "ACME_DB"
BATCH = "/vbasoftware/call-trackings-batch"
OPERATION = "CreateOrUpdateBatchCallTracking"
HEADERS = {"x-api-key": "test-key", "Authorization": "Bearer " + make_jwt({"username": "alice"}),
           "vbasoftware-database": TENANT, "User-Agent": "downstream/1.0"}
PROBLEM = "application/problem+json"


@pytest.fixture
def faults(app):
    """The app's fault book, with sleeping recorded instead of done (fast, deterministic)."""
    book = app.extensions["mockserver"].faults
    book.slept = []
    book.sleep = book.slept.append
    return book


def add(client, **rule):
    resp = client.post("/__mockserver/faults", json=rule)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["faults"][0]


def put(client, items, headers=HEADERS):
    return client.put(BATCH, json=items, headers=headers)


def calls(n):
    return [{"call_Key": 100 + i, "first_Name": f"n{i}"} for i in range(n)]


def stored_keys(store, tenant=TENANT):
    with store.transaction("vbasoftware", tenant, write=False) as tx:
        return sorted(r["call_Key"] for r in tx.records("CallTracking").all())


def test_faults_item_error_fails_only_the_matched_item_in_the_vba_shape(client, store, faults):
    add(client, effect="item-error", index=1, message="disk full")
    resp = put(client, calls(3))
    assert resp.status_code == 207 and resp.content_type == "application/json"
    data = resp.get_json()["data"]
    assert [d["status"] for d in data] == [201, 500, 201]
    assert data[1] == {"id": [{"key": "call_Key", "value": "101"}], "status": 500, "body": "disk full"}
    assert stored_keys(store) == [100, 102]


def test_faults_item_error_matches_field_values_and_uses_the_rule_status(client, store, faults):
    add(client, effect="item-error", fields={"first_Name": "n2"}, status=503)
    data = put(client, calls(3)).get_json()["data"]
    assert [d["status"] for d in data] == [201, 201, 503]
    assert stored_keys(store) == [100, 101]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_faults_request_error_answers_in_the_vendor_envelope_and_stores_nothing(client, store, faults, status):
    add(client, effect="request-error", status=status, retry_after=7)
    resp = put(client, calls(1))
    assert resp.status_code == status and resp.content_type == "application/json"
    body = resp.get_json()
    assert body["data"] is None and body["error"]["status"] == status and body["debug"]["activityID"]
    assert resp.headers.get("Retry-After") == ("7" if status in (429, 503) else None)
    assert stored_keys(store) == []


def test_faults_delay_holds_the_response_then_serves_it(client, store, faults):
    add(client, effect="delay", delay_ms=250)
    resp = put(client, calls(1))
    assert resp.status_code == 207 and faults.slept == [0.25]
    assert stored_keys(store) == [100]


def test_faults_timeout_waits_then_answers_504_and_applies_nothing(client, store, faults):
    add(client, effect="timeout", delay_ms=1500)
    resp = put(client, calls(2))
    assert resp.status_code == 504 and resp.get_json()["error"]["title"] == "Gateway Timeout"
    assert faults.slept == [1.5]
    assert stored_keys(store) == []


def test_faults_rule_expires_after_times_so_a_retry_succeeds(client, store, faults):
    rule = add(client, effect="item-error", index=0, times=2)
    assert rule["remaining"] == 2
    statuses = [put(client, calls(1)).get_json()["data"][0]["status"] for _ in range(3)]
    assert statuses == [500, 500, 201]
    assert client.get("/__mockserver/faults").get_json() == {"faults": []}
    assert stored_keys(store) == [100]


@pytest.mark.parametrize("match,hits", [
    ({"vendor": "vbasoftware"}, True),
    ({"operation": OPERATION}, True),
    ({"operation": "CreateOrUpdateBatchEvent"}, False),
    ({"tenant": TENANT}, True),
    ({"tenant": "OTHER"}, False),
    ({"min_items": 3}, True),
    ({"min_items": 4}, False),
    ({"fields": {"first_Name": "n1"}}, True),  # a request-level rule: the batch holds such an item
    ({"fields": {"first_Name": "absent"}}, False),
])
def test_faults_request_rules_match_on_each_criterion(client, store, faults, match, hits):
    add(client, effect="request-error", status=502, **match)
    resp = put(client, calls(3))
    assert resp.status_code == (502 if hits else 207)
    assert stored_keys(store) == ([] if hits else [100, 101, 102])


def test_faults_rate_limit_gives_429_with_retry_after_once_the_burst_is_spent(client, store, faults):
    now = [1000.0]
    faults.clock = lambda: now[0]
    add(client, effect="rate-limit", vendor="vbasoftware", rate=2, burst=2)
    assert [put(client, calls(1)).status_code for _ in range(3)] == [207, 207, 429]
    limited = put(client, calls(1))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.get_json()["error"]["title"] == "Too Many Requests"
    other_key = put(client, calls(1), headers={**HEADERS, "x-api-key": "other-key"})
    assert other_key.status_code == 207  # one bucket per API key
    now[0] += 0.5  # refills one token at 2/s
    assert put(client, calls(1)).status_code == 207


@pytest.mark.parametrize("rate,retry_after", [(5e-324, "3600"), (1e-300, "3600"), (0.001, "1000")])
def test_faults_rate_limit_with_a_tiny_rate_answers_429_with_a_bounded_retry_after(client, store, faults,
                                                                                rate, retry_after):
    add(client, effect="rate-limit", rate=rate, burst=1)
    assert put(client, calls(1)).status_code == 207
    limited = put(client, [{"call_Key": 200}])
    assert limited.status_code == 429 and limited.content_type == "application/json"
    assert limited.headers["Retry-After"] == retry_after  # at most MAX_RETRY_AFTER, never an overflow
    assert limited.get_json()["error"]["status"] == 429
    assert stored_keys(store) == [100]


def test_faults_require_user_agent_gives_403_without_one(client, store, faults):
    add(client, effect="require-user-agent")
    no_agent = {k: v for k, v in HEADERS.items() if k != "User-Agent"}
    resp = client.put(BATCH, json=calls(1), headers=no_agent, environ_base={"HTTP_USER_AGENT": ""})
    assert resp.status_code == 403 and resp.get_json()["error"]["detail"] == "A User-Agent header is required."
    assert stored_keys(store) == []
    assert put(client, calls(1)).status_code == 207


def test_faults_vba_limits_switch_on_the_documented_rate_limit_and_user_agent_check(client, faults):
    faults.clock = lambda: 1000.0  # no refill while the burst is spent
    resp = client.post("/__mockserver/limits/vbasoftware")
    assert resp.status_code == 201
    rules = resp.get_json()["faults"]
    assert [(r["effect"], r.get("rate"), r.get("burst")) for r in rules] == [
        ("rate-limit", 25, 50), ("require-user-agent", None, None)]
    statuses = [put(client, []).status_code for _ in range(51)]
    assert statuses.count(207) == 50 and statuses[-1] == 429
    assert client.get("/__mockserver/limits").get_json()["limits"]["vbasoftware"][0]["rate"] == 25


def test_faults_limits_of_an_unknown_vendor_are_404(client):
    resp = client.post("/__mockserver/limits/nope")
    assert resp.status_code == 404 and resp.content_type == PROBLEM


def test_faults_header_form_applies_to_that_request_only(client, store, faults):
    rule = json.dumps({"effect": "item-error", "index": 1, "status": 500})
    resp = client.put(BATCH, json=calls(2), headers={**HEADERS, "X-Mockserver-Fault": rule})
    assert [d["status"] for d in resp.get_json()["data"]] == [201, 500]
    assert [d["status"] for d in put(client, calls(2)).get_json()["data"]] == [200, 201]
    assert client.get("/__mockserver/faults").get_json() == {"faults": []}
    entry = client.get("/__mockserver/requests?limit=2").get_json()["requests"][0]
    assert entry["faults"] == [{"rule": "header", "effect": "item-error", "index": 1, "status": 500}]


@pytest.mark.parametrize("header,says", [
    ("{not json", "not valid JSON"),
    ('{"effect": "explode"}', "effect: Must be one of"),
    ('{"effect": "delay", "delay_ms": 60000}', "delay_ms"),
    ('{"effect": "item-error", "index": -1}', "index"),
    ('["item-error"]', "must be a JSON object"),
    ('{"effect": "item-error", "fields": {"call_Length": NaN}}', "not valid JSON"),
    ('{"effect": "item-error", "fields": {"call_Length": 1e400}}', "not valid JSON"),
    pytest.param("[" * 3000 + "]" * 3000, "nested more than 64 levels deep", id="nested-3000"),
    ('{"effect": "item-error", "vendor": "vba"}', "Unknown vendor 'vba'"),
    ('{"effect": "item-error", "operation": "CreateOrUpdateBatchCalltracking"}', "Unknown operation"),
    ('{"effect": "item-error", "vendor": "vcclive", "operation": "CreateOrUpdateBatchCallTracking"}',
     "Unknown operation 'CreateOrUpdateBatchCallTracking' of vendor 'vcclive'"),
])
def test_faults_malformed_header_is_a_400_problem_with_no_side_effect(client, store, faults, header, says):
    resp = client.put(BATCH, json=calls(1), headers={**HEADERS, "X-Mockserver-Fault": header})
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    assert says in resp.get_json()["detail"]
    assert stored_keys(store) == [] and faults.slept == []
    assert client.get("/__mockserver/requests/count").get_json() == {"count": 0}


@pytest.mark.parametrize("rule,field", [
    ({"effect": "delay", "delay_ms": 10_001}, "delay_ms"),
    ({"effect": "timeout", "delay_ms": -1}, "delay_ms"),
    ({"effect": "request-error", "status": 302}, "status"),
    ({"effect": "item-error", "times": 0}, "times"),
    ({"effect": "item-error", "index": True}, "index"),
    ({"effect": "item-error", "color": "red"}, "color"),
    ({}, "effect"),
])
def test_faults_invalid_rules_are_400_naming_the_field(client, rule, field):
    resp = client.post("/__mockserver/faults", json=rule)
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    assert field in [e["field"] for e in resp.get_json()["errors"]]
    assert client.get("/__mockserver/faults").get_json() == {"faults": []}


@pytest.mark.parametrize("raw,says", [
    (b'{"effect": "item-error", "fields": {"call_Length": 1e400}}', "out of range"),
    (b'{"effect": "item-error", "fields": {"call_Length": -Infinity}}', "not valid JSON"),
    (b"[" * 5000 + b"]" * 5000, "nested more than 64 levels deep"),
    (b'{"effect": "item-error", "fields": {"x": ' + b"[" * 70 + b"]" * 70 + b"}}", "nested more than 64"),
], ids=["overflow", "infinity", "nested-5000", "nested-72"])
def test_faults_rule_that_is_not_strict_json_is_400(client, raw, says):
    resp = client.post("/__mockserver/faults", data=raw, content_type="application/json")
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    assert says in resp.get_json()["detail"]
    assert client.get("/__mockserver/faults").get_json() == {"faults": []}


@pytest.mark.parametrize("rule", [{"vendor": "nope"}, {"operation": "Nope"},
                                  {"vendor": "vbasoftware", "operation": "Nope"}])
def test_faults_rules_naming_unknown_vendors_or_operations_are_404(client, rule):
    resp = client.post("/__mockserver/faults", json={"effect": "item-error", **rule})
    assert resp.status_code == 404 and resp.content_type == PROBLEM
    assert client.get("/__mockserver/faults").get_json() == {"faults": []}


def test_faults_api_lists_gets_and_deletes_rules(client):
    first = add(client, effect="delay", delay_ms=1)
    both = client.post("/__mockserver/faults", json=[{"effect": "item-error"}, {"effect": "timeout"}])
    assert both.status_code == 201 and len(both.get_json()["faults"]) == 2
    assert client.get(f"/__mockserver/faults/{first['id']}").get_json() == first
    assert client.delete(f"/__mockserver/faults/{first['id']}").get_json() == {"deleted": 1}
    assert client.get(f"/__mockserver/faults/{first['id']}").status_code == 404
    assert client.delete(f"/__mockserver/faults/{first['id']}").status_code == 404
    assert client.delete("/__mockserver/faults").get_json() == {"deleted": 2}


def test_faults_file_form_and_env_var_load_rules_at_startup(live_server, tmp_path):
    rules = tmp_path / "faults.yaml"
    rules.write_text("- {effect: request-error, status: 503, vendor: vbasoftware, times: 1}\n"
                     "- {effect: item-error, index: 0, operation: CreateOrUpdateBatchCallTracking}\n")
    for server in (live_server("--faults", str(rules)),
                   live_server(data=tmp_path / "env-data", env={"MOCKSERVER_FAULTS": str(rules)})):
        status, headers, body = server.request("PUT", BATCH, calls(1), HEADERS)
        assert status == 503 and headers["Retry-After"] == "1" and body["error"]["status"] == 503
        status, _, body = server.request("PUT", BATCH, calls(1), HEADERS)
        assert status == 207 and body["data"][0]["status"] == 500
        assert server.request("GET", "/__mockserver/records/vbasoftware/ACME_DB/CallTracking")[2]["records"] == []


@pytest.mark.parametrize("rule,says", [({"effect": "item-error", "vendor": "vba"}, "Unknown vendor 'vba'"),
                                       ({"effect": "delay", "operation": "Nope"}, "Unknown operation 'Nope'")])
def test_faults_rule_file_naming_what_is_not_served_stops_startup(data_dir, tmp_path, rule, says):
    """As POST /faults answers 404: a rule that could never fire is a typo, not a silent no-op."""
    rules = tmp_path / "faults.json"
    rules.write_text(json.dumps([rule]))
    with pytest.raises(StartupError, match=f"faults.json.*{says}"):
        create_app({"data": data_dir, "faults": rules})


def test_faults_bad_rule_file_stops_startup_with_a_clear_message(live_server, tmp_path):
    rules = tmp_path / "faults.json"
    rules.write_text('[{"effect": "delay", "delay_ms": 99999}]')
    with pytest.raises(RuntimeError, match=r"faults.json\[0\].*delay_ms"):
        live_server("--faults", str(rules))


def test_faults_real_delay_is_observable_on_the_wire(live_server):
    import time
    server = live_server()
    server.request("POST", "/__mockserver/faults", {"effect": "delay", "delay_ms": 300, "times": 1})
    started = time.monotonic()
    status, _, _ = server.request("PUT", BATCH, calls(1), HEADERS)
    assert status == 207 and time.monotonic() - started >= 0.3
    entry = server.request("GET", "/__mockserver/requests")[2]["requests"][0]
    assert entry["faults"][0]["effect"] == "delay" and entry["duration_ms"] >= 300


def test_faults_limits_setting_switches_them_on_at_startup(data_dir):
    from mockserver import create_app

    app = create_app({"data": data_dir, "limits": frozenset({"vbasoftware"})})
    rules = app.test_client().get("/__mockserver/faults").get_json()["faults"]
    assert [(r["effect"], r["vendor"]) for r in rules] == [("rate-limit", "vbasoftware"),
                                                           ("require-user-agent", "vbasoftware")]


@pytest.mark.parametrize("settings,error,says", [
    ({"limits": frozenset({"nope"})}, StartupError, "no documented limits for vendor 'nope'"),
    ({"journal_size": -1}, ValueError, "journal size"),
])
def test_faults_bad_control_plane_settings_stop_startup(data_dir, settings, error, says):
    from mockserver import create_app

    with pytest.raises(error, match=says):
        create_app({"data": data_dir, **settings})
