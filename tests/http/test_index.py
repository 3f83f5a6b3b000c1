"""A person who lands on the mock: `GET /` and `GET /__mockserver` say what is served; a path nothing
serves is an RFC 7807 404 naming the served base paths and where the specs are (not werkzeug's text)."""
from __future__ import annotations

import pytest

SERVED = {"admin": "/__mockserver", "pipeliner": "/api/v100/rest/spaces/{space_id}", "vbasoftware": "/vbasoftware",
          "vcclive": "/v2"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support import LiveServer

    live = LiveServer(data=tmp_path_factory.mktemp("index") / "data").start()
    yield live
    live.stop()


@pytest.mark.parametrize("path", ["/", "/__mockserver", "/__mockserver/"])
def test_index_names_every_served_spec(server, path):
    status, headers, body = server.request("GET", path)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["service"] == "mockserver" and body["specs"] == "/__mockserver/specs"
    assert {e["name"]: e["base_path"] for e in body["served"]} == SERVED
    assert all(e["spec"] == "/__mockserver/specs/" + e["name"] for e in body["served"])
    assert {e["name"]: e["operations"] for e in body["served"]}["vbasoftware"] == 6
    assert body["health"] == "/__mockserver/health"


@pytest.mark.parametrize("method, path", [("GET", "/nothing-here"), ("GET", "/vbasoftware/nope"),
                                          ("PUT", "/v2/projects/1/nothing"), ("GET", "/__mockserver/nope")])
def test_unknown_path_is_a_problem_naming_the_served_base_paths(server, method, path):
    status, headers, body = server.request(method, path, body=[{"call_Key": 0}] if method == "PUT" else None)
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    assert body["title"] == "Not Found" and body["status"] == 404 and body["instance"] == path
    assert body["detail"] == (f"Nothing is served at {path}. Served base paths: /__mockserver (admin), "
                              "/api/v100/rest/spaces/{space_id} (pipeliner), /vbasoftware (vbasoftware), "
                              "/v2 (vcclive); the specs are listed at /__mockserver/specs.")
    assert "requested URL was not found" not in body["detail"]
    assert {e["name"]: e["base_path"] for e in body["served"]} == SERVED and body["specs"] == "/__mockserver/specs"
    assert all(not tenants for tenants in server.snapshot()["vendors"].values())  # nothing stored
    assert server.request_count() == 0  # and not journaled as a vendor request


def test_the_specs_the_problem_points_at_are_there(server):
    status, _, body = server.request("GET", "/__mockserver/specs")
    assert status == 200 and sorted(body["specs"]) == sorted(SERVED)
