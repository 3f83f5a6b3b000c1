"""mockserver.testing: MockServer as a context manager (code that does not use pytest), and its client."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mockserver.testing import MockServer, MockServerError

VBA = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "DEMO"}


def test_testing_context_manager_starts_a_server_and_cleans_up():
    with MockServer() as server:
        assert server.request("GET", "/__mockserver/health")[0] == 200
        assert server.seed("pipeliner", "T", "Account", [{"id": "a"}]) == [{"id": "a"}]
        rule = server.fault(effect="delay", delay_ms=1, times=1)
        assert server.faults() == [rule]
        assert len(server.limits("vbasoftware")) == 2
        snapshot = server.snapshot()
        server.reset()
        assert server.faults() == [] and server.records("pipeliner", "T", "Account") == []
        assert server.restore(snapshot) == 1 and server.records("pipeliner", "T", "Account") == [{"id": "a"}]
        with pytest.raises(MockServerError, match="404"):
            server.seed("nope", "T", "Account", [])
        data = server.data
    assert server.proc.returncode is not None and not data.exists()


def test_testing_journal_filter_since_takes_a_datetime(mockserver):
    """`since` as a test naturally holds it (an aware or naive datetime), not only as RFC 3339 text."""
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    status, _, _ = mockserver.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 1}], VBA)
    assert status == 207
    assert [r["status"] for r in mockserver.requests(since=started)] == [207]
    assert mockserver.request_count(since=started.astimezone().replace(tzinfo=None)) == 1  # naive: local time
    assert mockserver.request_count(since=datetime.now(timezone.utc) + timedelta(minutes=1)) == 0
