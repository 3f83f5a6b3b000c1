"""Schemathesis (`--checks all`) against every shipped spec, served by a real server.

Bounded and deterministic in CI: a fixed seed and MOCKSERVER_FUZZ_EXAMPLES examples per operation
(default 40). For a longer hunt: MOCKSERVER_FUZZ_EXAMPLES=1000 pytest tests/conformance.
No baseline file, no excluded check: schemathesis.toml only tells which statuses a vendor
documents for negative data (see its comments).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support import REPO, make_jwt

EXAMPLES = os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "40")
SEED = os.environ.get("MOCKSERVER_FUZZ_SEED", "20261122")

# Credentials each spec needs (any non-empty value is accepted by default).
AUTH_ARGS = {
    "vbasoftware": ["-H", "x-api-key: fuzz-key", "-H", "Authorization: Bearer " + make_jwt({"username": "fuzzer"})],
    "vcclive": ["--auth", "fuzzcc:fuzz-token"],
    "admin": [],
    # --auth overrides whatever Authorization header schemathesis would generate, so generating (and
    # negating) it only yields false "schema-violating request accepted" reports; ignored_auth still
    # probes the operations without and with wrong credentials.
    "pipeliner": ["--auth", "apikey:secret", "--generation-with-security-parameters", "false"],
}
# Server settings a spec's run needs. Both Basic-auth vendors accept any pair by default, so each run
# restricts the credentials to the ones it sends; schemathesis' invalid-credentials probe must get 401.
SERVER_ENV = {
    "vcclive": {"MOCKSERVER_API_KEYS": "fuzz-token"},
    "pipeliner": {"MOCKSERVER_API_KEYS": "apikey:secret"},
}


def schemathesis_command() -> list[str]:
    exe = shutil.which("schemathesis") or shutil.which("st")
    return [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]


@pytest.mark.parametrize("spec", sorted(AUTH_ARGS))
def test_schemathesis_finds_nothing(live_server, spec):
    server = live_server(env=SERVER_ENV.get(spec, {}))
    cmd = [*schemathesis_command(), "--config-file", str(REPO / "schemathesis.toml"), "run",
           f"{server.url}/__mockserver/specs/{spec}", "--checks", "all", "--seed", SEED,
           "--max-examples", EXAMPLES, "--workers", "1", "--request-timeout", "20",
           "--generation-database", "none", *AUTH_ARGS[spec]]  # no local state: CI and dev run alike
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.conformance.hooks", "PYTHONPATH": str(REPO),
           "NO_COLOR": "1"}
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    report = result.stdout[-12000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    assert "No issues found" in result.stdout or " passed" in result.stdout, report
    assert "Custom check" not in result.stdout, report
