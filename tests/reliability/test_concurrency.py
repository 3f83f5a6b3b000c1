"""Several server processes on ONE data dir, many clients each: no duplicate key, no lost update, and
each process sees the others' writes before its next request.

Two layouts: four separate `mockserver serve` processes (different ports, the same --data), and one
server with --workers 4 (the kernel spreads the connections over its workers). 8 client threads per
process, a bounded number of batches each. Every batch mixes
- creates with call_Key 0: the keys handed out, over all processes, must all differ;
- an update of a record the client created before (only that client writes it): the final value is the
  client's last acknowledged one;
- an update of a shared record (every client writes them, through every process): the final value must
  be one a linearizable register can end with, i.e. the value of a write that no other acknowledged
  write of that record started after (a stale read-modify-write of the file would bring back an older
  value);
and after each acknowledged batch the client reads what it just wrote through ANOTHER process.
"""
from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.reliability.storm import entry_key, get_call, put_batch, stored_tags
from tests.shipping import wait_until
from tests.support import LiveServer

TENANT = "CONCURRENT"
PROCESSES = 4
CLIENTS_PER_PROCESS = 8
BATCHES = 6  # per client
SHARED = 6  # shared records
SEED = 4242


@dataclass
class SharedWrite:
    key: int
    tag: str
    sent: float  # time.monotonic() before the request
    acked: float  # after the answer


def linearizable_final(writes: list[SharedWrite], final: str | None) -> bool:
    """Can a register that took these acknowledged writes end with ``final``? Only if ``final`` is the
    value of some write w such that no other write started after w was acknowledged."""
    for w in writes:
        if w.tag == final and not any(o is not w and o.sent > w.acked for o in writes):
            return True
    return False


def start_layout(layout: str, data) -> tuple[list[LiveServer], list[int]]:
    """The servers, and the port each of the PROCESSES "processes" is reached on."""
    if layout == "4 processes":
        servers = [LiveServer(data=data) for _ in range(PROCESSES)]
        with ThreadPoolExecutor(PROCESSES) as pool:
            list(pool.map(lambda s: s.start(), servers))
        return servers, [s.port for s in servers]
    server = LiveServer(data=data, args=("--workers", str(PROCESSES)))
    server.start()
    wait_until(lambda: server.log().count("Booting worker") == PROCESSES, 30, "every worker to boot", server.proc)
    return [server], [server.port] * PROCESSES


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["4 processes", "4 workers"])
def test_processes_on_one_data_dir_lose_no_update_and_share_no_key(layout, tmp_path):
    servers, ports = start_layout(layout, tmp_path / "data")
    problems: list[str] = []
    lock = threading.Lock()
    try:
        status, body = put_batch(ports[0], TENANT, [{"call_Key": 0, "first_Name": f"shared{i}-init"}
                                                    for i in range(SHARED)])
        assert status == 207 and {e["status"] for e in body["data"]} == {201}, body
        shared = [entry_key(e) for e in body["data"]]
        shared_writes = {k: [SharedWrite(k, f"shared{i}-init", 0.0, time.monotonic())]
                         for i, k in enumerate(shared)}
        created: list[tuple[int, str]] = []  # (key, client) of every acknowledged create
        private_last: dict[int, str] = {}  # key -> last acknowledged value (its creator is its only writer)
        clients = PROCESSES * CLIENTS_PER_PROCESS
        seeds = [random.Random(SEED).randrange(2**32) + n for n in range(clients)]
        barrier = threading.Barrier(clients, timeout=30)

        def client(n: int) -> None:
            rng = random.Random(seeds[n])
            proc = n // CLIENTS_PER_PROCESS
            write_port = ports[proc]
            read_port = ports[(proc + 1 + n % (PROCESSES - 1)) % PROCESSES]  # always another process
            mine: dict[int, str] = {}
            barrier.wait()
            for b in range(BATCHES):
                creates = [{"call_Key": 0, "first_Name": f"c{n}b{b}i{i}"} for i in range(2)]
                own = rng.choice(sorted(mine)) if mine else None
                updates = [{"call_Key": own, "first_Name": f"u{n}b{b}"}] if own is not None else []
                target = rng.choice(shared)
                shared_item = {"call_Key": target, "first_Name": f"s{n}b{b}"}
                items = creates + updates + [shared_item]
                rng.shuffle(items)
                sent = time.monotonic()
                status, body = put_batch(write_port, TENANT, items, timeout=60)
                acked = time.monotonic()
                if status != 207 or not isinstance(body, dict) or len(body.get("data") or []) != len(items):
                    with lock:
                        problems.append(f"client {n} batch {b}: {status} {str(body)[:300]}")
                    return
                wrote: dict[int, str] = {}
                for item, entry in zip(items, body["data"]):
                    key, want = entry_key(entry), 201 if item["call_Key"] == 0 else 200
                    if entry["status"] != want:
                        with lock:
                            problems.append(f"client {n} batch {b} key {key} ({item['first_Name']}): item "
                                            f"status {entry['status']} {entry.get('body')!r}, expected {want}")
                    if item["call_Key"] == 0:
                        mine[key] = item["first_Name"]
                        wrote[key] = item["first_Name"]
                        with lock:
                            created.append((key, item["first_Name"]))
                    elif item is shared_item:
                        with lock:
                            shared_writes[target].append(SharedWrite(target, item["first_Name"], sent, acked))
                    else:
                        mine[key] = wrote[key] = item["first_Name"]
                # Read my writes through another process, right away.
                for key, tag in sorted(wrote.items()):
                    status, got = get_call(read_port, TENANT, key, timeout=60)
                    value = (got.get("data") or {}).get("first_Name") if isinstance(got, dict) else got
                    if status != 200 or value != tag:
                        with lock:
                            problems.append(f"client {n}: wrote {key}={tag!r} via port {write_port}, read via "
                                            f"port {read_port}: {status} {value!r}")
            with lock:
                private_last.update(mine)

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
        elapsed = time.monotonic() - started
        assert not problems, "\n".join(problems[:30])

        keys = [k for k, _ in created]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        assert not duplicates, f"keys handed out twice: {duplicates} ({sorted(created)})"
        assert not set(keys) & set(shared), "a create got the key of a shared record"
        assert len(keys) == clients * BATCHES * 2

        views = {port: stored_tags(port, TENANT) for port in sorted(set(ports))}
        for port, view in views.items():
            assert view == views[ports[0]], f"process on port {port} sees another state than port {ports[0]}"
        final = views[ports[0]]
        assert sorted(final) == sorted(set(keys) | set(shared))
        lost = {k: (v, final.get(k)) for k, v in private_last.items() if final.get(k) != v}
        assert not lost, f"lost updates (key: acknowledged, stored): {lost}"
        for key, writes in shared_writes.items():
            assert linearizable_final(writes, final[key]), (
                f"shared record {key} ends with {final[key]!r}, which no acknowledged write order allows: "
                f"{sorted((w.sent, w.acked, w.tag) for w in writes)}")
        print(f"{layout}: {clients} clients x {BATCHES} batches in {elapsed:.1f}s")
    finally:
        for server in servers:
            server.stop()
