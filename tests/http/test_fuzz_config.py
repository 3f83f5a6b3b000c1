"""GET /__mockserver/specs/<name>/schemathesis.toml through a real server."""
from __future__ import annotations

import tomllib


def test_fuzz_config_is_served_per_spec(live_server):
    server = live_server()
    status, headers, body = server.request("GET", "/__mockserver/specs/vcclive/schemathesis.toml")
    assert status == 200 and headers["Content-Type"].startswith("application/toml")
    config = tomllib.loads(body)
    assert config["hooks"] == "mockserver.schemathesis_hooks"
    assert [e["include-operation-id"] for e in config["operations"]] == [
        "BatchRecordModification", "BatchDispositionModification", "AddRecord", "AddField"]
    assert config["operations"][0]["checks"]["negative_data_rejection"]["expected-statuses"] == [
        "200", "400", "401", "415"]

    status, headers, body = server.request("GET", "/__mockserver/specs/nope/schemathesis.toml")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    assert body["detail"] == "No spec named 'nope'; loaded: admin, pipeliner, vbasoftware, vcclive."
    assert server.request_count() == 0 and all(not t for t in server.snapshot()["vendors"].values())
