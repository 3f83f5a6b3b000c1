"""Test helpers that are not fixtures: a real server process, credentials."""
from __future__ import annotations

import base64
import json
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
