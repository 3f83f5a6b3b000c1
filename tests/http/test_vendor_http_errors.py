"""HTTP-level refusals on a vendor path, in that vendor's error shape (the control plane answers RFC
7807), through a real server; nothing is stored: a method the path does not serve (405 with ``Allow``),
header fields past the limits (431, which gunicorn used to answer with its own HTML page), a body past
the size limit (413)."""
from __future__ import annotations

import http.client
import json

import pytest

from mockserver.app import MAX_BODY_BYTES
from mockserver.request_limits import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS
from tests.support import LiveServer, basic

VBA = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "DEMO"}
VCC = {"Authorization": basic("mycc", "token")}
PIPELINER = {"Authorization": basic("api-token", "api-password")}
CALLS = "/api/v100/rest/spaces/s405/entities/Calls"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LiveServer(data=tmp_path_factory.mktemp("405-data")) as live:
        yield live


def vba_status(body):
    return body["data"] is None and body["error"]["status"]


def vcc_status(body):
    return body["response"] is None and body["errors"][0]["errorcode"]


def pipeliner_status(body):
    return body["success"] is False and body["name"] == "ERROR_METHOD_NOT_ALLOWED" and body["http_status"]


@pytest.mark.parametrize("method,path,headers,allowed,status_of,stored", [
    *[(m, CALLS, PIPELINER, {"GET"}, pipeliner_status, ("pipeliner", "s405", "Call")) for m in ("POST", "PUT", "DELETE", "PATCH")],
    ("GET", f"{CALLS}/batch-modify", PIPELINER, {"POST"}, pipeliner_status, ("pipeliner", "s405", "Call")),
    ("DELETE", "/vbasoftware/call-trackings-batch", VBA, {"PUT"}, vba_status, ("vbasoftware", "DEMO", "CallTracking")),
    ("POST", "/vbasoftware/call-trackings/1", VBA, {"GET"}, vba_status, ("vbasoftware", "DEMO", "CallTracking")),
    ("DELETE", "/v2/projects/22/records", VCC, {"PUT", "POST"}, vcc_status, ("vcclive", "mycc", "records:22")),
    ("GET", "/v2/projects/22/records/dispositions", VCC, {"PUT"}, vcc_status, ("vcclive", "mycc", "records:22")),
])
def test_vendor_unknown_method_is_a_405_in_the_vendor_shape(server, method, path, headers, allowed, status_of, stored):
    status, answer_headers, body = server.request(method, path, {} if method != "GET" else None, headers)
    assert status == 405 and answer_headers["Content-Type"] == "application/json"
    assert status_of(body) == 405, body
    assert allowed <= {m.strip() for m in answer_headers["Allow"].split(",")}
    assert method not in answer_headers["Allow"]
    assert server.records(*stored) == []  # nothing stored


def test_control_plane_unknown_method_stays_rfc_7807(server):
    status, headers, body = server.request("PUT", "/__mockserver/health")
    assert status == 405 and headers["Content-Type"] == "application/problem+json"
    assert body["status"] == 405 and "GET" in headers["Allow"]


def pipeliner_error(status):
    return lambda body: body["success"] is False and body["http_status"] == status and body["code"]


def vba_error(status):
    return lambda body: body["data"] is None and body["error"]["status"] == status


def vcc_error(status):
    return lambda body: body["response"] is None and body["errors"][0]["errorcode"] == status


BATCHES = [  # (method, path, credentials, body, shape check of a status, what the batch would store)
    ("POST", f"{CALLS}/batch-modify", PIPELINER, [{"caller_id": "00000000-0000-0000-0000-000000000001"}],
     pipeliner_error, ("pipeliner", "s405", "Call")),
    ("PUT", "/vbasoftware/call-trackings-batch", VBA, [{"call_Key": 0}], vba_error, ("vbasoftware", "DEMO", "CallTracking")),
    ("POST", "/v2/projects/22/records", VCC, {"records": [{"phone": "+3612345678"}]}, vcc_error,
     ("vcclive", "mycc", "records:22")),
]
TOO_BIG = {"one field": {"X-Big": "x" * MAX_HEADER_FIELD_BYTES},
           "too many fields": {f"X-F{i}": "v" for i in range(MAX_HEADER_FIELDS)}}


@pytest.mark.parametrize("too_big", sorted(TOO_BIG))
@pytest.mark.parametrize("method,path,headers,body,shape,stored", BATCHES)
def test_vendor_header_fields_past_the_limits_are_a_431_in_the_vendor_shape(server, method, path, headers, body,
                                                                             shape, stored, too_big):
    status, answer_headers, answer = server.request(method, path, body, {**headers, **TOO_BIG[too_big]})
    assert status == 431 and answer_headers["Content-Type"] == "application/json", answer
    assert shape(431)(answer), answer
    assert "at most" in str(answer)
    assert server.records(*stored) == []  # nothing stored


def test_vendor_header_field_at_the_limit_is_served(server):
    name = "X-Big"
    at_limit = {name: "x" * (MAX_HEADER_FIELD_BYTES - len(name) - 2)}
    status, _, body = server.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 0}],
                                     {**VBA, "vbasoftware-database": "LIMIT", **at_limit})
    assert status == 207 and body["data"][0]["status"] == 201
    server.admin("POST", "/reset", vendor="vbasoftware", tenant="LIMIT")


def test_control_plane_header_fields_past_the_limits_are_a_431_rfc_7807(server):
    status, headers, body = server.request("GET", "/__mockserver/health", None, TOO_BIG["one field"])
    assert status == 431 and headers["Content-Type"] == "application/problem+json"
    assert body["status"] == 431 and body["title"] == "Request Header Fields Too Large" and "X-Big" in body["detail"]


@pytest.mark.parametrize("method,path,headers,body,shape,stored", BATCHES)
def test_vendor_body_past_the_size_limit_is_a_413_in_the_vendor_shape(server, method, path, headers, body, shape, stored):
    """A client announcing a body past the limit is answered before it sends it (as a server must, or
    the client would push 32 MiB first)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path)
        for name, value in {**headers, "Content-Type": "application/json",
                            "Content-Length": str(MAX_BODY_BYTES + 1)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(b"[")
        answer = conn.getresponse()
        status, content_type, parsed = answer.status, answer.getheader("Content-Type"), json.loads(answer.read())
    finally:
        conn.close()
    assert status == 413 and content_type == "application/json", parsed
    assert shape(413)(parsed), parsed
    assert server.records(*stored) == []
