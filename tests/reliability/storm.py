"""Black-box helpers for the store's reliability tests: VBA batches through HTTP, a model of what the
acknowledged answers imply, and a check of the tenant files that needs nothing but TinyDB.

Nothing here knows how the store keeps its data besides the documented format: each tenant's
``<data>/<vendor>/<tenant>.json`` is a TinyDB database. Other files beside it (locks, temp files, a
journal) are not looked at.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from tests.support import make_jwt

VENDOR = "vbasoftware"
ENTITY = "CallTracking"
BATCH = "/vbasoftware/call-trackings-batch"
READ = "/vbasoftware/call-trackings/{}"
AUTH = {"x-api-key": "reliability-key", "Authorization": "Bearer " + make_jwt({"username": "storm"}),
        "User-Agent": "mockserver-reliability-tests/1.0"}
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)  # ConnectionError, timeouts, RemoteDisconnected


def headers(tenant: str) -> dict[str, str]:
    return {**AUTH, "vbasoftware-database": tenant, "Content-Type": "application/json"}


def request(port: int, method: str, path: str, tenant: str, body: Any = None,
            timeout: float = 15) -> tuple[int, Any]:
    """One request on a fresh connection (no keep-alive: a connection the server closed while idle is
    never mistaken for a failed write)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers(tenant))
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, raw.decode(errors="replace")


def put_batch(port: int, tenant: str, items: list[dict], timeout: float = 15) -> tuple[int, Any]:
    return request(port, "PUT", BATCH, tenant, items, timeout)


def get_call(port: int, tenant: str, key: int, timeout: float = 15) -> tuple[int, Any]:
    return request(port, "GET", READ.format(key), tenant, timeout=timeout)


def entry_key(entry: dict) -> int:
    """The key a 207 entry reports (``data[i].id[0].value``; int() so a key sent back as text works too)."""
    return int(entry["id"][0]["value"])


def stored_tags(port: int, tenant: str) -> dict[int, str]:
    """key -> first_Name of every CallTracking record of the tenant, through the control plane."""
    path = "/__mockserver/records/" + "/".join(urllib.parse.quote(p, safe="") for p in (VENDOR, tenant, ENTITY))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        status, raw = resp.status, resp.read()
    finally:
        conn.close()
    assert status == 200, f"GET {path}: {status} {raw[:500]!r}"
    return {int(r["call_Key"]): r["first_Name"] for r in json.loads(raw)["records"]}


def wait_healthy(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = request(port, "GET", "/__mockserver/health", "-", timeout=2)
            if status == 200:
                return
        except TRANSPORT_ERRORS:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the server on port {port} was not healthy within {timeout}s")


# --- the tenant files ------------------------------------------------------------------------------

def tenant_files(data_dir: Path) -> list[Path]:
    """Every ``*.json`` under the data dir but hidden ones (a store's temp files start with a dot)."""
    return sorted(p for p in Path(data_dir).rglob("*.json") if not p.name.startswith("."))


def read_tenant_file(path: Path, *, beside_a_server: bool = False) -> dict[str, dict[str, dict]]:
    """The entity tables of a tenant file opened with plain ``tinydb.TinyDB`` (raises if it is not a
    complete TinyDB database): table -> document id (text, as in the file) -> record. Internal tables
    (``__...``) are left out. ``beside_a_server``: a server may be running on the data dir, so open
    read-only (TinyDB's default "r+" would create the file again if the store just removed it)."""
    db = TinyDB(path, access_mode="r") if beside_a_server else TinyDB(path)
    try:
        raw = db.storage.read() or {}  # the JSON document TinyDB parsed
        tables = {}
        for name in db.tables():
            if name.startswith("__"):
                continue
            docs = raw[name]
            assert isinstance(docs, dict) and all(isinstance(doc, dict) for doc in docs.values()), name
            assert len(db.table(name)) == len(docs)
            tables[name] = {str(doc_id): dict(doc) for doc_id, doc in docs.items()}
        return tables
    finally:
        db.close()


def corrupt_files(data_dir: Path) -> list[str]:
    """The tenant files that do not open as TinyDB databases, with the error."""
    bad = []
    for path in tenant_files(data_dir):
        try:
            read_tenant_file(path, beside_a_server=True)
        except FileNotFoundError:
            continue  # removed since the listing (by a live server); nothing to parse
        except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
            size = path.stat().st_size if path.exists() else -1
            bad.append(f"{path} ({size} bytes): {type(exc).__name__}: {exc}")
    return bad


# --- what the acknowledged answers imply ---------------------------------------------------------

@dataclass
class Write:
    """One item of a batch: ``key`` None is a create with call_Key 0 (the answer names the key);
    ``tag`` is the first_Name it stores, unique per write, so any stored value names its write."""

    tenant: str
    key: int | None
    tag: str

    def item(self) -> dict:
        return {"call_Key": 0 if self.key is None else self.key, "first_Name": self.tag}


@dataclass
class Model:
    """The acknowledged state: per (tenant, key) the value of the last acknowledged write. Each key is
    written by one client thread at a time, so "last" is that thread's order. Batches sent without an
    answer (in flight at a kill) are ``pending``: after the restart each must be there entirely (it is
    then adopted) or not at all."""

    acked: dict[tuple[str, int], str] = field(default_factory=dict)
    pending: dict[int, list[Write]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    acked_batches: int = 0
    landed: int = 0  # pending batches found stored after the restart
    dropped: int = 0  # pending batches found not stored
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: int = 0

    def sent(self, batch: list[Write]) -> int:
        with self.lock:
            self._ids += 1
            self.pending[self._ids] = batch
            return self._ids

    def answered(self, ticket: int, status: int, body: Any) -> list[int]:
        """Record a batch's answer; returns the keys its creates got (empty unless acknowledged)."""
        with self.lock:
            batch = self.pending[ticket]
            if status != 207 or not isinstance(body, dict) or len(body.get("data") or []) != len(batch):
                # Not an acknowledgement; the batch stays pending (it may or may not have landed).
                self.problems.append(f"unexpected answer to a batch of {len(batch)}: {status} {str(body)[:300]}")
                return []
            del self.pending[ticket]
            created = []
            for write, entry in zip(batch, body["data"]):
                key = entry_key(entry)
                want = 201 if write.key is None else 200  # an update of a stored record says 200
                if entry["status"] != want:
                    self.problems.append(f"{write.tenant} key {key} ({write.tag}): item status "
                                         f"{entry['status']} {entry.get('body')!r}, expected {want}")
                if write.key is None:
                    if (write.tenant, key) in self.acked:
                        self.problems.append(f"duplicate key: create {write.tag} got {write.tenant} key {key}, "
                                             f"which already holds {self.acked[write.tenant, key]}")
                    created.append(key)
                elif key != write.key:
                    self.problems.append(f"update of key {write.key} answered key {key}")
                self.acked[write.tenant, key] = write.tag
            self.acked_batches += 1
            return created

    def keys(self, tenant: str) -> list[int]:
        return sorted(k for t, k in self.acked if t == tenant)

    def reconcile(self, stored: dict[str, dict[int, str]], where: str) -> None:
        """Compare what a (restarted) server holds with the model; settle the pending batches first."""
        by_tag = {(tenant, tag): key for tenant, records in stored.items() for key, tag in records.items()}
        for batch in self.pending.values():
            hits = []
            for w in batch:
                if w.key is None:
                    hits.append((w.tenant, w.tag) in by_tag)
                else:
                    hits.append(stored.get(w.tenant, {}).get(w.key) == w.tag)
            if any(hits) and not all(hits):
                self.problems.append(f"{where}: half a batch landed: "
                                     f"{[(w.tenant, w.key, w.tag, hit) for w, hit in zip(batch, hits)]}")
            if not any(hits):
                self.dropped += 1
            if all(hits):
                self.landed += 1
                for w in batch:
                    key = w.key if w.key is not None else by_tag[w.tenant, w.tag]
                    self.acked[w.tenant, key] = w.tag
        self.pending.clear()
        lost = wrong = extra = 0
        for (tenant, key), tag in sorted(self.acked.items()):
            got = stored.get(tenant, {}).get(key)
            if got != tag:
                if got is None:
                    lost += 1
                else:
                    wrong += 1
                if lost + wrong <= 10:
                    self.problems.append(f"{where}: {tenant} key {key}: acknowledged {tag!r}, stored {got!r}")
        for tenant, records in stored.items():
            for key, tag in records.items():
                if (tenant, key) not in self.acked:
                    extra += 1
                    if extra <= 10:
                        self.problems.append(f"{where}: {tenant} key {key} ({tag!r}) was never written")
        if lost or wrong or extra:
            self.problems.append(f"{where}: {lost} acknowledged record(s) lost, {wrong} with another value, "
                                 f"{extra} never written")
