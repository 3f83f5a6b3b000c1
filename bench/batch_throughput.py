"""Benchmark: VBA batch throughput, latency and server memory on a real server (127.0.0.1 only).

Starts `python -m mockserver serve` on a free port with a temp data dir (mockserver.testing.MockServer),
sends ``--batches`` batches of ``--items`` CallTracking items from ``--threads`` client threads (half the
items create, half update records of earlier batches), and prints one JSON object: items/s, batch
latency percentiles, the server's resident memory before and after (all its processes), the data
file's size and how many records were stored. Bounded by count; it stops the server itself.

    python bench/batch_throughput.py --batches 200 --items 100 --threads 4
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from mockserver.store import Store  # noqa: E402
from mockserver.testing import MockServer  # noqa: E402

TENANT = "BENCH_DB"
HEADERS = {"x-api-key": "bench", "Authorization": "Bearer bench", "vbasoftware-database": TENANT,
           "Content-Type": "application/json", "User-Agent": "mockserver-bench"}


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (gunicorn master + workers), in KiB."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                    text=True).stdout.split()]
    total = 0
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def batch(index: int, items: int) -> list[dict]:
    """Half new records (key 0), half updates of keys earlier batches created."""
    body = []
    for i in range(items):
        key = 0 if i % 2 == 0 or index == 0 else 1 + (index * items + i) % max(1, index * items // 2)
        body.append({"call_Key": key, "first_Name": f"B{index}-{i}", "call_Type": "Bench",
                     "call_Start": "2026-01-01T10:00:00"})
    return body


def put(url: str, body: list[dict]) -> float:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="PUT", headers=HEADERS)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        assert response.status == 207, response.status
    return time.perf_counter() - started


def run(batches: int, items: int, threads: int, workers: int) -> dict:
    with MockServer(args=["--workers", str(workers)], env={"MOCKSERVER_ACCESS_LOG": "false",
                                                          "MOCKSERVER_LOG_LEVEL": "WARNING"}) as server:
        url = server.url + "/vbasoftware/call-trackings-batch"
        rss_before = rss_kib(server.proc.pid)
        latencies: list[float] = []
        lock = threading.Lock()
        counter = iter(range(batches))

        def client() -> None:
            for index in counter:
                took = put(url, batch(index, items))
                with lock:
                    latencies.append(took)

        started = time.perf_counter()
        pool = [threading.Thread(target=client) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
        rss_after = rss_kib(server.proc.pid)
        store = Store(server.data)
        with store.transaction("vbasoftware", TENANT, write=False) as tx:
            stored = len(tx.records("CallTracking"))
        data_file = store.path_for("vbasoftware", TENANT)
        latencies.sort()
        return {
            "batches": batches, "items_per_batch": items, "threads": threads, "workers": workers,
            "seconds": round(elapsed, 3),
            "items_per_second": round(batches * items / elapsed, 1),
            "batch_ms": {"p50": round(statistics.median(latencies) * 1000, 1),
                         "p95": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
                         "max": round(latencies[-1] * 1000, 1)},
            "server_rss_kib": {"before": rss_before, "after": rss_after},
            "records_stored": stored,
            "data_file_bytes": data_file.stat().st_size,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.batches, args.items, args.threads, args.workers), indent=2))


if __name__ == "__main__":
    main()
