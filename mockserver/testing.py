"""A real mockserver for test suites: the ``mockserver`` pytest fixture and the ``MockServer`` context manager.

Installed, the package registers this module as a pytest plugin (entry point ``pytest11``), so a
downstream test only asks for the fixture::

    def test_my_sync(mockserver):
        mockserver.fault(effect="item-error", vendor="vbasoftware", index=1, times=1)
        my_sync(base_url=mockserver.url)
        assert mockserver.request_count(status=207) == 2

One server process (``python -m mockserver serve`` on a free 127.0.0.1 port, temp data dir) serves
the whole pytest session; ``mockserver`` hands it to each test freshly reset (data, fault rules and
journal). Without pytest: ``with MockServer() as server: ...``. The client side uses only the
standard library (urllib), so downstream suites need nothing else. Nothing here runs unless the
fixture is requested or the class is used.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

try:
    import pytest
except ImportError:  # the context manager works without pytest
    pytest = None  # type: ignore[assignment]

ADMIN = "/__mockserver"


class MockServerError(RuntimeError):
    """The server did not start, or a control-plane call failed (the message holds its problem detail)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(proc: subprocess.Popen, timeout: float) -> int:
    """SIGTERM (a graceful stop), then SIGKILL after ``timeout`` seconds; the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class MockServer:
    """``python -m mockserver serve`` in a subprocess, plus a small control-plane client."""

    def __init__(self, *, data: str | os.PathLike | None = None, args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None, startup_timeout: float = 20.0):
        self._tmp = None if data is not None else tempfile.mkdtemp(prefix="mockserver-")
        self.data = Path(data) if data is not None else Path(self._tmp) / "data"
        self.args, self.env, self.startup_timeout = tuple(args), dict(env or {}), startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data.parent / f"mockserver-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    # --- process ----------------------------------------------------------------------------------

    def start(self) -> "MockServer":
        package_root = str(Path(__file__).resolve().parent.parent)  # works from a source checkout too
        pythonpath = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONPATH": pythonpath, **self.env}
        cmd = [sys.executable, "-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--data", str(self.data), *self.args]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                raise MockServerError(f"mockserver exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + ADMIN + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:  # URLError, ConnectionError, timeouts
                time.sleep(0.05)
        self.stop()
        raise MockServerError(f"mockserver did not become healthy in {self.startup_timeout}s: {self.log()}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then kill after ``timeout``; returns the exit status."""
        if self.proc is None:
            return None
        terminate(self.proc, timeout)
        self._log.close()
        return self.proc.returncode

    def restart(self) -> "MockServer":
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop, and remove the temp data dir if this object made it."""
        self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "MockServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def log(self) -> str:
        """The end of the server's output (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # --- HTTP -------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        """(status, headers, parsed JSON or text) of any request to the server."""
        data, headers = None, dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, resp_headers, raw = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, resp_headers, raw = err.code, dict(err.headers), err.read()
        try:
            return status, resp_headers, json.loads(raw)
        except ValueError:
            return status, resp_headers, raw.decode(errors="replace")

    def admin(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """A control-plane call; a status >= 400 raises MockServerError with the problem detail."""
        params = {k: _query_value(v) for k, v in query.items() if v is not None}
        suffix = "?" + urllib.parse.urlencode(params) if params else ""
        status, _, answer = self.request(method, ADMIN + path + suffix, body)
        if status >= 400:
            detail = answer.get("detail") if isinstance(answer, dict) else answer
            raise MockServerError(f"{method} {ADMIN}{path}: {status} {detail}")
        return answer

    # --- control plane ----------------------------------------------------------------------------

    def reset(self, vendor: str | None = None, tenant: str | None = None) -> None:
        """Delete stored data (all, a vendor's, a tenant's); a full reset also drops the fault
        rules and the journal, so each test starts from a clean mock."""
        self.admin("POST", "/reset", vendor=vendor, tenant=tenant)
        if vendor is None and tenant is None:
            self.admin("DELETE", "/faults")
            self.admin("DELETE", "/requests")

    def seed(self, vendor: str, tenant: str, entity: str, records: list[dict]) -> list[dict]:
        """Store records as if written (validated, defaults applied); returns them as stored."""
        return self.admin("POST", _records_path(vendor, tenant, entity), records)["records"]

    def records(self, vendor: str, tenant: str, entity: str) -> list[dict]:
        return self.admin("GET", _records_path(vendor, tenant, entity))["records"]

    def fault(self, **rule: Any) -> dict:
        """Add one fault rule, e.g. ``fault(effect="item-error", index=1, times=2)``; returns it with its id."""
        return self.admin("POST", "/faults", rule)["faults"][0]

    def faults(self) -> list[dict]:
        return self.admin("GET", "/faults")["faults"]

    def clear_faults(self) -> int:
        return self.admin("DELETE", "/faults")["deleted"]

    def limits(self, vendor: str) -> list[dict]:
        """Switch on the vendor's documented limits (rate limit, ...); returns the rules added."""
        return self.admin("POST", "/limits/" + urllib.parse.quote(vendor, safe=""))["faults"]

    def requests(self, **filters: Any) -> list[dict]:
        """Journaled vendor requests, oldest first; filters: vendor, operation, tenant, status, since,
        path, method, header ("Name:value"), body (a JSON value the body contains), limit. An unknown
        filter, vendor or operation raises MockServerError naming the known ones."""
        return self.admin("GET", "/requests", **filters)["requests"]

    def request_count(self, **filters: Any) -> int:
        return self.admin("GET", "/requests/count", **filters)["count"]

    def verify(self, *, exactly: int | None = None, at_least: int | None = None, at_most: int | None = None,
               **filters: Any) -> tuple[bool, dict]:
        """POST /requests/verify: (whether the count holds, the answer: count, expected, near_misses)."""
        counts = {k: v for k, v in (("exactly", exactly), ("at_least", at_least), ("at_most", at_most))
                  if v is not None}
        where = {k: _query_value(v) if isinstance(v, datetime) else v for k, v in filters.items() if v is not None}
        status, _, answer = self.request("POST", ADMIN + "/requests/verify", {"where": where, **counts})
        if status not in (200, 409):
            detail = answer.get("detail") if isinstance(answer, dict) else answer
            raise MockServerError(f"POST {ADMIN}/requests/verify: {status} {detail}")
        return status == 200, answer

    def assert_requested(self, count: int | None = None, *, at_least: int | None = None,
                         at_most: int | None = None, **filters: Any) -> dict:
        """Assert how many journaled requests match ``filters`` (exactly ``count``; or ``at_least``/``at_most``;
        none given: at least one), as WireMock's ``verify``. Fails with the near misses."""
        held, answer = self.verify(exactly=count, at_least=at_least, at_most=at_most, **filters)
        if not held:
            lines = [answer["detail"]]
            lines += [f"  near miss: {m['request']['method']} {m['request']['path']} -> {m['request']['status']}"
                      f" ({m['request']['operation']}, tenant {m['request']['tenant']!r}); differs in: "
                      f"{', '.join(m['mismatched'])}" for m in answer.get("near_misses", [])]
            raise AssertionError("\n".join(lines))
        return answer

    def snapshot(self) -> dict:
        return self.admin("GET", "/snapshot")

    def restore(self, snapshot: dict) -> int:
        return self.admin("PUT", "/snapshot", snapshot)["imported"]


def _query_value(value: Any) -> Any:
    """A datetime as the RFC 3339 UTC text the server wants (a naive one is local time); else as is."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (dict, list, bool)) or value is None:
        return json.dumps(value)  # the body filter: JSON text
    return value


def _records_path(vendor: str, tenant: str, entity: str) -> str:
    return "/records/" + "/".join(urllib.parse.quote(part, safe="") for part in (vendor, tenant, entity))


# --- pytest plugin ---------------------------------------------------------------------------------

if pytest is not None:

    @pytest.fixture(scope="session")
    def mockserver_process() -> Iterator[MockServer]:
        """One real server for the session (started on first use, stopped at the end)."""
        server = MockServer().start()
        try:
            yield server
        finally:
            server.close()

    @pytest.fixture
    def mockserver(mockserver_process: MockServer) -> MockServer:
        """The session's server, reset (data, fault rules, journal) for this test."""
        mockserver_process.reset()
        return mockserver_process


__all__ = ["MockServer", "MockServerError", "free_port"]
