"""A downstream team's test: their sync code re-sends the items VBA reports failed."""
import json
import urllib.request

VBA = {"x-api-key": "dev-key", "Authorization": "Bearer dev-token", "vbasoftware-database": "DEMO",
       "User-Agent": "crm-sync/1.0", "Content-Type": "application/json"}


def push_calls(base_url, calls, attempts=3):
    """The code under test: PUT the batch, then re-send only the failed items, at most `attempts` times."""
    pending = calls
    for _ in range(attempts):
        request = urllib.request.Request(base_url + "/vbasoftware/call-trackings-batch", method="PUT",
                                         data=json.dumps(pending).encode(), headers=VBA)
        with urllib.request.urlopen(request) as response:
            results = json.load(response)["data"]
        pending = [call for call, result in zip(pending, results) if result["status"] >= 400]
        if not pending:
            return True
    return False


def test_push_calls_retries_the_item_that_failed(mockserver):
    mockserver.seed("vbasoftware", "DEMO", "CallTracking", [{"call_Key": 1, "first_Name": "Old"}])
    mockserver.fault(effect="item-error", vendor="vbasoftware", index=1, times=1)  # item 1 fails once

    assert push_calls(mockserver.url, [{"call_Key": 1, "first_Name": "Ada"}, {"call_Key": 2, "first_Name": "Bob"}])

    sent = mockserver.requests(operation="CreateOrUpdateBatchCallTracking")
    assert [len(r["body"]) for r in sent] == [2, 1]  # the retry re-sent only the failed item
    assert sent[0]["faults"][0]["effect"] == "item-error"
    mockserver.assert_requested(2, method="PUT", body=[{"call_Key": 2}])  # Bob: first try and retry
    mockserver.assert_requested(1, method="PUT", body=[{"call_Key": 1}])  # Ada: once
    stored = mockserver.records("vbasoftware", "DEMO", "CallTracking")
    assert [(r["call_Key"], r["first_Name"]) for r in stored] == [(1, "Ada"), (2, "Bob")]


def test_push_calls_gives_up_after_three_failures(mockserver):
    mockserver.fault(effect="item-error", index=0, times=3)

    assert not push_calls(mockserver.url, [{"call_Key": 7}])

    mockserver.assert_requested(3, status=207, header="User-Agent:crm-sync/1.0")
    assert mockserver.records("vbasoftware", "DEMO", "CallTracking") == []
