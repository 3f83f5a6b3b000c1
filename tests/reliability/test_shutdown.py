"""SIGTERM (a graceful stop) in the middle of a batch storm: the server exits 0 and each tenant's
``.json`` file, opened with plain ``tinydb.TinyDB`` and nothing else, holds every acknowledged record
with its acknowledged value. Whatever else the store keeps beside the file (a journal), a stopped
server's data is the TinyDB file a user opens."""
from __future__ import annotations

import random
import threading
import time

import pytest

from mockserver.serving import GRACEFUL_TIMEOUT_S
from tests.reliability.storm import (ENTITY, TRANSPORT_ERRORS, Model, Write, corrupt_files, put_batch,
                                     read_tenant_file, stored_tags)
from tests.shipping import wait_until
from tests.support import LiveServer

TENANTS = ("STOP_A", "STOP_B")
CLIENTS = 4
MAX_BATCHES = 200  # per client: a bound; SIGTERM comes first
SEED = 1717


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_during_a_storm_leaves_every_acknowledged_record_in_the_tinydb_file(workers, tmp_path):
    server = LiveServer(data=tmp_path / "data", args=("--workers", str(workers)))
    server.start()
    try:
        wait_until(lambda: server.log().count("Booting worker") == workers, 20, "every worker to boot", server.proc)
        rng = random.Random(SEED + workers)
        model = Model()
        # Records from before the storm, which the storm then updates.
        for tenant in TENANTS:
            batch = [Write(tenant, None, f"{tenant}-seed{i}") for i in range(10)]
            model.answered(model.sent(batch), *put_batch(server.port, tenant, [w.item() for w in batch]))
        assert not model.problems, model.problems
        owned = {t: {tenant: [k for k in model.keys(tenant) if k % CLIENTS == t] for tenant in TENANTS}
                 for t in range(CLIENTS)}
        seeds = [rng.randrange(2**32) for _ in range(CLIENTS)]
        going = threading.Event()

        def client(t: int) -> None:
            crng = random.Random(seeds[t])
            for b in range(MAX_BATCHES):
                tenant = crng.choice(TENANTS)
                mine = owned[t][tenant]
                updates = crng.sample(mine, min(len(mine), crng.randint(1, 3)))
                batch = ([Write(tenant, None, f"t{t}b{b}c{i}") for i in range(crng.randint(0, 2))]
                         + [Write(tenant, k, f"t{t}b{b}u{k}") for k in updates])
                ticket = model.sent(batch)
                try:
                    status, body = put_batch(server.port, tenant, [w.item() for w in batch])
                except TRANSPORT_ERRORS:
                    return  # the server stopped accepting
                mine += model.answered(ticket, status, body)
                going.set()

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert going.wait(20), "no batch was acknowledged"
        time.sleep(rng.uniform(0.3, 0.8))
        before_stop = model.acked_batches
        stopped = time.monotonic()
        assert server.stop(timeout=GRACEFUL_TIMEOUT_S + 5) == 0, server.log()
        assert time.monotonic() - stopped < GRACEFUL_TIMEOUT_S + 1, "the graceful stop ran into the kill"
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads), "a client thread hung"
        assert before_stop > 0 and not model.problems, model.problems

        # The server is gone: only the files speak now.
        assert not corrupt_files(server.data), corrupt_files(server.data)
        stored = {}
        for tenant in TENANTS:
            files = [p for p in server.data.rglob(f"{tenant}.json")]
            assert len(files) == 1, f"one TinyDB file for {tenant}: {files}"
            tables = read_tenant_file(files[0])
            stored[tenant] = {int(key): record["first_Name"] for key, record in tables.get(ENTITY, {}).items()}
        model.reconcile(stored, f"the TinyDB files after SIGTERM ({workers} worker(s))")
        assert not model.problems, "\n".join(model.problems)

        # And a server started again on those files serves the same records.
        server.start()
        served = {tenant: stored_tags(server.port, tenant) for tenant in TENANTS}
        assert served == stored
        print(f"{workers} worker(s): {model.acked_batches} batches acknowledged, "
              f"{sum(map(len, stored.values()))} records in the files")
    finally:
        server.stop()
