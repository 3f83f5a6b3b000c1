"""VCC Live Database API v2 through HTTP: batch record and disposition modification and their helpers."""
from __future__ import annotations

import json
import re

import pytest

from tests.support import basic

CUSTOMER = "mycc"
HEADERS = {"Authorization": basic(CUSTOMER, "api-token")}
PROJECT = 22
RECORDS = f"/v2/projects/{PROJECT}/records"
DISPOSITIONS = f"/v2/projects/{PROJECT}/records/dispositions"
FIELDS = f"/v2/projects/{PROJECT}/fields"
HUGE_DIGITS = "9" * 5000  # a digit string longer than Python's int() accepts
VCC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

# The seed's own example request (Batch record modification, seed 001).
SEED_REQUEST = {
    "elements": [
        {"form": {"name": "Peter Green", "city": "Budapest", "likes": "sports|movies"}, "search": {"name": "Green"}},
        {"form": {"name": "Thomas", "address": "London"}, "numberid": "4"},
    ],
    "default": {"address": "Budapest", "age": "30"},
}
SEED_RESPONSE = {"errors": [], "response": {"0": True, "1": True}}
SEED_PARTIAL_RESPONSE = {
    "errors": [{"errorcode": 417, "errormessage": "error.missing_numberid_or_search", "index": 1}],
    "response": {"0": True, "2": True},
}


# --- helpers ---------------------------------------------------------------------------------------

def call(client, method, path, body=None, headers=HEADERS):
    return client.open(path, method=method, json=body, headers=headers)


def assert_envelope(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == "application/json"
    body = resp.get_json()
    assert list(body) == ["errors", "response"]
    return body


def add_field(client, name, kind="text", values=None, project=PROJECT, headers=HEADERS):
    body = {"name": name, "type": kind}
    if values is not None:
        body["values"] = [{"name": v} for v in values]
    resp = call(client, "POST", f"/v2/projects/{project}/fields", body, headers)
    return assert_envelope(resp, 200)["response"]


def add_record(client, form, project=PROJECT, headers=HEADERS, **extra):
    resp = call(client, "POST", f"/v2/projects/{project}/records", {"form": form, **extra}, headers)
    return assert_envelope(resp, 200)["response"]


def stored(store, numberid, project=PROJECT, tenant=CUSTOMER):
    with store.transaction("vcclive", tenant, write=False) as tx:
        return tx.records(f"records:{project}").get(numberid)


def stored_fields(store, project=PROJECT, tenant=CUSTOMER):
    with store.transaction("vcclive", tenant, write=False) as tx:
        return {f["name"]: f for f in tx.records(f"fields:{project}").all()}


def value_ids(store, field, names, project=PROJECT):
    by_name = {v["name"]: v["valueid"] for v in stored_fields(store, project)[field]["values"]}
    return [by_name[n] for n in names]


@pytest.fixture
def project(client):
    """Project 22 with the seed's fields and four records; record 1 is named "Green"."""
    for name in ("name", "city", "address", "age"):
        add_field(client, name)
    add_field(client, "likes", "multiple", ["sports"])
    add_field(client, "gender", "simple", ["female", "male"])
    numberids = [add_record(client, {"name": name}) for name in ("Green", "Anna", "Bob", "Tom")]
    assert numberids == [1, 2, 3, 4]
    return numberids


# --- the seed's examples ---------------------------------------------------------------------------

def test_vcclive_seed_example_request_gets_the_seed_response(client, store, project):
    resp = call(client, "PUT", RECORDS, SEED_REQUEST)
    assert assert_envelope(resp, 200) == SEED_RESPONSE
    assert resp.get_data(as_text=True) == json.dumps(SEED_RESPONSE)
    green, thomas = stored(store, 1), stored(store, 4)
    sports, movies = value_ids(store, "likes", ["sports", "movies"])  # "movies" was created
    assert green["data"] == {"name": "Peter Green", "city": "Budapest", "likes": [sports, movies],
                             "address": "Budapest", "age": "30"}
    assert thomas["data"] == {"name": "Thomas", "address": "London", "age": "30"}  # the element's form wins
    assert stored(store, 2)["data"] == {"name": "Anna"}


def test_vcclive_seed_partial_example_gets_the_seed_partial_response(client, store, project):
    fields_before = stored_fields(store)
    request = {"elements": [
        {"form": {"city": "Szeged"}, "numberid": "2"},
        {"form": {"city": "Pécs", "likes": "never-created"}},  # neither numberid nor search
        {"form": {"city": "Győr"}, "search": {"name": "Tom"}},
    ]}
    resp = call(client, "PUT", RECORDS, request)
    assert assert_envelope(resp, 200) == SEED_PARTIAL_RESPONSE
    assert resp.get_data(as_text=True) == json.dumps(SEED_PARTIAL_RESPONSE)
    assert stored(store, 2)["data"]["city"] == "Szeged" and stored(store, 4)["data"]["city"] == "Győr"
    assert all("city" not in stored(store, n)["data"] for n in (1, 3))
    assert stored_fields(store) == fields_before  # the failed element created no value


# --- naming the record -----------------------------------------------------------------------------

FORM = {"city": "X", "likes": "brand-new"}  # a valid form that would create a select value


@pytest.mark.parametrize("element,errormessage,prop", [
    ({"form": FORM, "numberid": "99"}, "error.record_not_found", "numberid"),
    ({"form": FORM, "numberid": 99}, "error.record_not_found", "numberid"),
    ({"form": FORM, "search": {"name": "Nobody"}}, "error.search_no_match", "search"),
    ({"form": FORM, "search": {"age": "40"}}, "error.search_multiple_matches", "search"),
    ({"form": FORM, "search": {"unknown": "1"}}, "error.field_not_exists", "search.unknown"),
    ({"form": FORM, "search": {}}, "error.missing_numberid_or_search", None),
    ({"form": FORM, "numberid": "1", "search": {"name": "Green"}}, "error.numberid_and_search_both_set", None),
], ids=["numberid-unknown", "numberid-int-unknown", "search-none", "search-several", "search-unknown-field",
        "search-empty", "both"])
def test_vcclive_element_that_names_no_single_record_fails(client, store, project, element, errormessage, prop):
    call(client, "PUT", RECORDS, {"elements": [{"form": {"age": "40"}, "numberid": n} for n in ("2", "3")]})
    before, fields_before = [stored(store, n) for n in project], stored_fields(store)
    body = assert_envelope(call(client, "PUT", RECORDS, {"elements": [element]}), 200)
    expected = {"errorcode": 417, "errormessage": errormessage, "index": 0}
    if prop:
        expected["property"] = prop
    assert body == {"errors": [expected], "response": {}}
    assert [stored(store, n) for n in project] == before
    assert stored_fields(store) == fields_before  # not even the new select value of its form


def test_vcclive_search_compares_select_fields_by_value(client, store, project):
    call(client, "PUT", RECORDS, {"elements": [{"form": {"gender": "male", "likes": "sports|chess"}, "numberid": 3}]})
    body = assert_envelope(call(client, "PUT", RECORDS, {"elements": [
        {"form": {"city": "Eger"}, "search": {"gender": "male", "likes": "chess|sports"}},
        {"form": {"city": "Vác"}, "search": {"gender": "female"}},
    ]}), 200)
    assert body["response"] == {"0": True} and body["errors"][0]["errormessage"] == "error.search_no_match"
    assert stored(store, 3)["data"]["city"] == "Eger"
    assert "female" in [v["name"] for v in stored_fields(store)["gender"]["values"]]


# --- select values ---------------------------------------------------------------------------------

def test_vcclive_select_values_are_matched_by_name_or_created(client, store, project):
    female, male = value_ids(store, "gender", ["female", "male"])
    body = assert_envelope(call(client, "PUT", RECORDS, {"elements": [
        {"form": {"gender": "male", "likes": " chess | sports |chess||"}, "numberid": 1},
        {"form": {"gender": "other", "likes": ["chess", "golf"]}, "numberid": 2},
        {"form": {"gender": female, "likes": ""}, "numberid": 3},
        {"form": {"gender": "other"}, "numberid": 4},
    ]}), 200)
    assert body == {"errors": [], "response": {"0": True, "1": True, "2": True, "3": True}}
    sports, chess, golf = value_ids(store, "likes", ["sports", "chess", "golf"])
    (other,) = value_ids(store, "gender", ["other"])
    assert stored(store, 1)["data"] == {"name": "Green", "gender": male, "likes": [chess, sports]}
    assert stored(store, 2)["data"] == {"name": "Anna", "gender": other, "likes": [chess, golf]}
    assert stored(store, 3)["data"] == {"name": "Bob", "gender": female, "likes": []}
    assert stored(store, 4)["data"]["gender"] == other  # created by element 1, seen by element 3
    assert [v["name"] for v in stored_fields(store)["gender"]["values"]] == ["female", "male", "other"]
    assert [v["name"] for v in stored_fields(store)["likes"]["values"]] == ["sports", "chess", "golf"]


def test_vcclive_names_in_a_list_are_split_on_the_separator_like_text(client, store, project):
    """A list part "golf|chess" is two values, so the text that stored them finds the record again."""
    body = assert_envelope(call(client, "PUT", RECORDS, {"elements": [
        {"form": {"likes": ["golf|chess", "sports"]}, "numberid": 1},
        {"form": {"city": "Eger"}, "search": {"likes": "sports|chess|golf"}},
    ]}), 200)
    assert body == {"errors": [], "response": {"0": True, "1": True}}
    assert [v["name"] for v in stored_fields(store)["likes"]["values"]] == ["sports", "golf", "chess"]
    assert stored(store, 1)["data"]["likes"] == value_ids(store, "likes", ["golf", "chess", "sports"])
    assert stored(store, 1)["data"]["city"] == "Eger"


@pytest.mark.parametrize("form,errormessage,prop", [
    ({"nickname": "x"}, "error.field_not_exists", "nickname"),
    ({"city": ["a"]}, "error.wrong_value_format", "city"),
    ({"gender": ["male"]}, "error.wrong_value_format", "gender"),
    ({"gender": 999}, "error.value_not_exists", "gender"),
    ({"likes": [999]}, "error.value_not_exists", "likes"),
    ({"likes": {"a": 1}}, "error.wrong_value_format", "likes"),
    ({"city": True}, "error.wrong_value_format", "city"),
    ({"gender": "x" * 256}, "error.name_must_be_between", "gender"),
], ids=["unknown-field", "text-list", "simple-list", "simple-unknown-id", "multiple-unknown-id", "object",
        "boolean", "long-name"])
def test_vcclive_bad_form_fails_the_element_and_creates_nothing(client, store, project, form, errormessage, prop):
    fields_before = stored_fields(store)
    element = {"form": {"likes": "brand-new", "city": "Pécs", **form}, "numberid": "1"}
    body = assert_envelope(call(client, "PUT", RECORDS, {"elements": [element, {"form": {"age": "9"}, "numberid": 2}]}),
                           200)
    assert body == {"errors": [{"errorcode": 417, "errormessage": errormessage, "index": 0, "property": prop}],
                    "response": {"1": True}}
    assert stored(store, 1)["data"] == {"name": "Green"}
    assert stored(store, 2)["data"]["age"] == "9"
    assert stored_fields(store) == fields_before


@pytest.mark.parametrize("element,errormessage,prop", [
    ("not an object", "error.wrong_element_format", None),
    ({"numberid": "1"}, "error.missing_form", "form"),
    ({"form": {}, "numberid": "1", "extra": 1}, "error.unknown_property", "extra"),
    ({"form": {}, "numberid": "one"}, "error.wrong_value_format", "numberid"),
    ({"form": "x", "numberid": "1"}, "error.wrong_value_format", "form"),
    ({"form": {}, "numberid": HUGE_DIGITS}, "error.wrong_value_format", "numberid"),  # int() refuses > 4300 digits
], ids=["not-object", "no-form", "unknown-key", "bad-numberid", "form-not-object", "huge-numberid"])
def test_vcclive_malformed_element_fails_alone(client, store, project, element, errormessage, prop):
    body = assert_envelope(call(client, "PUT", RECORDS, {"elements": [{"form": {"age": "1"}, "numberid": 1}, element]}),
                           200)
    expected = {"errorcode": 417, "errormessage": errormessage, "index": 1, **({"property": prop} if prop else {})}
    assert body == {"errors": [expected], "response": {"0": True}}
    assert stored(store, 1)["data"]["age"] == "1"


def test_vcclive_empty_batch_is_success_with_empty_response(client):
    assert assert_envelope(call(client, "PUT", RECORDS, {"elements": []}), 200) == {"errors": [], "response": {}}
    assert assert_envelope(call(client, "PUT", DISPOSITIONS, {"elements": []}), 200) == {"errors": [], "response": {}}


# --- whole-request errors --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [RECORDS, DISPOSITIONS])
@pytest.mark.parametrize("payload,status,errormessage", [
    (b"not json", 400, "error.bad_request"),
    (b"", 400, "error.bad_request"),
    (b'[{"form": {}}]', 400, "error.wrong_body_format"),
    (b'{"default": {}}', 400, "error.missing_elements"),
    (b'{"elements": {"0": {}}}', 400, "error.wrong_elements_format"),
    (b'{"elements": [], "surprise": 1}', 400, "error.unknown_property"),
], ids=["not-json", "empty", "array", "no-elements", "elements-object", "unknown-key"])
def test_vcclive_malformed_batch_request_is_rejected_whole(client, store, project, path, payload, status, errormessage):
    before = stored(store, 1)
    resp = client.put(path, data=payload, headers={**HEADERS, "Content-Type": "application/json"})
    body = assert_envelope(resp, status)
    assert body["response"] is None
    (error,) = body["errors"]
    assert error["errorcode"] == status and error["errormessage"] == errormessage and error["detail"]
    assert stored(store, 1) == before


@pytest.mark.parametrize("path,body,prop", [
    (RECORDS, {"elements": [{"form": {"age": "2"}, "numberid": 1}], "default": {"age": {"x": 1}}}, "age"),
    (RECORDS, {"elements": [{"form": {"age": "2"}, "numberid": 1}], "default": "x"}, "default"),
    (DISPOSITIONS, {"elements": [{"numberid": 1, "dispositionid": 3}], "avoid_in_call": "yes"}, "avoid_in_call"),
    (DISPOSITIONS, {"elements": [{"numberid": 1}], "disposition": {"dispositionid": "x"}}, "disposition.dispositionid"),
], ids=["default-value", "default-type", "avoid_in_call", "disposition-defaults"])
def test_vcclive_bad_defaults_reject_the_whole_batch(client, store, project, path, body, prop):
    before = stored(store, 1)
    error = assert_envelope(call(client, "PUT", path, body), 400)["errors"][0]
    assert error["errormessage"] == "error.wrong_value_format" and error["property"] == prop
    assert stored(store, 1) == before


def test_vcclive_unsupported_media_type_is_415(client):
    resp = client.put(RECORDS, data='{"elements": []}', headers={**HEADERS, "Content-Type": "text/plain"})
    assert assert_envelope(resp, 415)["errors"][0]["errorcode"] == 415


ENDPOINTS = [("PUT", RECORDS, {"elements": []}), ("PUT", DISPOSITIONS, {"elements": []}),
             ("POST", RECORDS, {"form": {}}), ("GET", RECORDS + "/1", None),
             ("POST", FIELDS, {"name": "x", "type": "text"}), ("GET", FIELDS, None)]


@pytest.mark.parametrize("authorization", [None, "Bearer token", "Basic", "Basic !!!", basic("mycc", ""),
                                           basic("", "token"), "Basic bXljYw=="],
                         ids=["none", "bearer", "empty", "not-base64", "no-password", "no-user", "no-colon"])
def test_vcclive_missing_or_malformed_basic_credentials_is_401(client, data_dir, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    for method, path, body in ENDPOINTS:
        resp = call(client, method, path, body, headers)
        error = assert_envelope(resp, 401)["errors"][0]
        assert error["errorcode"] == 401 and error["errormessage"] == "error.unauthorized", (method, path)
        assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert not (data_dir / "vcclive").exists()


def test_vcclive_api_token_allow_list_checks_the_basic_password(data_dir):
    from mockserver import create_app

    client = create_app({"data": data_dir, "api_keys": frozenset({"good-token"})}).test_client()
    bad = call(client, "GET", FIELDS, headers={"Authorization": basic(CUSTOMER, "api-token")})
    assert assert_envelope(bad, 401)["errors"][0]["errormessage"] == "error.unauthorized"
    good = call(client, "GET", FIELDS, headers={"Authorization": basic(CUSTOMER, "good-token")})
    assert assert_envelope(good, 200) == {"errors": [], "response": []}


def test_vcclive_undeclared_method_on_dispositions_is_405_not_a_record_lookup(client):
    resp = call(client, "GET", DISPOSITIONS)
    assert resp.status_code == 405 and resp.content_type == "application/json"
    assert resp.get_json()["errors"][0]["errorcode"] == 405
    assert "PUT" in resp.headers["Allow"] and "GET" not in resp.headers["Allow"]
    assert assert_envelope(call(client, "GET", f"{RECORDS}/dispositionsx"), 400)["errors"][0]["errorcode"] == 400


# --- isolation -------------------------------------------------------------------------------------

def test_vcclive_customers_and_projects_are_isolated(client, store, project):
    other_customer = {"Authorization": basic("othercc", "token")}
    assert call(client, "GET", RECORDS + "/1", headers=other_customer).status_code == 404
    assert assert_envelope(call(client, "GET", FIELDS, headers=other_customer), 200)["response"] == []
    assert call(client, "GET", "/v2/projects/23/records/1").status_code == 404
    body = assert_envelope(call(client, "PUT", "/v2/projects/23/records",
                                {"elements": [{"form": {"name": "X"}, "numberid": 1}]}), 200)
    assert body["errors"][0]["errormessage"] == "error.record_not_found"
    add_field(client, "name", project=23)  # the same field name in another project
    numberid = add_record(client, {"name": "Other"}, project=23)
    assert numberid == 5  # numberids are unique within the customer
    assert stored(store, numberid, project=23)["data"] == {"name": "Other"}
    assert stored(store, numberid) is None and stored(store, 1)["data"] == {"name": "Green"}


# --- add record and record detail ------------------------------------------------------------------

def test_vcclive_add_record_and_detail_show_the_vendors_shape(client, store, project):
    contacts = {"phone1": {"phone": "+36301234567", "name": "Ann", "email": "ann@example.com", "title": "CEO"}}
    numberid = add_record(client, {"name": "New", "gender": "male", "likes": "sports|cinema"}, contacts=contacts,
                          next_calldate="2026-12-24 10:00:00", phone_field="phone1",
                          disposition={"dispositionid": "7", "userid": 3, "description": "imported"})
    resp = call(client, "GET", f"{RECORDS}/{numberid}")
    detail = assert_envelope(resp, 200)["response"]
    (male,) = value_ids(store, "gender", ["male"])
    sports, cinema = value_ids(store, "likes", ["sports", "cinema"])
    assert detail["data"] == {"name": "New", "gender": male, "likes": [sports, cinema]}
    assert detail["contacts"] == contacts and detail["phone_field"] == "phone1" and detail["cdrs"] == []
    assert detail["next_calldate"] == "2026-12-24 10:00:00"
    assert detail["act_status"] == 7 and detail["pref_userid"] == 3
    assert [e["dispositionid"] for e in detail["events"]] == [7]
    assert all(VCC_TIME.match(detail[k]) for k in ("create_date", "create_date_utc", "modify_date"))
    assert detail == stored(store, numberid)


@pytest.mark.parametrize("body,errormessage,prop", [
    ({"form": {"nickname": "x"}}, "error.field_not_exists", "nickname"),
    ({"form": {"likes": "new-one"}, "contacts": {"phone1": {"phone": "123456", "email": "nope"}}},
     "error.wrong_email_format", "contacts.phone1.email"),
    ({"form": {"likes": "new-one"}, "next_calldate": "2026-02-30 10:00:00"}, "error.wrong_date_format",
     "next_calldate"),
    ({"form": {}, "next_calldate": "tomorrow"}, "error.wrong_date_format", "next_calldate"),
    ({"form": {}, "contacts": {"phone1": {"name": "no phone"}}}, "error.missing_phone", "contacts.phone1.phone"),
    ({"form": {}, "disposition": {"description": "no id"}}, "error.missing_dispositionid", "dispositionid"),
    ({}, "error.missing_form", "form"),
    ({"form": {}, "disposition": {"dispositionid": HUGE_DIGITS}}, "error.wrong_value_format",
     "disposition.dispositionid"),
], ids=["unknown-field", "email", "calendar-date", "date-format", "contact-phone", "disposition-id", "no-form",
        "huge-dispositionid"])
def test_vcclive_invalid_add_record_is_417_and_stores_nothing(client, store, project, body, errormessage, prop):
    fields_before = stored_fields(store)
    resp = call(client, "POST", RECORDS, body)
    assert assert_envelope(resp, 417) == {
        "errors": [{"errorcode": 417, "errormessage": errormessage, "property": prop}], "response": None}
    assert stored_fields(store) == fields_before
    assert add_record(client, {}) == 5  # no numberid was used up


@pytest.mark.parametrize("path,status", [(f"{RECORDS}/999", 404), (f"{RECORDS}/abc", 400), (f"{RECORDS}/0", 400),
                                         ("/v2/projects/x/records/1", 400)])
def test_vcclive_get_unknown_or_malformed_record(client, project, path, status):
    error = assert_envelope(call(client, "GET", path), status)["errors"][0]
    assert error["errorcode"] == status
    if status == 404:
        assert error["errormessage"] == "error.record_not_found" and "999" in error["detail"]


# --- fields ----------------------------------------------------------------------------------------

def test_vcclive_add_field_and_list_fields(client, store):
    body = {"name": "education", "label": "education attainment", "type": "simple", "indexed": "yes",
            "customised": "yes", "quota": "none",
            "values": [{"name": "high school", "exportvalue": "HS", "description": "graduate", "commission": "100",
                        "price": "200"}, {"name": "university"}]}
    assert assert_envelope(call(client, "POST", FIELDS, body), 200) == {"errors": [], "response": 1}
    assert add_field(client, "notes") == 2
    listed = assert_envelope(call(client, "GET", FIELDS), 200)["response"]
    assert listed == [
        {"fieldid": 1, "name": "education", "label": "education attainment", "type": "simple", "indexed": "yes",
         "customised": "yes", "quota": "none",
         "values": [{"valueid": 1, "name": "high school", "exportvalue": "HS", "description": "graduate",
                     "commission": "100", "price": "200"}, {"valueid": 2, "name": "university"}]},
        {"fieldid": 2, "name": "notes", "label": "notes", "type": "text", "values": []},
    ]
    assert list(stored_fields(store)) == ["education", "notes"]


@pytest.mark.parametrize("body,errormessage,prop,index", [
    ({"name": "city", "type": "text"}, "error.field_name_already_exists", "name", None),
    ({"name": "City", "type": "text"}, "error.wrong_name_format", "name", None),
    ({"name": "x" * 65, "type": "text"}, "error.name_must_be_between", "name", None),
    ({"name": "likes", "type": "multiple"}, "error.missing_values", "values", None),
    ({"name": "notes", "type": "text", "values": [{"name": "a"}]}, "error.values_not_allowed", "values", None),
    ({"name": "size", "type": "simple", "values": [{"name": "S"}, {"name": "M"}, {"name": "S "}]},
     "error.value_name_already_exists", "name", 2),
    ({"name": "size", "type": "simple", "values": [{"name": " "}]}, "error.name_must_be_between", "name", 0),
    ({"name": "size", "type": "list"}, "error.wrong_value_format", "type", None),
    ({"type": "text"}, "error.missing_name", "name", None),
], ids=["duplicate", "upper-case", "too-long", "no-values", "text-values", "duplicate-value", "blank-value",
        "bad-type", "no-name"])
def test_vcclive_invalid_add_field_is_417_and_stores_nothing(client, store, body, errormessage, prop, index):
    add_field(client, "city")
    resp = call(client, "POST", FIELDS, body)
    expected = {"errorcode": 417, "errormessage": errormessage, "property": prop}
    if index is not None:
        expected["index"] = index
    assert assert_envelope(resp, 417) == {"errors": [expected], "response": None}
    assert list(stored_fields(store)) == ["city"]


# --- batch disposition modification ---------------------------------------------------------------

def test_vcclive_disposition_batch_defaults_numberid_and_search(client, store, project):
    request = {
        "avoid_in_call": True,
        "disposition": {"dispositionid": 5, "description": "default", "userid": "8"},
        "elements": [
            {"numberid": "1", "next_calldate": "2026-12-01 09:30:00"},
            {"numberid": 2, "dispositionid": "6", "description": "own"},
            {"search": [{"act_status": 6, "pref_userid": 8}, {"numberid": "3"}], "userid": 9},
        ],
    }
    body = assert_envelope(call(client, "PUT", DISPOSITIONS, request), 200)
    assert body == {"errors": [], "response": {"0": True, "1": True, "2": True}}
    first, second, third = (stored(store, n) for n in (1, 2, 3))
    assert first["act_status"] == 5 and first["pref_userid"] == 8 and first["next_calldate"] == "2026-12-01 09:30:00"
    assert first["events"][0] | {"create_date": None} == {"dispositionid": 5, "description": "default",
                                                          "next_calldate": "2026-12-01 09:30:00", "userid": 8,
                                                          "create_date": None}
    # element 2's search matched record 2 (status 6 set by element 1, user 8) OR record 3
    assert [e["dispositionid"] for e in second["events"]] == [6, 5] and second["pref_userid"] == 9
    assert [e["description"] for e in third["events"]] == ["default"] and third["pref_userid"] == 9
    assert stored(store, 4)["events"] == []
    detail = assert_envelope(call(client, "GET", f"{RECORDS}/2"), 200)["response"]
    assert detail["events"] == second["events"] and detail["act_status"] == 5


@pytest.mark.parametrize("element,errormessage,prop", [
    ({"dispositionid": 5}, "error.missing_numberid_or_search", None),
    ({"dispositionid": 5, "search": [{}]}, "error.missing_numberid_or_search", None),
    ({"numberid": "99", "dispositionid": 5}, "error.record_not_found", "numberid"),
    ({"search": {"act_status": 42}, "dispositionid": 5}, "error.search_no_match", "search"),
    ({"numberid": "1", "search": {"act_status": 1}, "dispositionid": 5}, "error.numberid_and_search_both_set", None),
    ({"numberid": "1"}, "error.missing_dispositionid", "dispositionid"),
    ({"numberid": "1", "dispositionid": 5, "next_calldate": "2026-13-01 10:00:00"}, "error.wrong_date_format",
     "next_calldate"),
    ({"numberid": "1", "dispositionid": 5, "next_calldate": "soon"}, "error.wrong_date_format", "next_calldate"),
    ({"numberid": "1", "dispositionid": 5, "search2": 1}, "error.unknown_property", "search2"),
    ({"numberid": "1", "dispositionid": "five"}, "error.wrong_value_format", "dispositionid"),
    ({"numberid": HUGE_DIGITS, "dispositionid": 5}, "error.wrong_value_format", "numberid"),
    ({"numberid": "1", "dispositionid": 5, "userid": HUGE_DIGITS}, "error.wrong_value_format", "userid"),
    ({"search": {"act_status": HUGE_DIGITS}, "dispositionid": 5}, "error.wrong_value_format", "search"),
], ids=["no-target", "empty-search", "unknown-numberid", "no-match", "both", "no-dispositionid", "calendar",
        "date-format", "unknown-key", "bad-id", "huge-numberid", "huge-userid", "huge-search"])
def test_vcclive_failed_disposition_element_changes_nothing(client, store, project, element, errormessage, prop):
    before = [stored(store, n) for n in project]
    body = assert_envelope(call(client, "PUT", DISPOSITIONS, {"elements": [element]}), 200)
    expected = {"errorcode": 417, "errormessage": errormessage, "index": 0, **({"property": prop} if prop else {})}
    assert body == {"errors": [expected], "response": {}}
    assert [stored(store, n) for n in project] == before


def test_vcclive_data_survives_a_restart_of_a_real_server(live_server):
    server = live_server()
    status, _, body = server.request("POST", FIELDS, {"name": "name", "type": "text"}, HEADERS)
    assert status == 200 and body == {"errors": [], "response": 1}
    status, _, body = server.request("POST", RECORDS, {"form": {"name": "Kept"}}, HEADERS)
    numberid = body["response"]
    server.restart()
    batch = {"elements": [{"form": {"name": "Again"}, "numberid": str(numberid)}]}
    status, headers, body = server.request("PUT", RECORDS, batch, HEADERS)
    assert status == 200 and headers["Content-Type"] == "application/json" and body["response"] == {"0": True}
    status, _, body = server.request("GET", f"{RECORDS}/{numberid}", headers=HEADERS)
    assert body["response"]["data"] == {"name": "Again"}
