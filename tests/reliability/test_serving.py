"""A real `mockserver serve` (gunicorn) under load and under SIGTERM: several worker processes on one
data dir lose no update; SIGTERM lets the batch in flight finish and leaves no half-written file."""
from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mockserver.serving import GRACEFUL_TIMEOUT_S
from mockserver.store import Store
from tests.shipping import wait_until

TENANT = "LOAD"
BATCH = "/vbasoftware/call-trackings-batch"
HEADERS = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": TENANT,
           "Content-Type": "application/json"}


def items(count: int, tag: str) -> list[dict]:
    """Items with key 0: the store assigns each a new key, so a lost update shows as a missing record."""
    return [{"call_Key": 0, "first_Name": f"{tag}-{i}"[:64]} for i in range(count)]


def stored_calls(data_dir) -> list[dict]:
    with Store(data_dir).transaction("vbasoftware", TENANT, write=False) as tx:
        return tx.records("CallTracking").all()


def put_batch(url_port: int, body: list[dict], timeout: float = 60) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=timeout)
    try:
        conn.request("PUT", BATCH, body=json.dumps(body), headers=HEADERS)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), json.loads(resp.read())
    finally:
        conn.close()


def test_serving_two_workers_lose_no_concurrent_update(live_server, tmp_path):
    server = live_server("--workers", "2", data=tmp_path / "data")
    wait_until(lambda: server.log().count("Booting worker") == 2, 20, "both workers to boot", server.proc)
    threads, batches, per_batch = 4, 8, 5

    def client(n: int) -> list[int]:
        statuses = []
        for b in range(batches):
            status, ctype, body = put_batch(server.port, items(per_batch, f"t{n}b{b}"))
            assert ctype == "application/json"
            statuses += [status] + [entry["status"] for entry in body["data"]]
        return statuses

    with ThreadPoolExecutor(threads) as pool:
        results = [s for statuses in pool.map(client, range(threads)) for s in statuses]
    assert set(results) == {207, 201}
    calls = stored_calls(server.data)
    total = threads * batches * per_batch
    assert len(calls) == total
    assert sorted(c["call_Key"] for c in calls) == list(range(1, total + 1))
    assert len({c["first_Name"] for c in calls}) == total
    server.stop()
    served_by = set(re.findall(r"\[(\d+)\] mockserver\.access .*\"PUT " + BATCH, server.log()))
    assert len(served_by) == 2, f"both worker processes should have served batches: {served_by}"


def test_serving_sigterm_lets_the_batch_in_flight_finish(live_server, tmp_path):
    server = live_server(data=tmp_path / "data")
    count = 3000
    store_file = Store(server.data).path_for("vbasoftware", TENANT)
    lock_file = store_file.with_name(store_file.name + ".lock")
    outcome: dict = {}

    def send() -> None:
        try:
            outcome["response"] = put_batch(server.port, items(count, "big"))
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    deadline, in_flight = time.monotonic() + 20, False
    while time.monotonic() < deadline and sender.is_alive():
        if lock_file.exists() and not store_file.exists():  # the batch's transaction is open
            in_flight = True
            break
        time.sleep(0.001)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(GRACEFUL_TIMEOUT_S + 5) == 0, server.log()
    stopped_in = time.monotonic() - started
    sender.join(30)

    assert in_flight, "the batch was never seen in flight: make it larger"
    assert "response" in outcome, f"the batch in flight at SIGTERM was cut off: {outcome.get('error')!r}"
    status, ctype, body = outcome["response"]
    assert (status, ctype) == (207, "application/json")
    assert len(body["data"]) == count and {e["status"] for e in body["data"]} == {201}
    assert stopped_in < GRACEFUL_TIMEOUT_S
    assert len(json.loads(store_file.read_text())["CallTracking"]) == count  # valid JSON, all of it
    assert len(stored_calls(server.data)) == count


def test_serving_a_long_query_string_reaches_the_app(live_server, tmp_path):
    """gunicorn's default request-line limit (4094 bytes) answered its own HTML 414, a status no spec
    documents (schemathesis ST103 on the journal's filters); the app answers any URL a client sends."""
    server = live_server(data=tmp_path / "data")
    tenant = "t" * 20_000
    status, headers, body = server.request("GET", f"/__mockserver/requests/count?tenant={tenant}")
    assert status == 200 and headers["Content-Type"] == "application/json" and body == {"count": 0}
    status, headers, body = server.request("GET", f"/__mockserver/requests?status={'9' * 20_000}")
    assert status == 400 and headers["Content-Type"] == "application/problem+json" and "status" in body["detail"]


def _serve(*args: str, cwd) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--data", str(cwd / "data"), *args],
                            cwd=cwd, capture_output=True, text=True, timeout=30)
    return result, time.monotonic() - started


def test_serving_busy_port_fails_at_once_naming_the_address(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result, elapsed = _serve("--port", str(port), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"mockserver: 127.0.0.1:{port} is already in use."
    # gunicorn alone retries for ~6 s; the check before it answers in about the interpreter's start-up
    assert elapsed < 3, elapsed
    assert not (tmp_path / "data").exists()  # nothing was started


def test_serving_unknown_host_fails_naming_the_cause(tmp_path):
    result, _ = _serve("--host", "no-such-host.invalid", "--port", "8080", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("mockserver: cannot listen on no-such-host.invalid:8080: the host does not resolve")
    assert result.stderr.strip().endswith(").") and ".." not in result.stderr
