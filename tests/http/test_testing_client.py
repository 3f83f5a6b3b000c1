"""mockserver.testing.MockServer as a context manager (code that does not use pytest)."""
from __future__ import annotations

import pytest

from mockserver.testing import MockServer, MockServerError


def test_testing_context_manager_starts_a_server_and_cleans_up():
    with MockServer() as server:
        assert server.request("GET", "/__mockserver/health")[0] == 200
        assert server.seed("vbasoftware", "T", "Account", [{"id": "a"}]) == [{"id": "a"}]
        rule = server.fault(effect="delay", delay_ms=1, times=1)
        assert server.faults() == [rule]
        assert len(server.limits("vbasoftware")) == 2
        snapshot = server.snapshot()
        server.reset()
        assert server.faults() == [] and server.records("vbasoftware", "T", "Account") == []
        assert server.restore(snapshot) == 1 and server.records("vbasoftware", "T", "Account") == [{"id": "a"}]
        with pytest.raises(MockServerError, match="404"):
            server.seed("nope", "T", "Account", [])
        data = server.data
    assert server.proc.returncode is not None and not data.exists()
