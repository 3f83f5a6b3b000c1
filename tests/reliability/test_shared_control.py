"""One server however many workers: fault rules (exact `times`), the journal, the token bucket and their
resets are shared by all worker processes, and a worker killed with SIGKILL loses none of it."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.shipping import wait_until

BATCH = "/vbasoftware/call-trackings-batch"
HEADERS = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "SHARED",
           "User-Agent": "shared-test", "Content-Type": "application/json"}
ADMIN = "/__mockserver"


def call(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, str, object]:
    """One request on a fresh connection (so consecutive calls may reach different workers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers or ({"Content-Type": "application/json"} if body is not None else {}))
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), json.loads(resp.read())
    finally:
        conn.close()


def put(port: int, n: int):
    return call(port, "PUT", BATCH, [{"call_Key": 0, "first_Name": f"n{n}"}], HEADERS)


def full_log(server) -> str:
    return server.log_path.read_text(errors="replace")  # server.log() is only its end


def worker_pids(server) -> list[int]:
    return [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", full_log(server))]


@pytest.fixture
def three_workers(live_server, tmp_path):
    server = live_server("--workers", "3", data=tmp_path / "data")
    wait_until(lambda: len(worker_pids(server)) == 3, 30, "three workers to boot", server.proc)
    return server


def every_worker_answers(server, path: str, want, tries: int = 30) -> None:
    """Ask ``path`` many times at once, round after round, until each of the three workers has answered
    (which one accepts a connection is the kernel's choice); every answer must be ``want``."""
    before = len(full_log(server))

    def all_answered() -> bool:
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: call(server.port, "GET", ADMIN + path), range(tries)))
        assert {(status, ctype) for status, ctype, _ in answers} == {(200, "application/json")}
        assert [body for _, _, body in answers] == [want] * tries
        log = full_log(server)[before:]
        return len(set(re.findall(r"\[(\d+)\] mockserver\.access .*\"GET " + re.escape(ADMIN + path) + "\"", log))) == 3

    wait_until(all_answered, 60, f"each worker to answer GET {path}", server.proc)


def test_three_workers_share_rules_journal_and_resets(three_workers):
    server = three_workers
    status, _, body = call(server.port, "POST", ADMIN + "/faults",
                           {"effect": "request-error", "vendor": "vbasoftware", "status": 503, "times": 5})
    assert status == 201
    rule_id = body["faults"][0]["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: put(server.port, n), range(40)))
    statuses = [status for status, _, _ in answers]
    assert sorted(statuses) == [207] * 35 + [503] * 5  # exactly `times`, across three processes
    assert {ctype for _, ctype, _ in answers} == {"application/json"}
    assert call(server.port, "GET", ADMIN + f"/faults/{rule_id}")[0] == 404  # spent: gone for every worker

    every_worker_answers(server, "/requests/count", {"count": 40})
    status, _, listed = call(server.port, "GET", ADMIN + "/requests")
    assert status == 200 and len(listed["requests"]) == 40
    assert sorted(e["status"] for e in listed["requests"]) == sorted(statuses)
    assert len({e["id"] for e in listed["requests"]}) == 40
    assert sum(1 for e in listed["requests"] if e["faults"] and e["faults"][0]["rule"] == rule_id) == 5

    # Resets are seen by every worker: the journal, the rules, the data.
    call(server.port, "POST", ADMIN + "/faults", {"effect": "request-error", "status": 500})
    assert call(server.port, "DELETE", ADMIN + "/requests")[2] == {"deleted": 40}
    assert call(server.port, "DELETE", ADMIN + "/faults")[2] == {"deleted": 1}
    assert call(server.port, "POST", ADMIN + "/reset")[0] == 200
    every_worker_answers(server, "/requests/count", {"count": 0})
    every_worker_answers(server, "/faults", {"faults": []})
    every_worker_answers(server, "/records/vbasoftware/SHARED/CallTracking",
                         {"vendor": "vbasoftware", "tenant": "SHARED", "entity": "CallTracking", "records": []})


def test_three_workers_share_one_token_bucket(three_workers):
    server = three_workers
    assert call(server.port, "POST", ADMIN + "/faults", {"effect": "rate-limit", "rate": 10, "burst": 10})[0] == 201
    started = time.monotonic()
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda n: put(server.port, n), range(60)))
    elapsed = time.monotonic() - started
    statuses = [status for status, _, _ in answers]
    accepted = statuses.count(207)
    assert set(statuses) <= {207, 429}
    assert 10 <= accepted <= 10 + 10 * elapsed, (accepted, elapsed)
    limited = [(body, ctype) for status, ctype, body in answers if status == 429]
    assert limited and all(ctype == "application/json" for _, ctype in limited)
    assert call(server.port, "GET", ADMIN + "/requests/count?status=429")[2] == {"count": 60 - accepted}


def test_a_worker_killed_loses_no_journal_entry_and_no_rule_use(three_workers):
    server = three_workers
    status, _, body = call(server.port, "POST", ADMIN + "/faults",
                           {"effect": "item-error", "vendor": "vbasoftware", "index": 0, "times": 1000})
    rule_id = body["faults"][0]["id"]
    victim = worker_pids(server)[0]

    def send(n: int):
        if n == 30:
            os.kill(victim, signal.SIGKILL)
        try:
            return put(server.port, n)
        except (OSError, http.client.HTTPException):
            return None  # in flight on the killed worker: never answered

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(90)))
    answered = [body for body in answers if body is not None]
    assert len(answered) >= 80
    assert all(status == 207 and body["data"][0]["status"] == 500 for status, _, body in answered)
    status, _, listed = call(server.port, "GET", ADMIN + "/requests")
    journaled = {e["id"] for e in listed["requests"]}
    assert {body["debug"]["activityID"] for _, _, body in answered} <= journaled  # every answered request
    assert all(e["faults"][0]["rule"] == rule_id for e in listed["requests"])
    uses = call(server.port, "GET", ADMIN + f"/faults/{rule_id}")[2]["uses"]
    # Every journaled use was counted; beyond those, at most one per request left unanswered.
    assert len(journaled) <= uses <= len(journaled) + (len(answers) - len(answered))
    wait_until(lambda: len(worker_pids(server)) == 4, 30, "gunicorn to boot a new worker", server.proc)
