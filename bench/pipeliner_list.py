"""Pipeliner Calls.list on a space of 100k Calls: filters, order-by and cursors answered from the indexes.

Builds the space straight into a temp data dir (the store, as a batch would write it), serves it with
the app in-process (Flask's test client: the whole request path but the socket) and prints the median
of each query's latency, the first request of each query (which builds the indexes it needs) apart.
A measurement, not a test: it exits 0 whatever the figures are.

    python bench/pipeliner_list.py [--calls 100000] [--reps 15]
"""
from __future__ import annotations

import argparse
import base64
import random
import statistics
import tempfile
import time
import uuid

from mockserver import create_app

SPACE = "bench_space"
BASE = f"/api/v100/rest/spaces/{SPACE}/entities/Calls"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()}
AUDIO = ["NoRecording", "Uploaded", "Uploading", "TranscriptionCompleted", "TranscriptionError"]


def fill(store, count: int) -> str:
    """``count`` Calls with realistic spreads; returns one caller id that 10 Calls share."""
    rng = random.Random(7)
    callers = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(count // 10)]
    with store.transaction("pipeliner", SPACE) as tx:
        calls = tx.records("Call")
        for n in range(count):
            key = str(uuid.UUID(int=rng.getrandbits(128)))
            stamp = f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}"
            calls.put(key, {
                "id": key, "account_id": None, "caller_id": callers[n % len(callers)], "client_id": None,
                "contact_id": None, "lead_oppty_id": None, "oppty_product_relation_id": None,
                "oppty_product_relation": None, "phone_number": f"+1 555 {rng.randrange(10**7):07d}",
                "product_id": None, "twilio_call_log_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "transcription_id": None, "transcription_language": None, "transcription_summary": None,
                "audio_status": AUDIO[n % len(AUDIO)], "created": stamp, "modified": stamp,
                "is_deleted": n % 50 == 0, "is_delete_protected": n % 3 == 0})
    return callers[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        app = create_app({"data": data})
        client = app.test_client()
        started = time.perf_counter()
        caller = fill(app.extensions["mockserver"].store, args.calls)
        print(f"filled {args.calls} Calls in {time.perf_counter() - started:.1f} s")
        deep = client.get(f"{BASE}?first=100&order-by=created", headers=AUTH).get_json()["page_info"]["end_cursor"]
        queries = {
            "unfiltered (first 30, by id)": "",
            "order-by=-created": "order-by=-created",
            "order-by=created, a later page (after)": f"order-by=created&after={deep}",
            "filter eq caller_id (10 Calls)": f"filter[caller_id]={caller}",
            "filter eq audio_status (20k Calls)": "filter[audio_status]=Uploaded",
            "filter contains phone_number": "filter[phone_number]=555 12&filter-op[phone_number]=contains",
            "filter gte created + order-by created": "filter[created]=2024-06-01T00:00:00&filter-op[created]=gte"
                                                       "&order-by=created",
            "order-by=is_delete_protected,-created (2 values first)": "order-by=is_delete_protected,-created",
            "order-by=audio_status,is_deleted,phone_number": "order-by=audio_status,is_deleted,phone_number",
            "last=30 (backwards from the end)": "last=30",
            "expand=caller,load-only=id,caller": "expand=caller&load-only=id,caller",
        }
        print(f"\n| query ({args.calls} Calls) | first request (builds its indexes) | median of {args.reps} |")
        print("|---|---|---|")
        for name, query in queries.items():
            timings = []
            for _ in range(args.reps + 1):
                t0 = time.perf_counter()
                resp = client.get(f"{BASE}?{query}", headers=AUTH)
                timings.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, resp.get_data(as_text=True)
            print(f"| {name} | {timings[0]:.1f} ms | {statistics.median(timings[1:]):.1f} ms |")


if __name__ == "__main__":
    main()
