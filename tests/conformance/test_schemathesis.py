"""Schemathesis (`--checks all`) against every shipped spec, served by a real server.

Bounded and deterministic in CI: a fixed seed and MOCKSERVER_FUZZ_EXAMPLES examples per operation
(default 40). For a longer hunt: MOCKSERVER_FUZZ_EXAMPLES=1000 pytest tests/conformance.
No baseline file, no excluded check: the config each run uses is the one the server serves for
that spec (/__mockserver/specs/<name>/schemathesis.toml, from mockserver/fuzzing.py: which statuses
a vendor documents for negative data; it names mockserver.schemathesis_hooks as its hooks). Each run
works in a directory outside the repository, as a user of the installed package does.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import make_jwt

EXAMPLES = os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "40")
SEED = os.environ.get("MOCKSERVER_FUZZ_SEED", "20261122")

ADMIN_TOKEN = "fuzz-admin-token"
# The spec each case fuzzes (the case's own name unless named here).
SPECS = {"admin-with-token": "admin"}
# Credentials each case sends (any non-empty value is accepted by default).
AUTH_ARGS = {
    "vbasoftware": ["-H", "x-api-key: fuzz-key", "-H", "Authorization: Bearer " + make_jwt({"username": "fuzzer"})],
    "vcclive": ["--auth", "fuzzcc:fuzz-token"],
    "admin": [],
    # The control plane behind MOCKSERVER_ADMIN_TOKEN: ignored_auth probes each operation without the
    # token and with a wrong one (401); the apiKey header is not generated (it would be random).
    "admin-with-token": ["-H", f"Authorization: Bearer {ADMIN_TOKEN}", "--generation-with-security-parameters", "false"],
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
    "admin-with-token": {"MOCKSERVER_ADMIN_TOKEN": ADMIN_TOKEN},
}


def schemathesis_command() -> list[str]:
    """The schemathesis installed beside this interpreter (the one that can import mockserver)."""
    return [sys.executable, "-m", "schemathesis.cli"]


@pytest.mark.parametrize("case", sorted(AUTH_ARGS))
def test_schemathesis_finds_nothing(live_server, case, tmp_path):
    spec = SPECS.get(case, case)
    server = live_server(env=SERVER_ENV.get(case, {}))  # its client sends the admin token when there is one
    status, headers, config = server.request("GET", f"/__mockserver/specs/{spec}/schemathesis.toml")
    assert status == 200 and headers["Content-Type"].startswith("application/toml")
    (tmp_path / "schemathesis.toml").write_text(config)
    cmd = [*schemathesis_command(), "--config-file", "schemathesis.toml", "run",
           f"{server.url}/__mockserver/specs/{spec}", "--checks", "all", "--seed", SEED,
           "--max-examples", EXAMPLES, "--workers", "1", "--request-timeout", "20",
           "--generation-database", "none", *AUTH_ARGS[case]]  # no local state: CI and dev run alike
    env = {**{k: v for k, v in os.environ.items() if k not in ("SCHEMATHESIS_HOOKS", "PYTHONPATH")}, "NO_COLOR": "1"}
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    report = result.stdout[-12000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    assert "No issues found" in result.stdout or " passed" in result.stdout, report
    assert "Custom check" not in result.stdout, report
    assert "Unmatched filters" not in result.stdout, report
    if spec == "admin":
        assert_no_rule_left(server, report)


@pytest.mark.parametrize("case", ["admin", "admin-with-token"])
def test_schemathesis_admin_run_of_the_rule_adding_calls_leaves_no_rule(live_server, tmp_path, case):
    """Only the calls that add rules (no DELETE of the fuzz run itself tidies up): the shipped hook's
    clean-up at exit is all that removes them; with a token, it deletes them with the run's credential."""
    server = live_server(env=SERVER_ENV.get(case, {}))
    cmd = [*schemathesis_command(), "run", f"{server.url}/__mockserver/specs/admin", "--checks", "all",
           "--seed", SEED, "--max-examples", "10", "--workers", "1", "--generation-database", "none",
           "--include-operation-id", "addFaults", "--include-operation-id", "switchOnLimits", *AUTH_ARGS[case]]
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "NO_COLOR": "1",
           "SCHEMATHESIS_HOOKS": "mockserver.schemathesis_hooks"}
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert_no_rule_left(server, report)


def assert_no_rule_left(server, report: str) -> None:
    """The run added fault rules (rule ids count up from f1) and its hook deleted every one of them (the
    hook says on stderr, in ``report``, what a delete it could not do got back: e.g. a 401)."""
    status, _, added = server.request("POST", "/__mockserver/faults", {"effect": "delay", "delay_ms": 1})
    assert status == 201
    (probe,) = added["faults"]
    assert int(probe["id"][1:]) > 1, "the fuzz run added no fault rule: nothing was checked"
    assert server.request("GET", "/__mockserver/faults")[2]["faults"] == [probe], "rules left behind\n" + report
    if server.admin_token:  # the server still guards its rules: the run's calls had the token
        assert server.request("GET", "/__mockserver/faults", as_admin=False)[0] == 401
