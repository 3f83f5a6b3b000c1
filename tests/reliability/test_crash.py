"""SIGKILL during a write storm, many rounds on one data dir: no file is left corrupt and no
acknowledged write is lost.

Each round: client threads send VBA batches (creates with call_Key 0 and updates of records they own)
to a real `mockserver serve` (1 worker, then 2); at a random moment (seeded RNG) the whole process group
is killed with SIGKILL, or in some rounds one worker only. Then every ``*.json`` under the data dir must
open with plain ``tinydb.TinyDB`` and, once the server is up again on the same data dir, every
acknowledged write must be there with its acknowledged value (the last acknowledged write of a key wins),
checked through HTTP. A batch in flight at the kill may be there or not, but never half of it. The data
accumulates over the rounds, so a later crash may not lose what an earlier round wrote either.

MOCKSERVER_CRASH_SEED replays a run (the seed is in every failure message).
"""
from __future__ import annotations

import os
import random
import threading
import time

import pytest

from tests.reliability.storm import (TRANSPORT_ERRORS, Model, Write, corrupt_files, get_call, put_batch,
                                     stored_tags, wait_healthy)
from tests.support import KillableServer

SEED = int(os.environ.get("MOCKSERVER_CRASH_SEED", "9071"))
TENANTS = ("CRASH_A", "CRASH_B")
ROUNDS_PER_LAYOUT = 11  # x 2 layouts (1 and 2 workers) = 22 rounds
CLIENTS = 4
STORM_S = (0.15, 0.9)  # the kill comes this long after the storm started
MAX_BATCHES = 80  # per client per round: a bound if the server is fast
SPOT_GETS = 4  # per tenant per check: vendor GETs besides the control plane's records listing


def storm(port: int, model: Model, rng: random.Random, round_no: int, kill) -> None:
    """CLIENTS threads write until ``kill()`` (called after a random delay) has run; a thread stops at its
    first failed request (that batch stays pending in the model)."""
    stop = threading.Event()
    owned = {t: {tenant: [k for k in model.keys(tenant) if k % CLIENTS == t] for tenant in TENANTS}
             for t in range(CLIENTS)}
    seeds = [rng.randrange(2**32) for _ in range(CLIENTS)]

    def client(t: int) -> None:
        crng = random.Random(seeds[t])
        for b in range(MAX_BATCHES):
            if stop.is_set():
                return
            tenant = crng.choice(TENANTS)
            mine = owned[t][tenant]
            updates = crng.sample(mine, min(len(mine), crng.randint(0, 4)))
            creates = crng.randint(0 if updates else 1, 2)
            batch = ([Write(tenant, None, f"r{round_no}t{t}b{b}c{i}") for i in range(creates)]
                     + [Write(tenant, k, f"r{round_no}t{t}b{b}u{k}") for k in updates])
            crng.shuffle(batch)
            ticket = model.sent(batch)
            try:
                status, body = put_batch(port, tenant, [w.item() for w in batch])
            except TRANSPORT_ERRORS:
                return  # the server (or this connection's worker) died under us
            mine += model.answered(ticket, status, body)

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(rng.uniform(*STORM_S))
    try:
        kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(t.is_alive() for t in threads), "a client thread hung"


def check_server(server: KillableServer, model: Model, rng: random.Random, where: str) -> None:
    """Through HTTP: the records listing of each tenant, then a few single-record GETs."""
    stored = {tenant: stored_tags(server.port, tenant) for tenant in TENANTS}
    model.reconcile(stored, where)
    for tenant in TENANTS:
        keys = model.keys(tenant)
        for key in rng.sample(keys, min(SPOT_GETS, len(keys))):
            status, body = get_call(server.port, tenant, key)
            got = (body.get("data") or {}).get("first_Name") if isinstance(body, dict) else body
            if status != 200 or got != model.acked[tenant, key]:
                model.problems.append(f"{where}: GET {tenant} {key}: {status} {got!r}, "
                                      f"acknowledged {model.acked[tenant, key]!r}")


@pytest.mark.slow
def test_sigkill_during_a_write_storm_loses_no_acknowledged_write(tmp_path):
    rng = random.Random(SEED)
    data = tmp_path / "data"
    model = Model()
    plan = []  # (workers, "group" | "worker")
    for workers in (1, 2):
        kinds = ["group" if rng.random() < 0.7 else "worker" for _ in range(ROUNDS_PER_LAYOUT)]
        kinds[rng.randrange(1, ROUNDS_PER_LAYOUT)] = "worker"  # at least one worker kill per layout
        plan += [(workers, kind) for kind in kinds]
    log: list[str] = []
    server: KillableServer | None = None
    started = time.monotonic()
    try:
        for round_no, (workers, kind) in enumerate(plan):
            where = f"round {round_no} (seed {SEED}, {workers} worker(s))"
            if server is not None and server.args != ("--workers", str(workers)):
                server.stop()  # a graceful stop between layouts
                server = None
            if server is None:
                server = KillableServer(data=data, args=("--workers", str(workers)))
                server.start()
            check_server(server, model, rng, f"{where}, before the storm")
            assert not model.problems, "\n".join(log + model.problems)

            if kind == "group":
                kill = server.kill_group
            else:
                def kill(server=server) -> None:
                    pids = server.worker_pids()
                    assert pids, "no gunicorn worker to kill"
                    server.kill_worker(rng.choice(pids))
            before = model.acked_batches
            storm(server.port, model, rng, round_no, kill)
            log.append(f"{where}: killed {kind}, {model.acked_batches - before} batches acknowledged, "
                       f"{len(model.pending)} in flight, {len(model.acked)} records acknowledged in all")

            bad = corrupt_files(data)
            assert not bad, f"{where}: corrupt tenant file(s) after SIGKILL:\n" + "\n".join(bad)
            if kind == "group":
                server = None  # restarted by the next round (or below) on the same data dir
            else:
                wait_healthy(server.port)  # gunicorn's master replaces the worker

        if server is None:
            server = KillableServer(data=data, args=("--workers", "2"))
            server.start()
        check_server(server, model, rng, f"after the last round (seed {SEED})")
        assert not model.problems, "\n".join(log + model.problems)
    finally:
        if server is not None:
            server.stop()
    print("\n".join(log), f"\n{len(plan)} rounds in {time.monotonic() - started:.1f}s; of the batches in "
          f"flight at a kill {model.landed} were stored, {model.dropped} not")
    assert model.acked_batches >= len(plan), "too few batches were acknowledged to test anything"
    assert len(model.acked) > 0
