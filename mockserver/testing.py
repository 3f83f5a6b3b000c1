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

import errno
import json
import os
import shlex
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
ADMIN_CREDENTIAL_HEADERS = {"authorization", "x-mockserver-admin-token", "cookie"}
RULE_STATE = ("id", "uses", "remaining")  # what GET /faults adds to a rule
FileOrData = "str | os.PathLike | Mapping[str, Any] | list | None"


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

    # Extra subprocess.Popen arguments, e.g. {"start_new_session": True} for a server whose whole
    # process group a test kills (the gunicorn master and its workers) without hitting the test runner.
    popen_options: Mapping[str, Any] = {}

    def __init__(self, port: int | None = None, env: Mapping[str, str] | None = None,
                 specs: str | os.PathLike | None = None, seed: FileOrData = None, faults: FileOrData = None,
                 args: Sequence[str] = (), *, data: str | os.PathLike | None = None,
                 admin_token: str | None = None, startup_timeout: float = 20.0):
        """``port``: the port to listen on (else ``--port`` in ``args``, else ``MOCKSERVER_PORT`` in
        ``env``, else a free one); ``url`` is always the address it listens on. ``specs``: a directory
        of specs; ``seed``/``faults``: a file, or the data itself (written to a JSON file); ``env``:
        settings (``MOCKSERVER_*``); ``args``: more ``mockserver serve`` flags. ``admin_token``: the
        server's control-plane token (else ``--admin-token`` in ``args``, else ``MOCKSERVER_ADMIN_TOKEN``
        of ``env`` or of this process), sent on every control-plane call of this client."""
        self._tmp = tempfile.mkdtemp(prefix="mockserver-")
        self.data = Path(data) if data is not None else Path(self._tmp) / "data"
        self.env, self.startup_timeout = dict(env or {}), startup_timeout
        args_port, rest = _take_option(tuple(args), "--port")
        host, rest = _take_option(rest, "--host")
        args_token, rest = _take_option(rest, "--admin-token")
        # The server gets it in its environment, not its argv (which `ps` shows to every user).
        self.admin_token = (admin_token or args_token or self.env.get("MOCKSERVER_ADMIN_TOKEN")
                            or os.environ.get("MOCKSERVER_ADMIN_TOKEN") or None)
        if self.admin_token is not None:
            self.env["MOCKSERVER_ADMIN_TOKEN"] = self.admin_token
        port = port if port is not None else args_port or self.env.get("MOCKSERVER_PORT")
        self.host = host or self.env.get("MOCKSERVER_HOST") or "127.0.0.1"
        self.port = int(port) if port is not None else free_port()
        self.url = f"http://{_client_host(self.host)}:{self.port}"
        files = {"--specs": specs, "--seed": _as_file(seed, Path(self._tmp) / "seed.json"),
                 "--faults": _as_file(faults, Path(self._tmp) / "faults.json")}
        self.args = tuple(a for flag, value in files.items() if value is not None for a in (flag, str(value))) + rest
        self.log_path = Path(self._tmp) / f"mockserver-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        # What a full reset returns to: the seeded records (a snapshot) and the fault rules of the start.
        self.seeded: dict | None = None
        self.startup_faults: list[dict] = []

    # --- process ----------------------------------------------------------------------------------

    def start(self) -> "MockServer":
        _check_free(self.host, self.port)  # else the health check below could reach another server there
        package_root = str(Path(__file__).resolve().parent.parent)  # works from a source checkout too
        pythonpath = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONPATH": pythonpath, **self.env}
        cmd = [sys.executable, "-m", "mockserver", "serve", "--host", self.host, "--port", str(self.port),
               "--data", str(self.data), *self.args]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, **self.popen_options)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                raise MockServerError(f"mockserver exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + ADMIN + "/health", timeout=1) as resp:
                    resp.read()
                    healthy = resp.status == 200
            except OSError:  # URLError, ConnectionError, timeouts
                time.sleep(0.05)
                continue
            # Outside the `with`: the health connection is closed first. gunicorn's gthread worker closes
            # a "Connection: close" connection gracefully on its event loop, waiting up to 2 s for the
            # client's FIN; a call made while this client still held it open stalled for those 2 s.
            if healthy:
                return self._started()
        self.stop()
        raise MockServerError(f"mockserver did not become healthy in {self.startup_timeout}s: {self.log()}")

    def _started(self) -> "MockServer":
        if "--seed" in self.args:
            self.seeded = self.snapshot()
        self.startup_faults = [{k: v for k, v in rule.items() if k not in RULE_STATE and v is not None}
                               for rule in self.faults()]
        return self

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
        """Stop, and remove the temp dir (its log, seed and fault files, and the data dir if this object made it)."""
        self.stop()
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

    def request(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None,
                *, as_admin: bool = True) -> tuple[int, dict[str, str], Any]:
        """(status, headers, parsed JSON or text) of any request to the server. A control-plane path
        gets the admin token (when there is one, ``as_admin`` and ``headers`` bring no credential)."""
        data, headers = None, dict(headers or {})
        if as_admin and path.startswith(ADMIN):
            headers.update(self.admin_headers(headers))
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

    def admin_headers(self, given: Mapping[str, str] | None = None) -> dict[str, str]:
        """``Authorization: Bearer <admin token>``, unless there is no token or ``given`` holds a credential."""
        if self.admin_token is None or {k.lower() for k in given or {}} & ADMIN_CREDENTIAL_HEADERS:
            return {}
        return {"Authorization": "Bearer " + self.admin_token}

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
        rules and the journal, then restores what the start set up (the seed file's records, the
        fault file's and the limits' rules, fresh), so each test starts from the same mock."""
        self.admin("POST", "/reset", vendor=vendor, tenant=tenant)
        if vendor is None and tenant is None:
            self.admin("DELETE", "/faults")
            self.admin("DELETE", "/requests")
            if self.seeded is not None:
                self.restore(self.seeded)
            if self.startup_faults:
                self.admin("POST", "/faults", self.startup_faults)

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


def _take_option(args: tuple[str, ...], flag: str) -> tuple[str | None, tuple[str, ...]]:
    """The last value of ``flag`` (``--port 1`` or ``--port=1``) and the args without it."""
    value, rest, i = None, [], 0
    while i < len(args):
        if args[i] == flag and i + 1 < len(args):
            value, i = args[i + 1], i + 2
            continue
        if args[i].startswith(flag + "="):
            value = args[i][len(flag) + 1:]
        else:
            rest.append(args[i])
        i += 1
    return value, tuple(rest)


def _check_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise MockServerError(f"{_client_host(host)}:{port} is already in use." if exc.errno == errno.EADDRINUSE
                                  else f"cannot listen on {host}:{port}: {exc.strerror}.") from None


def _client_host(host: str) -> str:
    """Where a client reaches a server bound to ``host`` (the wildcard addresses: via loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def _as_file(value: FileOrData, path: Path) -> str | os.PathLike | None:
    """A seed or fault file as given, or the data (a mapping or list) written to ``path`` as JSON."""
    if value is None or isinstance(value, (str, os.PathLike)):
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


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

# (ini name, help): each also a command-line option --mockserver-<name> that wins over the ini value.
PYTEST_OPTIONS = {
    "specs": "directory of OpenAPI specs the server serves (default: the shipped specs)",
    "seed": "JSON/YAML file of records seeded at startup; each test starts from them",
    "faults": "JSON/YAML file of fault rules active from startup",
    "env": "server settings, KEY=VALUE lines (e.g. MOCKSERVER_API_KEYS=ci-key)",
    "args": "more `mockserver serve` flags, shell-quoted (e.g. --port 19150 --journal-size 50)",
    "admin_token": "the control plane's admin token (MOCKSERVER_ADMIN_TOKEN), sent on the fixture's control-plane calls",
}


def _pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("mockserver", "the mockserver fixture (mockserver.testing)")
    for name, help_text in PYTEST_OPTIONS.items():
        if name == "env":
            parser.addini("mockserver_env", help_text, type="linelist", default=[])
            group.addoption("--mockserver-env", action="append", metavar="KEY=VALUE", help=help_text)
        else:
            parser.addini("mockserver_" + name, help_text, default="")
            group.addoption("--mockserver-" + name.replace("_", "-"), metavar=name.upper(), help=help_text)


def server_options(config: Any) -> dict[str, Any]:
    """MockServer's keyword arguments from the command line, else the ini file; relative paths are
    relative to the ini file's directory (ini) or the current directory (command line)."""
    ini_dir = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
    cli_dir = Path(config.invocation_params.dir)
    options: dict[str, Any] = {}
    for name in ("specs", "seed", "faults"):
        given, base = config.getoption("--mockserver-" + name, default=None), cli_dir
        if not given:
            given, base = config.getini("mockserver_" + name), ini_dir
        if given:
            options[name] = str(base / Path(given).expanduser())
    lines = config.getoption("--mockserver-env", default=None) or config.getini("mockserver_env")
    env = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"mockserver_env: {line!r} is not a KEY=VALUE line.")
        env[key.strip()] = value.strip()
    options["env"] = env
    options["args"] = tuple(shlex.split(config.getoption("--mockserver-args", default=None)
                                        or config.getini("mockserver_args")))
    options["admin_token"] = config.getoption("--mockserver-admin-token", default=None) \
        or config.getini("mockserver_admin_token") or None
    return options


if pytest is not None:
    pytest_addoption = _pytest_addoption

    @pytest.fixture(scope="session")
    def mockserver_process(pytestconfig: Any) -> Iterator[MockServer]:
        """One real server for the session (started on first use, stopped at the end), configured by
        the ini options mockserver_specs, _seed, _faults, _env, _args, _admin_token (or --mockserver-* flags)."""
        server = MockServer(**server_options(pytestconfig)).start()
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
