"""Benchmark: does a request cost what it touches, or what the tenant holds? (issue 9's numbers, one run)

Starts real servers (``python -m mockserver serve``, free 127.0.0.1 ports, temp data dirs; every process
it starts is stopped before it exits) and prints a markdown table: each of issue 9's ratios with the raw
medians it is made of, the target and PASS / FAIL / SKIPPED, then ``targets: X passed, Y failed, Z skipped``.

1. VBA CallTracking 1-item update, 1-item create and GET of one record on a tenant of ``--records``
   records vs the same request on a tenant of 10 records (interleaved, medians of ``--reps`` requests).
2. A 1,000-item create batch into the big tenant (it grows by 1,000 per repetition) vs into an empty
   tenant (a fresh empty tenant per repetition).
3. Seeding the big tenant through the control plane (chunks of ``--chunk``): cost per record, vs seeding
   1k records (median of ``--reps`` seedings, each into a fresh tenant).
4. Peak RSS (VmHWM) of the worker process holding the big tenant, after all of the above.
5. Throughput with ``wrk``: 10-item create batches (call_Key 0), 8 connections, 3 windows while the
   tenant grows, vs Prism 5 ``prism mock -m`` on the served spec with the same body (side by side);
   and ``--workers 2`` vs ``--workers 1`` on two tenants (two concurrent wrk runs, 4 connections each).
   A CONTEXT row (no target) puts ``GET /__mockserver/health`` on the same one-worker server, a request
   that does no work, against Prism's batch: the ceiling of the HTTP stack (gunicorn gthread + Flask).
6. Start to healthy: spawn ``python -m mockserver serve`` → first 200 of ``/__mockserver/health``.

Records carry all 23 CallTracking fields. Exit status 0 even when a target fails (a measurement, not a
test). wrk is installed on demand with apt-get, Prism with npm under ~/.cache/mockserver-bench; when
either cannot be had, its rows say SKIPPED and why.

    python bench/store_scale.py                       # issue 9's sizes (100k records), several minutes
    python bench/store_scale.py --quick --skip-prism  # small sizes, seconds
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from mockserver.testing import MockServer, free_port, terminate  # noqa: E402

VENDOR, ENTITY = "vbasoftware", "CallTracking"
BATCH = "/vbasoftware/call-trackings-batch"
READ = "/vbasoftware/call-trackings/{}"
HEALTH = "/__mockserver/health"
PRISM_BATCH = "/call-trackings-batch"  # Prism serves the spec's paths as written (it ignores `servers`)
AUTH = {"x-api-key": "bench", "Authorization": "Bearer x", "User-Agent": "mockserver-bench/1",
        "Content-Type": "application/json"}
SERVER_ENV = {"MOCKSERVER_ACCESS_LOG": "false", "MOCKSERVER_LOG_LEVEL": "WARNING"}
CACHE = Path.home() / ".cache" / "mockserver-bench"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
MiB = 1024 * 1024


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- records ---------------------------------------------------------------------------------------

def call_tracking(key: int, n: int) -> dict:
    """One CallTracking with every field of the schema filled (23 fields; the audit ones get replaced)."""
    return {
        "call_Key": key, "auth_Number": f"AUTH{n % 100000:06d}", "call_Destination": "Member Services",
        "call_Length": 60 + n % 900, "call_Start": "2026-01-01T10:%02d:%02dZ" % (n % 60, (n // 60) % 60),
        "call_Status": "Closed", "call_Type": "Benefits question", "caller_Type": "Member",
        "contacts_List": n % 2 == 0, "email_Address": f"caller{n}@example.com",
        "entry_Date": "2026-01-01T10:00:00Z", "entry_User": "bench", "extension": f"{n % 10000}",
        "fax_Number": f"+1-555-{n % 10000:04d}", "first_Name": f"First{n}", "last_Name": f"Last{n}",
        "general_Notes": f"Caller {n} asked about deductibles and the status of a claim; call back next week.",
        "organization": "Acme Health Plan", "phone_Country_Code": "1", "phone_Number": f"555-01{n % 100:02d}",
        "provider_ID": f"PRV{n % 5000:05d}", "update_Date": "2026-01-01T10:00:00Z", "update_User": "bench",
    }


# --- HTTP ------------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection to 127.0.0.1 (reconnects when the server closed it)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None,
                expect: int | tuple = 200) -> tuple[float, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=data, headers=headers or {})
                response = self.conn.getresponse()
                raw = response.read()
                took = time.perf_counter() - started
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        expected = expect if isinstance(expect, tuple) else (expect,)
        if response.status not in expected:
            raise RuntimeError(f"{method} {path}: {response.status} {raw[:500]!r}")
        return took, (json.loads(raw) if raw else None)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def vba_headers(tenant: str) -> dict:
    return {**AUTH, "vbasoftware-database": tenant}


def put_batch(client: Client, tenant: str, items: list[dict]) -> float:
    took, body = client.request("PUT", BATCH, items, vba_headers(tenant), expect=207)
    bad = [entry for entry in body["data"] if entry["status"] not in (200, 201)]
    if bad:
        raise RuntimeError(f"batch into {tenant}: failed items, e.g. {bad[0]}")
    return took


def seed(client: Client, tenant: str, records: list[dict]) -> float:
    path = "/__mockserver/records/" + "/".join(urllib.parse.quote(p, safe="") for p in (VENDOR, tenant, ENTITY))
    return client.request("POST", path, records, {"Content-Type": "application/json"})[0]


def seed_chunks(client: Client, tenant: str, count: int, chunk: int, first_key: int = 1) -> float:
    """Seed ``count`` records with keys first_key.. in chunks; the total seconds spent in the requests."""
    total = 0.0
    for start in range(0, count, chunk):
        keys = range(first_key + start, first_key + min(start + chunk, count))
        total += seed(client, tenant, [call_tracking(k, k) for k in keys])
    return total


# --- processes -------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def proc_status_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# --- the table -------------------------------------------------------------------------------------

@dataclass
class Row:
    what: str
    measured: str  # the raw medians
    value: float | None  # the ratio (or MiB, or seconds)
    target: str
    check: Callable[[float], bool] | None = None
    skipped: str | None = None
    unit: str = "x"

    error: str | None = None  # the measurement itself broke: counted as failed

    @property
    def result(self) -> str:
        if self.error is not None:
            return "ERROR"
        if self.skipped is not None or self.value is None:
            return "SKIPPED"
        if self.check is None:
            return "CONTEXT"  # a figure that explains another, with no target of its own
        return "PASS" if self.check(self.value) else "FAIL"

    def cells(self) -> list[str]:
        if self.result == "ERROR":
            return [self.what, self.error, "—", self.target, "ERROR (counted as failed)"]
        if self.result == "SKIPPED":
            return [self.what, self.measured or "—", "—", self.target, f"SKIPPED ({self.skipped})"]
        shown = f"{self.value:.2f}x" if self.unit == "x" else f"{self.value:.{2 if self.unit == 's' else 0}f} {self.unit}"
        return [self.what, self.measured, shown, self.target, self.result]


def ratio_row(what: str, big_label: str, big: float, small_label: str, small: float, limit: float,
              unit: str = "ms") -> Row:
    measured = f"{big_label} {big:.1f} {unit} / {small_label} {small:.1f} {unit}"
    return Row(what, measured, big / small if small > 0 else None, f"<= {limit}x", lambda v: v <= limit)


def short(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


@dataclass
class Bench:
    records: int
    reps: int
    window_s: float
    starts: int
    chunk: int
    skip_wrk: str | None
    skip_prism: str | None
    rows: list[Row] = field(default_factory=list)
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mockserver-bench-")))

    # 1-4 ------------------------------------------------------------------------------------------
    def scale(self) -> None:
        n, reps, big_name = self.records, self.reps, short(self.records)
        with MockServer(data=self.tmp / "scale", args=["--workers", "1"], env=SERVER_ENV) as server:
            client = Client(server.port)
            # 3. seeding the big tenant (per record, over all its chunks); the 1k seedings come later, so
            # that the worker's peak RSS (4.) is that of the big tenant, not of the small ones beside it
            log(f"seeding {n:,} records in chunks of {self.chunk}")
            big_seed = seed_chunks(client, "BIG", n, self.chunk) / n
            seed_chunks(client, "SMALL", 10, self.chunk)

            # 1. single-item requests, interleaved small/big, 2 warm-ups each
            ops: dict[str, Callable[[str, int, int], float]] = {
                "1-item update": lambda tenant, key, i: put_batch(client, tenant, [call_tracking(key, 7 + i)]),
                "1-item create": lambda tenant, key, i: put_batch(client, tenant, [call_tracking(0, i)]),
                "GET one record": lambda tenant, key, i: client.request("GET", READ.format(key),
                                                                        headers=vba_headers(tenant))[0],
            }
            for name, op in ops.items():
                log(f"{name}: {reps} requests on each tenant ({n:,} and 10 records)")
                times: dict[str, list[float]] = {"BIG": [], "SMALL": []}
                for i in range(-2, reps):
                    for tenant, key in (("SMALL", 5), ("BIG", max(1, n // 2))):
                        took = op(tenant, key, i)
                        if i >= 0:
                            times[tenant].append(took)
                self.rows.append(ratio_row(f"{name}: {big_name} tenant vs 10 records", big_name,
                                           median_ms(times["BIG"]), "10", median_ms(times["SMALL"]), 1.5))

            # 4. peak RSS of the worker (the only child of the master with --workers 1)
            workers = children(server.proc.pid)
            peak = max(proc_status_kib(pid, "VmHWM") for pid in workers) / 1024
            rss = max(proc_status_kib(pid, "VmRSS") for pid in workers) / 1024
            self.rows.append(Row(f"peak RSS of the worker holding the {big_name} tenant (VmHWM)",
                                 f"VmHWM {peak:.0f} MiB (VmRSS now {rss:.0f} MiB)", peak, "< 250 MiB",
                                 lambda v: v < 250, unit="MiB"))
            log(f"seeding 1k records x {reps} (fresh tenant each)")
            small_seed = [seed_chunks(client, f"SEED1K_{i}", 1000, self.chunk) / 1000 for i in range(reps)]
            self.rows.append(Row(
                f"seed {big_name} vs 1k, per record (control plane, chunks of {self.chunk:,})",
                f"{big_name} {big_seed * 1e6:.0f} µs ({big_seed * n:.1f} s total) / "
                f"1k {statistics.median(small_seed) * 1e6:.0f} µs", big_seed / statistics.median(small_seed),
                "<= 1.5x", lambda v: v <= 1.5))

            # 2. 1,000-item create batches: the big tenant (growing) vs a fresh empty tenant each time
            log(f"1,000-item batch: {reps} into the {n:,} tenant, {reps} into fresh empty tenants")
            body = [call_tracking(0, i) for i in range(1000)]
            into_big, into_empty = [], []
            for i in range(-1, reps):
                empty = put_batch(client, f"EMPTY_{i + 1}", body)
                big = put_batch(client, "BIG", body)
                if i >= 0:
                    into_empty.append(empty)
                    into_big.append(big)
            self.rows.append(ratio_row(
                f"1,000-item create batch: {big_name} tenant (+1k each) vs a fresh empty tenant each",
                big_name, median_ms(into_big), "empty", median_ms(into_empty), 1.5))

            client.close()
        shutil.rmtree(self.tmp / "scale", ignore_errors=True)

    # 5 --------------------------------------------------------------------------------------------
    def throughput(self) -> None:
        labels = (f"throughput vs Prism 5 `prism mock -m` (10-item creates, 8 conns, median of 3 x {self.window_s:g} s)",
                  f"throughput while the tenant grows: lowest of 3 windows vs the first",
                  f"`--workers 2` vs `--workers 1`, two tenants, two concurrent wrk (4 conns each)")
        targets = (">= 1.0x", ">= 0.8x", ">= 1.3x")
        if self.skip_wrk:
            self.rows.extend(Row(label, "", None, target, skipped=self.skip_wrk)
                             for label, target in zip(labels, targets))
            return
        body = json.dumps([call_tracking(0, i) for i in range(10)])
        script = self.tmp / "put.lua"
        script.write_text(WRK_LUA.replace("BODY", body))

        with MockServer(data=self.tmp / "wrk1", args=["--workers", "1"], env=SERVER_ENV) as server:
            log(f"wrk: 3 windows of {self.window_s:g} s on one growing tenant")
            windows = [wrk(server.port, "GROW", script, 8, self.window_s) for _ in range(3)]
            # The ceiling of the HTTP stack itself (gunicorn gthread + Flask, one worker): a request that
            # does no work, to read the batch figure against.
            health_script = self.tmp / "health.lua"
            health_script.write_text(WRK_LUA.replace('"PUT"', '"GET"').replace("BODY", ""))
            ceiling = wrk(server.port, "GROW", health_script, 8, self.window_s, HEALTH)
            spec = self.tmp / "vbasoftware.json"
            spec.write_text(json.dumps(server.admin("GET", "/specs/vbasoftware")))
        mock = statistics.median(windows)
        shown = " / ".join(f"{w:.1f}" for w in windows)
        if self.skip_prism:
            self.rows.append(Row(labels[0], f"mockserver {mock:.1f} req/s", None, targets[0], skipped=self.skip_prism))
        else:
            try:
                prism = self.prism(spec, script)
                self.rows.append(Row(labels[0], f"mockserver {mock:.1f} req/s / prism {prism:.1f} req/s",
                                     mock / prism, targets[0], lambda v: v >= 1.0))
                self.rows.append(Row(f"context: `GET /__mockserver/health` (no work, the HTTP stack alone), 8 conns, "
                                     f"`--workers 1`, vs Prism's batch", f"health {ceiling:.1f} req/s / prism "
                                     f"{prism:.1f} req/s", ceiling / prism, "—"))
            except Exception as error:  # noqa: BLE001 - a tool that would not run is a SKIPPED row
                self.rows.append(Row(labels[0], f"mockserver {mock:.1f} req/s", None, targets[0],
                                     skipped=f"prism did not run: {error}"[:200]))
        self.rows.append(Row(labels[1], f"windows {shown} req/s", min(windows) / windows[0], targets[1],
                             lambda v: v >= 0.8))

        rates = {}
        for workers in (1, 2):
            with MockServer(data=self.tmp / f"wrkw{workers}", args=["--workers", str(workers)],
                            env=SERVER_ENV) as server:
                # An untimed second first: healthy means one worker answers, and the others may still be
                # booting; connections opened then would all stay on the first one for the whole window.
                wrk_concurrent(server.port, ("TENANT_A", "TENANT_B"), script, 4, 1)
                log(f"wrk: --workers {workers}, tenants A and B concurrently, {self.window_s:g} s")
                both = wrk_concurrent(server.port, ("TENANT_A", "TENANT_B"), script, 4, self.window_s)
                rates[workers] = sum(both)
        self.rows.append(Row(labels[2], f"2 workers {rates[2]:.1f} req/s / 1 worker {rates[1]:.1f} req/s",
                             rates[2] / rates[1], targets[2], lambda v: v >= 1.3))

    def prism(self, spec: Path, script: Path) -> float:
        port = free_port()
        prism_log = open(self.tmp / "prism.log", "wb")
        proc = subprocess.Popen([str(PRISM), "mock", "-m", "-h", "127.0.0.1", "-p", str(port), str(spec)],
                                stdout=prism_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            client = Client(port)
            item = [call_tracking(0, i) for i in range(10)]
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"prism exited {proc.returncode}: {(self.tmp / 'prism.log').read_text()[-300:]}")
                try:
                    client.request("PUT", PRISM_BATCH, item, vba_headers("PRISM"), expect=207)
                    break
                except (http.client.HTTPException, OSError) as error:  # not up yet (an answer other than 207 raises)
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"prism not answering 207 within 60 s: {error}") from error
                    time.sleep(0.2)
            client.close()
            log(f"wrk: prism mock -m, a {self.window_s:g} s warm-up (node's JIT), then {self.window_s:g} s x 3 on the same body")
            wrk(port, "PRISM", script, 8, self.window_s, PRISM_BATCH)
            return statistics.median(wrk(port, "PRISM", script, 8, self.window_s, PRISM_BATCH) for _ in range(3))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # npx-free, but node may still fork: its group
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            prism_log.close()

    # 6 --------------------------------------------------------------------------------------------
    def startup(self) -> None:
        log(f"start to healthy: {self.starts} starts")
        samples = [start_to_healthy(self.tmp / f"start{i}") for i in range(self.starts)]
        self.rows.append(Row(f"start to healthy (median of {self.starts})",
                             "starts " + " / ".join(f"{s:.2f}" for s in samples) + " s",
                             statistics.median(samples), "< 0.5 s", lambda v: v < 0.5, unit="s"))


WRK_LUA = r"""
wrk.method = "PUT"
wrk.body = [==[BODY]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "bench"
wrk.headers["Authorization"] = "Bearer x"
wrk.headers["User-Agent"] = "mockserver-bench/1"
wrk.headers["vbasoftware-database"] = os.getenv("BENCH_TENANT")
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def wrk_command(port: int, script: Path, connections: int, seconds: float, path: str = BATCH) -> list[str]:
    return [WRK, "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "30s",
            "-s", str(script), f"http://127.0.0.1:{port}{path}"]


def wrk_result(out: str, err: str) -> float:
    line = next((l for l in out.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out[-500:]} {err[-500:]}")
    summary = json.loads(line[6:])
    errors = {k: v for k, v in summary.items() if k not in ("requests", "duration_us") and v}
    if errors or not summary["requests"]:
        raise RuntimeError(f"wrk saw errors {errors} in {summary['requests']} requests (non-2xx or socket): "
                           "no throughput reported for failed requests")
    return summary["requests"] / (summary["duration_us"] / 1e6)


def wrk(port: int, tenant: str, script: Path, connections: int, seconds: float, path: str = BATCH) -> float:
    return wrk_concurrent(port, (tenant,), script, connections, seconds, path)[0]


def wrk_concurrent(port: int, tenants: tuple[str, ...], script: Path, connections: int, seconds: float,
                   path: str = BATCH) -> list[float]:
    procs = [subprocess.Popen(wrk_command(port, script, connections, seconds, path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "BENCH_TENANT": t})
             for t in tenants]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            for each in procs:
                each.kill()
                each.wait()
            raise
        results.append(wrk_result(out, err))
    return results


def start_to_healthy(data: Path) -> float:
    port = free_port()
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, **SERVER_ENV,
           "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--data", str(data)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"mockserver serve exited {proc.returncode} before it was healthy")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/__mockserver/health")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
            finally:
                conn.close()
        raise RuntimeError("mockserver serve was not healthy within 30 s")
    finally:
        terminate(proc, 10)
        shutil.rmtree(data, ignore_errors=True)


# --- tools on demand -------------------------------------------------------------------------------

WRK: str = "wrk"
PRISM: Path = CACHE / "prism" / "node_modules" / ".bin" / "prism"


def ensure_wrk() -> str | None:
    """None when wrk is there (installing it with apt-get if need be), else why not."""
    global WRK
    found = shutil.which("wrk")
    if found:
        WRK = found
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "wrk not installed (apt-get install -y wrk)"
    log("wrk not found: installing it with `apt-get install -y wrk`")
    for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(command, capture_output=True, timeout=300)
        if shutil.which("wrk"):
            WRK = shutil.which("wrk")
            return None
    return "wrk could not be installed with apt-get"


def ensure_prism() -> str | None:
    """None when Prism 5 is in the cache dir (installing it with npm if need be), else why not."""
    if PRISM.exists():
        return None
    if shutil.which("npm") is None:
        return "npm not found (Prism 5 is installed with npm)"
    prefix = PRISM.parent.parent.parent
    prefix.mkdir(parents=True, exist_ok=True)
    log(f"Prism not found: `npm install {PRISM_PACKAGE}` into {prefix} (a minute or so)")
    try:
        done = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                               "--loglevel=error", PRISM_PACKAGE], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "npm install of Prism timed out"
    if done.returncode != 0 or not PRISM.exists():
        return f"npm install {PRISM_PACKAGE} failed: {done.stderr.strip()[-150:]}"
    return None


# --- main ------------------------------------------------------------------------------------------

def print_table(bench: Bench) -> None:
    print(f"## store scale: {bench.records:,} records, {bench.reps} repetitions, "
          f"{bench.window_s:g} s wrk windows, {os.cpu_count()} cores\n")
    print("| measurement | raw (medians) | ratio / value | target | result |")
    print("|---|---|---|---|---|")
    order = ("1-item update", "1-item create", "GET one record", "1,000-item", "seed ", "peak RSS", "throughput vs",
             "throughput while", "`--workers 2`", "start to healthy")
    for row in sorted(bench.rows, key=lambda r: next((i for i, p in enumerate(order) if r.what.startswith(p)), 99)):
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |")
    results = [row.result for row in bench.rows]
    print(f"\ntargets: {results.count('PASS')} passed, {results.count('FAIL') + results.count('ERROR')} failed, "
          f"{results.count('SKIPPED')} skipped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (2k records, 5 repetitions, 2 s windows)")
    parser.add_argument("--records", type=int, help="records in the big tenant (default 100000; --quick 2000)")
    parser.add_argument("--reps", type=int, help="requests per median (default 15; --quick 5)")
    parser.add_argument("--window", type=float, help="seconds per wrk window (default 8; --quick 2)")
    parser.add_argument("--starts", type=int, help="server starts timed (default 7; --quick 3)")
    parser.add_argument("--chunk", type=int, default=10_000, help="records per seeding request (default 10000)")
    parser.add_argument("--skip-wrk", action="store_true", help="no wrk rows (throughput, windows, workers)")
    parser.add_argument("--skip-prism", action="store_true", help="no Prism row")
    args = parser.parse_args(argv)
    quick = args.quick

    skip_wrk = "--skip-wrk" if args.skip_wrk else ensure_wrk()
    skip_prism = "--skip-prism" if args.skip_prism else (skip_wrk or ensure_prism())
    def given(value, default):
        return default if value is None else value

    for name in ("records", "reps", "window", "starts", "chunk"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    bench = Bench(records=given(args.records, 2000 if quick else 100_000), reps=given(args.reps, 5 if quick else 15),
                  window_s=given(args.window, 2 if quick else 8), starts=given(args.starts, 3 if quick else 7),
                  chunk=args.chunk, skip_wrk=skip_wrk, skip_prism=skip_prism)
    started = time.monotonic()
    try:
        for phase in (bench.startup, bench.scale, bench.throughput):
            try:
                phase()
            except Exception as error:  # noqa: BLE001 - the table still prints, with what broke
                log(f"the {phase.__name__} phase broke: {error!r}")
                bench.rows.append(Row(f"{phase.__name__} phase", "", None, "completes",
                                      error=f"{type(error).__name__}: {error}"[:300].replace("\n", " ")))
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    log(f"done in {time.monotonic() - started:.0f} s")
    print_table(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
