"""Test helpers that are not fixtures: a real server process, credentials."""
from __future__ import annotations

import base64
import json
import os
import signal
from pathlib import Path

from mockserver.testing import MockServer, free_port  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parent.parent


def make_jwt(claims: dict) -> str:
    """An unsigned-looking JWT: the mock reads claims, never checks signatures."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def strict_json(raw: bytes | str):
    """Parse as a strict JSON parser does (JavaScript's, Go's): NaN and Infinity are not JSON."""
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(raw, parse_constant=refuse)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class LiveServer(MockServer):
    """`python -m mockserver serve` on a free port of 127.0.0.1, with its own data dir (mockserver.testing)."""

    def __init__(self, data: Path, args: tuple[str, ...] = (), env: dict | None = None):
        super().__init__(data=data, args=args, env=env)


class KillableServer(LiveServer):
    """A LiveServer in a process group of its own: a test can SIGKILL the gunicorn master with all its
    workers (``kill_group``), or one worker (``kill_worker``), and start it again on the same data dir."""

    popen_options = {"start_new_session": True}

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children (its workers), from /proc."""
        assert self.proc is not None
        pids: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
        return sorted(set(pids))

    def kill_group(self) -> None:
        """SIGKILL of the master and every worker at once (a crash, a `docker kill`, an OOM kill)."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.stop()  # closes the log; the process is already gone

    def kill_worker(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
