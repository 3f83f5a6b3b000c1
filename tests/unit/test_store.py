"""Behaviour of mockserver.store: transactions, atomic files, tenants, locking."""
from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from tinydb import TinyDB

from mockserver import store as store_mod
from mockserver import store_files, tenant_state
from mockserver.store import Store, StoreError

V = "vba"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data")


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Path | int]]:
    """Every durable write that happens: ("checkpoint", path) or ("append", journal fd)."""
    seen: list[tuple[str, Path | int]] = []
    checkpoint, append = tenant_state.write_checkpoint, tenant_state.append_entry

    def counting_checkpoint(path: Path, *args):
        seen.append(("checkpoint", path))
        return checkpoint(path, *args)

    def counting_append(fd: int, *args):
        seen.append(("append", fd))
        return append(fd, *args)

    monkeypatch.setattr(tenant_state, "write_checkpoint", counting_checkpoint)
    monkeypatch.setattr(tenant_state, "append_entry", counting_append)
    return seen


def _get(store: Store, entity: str, key, tenant: str = "t1", vendor: str = V):
    with store.transaction(vendor, tenant, write=False) as tx:
        return tx.records(entity).get(key)


def _put(store: Store, entity: str, key, record: dict, tenant: str = "t1", vendor: str = V) -> None:
    with store.transaction(vendor, tenant) as tx:
        tx.records(entity).put(key, record)


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- records API

def test_store_put_get_returns_copies(store: Store) -> None:
    record = {"id": 12, "tags": ["a"], "nested": {"x": 1}}
    with store.transaction(V, "t1") as tx:
        items = tx.records("members")
        items.put(12, record)
        record["tags"].append("mutated-after-put")
        got = items.get(12)
        got["nested"]["x"] = 99
        got["tags"].clear()
        assert items.get(12) == {"id": 12, "tags": ["a"], "nested": {"x": 1}}
        items.all()[0]["nested"]["x"] = 42
        assert items.get(12)["nested"]["x"] == 1
    loaded = _get(store, "members", 12)
    loaded["nested"]["x"] = 7  # mutating a read-only result must not reach the cache
    assert _get(store, "members", 12) == {"id": 12, "tags": ["a"], "nested": {"x": 1}}
    assert isinstance(_get(store, "members", 12)["id"], int)


def test_store_put_replaces_whole_record(store: Store) -> None:
    _put(store, "members", 1, {"id": 1, "a": 1, "b": 2})
    _put(store, "members", 1, {"id": 1, "a": 3})
    assert _get(store, "members", 1) == {"id": 1, "a": 3}


def test_store_keys_int_and_str_lookup_len_contains_delete_order(store: Store) -> None:
    uid = "6f1c2a8e-0000-4000-8000-000000000001"
    with store.transaction(V, "t1") as tx:
        r = tx.records("things")
        r.put(3, {"id": 3})
        r.put(uid, {"id": uid})
        r.put(1, {"id": 1})
        r.put(3, {"id": 3, "v": 2})  # replacing keeps the key's original position
        assert len(r) == 3
        assert 3 in r and "3" in r and uid in r and 2 not in r and None not in r
        assert [d["id"] for d in r.all()] == [3, uid, 1]
        assert r.get(2) is None
    with store.transaction(V, "t1") as tx:
        r = tx.records("things")
        assert [d["id"] for d in r.all()] == [3, uid, 1]
        assert r.delete(uid) is True
        assert r.delete(uid) is False
        assert r.get(uid) is None and len(r) == 2
        assert len(tx.records("never-used")) == 0
    with store.transaction(V, "t1", write=False) as tx:
        assert [d["id"] for d in tx.records("things").all()] == [3, 1]


def test_store_rejects_bad_keys_records_and_entities(store: Store) -> None:
    with store.transaction(V, "t1") as tx:
        r = tx.records("things")
        for bad in (1.5, None, True, ("a",)):
            with pytest.raises(TypeError):
                r.put(bad, {"x": 1})
        with pytest.raises(TypeError):
            r.put(1, {"x": object()})
        with pytest.raises(TypeError):
            r.put(1, ["not", "a", "dict"])
        for bad in ("", "__store__"):
            with pytest.raises(ValueError):
                tx.records(bad)
        assert len(r) == 0 and not tx.changed


def test_store_file_is_plain_tinydb_with_key_doc_ids(store: Store) -> None:
    _put(store, "members", 12, {"id": 12, "name": "x"})
    _put(store, "members", "abc", {"id": "abc"})  # in the journal until a checkpoint
    assert store.checkpoint_all() == 1
    assert store.path_for(V, "t1").with_suffix(".journal").read_bytes().count(b"\n") == 1  # header only
    with TinyDB(store.path_for(V, "t1"), access_mode="r") as db:
        table = db.table("members")
        assert table.get(doc_id="12") == {"id": 12, "name": "x"}
        assert table.get(doc_id="abc") == {"id": "abc"}
        assert len(table) == 2


def test_store_data_survives_restart(tmp_path: Path) -> None:
    _put(Store(tmp_path), "members", 5, {"id": 5})
    with Store(tmp_path).transaction(V, "t1", write=False) as tx:
        assert tx.records("members").get(5) == {"id": 5}


# ------------------------------------------------------------------- next_key

def test_store_next_key_sequence(store: Store) -> None:
    with store.transaction(V, "t1") as tx:
        r = tx.records("members")
        assert r.next_key() == 1
        r.put(41, {"id": 41})
        assert r.next_key() == 42
        assert r.next_key() == 43  # each call reserves: two callers never share an id
        r.put(10, {"id": 10})  # lower keys do not move the sequence back
        assert r.next_key() == 44
        r.put("uuid-like-abc", {})  # non-numeric str keys do not count
        assert r.next_key() == 45
        assert tx.records("other").next_key() == 1  # per entity
    with store.transaction(V, "t1") as tx:
        r = tx.records("members")
        r.put(50, {"id": 50})
        assert r.delete(50)
    with store.transaction(V, "t1") as tx:
        assert tx.records("members").next_key() == 51  # deleted key never reused


def test_store_reserve_moves_a_sequence_past_a_given_id(store: Store) -> None:
    with store.transaction(V, "t1") as tx:
        seq = tx.records("id-sequence")  # a table used only as a sequence (no documents)
        assert seq.transaction is tx
        seq.reserve(40)
        assert seq.next_key() == 41
        seq.reserve(5)  # a lower id does not move it back
        assert seq.next_key() == 42 and len(seq) == 0
    with store.transaction(V, "t1") as tx:
        assert tx.records("id-sequence").next_key() == 43  # kept in the file


def test_store_next_key_kept_in_file_not_scanned(tmp_path: Path) -> None:
    _put(Store(tmp_path), "members", 41, {"id": 41})
    with Store(tmp_path).transaction(V, "t1") as tx:
        tx.records("members").delete(41)  # table is now empty: a scan would say 1
    with Store(tmp_path).transaction(V, "t1") as tx:
        assert len(tx.records("members")) == 0
        assert tx.records("members").next_key() == 42


def test_store_next_key_counts_int_like_str_keys(store: Store) -> None:
    with store.transaction(V, "t1") as tx:
        r = tx.records("members")
        r.put("7", {"id": "7"})
        assert r.next_key() == 8
        r.put("٣٣", {})  # non-ASCII digits are not integer keys
        assert r.next_key() == 9


# --------------------------------------------------------- writes and commits

def test_store_one_write_per_transaction(store: Store, writes: list) -> None:
    with store.transaction(V, "t1") as tx:
        r = tx.records("members")
        for i in range(100):
            r.put(i, {"id": i})
        tx.meta["x"] = 1
    assert writes == [("checkpoint", store.path_for(V, "t1"))]  # a new tenant's first batch
    writes.clear()
    with store.transaction(V, "t1") as tx:
        for i in range(100, 200):
            tx.records("members").put(i, {"id": i})
        tx.records("members").delete(0)
    assert [kind for kind, _ in writes] == ["append"]  # then one journal line per batch
    with store.transaction(V, "t1", write=False) as tx:
        assert len(tx.records("members")) == 199
        assert tx.meta == {"x": 1}


def test_store_unchanged_or_read_only_transaction_writes_nothing(store: Store, writes: list) -> None:
    _put(store, "members", 1, {"id": 1, "flag": 1})
    writes.clear()
    with store.transaction(V, "t1") as tx:
        tx.records("members").get(1)
        tx.records("members").put(1, {"id": 1, "flag": 1})  # identical: no change
        tx.records("members").delete(404)
        assert not tx.changed
    assert writes == []
    with store.transaction(V, "t1") as tx:
        tx.records("members").put(1, {"id": 1, "flag": True})  # 1 == True, yet different JSON
        assert tx.changed
    assert len(writes) == 1 and _get(store, "members", 1)["flag"] is True


def test_store_read_only_never_writes(store: Store, writes: list) -> None:
    _put(store, "members", 1, {"id": 1})
    before = store.path_for(V, "t1").read_bytes()
    writes.clear()
    with store.transaction(V, "t1", write=False) as tx:
        tx.records("members").put(2, {"id": 2})
        tx.records("members").delete(1)
        tx.records("members").next_key()
        tx.meta["x"] = 1
        assert tx.changed
    assert writes == []
    assert store.path_for(V, "t1").read_bytes() == before
    assert _get(store, "members", 1) == {"id": 1} and _get(store, "members", 2) is None
    # reading a tenant that does not exist creates nothing on disk
    with store.transaction(V, "ghost", write=False) as tx:
        tx.records("members").put(1, {})
    assert not store.path_for(V, "ghost").exists()
    assert not store.path_for(V, "ghost").with_suffix(".json.lock").exists()


def test_store_exception_writes_nothing_and_cache_stays_clean(store: Store, writes: list) -> None:
    _put(store, "members", 1, {"id": 1, "n": {"v": 1}})
    with store.transaction(V, "t1") as tx:
        tx.meta["setting"] = "a"
    writes.clear()
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction(V, "t1") as tx:
            tx.records("members").put(2, {"id": 2})
            tx.records("members").delete(1)
            tx.meta["setting"] = "b"
            tx.meta["extra"] = [1]
            raise RuntimeError("boom")
    assert writes == []
    # same Store (cache hit, file unchanged): the aborted copy must not leak in
    with store.transaction(V, "t1", write=False) as tx:
        assert tx.records("members").all() == [{"id": 1, "n": {"v": 1}}]
        assert tx.meta == {"setting": "a"}


def test_store_meta_persisted_and_detached_after_commit(store: Store) -> None:
    with store.transaction(V, "t1") as tx:
        tx.meta["projects"] = {"p1": {"flag": True}}
        kept = tx.meta
    kept["projects"]["p1"]["flag"] = False  # holding on to tx.meta must not alter the store
    with store.transaction(V, "t1") as tx:
        assert tx.meta == {"projects": {"p1": {"flag": True}}}
        tx.meta["projects"]["p1"]["flag"] = "changed"
    with Store(store.data_dir).transaction(V, "t1", write=False) as tx:
        assert tx.meta["projects"]["p1"]["flag"] == "changed"


@pytest.mark.parametrize("target", ["os.replace", "os.fsync", "half"])
def test_store_failed_checkpoint_keeps_old_file(
    store: Store, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    _put(store, "members", 1, {"id": 1, "v": "old"})
    path = store.path_for(V, "t1")
    old = path.read_bytes()
    real = store_files.write_checkpoint

    def half(p, internal, tables):  # half a document on disk, then the disk fails
        with open(p.with_name(".half.tmp"), "wb") as fh:
            fh.write(b'{"members":{"1":')
        raise StoreError("cannot write: disk on fire")

    if target == "half":
        monkeypatch.setattr(tenant_state, "write_checkpoint", half)
    else:
        def failing(*args, **kwargs):
            raise OSError("disk on fire")
        monkeypatch.setattr(os, target.split(".")[1], failing)
    with pytest.raises(StoreError, match="disk on fire"):
        with store.transaction(V, "t1") as tx:
            tx.records("members").put(1, {"id": 1, "v": "new" * 1000})
            tenant_state.TenantState.checkpoint(tx._state)  # a checkpoint, as a graceful stop runs it
    monkeypatch.undo()
    assert store_files.write_checkpoint is real
    (path.parent / ".half.tmp").unlink(missing_ok=True)
    assert path.read_bytes() == old
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert _get(store, "members", 1) == {"id": 1, "v": "old"}
    assert _get(Store(store.data_dir), "members", 1) == {"id": 1, "v": "old"}


def test_store_failed_append_stores_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _put(store, "members", 1, {"id": 1, "v": "old"})
    _put(store, "members", 2, {"id": 2})  # the journal exists now

    def torn(fd: int, offset: int, line: bytes) -> int:
        os.pwrite(fd, line[: len(line) // 2], offset)  # half the line reaches the file
        raise StoreError("cannot append to the journal: disk on fire")

    monkeypatch.setattr(tenant_state, "append_entry", torn)
    with pytest.raises(StoreError, match="disk on fire"):
        _put(store, "members", 1, {"id": 1, "v": "new"})
    monkeypatch.undo()
    assert _get(store, "members", 1) == {"id": 1, "v": "old"}
    assert _get(Store(store.data_dir), "members", 1) == {"id": 1, "v": "old"}
    _put(store, "members", 3, {"id": 3})  # the next writer drops the torn tail first
    fresh = Store(store.data_dir)
    assert [_get(fresh, "members", k) for k in (1, 2, 3)] == [{"id": 1, "v": "old"}, {"id": 2}, {"id": 3}]


def test_store_corrupt_file_is_store_error(store: Store) -> None:
    path = store.path_for(V, "t1")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(StoreError):
        with store.transaction(V, "t1"):
            pass


# --------------------------------------------------------------- tenant files

NASTY_TENANTS = [
    "../../etc/passwd", "a/b", "/abs", "..", ".", "~", "~2E", "x.json", "ünïcødé-租户",
    "a\x00b", "C:\\win", "with space", "UPPER_lower-123", "", "x" * 1000, "é" * 1000,
]


@pytest.mark.parametrize("tenant", NASTY_TENANTS, ids=[ascii(t)[:24] for t in NASTY_TENANTS])
def test_store_tenant_name_stays_inside_vendor_dir_and_round_trips(tmp_path: Path, tenant: str) -> None:
    store = Store(tmp_path / "data")
    path = store.path_for(V, tenant)
    vendor_dir = (tmp_path / "data" / V).resolve()
    assert path.parent.resolve() == vendor_dir
    assert path.name.endswith(".json") and not path.name.startswith(".")
    assert len(path.name.encode()) + len(".lock") <= 255
    assert set(path.stem) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~")
    _put(store, "members", 1, {"id": 1}, tenant=tenant)
    assert {p.parent.resolve() for p in _files_under(tmp_path)} == {vendor_dir}
    assert store.tenants(V) == [tenant]
    assert Store(tmp_path / "data").tenants(V) == [tenant]
    assert _get(store, "members", 1, tenant=tenant) == {"id": 1}


def test_store_tenant_encoding_examples(store: Store) -> None:
    assert store.path_for(V, "../x").name == "~2E~2E~2Fx.json"
    assert store.path_for(V, "").name == "~.json"
    assert store.path_for(V, "a-b_C9").name == "a-b_C9.json"
    assert store.path_for(V, "~").name == "~7E.json"
    assert store.path_for(V, "é").name == "~C3~A9.json"
    long_a, long_b = "x" * 1000, "x" * 999 + "y"
    assert store.path_for(V, long_a) != store.path_for(V, long_b)  # hashed, not just truncated
    assert store.path_for(V, long_a).stem.startswith("x" * 100)
    assert store.path_for(V, "x" * 200).stem == "x" * 200  # at the limit: still plain


def test_store_long_tenants_with_shared_prefix_are_isolated(store: Store) -> None:
    a, b = "t" * 500 + "a", "t" * 500 + "b"
    _put(store, "members", 1, {"who": "a"}, tenant=a)
    _put(store, "members", 1, {"who": "b"}, tenant=b)
    assert _get(store, "members", 1, tenant=a) == {"who": "a"}
    assert _get(store, "members", 1, tenant=b) == {"who": "b"}
    assert store.tenants(V) == sorted([a, b])


def test_store_vendor_names_validated(store: Store) -> None:
    for bad in ("../x", "VBA", "", "a/b", "a.b", "vba ", "é"):
        with pytest.raises(ValueError):
            store.path_for(bad, "t")
        with pytest.raises(ValueError):
            with store.transaction(bad, "t"):
                pass
    with pytest.raises(TypeError):
        store.path_for(V, 5)  # type: ignore[arg-type]


def test_store_tenant_and_vendor_isolation(store: Store) -> None:
    _put(store, "members", 1, {"owner": "t1"}, tenant="t1")
    _put(store, "members", 1, {"owner": "t2"}, tenant="t2")
    _put(store, "members", 1, {"owner": "vcc"}, tenant="t1", vendor="vcc")
    with store.transaction(V, "t1") as tx:
        tx.meta["k"] = "t1"
    assert _get(store, "members", 1, tenant="t1") == {"owner": "t1"}
    assert _get(store, "members", 1, tenant="t2") == {"owner": "t2"}
    assert _get(store, "members", 1, tenant="t1", vendor="vcc") == {"owner": "vcc"}
    assert _get(store, "members", 1, tenant="t3") is None
    with store.transaction(V, "t2", write=False) as tx:
        assert tx.meta == {}
        assert (tx.vendor, tx.tenant) == (V, "t2")


def test_store_vendors_and_tenants_listing_ignores_other_files(store: Store) -> None:
    assert store.vendors() == [] and store.tenants(V) == []
    _put(store, "m", 1, {}, tenant="b")
    _put(store, "m", 1, {}, tenant="a/1")
    _put(store, "m", 1, {}, vendor="pipeliner", tenant="p")
    vdir = store.data_dir / V
    (vdir / ".abc.tmp").write_text("{")       # stale temp from a crash
    (vdir / "a.b.json").write_text("{}")      # not a name we would produce
    (vdir / "notes.txt").write_text("")
    (store.data_dir / "Not-A-Vendor").mkdir()
    (store.data_dir / "empty").mkdir()
    assert store.vendors() == ["pipeliner", V]
    assert store.tenants(V) == ["a/1", "b"]
    assert store.tenants("pipeliner") == ["p"]
    assert store.tenants("nobody") == []


# ---------------------------------------------------------------------- reset

def _populate(store: Store) -> None:
    for vendor in (V, "vcc"):
        for tenant in ("t1", "t2", "../t3"):
            _put(store, "m", 1, {"v": vendor, "t": tenant}, tenant=tenant, vendor=vendor)


def test_store_reset_one_tenant(store: Store) -> None:
    _populate(store)
    assert _get(store, "m", 1, tenant="../t3") is not None  # now cached
    assert store.reset(V, "../t3") == 1
    assert store.reset(V, "../t3") == 0
    assert _get(store, "m", 1, tenant="../t3") is None
    assert store.tenants(V) == ["t1", "t2"]
    assert store.tenants("vcc") == ["../t3", "t1", "t2"]
    with store.transaction(V, "../t3") as tx:  # the tenant can start over cleanly
        assert tx.records("m").next_key() == 1


def test_store_reset_one_vendor(store: Store) -> None:
    _populate(store)
    assert store.reset("vcc") == 3
    assert store.vendors() == [V]
    assert store.tenants("vcc") == []
    assert _get(store, "m", 1, tenant="t1", vendor="vcc") is None
    assert _get(store, "m", 1, tenant="t1") == {"v": V, "t": "t1"}
    assert not any(p.suffix == ".lock" for p in (store.data_dir / "vcc").iterdir())


def test_store_reset_all_and_argument_rules(store: Store) -> None:
    _populate(store)
    with pytest.raises(ValueError):
        store.reset(tenant="t1")
    with pytest.raises(ValueError):
        store.reset("BAD")
    assert store.reset() == 6
    assert store.vendors() == []
    assert store.reset() == 0
    assert _get(store, "m", 1, tenant="t2") is None


# ------------------------------------------------------------ concurrency

def test_store_two_instances_see_each_others_writes(tmp_path: Path) -> None:
    a, b = Store(tmp_path), Store(tmp_path)
    for i in range(30):  # same-size rewrites in quick succession, alternating writers
        writer, reader = (a, b) if i % 2 == 0 else (b, a)
        with writer.transaction(V, "t1") as tx:
            c = tx.records("c")
            current = (c.get("n") or {"value": 0})["value"]
            assert current == i
            c.put("n", {"value": current + 1})
        assert _get(reader, "c", "n") == {"value": i + 1}
        assert _get(writer, "c", "n") == {"value": i + 1}


def test_store_cache_not_fooled_by_recycled_inode(tmp_path: Path) -> None:
    """Two same-size writes elsewhere can recycle the inode within one mtime tick."""
    a, b = Store(tmp_path), Store(tmp_path)
    for i in range(40):
        assert _get(a, "c", "n") == (None if i == 0 else {"value": 2 * i})  # a caches this version
        _put(b, "c", "n", {"value": 2 * i + 1})
        _put(b, "c", "n", {"value": 2 * i + 2})
        assert _get(a, "c", "n") == {"value": 2 * i + 2}


def test_store_mtime_strictly_increases_per_write(store: Store) -> None:
    """The cache key (ino, mtime, size) must change per version even if the clock does not."""
    path = store.path_for(V, "t1")
    _put(store, "c", "n", {"value": 1})
    ahead = os.stat(path).st_mtime_ns + 10**10  # as if the clock stood still / went back
    os.utime(path, ns=(ahead, ahead))
    _put(store, "c", "n", {"value": 2})
    store.checkpoint_all()
    assert os.stat(path).st_mtime_ns > ahead
    _put(store, "c", "n", {"value": 3})
    store.checkpoint_all()
    assert os.stat(path).st_mtime_ns > ahead + 1


def test_store_threads_lose_no_update(store: Store) -> None:
    def work() -> None:
        for _ in range(25):
            with store.transaction(V, "t1") as tx:
                c = tx.records("c")
                c.put("n", {"value": (c.get("n") or {"value": 0})["value"] + 1})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _get(store, "c", "n") == {"value": 200}


def _increment_worker(data_dir: str, times: int) -> None:
    store = Store(data_dir)
    for _ in range(times):
        with store.transaction(V, "shared") as tx:
            c = tx.records("counter")
            value = (c.get(1) or {"id": 1, "value": 0})["value"]
            c.put(1, {"id": 1, "value": value + 1})
            c.put(c.next_key(), {"by": os.getpid()})


def test_store_multiprocess_counter_loses_no_update(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment_worker, args=(str(tmp_path), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Store(tmp_path).transaction(V, "shared", write=False) as tx:
        c = tx.records("counter")
        assert c.get(1) == {"id": 1, "value": 100}
        assert len(c) == 101  # every next_key() was unique across processes
        assert c.next_key() == 102


def test_store_nested_transaction_on_same_file_raises(store: Store) -> None:
    _put(store, "m", 0, {})
    with store.transaction(V, "t1") as tx:
        tx.records("m").put(1, {})
        with pytest.raises(StoreError):
            with store.transaction(V, "t1", write=False):
                pass
        with store.transaction(V, "t2") as other:  # other tenants are fine
            other.records("m").put(1, {})
    assert _get(store, "m", 1) == {} and _get(store, "m", 1, tenant="t2") == {}


def test_store_lock_is_exclusive_across_instances(tmp_path: Path) -> None:
    a, b = Store(tmp_path), Store(tmp_path)
    entered = threading.Event()
    with a.transaction(V, "t1") as tx:
        tx.records("m").put(1, {"v": "a"})

        def other() -> None:
            with b.transaction(V, "t1") as tx2:
                entered.set()
                tx2.records("m").put(1, {"v": "b"})

        t = threading.Thread(target=other)
        t.start()
        assert not entered.wait(0.3)  # b waits for a's flock
    t.join(5)
    assert entered.is_set()
    assert _get(a, "m", 1) == {"v": "b"}


def test_store_cache_is_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path, cache_size=3)
    for i in range(10):
        _put(store, "m", 1, {"i": i}, tenant=f"t{i}")
        assert _get(store, "m", 1, tenant=f"t{i}") == {"i": i}
    assert len(store._cache) == 3
    assert all(_get(store, "m", 1, tenant=f"t{i}") == {"i": i} for i in range(10))
    assert all(state.fd is None or not state.evicted for state in store._cache.values())
    assert store_mod.RESERVED not in _get(store, "m", 1, tenant="t0")
