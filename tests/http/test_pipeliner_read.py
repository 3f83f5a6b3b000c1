"""Pipeliner's read side through a real server: the vendor's Call read model (checked with jsonschema
against the served spec), relation URIs, expand, load-only, and Calls.list's filters, order and cursors."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from urllib.parse import quote, urlencode

import jsonschema
import pytest

from tests.support import LiveServer, basic

AUTH = {"Authorization": basic("api-token", "api-password")}
CALLER, CLIENT, ACCOUNT = (str(uuid.UUID(int=n)) for n in (1, 2, 3))
LEADOPPTY, PRODUCT, RELATION = (str(uuid.UUID(int=n)) for n in (4, 5, 6))
TWILIO = [str(uuid.UUID(int=100 + n)) for n in range(8)]


def base(space: str) -> str:
    return f"/api/v100/rest/spaces/{space}/entities/Calls"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LiveServer(data=tmp_path_factory.mktemp("read-data")) as live:
        yield live


@pytest.fixture
def space(request):
    return "read_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]  # one space per test


def create(server, space, items) -> list[str]:
    status, _, body = server.request("POST", f"{base(space)}/batch-modify?rollback-method=1", items, AUTH)
    assert status == 200 and all(isinstance(slot, str) for slot in body["data"]), body
    return body["data"]


def listing(server, space, params: dict | str = "") -> tuple[int, dict]:
    query = params if isinstance(params, str) else urlencode(params, safe="[],-")
    status, headers, body = server.request("GET", f"{base(space)}?{query}", headers=AUTH)
    assert headers["Content-Type"] == "application/json"
    return status, body


def ids_of(body) -> list[str]:
    return [call["id"] for call in body["data"]]


def stored(server, space) -> list[dict]:
    return server.records("pipeliner", space, "Call")


# --- the read model against the served spec --------------------------------------------------------

def json_schema(schema):
    """OpenAPI 3.0 → JSON Schema: ``nullable`` becomes a null type (or a null branch)."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: json_schema(v) for k, v in schema.items() if k not in ("nullable", "readOnly", "example")}
    if schema.get("nullable"):
        out = {**out, "type": [out["type"], "null"]} if "type" in out else {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def call_model(server):
    status, _, document = server.request("GET", "/__mockserver/specs/pipeliner")
    assert status == 200
    model = json_schema(document["components"]["schemas"]["Call"])
    jsonschema.Draft7Validator.check_schema(model)
    return jsonschema.Draft7Validator(model, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


FULL = {"caller_id": CALLER, "twilio_call_log_id": TWILIO[0], "account_id": ACCOUNT, "client_id": CLIENT,
        "contact_id": str(uuid.UUID(int=7)), "lead_oppty_id": LEADOPPTY, "oppty_product_relation_id": RELATION,
        "product_id": PRODUCT, "phone_number": "+1 555 0100", "transcription_id": str(uuid.UUID(int=8)),
        "transcription_language": "en", "transcription_summary": "Asked for a quote", "audio_status": "Uploaded"}
BARE = {"caller_id": CALLER, "twilio_call_log_id": TWILIO[1]}


def test_pipeliner_read_calls_validate_against_the_vendor_call_model(server, space, call_model):
    full, bare = create(server, space, [FULL, BARE])
    reads = [server.request("GET", f"{base(space)}/{key}", headers=AUTH)[2]["data"] for key in (full, bare)]
    status, listed = listing(server, space)
    assert status == 200 and len(listed["data"]) == 2
    required = call_model.schema["required"]
    assert {"is_delete_protected", "id", "caller", "caller_id", "twilio_call_log_id", "twilio_call_sid",
            "audio_status"} <= set(required)
    for call in [*reads, *listed["data"]]:
        errors = [f"{list(e.path)}: {e.message}" for e in call_model.iter_errors(call)]
        assert not errors, errors
        assert set(required) <= set(call)
    assert list(reads[0]) == list(call_model.schema["properties"])  # every field, in the model's order


def test_pipeliner_read_unset_fields_are_sent_as_null_and_set_ones_as_stored(server, space):
    [bare] = create(server, space, [BARE])
    status, _, body = server.request("GET", f"{base(space)}/{bare}", headers=AUTH)
    call = body["data"]
    assert status == 200
    for name in ("account", "client", "contact", "lead", "oppty", "oppty_product_relation", "product", "account_id",
                 "phone_number", "transcription_summary", "transcription_file_id", "audio_id"):
        assert name in call and call[name] is None, name
    [record] = stored(server, space)
    assert {k: call[k] for k in record} == record


@pytest.mark.parametrize("field,path,target", [
    ("caller", "Clients", CALLER), ("client", "Clients", CLIENT), ("account", "Accounts", ACCOUNT),
    ("contact", "Contacts", str(uuid.UUID(int=7))), ("product", "Products", PRODUCT),
    ("oppty_product_relation", "OpptyProductRelations", RELATION),
    ("lead", "Leads", LEADOPPTY), ("oppty", "Opportunities", LEADOPPTY),  # neither seeded: both named
])
def test_pipeliner_read_relations_are_uris_under_the_same_space(server, space, field, path, target):
    [key] = create(server, space, [FULL])
    status, _, body = server.request("GET", f"{base(space)}/{key}", headers=AUTH)
    assert status == 200
    assert body["data"][field] == f"{server.url}/api/v100/rest/spaces/{space}/entities/{path}/{target}"


@pytest.mark.parametrize("entity,named,unnamed", [("Lead", "lead", "oppty"), ("Opportunity", "oppty", "lead")])
def test_pipeliner_read_lead_oppty_names_the_entity_that_holds_it(server, space, entity, named, unnamed):
    server.seed("pipeliner", space, entity, [{"id": LEADOPPTY, "name": "Big deal"}])
    [key] = create(server, space, [{**BARE, "lead_oppty_id": LEADOPPTY}])
    call = server.request("GET", f"{base(space)}/{key}?expand={named}", headers=AUTH)[2]["data"]
    assert call[named] == {"id": LEADOPPTY, "name": "Big deal"} and call[unnamed] is None


def test_pipeliner_read_twilio_call_sid_is_a_twilio_sid_derived_from_the_log_id(server, space):
    first, second, other = create(server, space, [BARE, BARE, {**BARE, "twilio_call_log_id": TWILIO[2]}])
    sids = [server.request("GET", f"{base(space)}/{k}", headers=AUTH)[2]["data"]["twilio_call_sid"]
            for k in (first, second, other)]
    assert all(re.fullmatch(r"CA[0-9a-f]{32}", sid) for sid in sids)
    assert sids[0] == sids[1] != sids[2]
    server.restart()
    assert server.request("GET", f"{base(space)}/{first}", headers=AUTH)[2]["data"]["twilio_call_sid"] == sids[0]


def test_pipeliner_read_expand_returns_the_seeded_record_else_the_uri(server, space):
    server.seed("pipeliner", space, "Client", [{"id": CALLER, "name": "Ada"}, {"id": CLIENT, "name": "Bob"}])
    [key] = create(server, space, [{**FULL}])
    uri = f"{server.url}/api/v100/rest/spaces/{space}/entities/Accounts/{ACCOUNT}"
    for path in (f"{base(space)}/{key}", base(space)):
        status, _, body = server.request("GET", f"{path}?expand=caller,client,account", headers=AUTH)
        call = body["data"] if isinstance(body["data"], dict) else body["data"][0]
        assert status == 200 and call["caller"] == {"id": CALLER, "name": "Ada"}
        assert call["client"] == {"id": CLIENT, "name": "Bob"} and call["account"] == uri  # no Account seeded
        assert call["contact"].endswith(f"/Contacts/{FULL['contact_id']}")  # not expanded


def test_pipeliner_read_load_only_trims_the_fields(server, space):
    server.seed("pipeliner", space, "Client", [{"id": CALLER, "name": "Ada", "email": "ada@example.com"},
                                               {"id": CLIENT, "name": "Bob"}])
    create(server, space, [FULL])
    status, body = listing(server, space, {"load-only": "id,phone_number"})
    assert status == 200 and list(body["data"][0]) == ["id", "phone_number"]
    status, body = listing(server, space, {"load-only": "id,caller.name", "expand": "caller"})
    assert status == 200 and body["data"][0]["caller"] == {"name": "Ada"} and set(body["data"][0]) == {"id", "caller"}


# --- Calls.list: filters, order, cursors ---------------------------------------------------------

ROWS = [  # phone_number, audio_status, deleted, protected
    ("+1 555 0100", "Uploaded", False, False),
    ("+1 555 0199", "NoRecording", False, True),
    ("+44 20 7946", "Uploaded", False, False),
    (None, "TranscriptionError", False, False),
    ("", "Uploaded", True, False),
    ("+1 555 0150", "NoRecording", False, True),
    ("+33 1 4000", "Uploading", False, False),
]


@pytest.fixture(scope="module")
def dataset(server):
    """Seven Calls of one space, seeded with increasing `created`, and their stored records."""
    space = "read_dataset"
    seeded = server.seed("pipeliner", space, "Call", [
        {"caller_id": CALLER, "twilio_call_log_id": TWILIO[i], "phone_number": phone, "audio_status": audio,
         "is_deleted": deleted, "is_delete_protected": protected, "created": f"2024-03-0{i + 1}T10:00:00"}
        for i, (phone, audio, deleted, protected) in enumerate(ROWS)])
    return space, seeded


def expect(records, keep, key=lambda r: r["id"], reverse=False, include_deleted=False):
    kept = [r for r in records if keep(r) and (include_deleted or not r["is_deleted"])]
    return [r["id"] for r in sorted(sorted(kept, key=lambda r: r["id"]), key=key, reverse=reverse)]


def text(r, name):
    return r[name] if isinstance(r[name], str) else None


@pytest.mark.parametrize("field,op,value,keep", [
    ("audio_status", None, "Uploaded", lambda r: r["audio_status"] == "Uploaded"),
    ("audio_status", "eq", "Uploaded", lambda r: r["audio_status"] == "Uploaded"),
    ("audio_status", "ieq", "uploaded", lambda r: r["audio_status"] == "Uploaded"),
    ("audio_status", "not-eq", "Uploaded", lambda r: r["audio_status"] != "Uploaded"),
    ("audio_status", "not-ieq", "UPLOADED", lambda r: r["audio_status"] != "Uploaded"),
    ("phone_number", "contains", "555", lambda r: "555" in (text(r, "phone_number") or "-")),
    ("phone_number", "starts", "+1 ", lambda r: (text(r, "phone_number") or "-").startswith("+1 ")),
    ("phone_number", "ends", "00", lambda r: (text(r, "phone_number") or "-").endswith("00")),
    ("audio_status", "icontains", "LOAD", lambda r: "load" in r["audio_status"].lower()),
    ("audio_status", "istarts", "upl", lambda r: r["audio_status"].lower().startswith("upl")),
    ("audio_status", "iends", "ING", lambda r: r["audio_status"].lower().endswith("ing")),
    ("phone_number", "null", "", lambda r: r["phone_number"] is None),
    ("phone_number", "not-null", "", lambda r: r["phone_number"] is not None),
    ("phone_number", "empty", "", lambda r: r["phone_number"] in (None, "")),
    ("phone_number", "not-empty", "", lambda r: r["phone_number"] not in (None, "")),
    ("created", "gt", "2024-03-03T10:00:00", lambda r: r["created"] > "2024-03-03T10:00:00"),
    ("created", "gte", "2024-03-03T10:00:00", lambda r: r["created"] >= "2024-03-03T10:00:00"),
    ("created", "lt", "2024-03-03T10:00:00", lambda r: r["created"] < "2024-03-03T10:00:00"),
    ("created", "lte", "2024-03-03T10:00:00", lambda r: r["created"] <= "2024-03-03T10:00:00"),
    ("created", "between", "2024-03-02T00:00:00,2024-03-05T23:00:00",
     lambda r: "2024-03-02T00:00:00" <= r["created"] <= "2024-03-05T23:00:00"),
    ("is_delete_protected", "eq", "true", lambda r: r["is_delete_protected"] is True),
    ("caller_id", "eq", CALLER.upper(), lambda r: True),  # any spelling of a uuid
])
def test_pipeliner_list_filters(server, dataset, field, op, value, keep):
    space, records = dataset
    params = {f"filter[{field}]": value, **({f"filter-op[{field}]": op} if op else {})}
    status, body = listing(server, space, params)
    wanted = expect(records, keep)
    assert status == 200 and ids_of(body) == wanted and body["total_count"] == len(wanted)


def test_pipeliner_list_filters_combine_and_include_deleted(server, dataset):
    space, records = dataset
    params = {"filter[audio_status]": "Uploaded", "filter[phone_number]": "+", "filter-op[phone_number]": "starts",
              "include-deleted": "true"}
    status, body = listing(server, space, params)
    wanted = expect(records, lambda r: r["audio_status"] == "Uploaded" and (r["phone_number"] or "").startswith("+"),
                    include_deleted=True)
    assert status == 200 and ids_of(body) == wanted and len(wanted) == 2
    status, body = listing(server, space, {"filter[phone_number]": "", "include-deleted": "true"})
    assert ids_of(body) == expect(records, lambda r: r["phone_number"] == "", include_deleted=True)


def null_last(value):
    return (value is None, value or "")


@pytest.mark.parametrize("order_by,key,reverse", [
    ("created", lambda r: r["created"], False),
    ("-created", lambda r: r["created"], True),
    ("phone_number", lambda r: null_last(r["phone_number"]), False),
    ("-is_delete_protected,created", None, None),
    ("audio_status,-phone_number", None, None),
])
def test_pipeliner_list_order_by_with_ties_by_id(server, dataset, order_by, key, reverse):
    space, records = dataset
    status, body = listing(server, space, {"order-by": order_by})
    live = [r for r in records if not r["is_deleted"]]
    if key is None:  # multi-key: sort least significant first (stable), ties by id ascending
        ordered = sorted(live, key=lambda r: r["id"])
        for part in reversed(order_by.split(",")):
            name = part.lstrip("-")
            ordered.sort(key=lambda r: null_last(r[name]) if not isinstance(r[name], bool) else r[name],
                         reverse=part.startswith("-"))
        wanted = [r["id"] for r in ordered]
    else:
        wanted = expect(records, lambda r: True, key=key, reverse=reverse)
    assert status == 200 and ids_of(body) == wanted


def test_pipeliner_list_pages_forward_and_back_with_both_cursors(server, dataset):
    space, records = dataset
    order = {"order-by": "-is_delete_protected,created", "include-deleted": "true"}
    _, everything = listing(server, space, {**order, "first": 100})
    wanted = ids_of(everything)
    assert len(wanted) == 7

    seen, after = [], None
    while True:
        status, body = listing(server, space, {**order, "first": 3, **({"after": after} if after else {})})
        assert status == 200 and body["total_count"] == 7
        assert body["page_info"]["has_previous_page"] is bool(seen)
        seen += ids_of(body)
        first, end = body["data"][0], body["data"][-1]
        assert json.loads(base64.b64decode(body["page_info"]["end_cursor"])) == \
            [end["is_delete_protected"], end["created"], end["id"]]
        assert json.loads(base64.b64decode(body["page_info"]["start_cursor"]))[-1] == first["id"]
        if not body["page_info"]["has_next_page"]:
            break
        after = body["page_info"]["end_cursor"]
    assert seen == wanted

    back, before = [], None
    while True:
        status, body = listing(server, space, {**order, "last": 3, **({"before": before} if before else {})})
        assert status == 200 and body["page_info"]["has_next_page"] is bool(back)
        back = ids_of(body) + back
        if not body["page_info"]["has_previous_page"]:
            break
        before = body["page_info"]["start_cursor"]
    assert back == wanted

    # a window between two cursors, and first + last (the last 2 of the first 4)
    _, page1 = listing(server, space, {**order, "first": 1})
    _, page5 = listing(server, space, {**order, "first": 1, "after": wanted_cursor(server, space, order, 5)})
    status, window = listing(server, space, {**order, "after": page1["page_info"]["end_cursor"],
                                             "before": page5["page_info"]["start_cursor"]})
    assert status == 200 and ids_of(window) == wanted[1:5]
    assert window["page_info"]["has_previous_page"] is True and window["page_info"]["has_next_page"] is True
    status, both = listing(server, space, {**order, "first": 4, "last": 2})
    assert ids_of(both) == wanted[2:4] and both["page_info"]["has_previous_page"] is True


def wanted_cursor(server, space, order, count):
    """The end cursor of the first ``count`` Calls."""
    return listing(server, space, {**order, "first": count})[1]["page_info"]["end_cursor"]


def test_pipeliner_list_empty_pages_say_what_lies_beyond(server, dataset):
    space, _ = dataset
    _, body = listing(server, space, {"first": 100})
    end = body["page_info"]["end_cursor"]
    status, past = listing(server, space, {"after": end})
    assert status == 200 and past["data"] == [] and past["page_info"] == {
        "start_cursor": None, "end_cursor": None, "has_next_page": False, "has_previous_page": True}
    status, none = listing(server, space, {"filter[phone_number]": "nobody"})
    assert status == 200 and none["data"] == [] and none["total_count"] == 0
    assert none["page_info"]["has_next_page"] is False and none["page_info"]["has_previous_page"] is False


def cursor(values) -> str:
    return quote(base64.b64encode(json.dumps(values).encode()).decode())


@pytest.mark.parametrize("query,fragment", [
    ("filter[twilio_call_sid]=CA1", "filter[twilio_call_sid]: Unknown field"),
    ("filter[nope]=1", "filter[nope]: Unknown field"),
    ("filter[phone_number]=1&filter-op[phone_number]=like", "filter-op[phone_number]"),
    ("filter[is_deleted]=yes", "not a boolean"),
    ("filter[is_deleted]=true&filter-op[is_deleted]=contains", "compares text"),
    ("filter[created]=2024&filter-op[created]=between", "two values"),
    ("filter-op[phone_number]=gt", "needs a value"),
    ("filter=phone_number", "deepObject"),
    ("filter[phone_number]=a&filter[phone_number]=b", "more than once"),
    ("order-by=caller", "order-by"),
    ("order-by=created,-created", "more than once"),
    ("after=not-a-cursor", "Not a cursor"),
    ("order-by=created&after=" + quote(base64.b64encode(b'["x"]').decode()), "Not a cursor"),
    ("order-by=is_deleted&after=" + quote(base64.b64encode(b'["x","y"]').decode()), "order-by"),
    ("expand=owner", "expand"),
    ("load-only=nope", "nope is not a field"),
    ("load-only=caller.name", "caller is not expanded"),
    ("first=0", "first"),
    ("last=101", "last"),
    ("filter_op[x]=eq", "Unknown query parameter"),
    # values the field cannot hold, repeats, spellings
    ("filter[id]=notuuid", "filter[id]: 'notuuid' is not a uuid"),
    ("filter[caller_id]=zz&filter-op[caller_id]=gt", "filter[caller_id]: 'zz' is not a uuid"),
    ("filter[id]=zz,yy&filter-op[id]=between", "filter[id]: 'zz' is not a uuid"),
    ("filter[created]=notadate", "filter[created]: 'notadate' is not a date-time"),
    ("filter[created]=2025-13-45T99:99:99", "filter[created]: '2025-13-45T99:99:99' is not a date-time"),
    ("filter[modified]=2025-01-01&filter-op[modified]=lte", "filter[modified]: '2025-01-01' is not a date-time"),
    ("filter[created]=2025-01-01T00:00:00,x&filter-op[created]=between", "filter[created]: 'x' is not a date-time"),
    ("filter[audio_status]=Bogus", "filter[audio_status]: 'Bogus' is not one of: NoRecording"),
    ("filter[audio_status]=Bogus&filter-op[audio_status]=gte", "filter[audio_status]: 'Bogus' is not one of"),
    ("filter[is_deleted]=1&filter-op[is_deleted]=gt", "filter[is_deleted]: '1' is not a boolean"),
    ("filter[phone_number]=%ED%A0%80", "filter[phone_number]: Not UTF-8"),
    ("filter[phone_number]=%FF%FE", "filter[phone_number]: Not UTF-8"),
    ("first=1&first=2", "first: Given more than once"),
    ("include-deleted=true&include-deleted=false", "include-deleted: Given more than once"),
    ("order-by=created&order-by=-created", "order-by: Given more than once"),
    ("expand=caller&expand=client", "expand: Given more than once"),
    ("load-only=id&load-only=caller", "load-only: Given more than once"),
    ("after=WyJub3R1dWlkIl0%3D&after=WyJub3R1dWlkIl0%3D", "after: Given more than once"),
    ("expand=caller,caller", "expand: Given more than once: caller"),
    ("load-only=id,id", "load-only: Given more than once: id"),
    ("order-by=created,created", "order-by: Given more than once: created"),
    ("first=+5", "first: Not a valid integer"),  # "+" is a space in a query string
    ("first=%205", "first: Not a valid integer"),
    ("first=05", "first: Not a valid integer"),
    ("after=WyJub3R1dWlkIl0=", "after: Not a cursor of this order-by: id cannot be 'notuuid'"),
    ("order-by=created&after=" + cursor(["2025-99-99", CALLER]), "after: Not a cursor of this order-by: created"),
    ("order-by=created&after=" + cursor([True, CALLER]), "after: Not a cursor of this order-by: created"),
    ("order-by=audio_status&before=" + cursor(["Bogus", CALLER]), "before: Not a cursor of this order-by"),
    ("order-by=created&after=" + cursor([CALLER]), "after: Not a cursor of this listing"),
    ("after=" + cursor(["2024-03-01T10:00:00", CALLER]), "after: Not a cursor of this listing"),
])
def test_pipeliner_list_bad_input_is_a_400_in_the_vendor_shape(server, dataset, query, fragment):
    space, records = dataset
    status, body = listing(server, space, query)
    assert status == 400, body
    assert (body["success"], body["http_status"], body["code"], body["name"]) == (False, 400, 117,
                                                                                  "ERROR_PARAMETER_INVALID")
    assert fragment in body["message"], body["message"]
    assert stored(server, space) == records  # nothing changed


def test_pipeliner_get_bad_expand_is_a_400(server, dataset):
    space, records = dataset
    status, _, body = server.request("GET", f"{base(space)}/{records[0]['id']}?expand=owner", headers=AUTH)
    assert status == 400 and body["code"] == 117 and "expand" in body["message"]


# --- date-times as instants, cursors of another order, load-only of relations, the Host --------------

@pytest.mark.parametrize("spelling", ["2024-03-03T10:00:00", "2024-03-03T10:00:00Z", "2024-03-03T10:00:00.000",
                                      "2024-03-03t10:00:00z", "2024-03-03T12:30:00+02:30", "2024-03-03T05:00:00-05:00",
                                      "2024-03-03 10:00:00"])
def test_pipeliner_list_date_time_filters_compare_instants(server, dataset, spelling):
    space, records = dataset
    [third] = [r["id"] for r in records if r["created"] == "2024-03-03T10:00:00"]
    status, body = listing(server, space, {"filter[created]": spelling})
    assert status == 200 and ids_of(body) == [third]
    status, body = listing(server, space, {"filter[created]": spelling, "filter-op[created]": "lte"})
    assert status == 200 and ids_of(body) == expect(records, lambda r: r["created"] <= "2024-03-03T10:00:00")
    # a fraction lies between two stored seconds
    status, body = listing(server, space, {"filter[created]": "2024-03-03T10:00:00.5Z", "filter-op[created]": "gt"})
    assert ids_of(body) == expect(records, lambda r: r["created"] > "2024-03-03T10:00:00")
    status, body = listing(server, space, {"filter[created]": "2024-03-03T10:00:00.5", "filter-op[created]": "eq"})
    assert status == 200 and ids_of(body) == []


def test_pipeliner_list_cursor_of_another_order_with_the_same_shape_is_a_position(server, dataset):
    space, records = dataset
    _, by_created = listing(server, space, {"order-by": "created", "first": 2})
    status, body = listing(server, space, {"order-by": "modified", "after": by_created["page_info"]["end_cursor"]})
    assert status == 200  # read as a position in the modified order (the README says so)
    end = json.loads(base64.b64decode(by_created["page_info"]["end_cursor"]))
    assert all((r["modified"], r["id"]) > tuple(end) for r in body["data"])


def test_pipeliner_list_load_only_of_a_free_form_relation_sends_null_for_a_missing_field(server, space):
    server.seed("pipeliner", space, "Client", [{"id": CALLER, "name": "Ada"}])
    create(server, space, [BARE])
    status, body = listing(server, space, {"load-only": "id,caller.name,caller.nonexistent", "expand": "caller"})
    assert status == 200 and body["data"][0]["caller"] == {"name": "Ada", "nonexistent": None}


def test_pipeliner_list_load_only_of_a_relation_with_a_schema_refuses_unknown_fields(tmp_path):
    """A spec that gives the related entity (Client) a schema: its fields are known, others are a 400."""
    import yaml

    from tests.support import REPO
    document = yaml.safe_load((REPO / "specs" / "pipeliner.yaml").read_text())
    document["components"]["schemas"]["Client"] = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}}}
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "pipeliner.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    with LiveServer(data=tmp_path / "data", args=("--specs", str(specs))) as live:
        live.seed("pipeliner", "s1", "Client", [{"id": CALLER, "name": "Ada"}])
        create(live, "s1", [BARE])
        status, body = listing(live, "s1", {"load-only": "id,caller.nonexistent", "expand": "caller"})
        assert status == 400 and body["code"] == 117
        assert "load-only: caller.nonexistent: nonexistent is not a field of Client" in body["message"]
        status, body = listing(live, "s1", {"load-only": "id,caller.name", "expand": "caller"})
        assert status == 200 and body["data"][0]["caller"] == {"name": "Ada"}


def raw_get(server, path: str, host: bytes | None) -> tuple[int, dict]:
    """A GET with exactly this Host header (None: no Host at all), over a plain socket."""
    import socket
    from urllib.parse import urlsplit
    where = urlsplit(server.url)
    lines = [b"GET " + path.encode() + b" HTTP/1.1", AUTH_LINE, b"Connection: close"]
    if host is not None:
        lines.insert(1, b"Host: " + host)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body.strip().startswith(b"{") else {}


AUTH_LINE = b"Authorization: " + AUTH["Authorization"].encode()


@pytest.mark.parametrize("host,expected", [
    (b"calls.example:8443", "http://calls.example:8443"),
    (b"[::1]:9000", "http://[::1]:9000"),
    ("ü.example".encode(), None), (b'a"b', None), (b"evil.com/x?", None), (b"", None), (None, None),
    (b"x:99999", None),
])
def test_pipeliner_relation_uris_use_only_a_valid_host(server, space, host, expected):
    [key] = create(server, space, [BARE])
    status, body = raw_get(server, f"{base(space)}/{key}", host)
    port = server.url.rsplit(":", 1)[1]
    origin = expected or f"http://localhost:{port}"  # the documented fallback
    assert status == 200, body
    assert body["data"]["caller"] == f"{origin}/api/v100/rest/spaces/{space}/entities/Clients/{CALLER}"
    assert stored(server, space)[0]["id"] == key
