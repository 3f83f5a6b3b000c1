"""The store's journal and checkpoints: recovery, torn tails, stale journals, indexes, sorted keys."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tinydb import TinyDB

from mockserver import tenant_state
from mockserver.store import Store

V = "vba"


def _put(store: Store, key, record: dict, entity: str = "m", tenant: str = "t") -> None:
    with store.transaction(V, tenant) as tx:
        tx.records(entity).put(key, record)


def _get(store: Store, key, entity: str = "m", tenant: str = "t"):
    with store.transaction(V, tenant, write=False) as tx:
        return tx.records(entity).get(key)


def _journal(store: Store, tenant: str = "t") -> Path:
    return store.path_for(V, tenant).with_suffix(".journal")


def test_store_journal_holds_batches_until_checkpoint(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _put(store, 1, {"v": 1})  # a new tenant's first batch is its first checkpoint
    cp = store.path_for(V, "t").read_bytes()
    for i in range(2, 6):
        _put(store, i, {"v": i})
    assert store.path_for(V, "t").read_bytes() == cp  # later batches only append
    lines = _journal(store).read_bytes().splitlines()
    assert len(lines) == 1 + 4 and json.loads(lines[0])["journal"] == 1
    assert json.loads(lines[-1])["put"] == {"m": {"5": {"v": 5}}}
    fresh = Store(tmp_path)  # a restart replays the journal over the checkpoint
    assert [_get(fresh, i) for i in range(1, 6)] == [{"v": i} for i in range(1, 6)]


def test_store_torn_journal_tail_is_dropped_never_half_applied(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _put(store, 1, {"v": 1})
    _put(store, 2, {"v": 2})
    journal = _journal(store)
    acknowledged = journal.read_bytes()
    with open(journal, "ab") as fh:  # a batch cut by SIGKILL: no newline, so never acknowledged
        fh.write(b'{"put":{"m":{"3":{"v":3},"1":{"v":"torn"')
    fresh = Store(tmp_path)
    assert [_get(fresh, k) for k in (1, 2, 3)] == [{"v": 1}, {"v": 2}, None]
    _put(fresh, 4, {"v": 4})  # the next writer truncates the torn tail before it appends
    assert journal.read_bytes().startswith(acknowledged)
    assert b"torn" not in journal.read_bytes()
    again = Store(tmp_path)
    assert [_get(again, k) for k in (1, 2, 3, 4)] == [{"v": 1}, {"v": 2}, None, {"v": 4}]


def test_store_stale_journal_after_a_crashed_checkpoint_is_ignored(tmp_path: Path) -> None:
    """A crash between replacing the checkpoint and the journal leaves a journal the checkpoint holds."""
    store = Store(tmp_path)
    _put(store, 1, {"v": 1})
    _put(store, 1, {"v": 2})
    stale = _journal(store).read_bytes()
    store.checkpoint_all()
    _journal(store).write_bytes(stale)  # as if the new, empty journal never replaced the old one
    fresh = Store(tmp_path)
    assert _get(fresh, 1) == {"v": 2}
    _put(fresh, 2, {"v": 3})  # a writer starts a journal that continues the checkpoint
    assert json.loads(_journal(fresh).read_bytes().splitlines()[0])["gen"] != json.loads(stale.splitlines()[0])["gen"]
    assert [_get(Store(tmp_path), k) for k in (1, 2)] == [{"v": 2}, {"v": 3}]


def test_store_checkpoint_when_journal_outgrows_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenant_state, "CHECKPOINT_MIN_BYTES", 0)
    store = Store(tmp_path)
    _put(store, 0, {"v": "x" * 1000})
    for i in range(1, 40):
        _put(store, i, {"v": "y" * 100})
        assert _journal(store).stat().st_size <= store.path_for(V, "t").stat().st_size * 0.5 + 400
    with TinyDB(store.path_for(V, "t"), access_mode="r") as db:  # checkpoints are plain TinyDB
        assert len(db.table("m")) >= 30


def test_store_checkpoint_all_leaves_complete_tinydb_files(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for tenant in ("a", "b/c"):
        for i in range(5):
            _put(store, i, {"i": i, "tenant": tenant}, tenant=tenant)
    other = Store(tmp_path)  # a process that never held these tenants folds them all the same
    assert other.checkpoint_all() == 2
    for tenant in ("a", "b/c"):
        with TinyDB(store.path_for(V, tenant), access_mode="r") as db:
            assert sorted(doc["i"] for doc in db.table("m").all()) == [0, 1, 2, 3, 4]
    assert other.checkpoint_all() == 0  # nothing left to fold
    _put(store, 9, {"i": 9}, tenant="a")  # the first store notices the checkpoint and goes on
    assert _get(Store(tmp_path), 9, tenant="a") == {"i": 9}


def test_store_reads_a_file_tinydb_wrote(tmp_path: Path) -> None:
    path = Store(tmp_path).path_for(V, "t")
    path.parent.mkdir(parents=True)
    with TinyDB(path) as db:  # one-line JSON, no __store__: e.g. a file edited by hand
        db.table("m").insert({"v": 1})
    store = Store(tmp_path)
    assert _get(store, "1") == {"v": 1}
    _put(store, 2, {"v": 2})
    store.checkpoint_all()
    with TinyDB(path, access_mode="r") as db:
        assert {doc.doc_id: dict(doc) for doc in db.table("m").all()} == {1: {"v": 1}, 2: {"v": 2}}


def test_store_big_integers_and_unicode_survive(tmp_path: Path) -> None:
    store = Store(tmp_path)
    record = {"big": 2**70, "neg": -(2**65), "text": "é\u2028\"\\\n", "digits": "1" * 30}
    _put(store, 1, record)
    _put(store, 2, record)
    assert _get(Store(tmp_path), 2) == record
    store.checkpoint_all()
    assert _get(Store(tmp_path), 1) == record and _get(Store(tmp_path), 2) == record


def test_store_other_process_reset_is_seen(tmp_path: Path) -> None:
    a, b = Store(tmp_path), Store(tmp_path)
    _put(a, 1, {"v": 1})
    _put(a, 2, {"v": 2})
    assert _get(b, 2) == {"v": 2}
    assert a.reset(V, "t") == 1
    assert _get(b, 1) is None and _get(b, 2) is None
    _put(a, 3, {"v": 3})
    assert _get(b, 3) == {"v": 3} and _get(b, 1) is None


def test_store_find_count_and_sorted_keys_follow_writes(tmp_path: Path) -> None:
    a, b = Store(tmp_path), Store(tmp_path)
    with a.transaction(V, "t") as tx:
        for key in ("c", "a", "e"):
            tx.records("m").put(key, {"k": key, "tags": [2, 1], "deleted": key == "e", "d": {"x": key}})
    with b.transaction(V, "t", write=False) as tx:  # builds b's index and sorted list
        r = tx.records("m")
        assert sorted(r.find(("deleted",), True)) == ["e"] and r.count(("deleted",), False) == 2
        assert list(r.keys_sorted()) == ["a", "c", "e"]
        assert sorted(r.find(("tags",), [1, 2])) == ["a", "c", "e"]  # lists compare unordered
        assert r.find(("d", "x"), "c") == ["c"] and r.find(("missing",), None) != []
    with a.transaction(V, "t") as tx:  # another process changes them: b's indexes follow
        tx.records("m").put("b", {"k": "b", "deleted": True})
        tx.records("m").put("c", {"k": "c", "deleted": True})
        tx.records("m").delete("e")
    with b.transaction(V, "t") as tx:
        r = tx.records("m")
        assert sorted(r.find(("deleted",), True)) == ["b", "c"] and r.count(("deleted",), True) == 2
        assert list(r.keys_sorted()) == ["a", "b", "c"]
        assert list(r.keys_sorted(after="a", before="c")) == ["b"]
        assert list(r.keys_sorted(before="c", reverse=True)) == ["b", "a"]
        r.put("d", {"deleted": True})  # the transaction's own writes count before commit
        r.delete("b")
        assert sorted(r.find(("deleted",), True)) == ["c", "d"] and r.count(("deleted",), True) == 2
        assert list(r.keys_sorted(after="a")) == ["c", "d"]
    with b.transaction(V, "t", write=False) as tx:
        assert list(tx.records("m").keys_sorted()) == ["a", "c", "d"]
