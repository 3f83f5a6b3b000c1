"""A method a vendor path does not serve: 405 with ``Allow``, in that vendor's error shape (the control
plane answers RFC 7807), through a real server; nothing is stored."""
from __future__ import annotations

import pytest

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
