"""MockServer's options (port, env, specs, seed, faults, args) and the pytest plugin's ini and
command-line options, each through a real server; `url` is always where the server listens."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from mockserver.testing import MockServer, MockServerError, free_port
from tests.readme import readme_block
from tests.support import REPO

VBA = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "DEMO"}
SEED = {"vbasoftware": {"DEMO": {"CallTracking": [{"call_Key": 3, "first_Name": "Ada"}]}}}
FAULT = {"effect": "request-error", "status": 503, "vendor": "vbasoftware", "times": 1}


def listens_on(server: MockServer, port: int) -> bool:
    status, headers, body = server.request("GET", "/__mockserver/health")
    return server.url == f"http://127.0.0.1:{port}" and status == 200 and body["status"] == "ok"


@pytest.mark.parametrize("how", ["args", "args=", "port", "env"])
def test_testing_url_matches_the_port_it_listens_on(how):
    port = free_port()
    kwargs = {"args": {"args": ["--port", str(port)], "args=": [f"--port={port}"]}.get(how, ()),
              "port": port if how == "port" else None,
              "env": {"MOCKSERVER_PORT": str(port)} if how == "env" else None}
    with MockServer(**kwargs) as server:
        assert server.port == port and listens_on(server, port)


def test_testing_a_busy_port_fails_fast_naming_it():
    with MockServer() as first:
        second = MockServer(port=first.port)
        with pytest.raises(MockServerError, match=rf"127\.0\.0\.1:{first.port} is already in use\."):
            second.start()
        second.close()


def test_testing_specs_seed_faults_and_env(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(REPO / "specs" / "vbasoftware.yaml", specs)
    with MockServer(specs=specs, seed=SEED, faults=[FAULT], env={"MOCKSERVER_API_KEYS": "k"}) as server:
        assert [s["name"] for s in server.request("GET", "/__mockserver/health")[2]["specs"]] == ["vbasoftware"]
        assert server.records("vbasoftware", "DEMO", "CallTracking")[0]["first_Name"] == "Ada"
        assert server.request("GET", "/vbasoftware/call-trackings/3", headers={**VBA, "x-api-key": "other"})[0] == 401
        assert server.request("GET", "/vbasoftware/call-trackings/3", headers=VBA)[0] == 503  # the fault, once
        status, _, body = server.request("GET", "/vbasoftware/call-trackings/3", headers=VBA)
        assert status == 200 and body["data"]["first_Name"] == "Ada"
        server.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 9}], VBA)
        assert sorted(r["call_Key"] for r in server.records("vbasoftware", "DEMO", "CallTracking")) == [3, 9]

        server.reset()  # back to the start: the seeded record only, the fault rule fresh, no journal
        assert [r["call_Key"] for r in server.records("vbasoftware", "DEMO", "CallTracking")] == [3]
        assert [(f["effect"], f["uses"], f["remaining"]) for f in server.faults()] == [("request-error", 0, 1)]
        assert server.request_count() == 0
        assert server.request("GET", "/vbasoftware/call-trackings/3", headers=VBA)[0] == 503


def test_testing_seed_and_faults_files_are_passed_as_given(tmp_path):
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    (tmp_path / "faults.json").write_text(json.dumps(FAULT))
    with MockServer(seed=tmp_path / "seed.json", faults=str(tmp_path / "faults.json")) as server:
        seed_at = server.args.index("--seed")
        assert server.args[seed_at + 1] == str(tmp_path / "seed.json") and str(tmp_path / "faults.json") in server.args
        assert server.records("vbasoftware", "DEMO", "CallTracking")[0]["call_Key"] == 3
        assert server.faults()[0]["status"] == 503


INNER_TEST = '''
import urllib.error
import urllib.request

def test_configured(mockserver):
    {port_check}
    health = mockserver.request("GET", "/__mockserver/health")[2]
    assert [s["name"] for s in health["specs"]] == ["vbasoftware"]
    assert [r["call_Key"] for r in mockserver.records("vbasoftware", "DEMO", "CallTracking")] == [3]
    assert [f["status"] for f in mockserver.faults()] == [503]
    assert mockserver.request("GET", "/vbasoftware/call-trackings/3",
                              headers={{"x-api-key": "nope", "Authorization": "Bearer t",
                                        "vbasoftware-database": "DEMO"}})[0] == 401
    assert mockserver.request("GET", "/__mockserver/requests?limit=1")[2]["requests"][0]["status"] == 401
    mockserver.seed("vbasoftware", "DEMO", "CallTracking", [{{"call_Key": 4}}])
    try:  # the server has the admin token of the options, and only the fixture's calls send it
        urllib.request.urlopen(mockserver.url + "/__mockserver/faults")
        raise AssertionError("the control plane answered without the admin token")
    except urllib.error.HTTPError as err:
        assert err.code == 401

def test_each_test_starts_from_the_seed(mockserver):
    assert [r["call_Key"] for r in mockserver.records("vbasoftware", "DEMO", "CallTracking")] == [3]
    assert [f["uses"] for f in mockserver.faults()] == [0]
'''


def run_pytest(where, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MOCKSERVER_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=where,
                          env=env, capture_output=True, text=True, timeout=120)


SEED_YAML = """\
vbasoftware:
  DEMO:
    CallTracking:
      - {call_Key: 3, first_Name: Ada}
"""


@pytest.mark.parametrize("via", ["ini", "command line"])
def test_testing_pytest_plugin_options(tmp_path, via):
    """A downstream project (outside this repo) configures the fixture in its pytest.ini (the README's,
    verbatim) or on the command line, run from a subdirectory (ini paths are relative to the ini file)."""
    project = tmp_path / "project"
    mock = project / "tests" / "mock"
    (mock / "specs").mkdir(parents=True)
    shutil.copy(REPO / "specs" / "vbasoftware.yaml", mock / "specs")
    (mock / "seed.yaml").write_text(SEED_YAML)
    (mock / "faults.json").write_text(json.dumps({**FAULT, "times": 5}))
    port = free_port()
    if via == "ini":
        (project / "pytest.ini").write_text(readme_block("pytest-ini"))
        check = "assert mockserver.request('GET', '/__mockserver/requests')[2]['requests'] == []"
        (project / "tests" / "test_downstream.py").write_text(INNER_TEST.format(port_check=check))
        result = run_pytest(project / "tests")
    else:
        (project / "pytest.ini").write_text("[pytest]\nmockserver_args = --port 1\n")  # the flags win
        check = f"assert mockserver.url == 'http://127.0.0.1:{port}'"
        (project / "tests" / "test_downstream.py").write_text(INNER_TEST.format(port_check=check))
        result = run_pytest(project, "--mockserver-specs", "tests/mock/specs", "--mockserver-seed",
                            "tests/mock/seed.yaml", "--mockserver-faults", "tests/mock/faults.json",
                            "--mockserver-env", "MOCKSERVER_API_KEYS=k", "--mockserver-env", "MOCKSERVER_JOURNAL_SIZE=7",
                            "--mockserver-args", f"--port {port}", "--mockserver-admin-token", "cli-admin-token")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_testing_pytest_plugin_refuses_a_bad_env_line(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nmockserver_env =\n    MOCKSERVER_API_KEYS\n")
    (tmp_path / "test_x.py").write_text("def test_x(mockserver):\n    pass\n")
    result = run_pytest(tmp_path)
    assert result.returncode != 0
    assert "mockserver_env: 'MOCKSERVER_API_KEYS' is not a KEY=VALUE line." in result.stdout + result.stderr


def test_testing_readme_mockserver_class_example(tmp_path):
    """The README's MockServer example, verbatim, in a fresh interpreter outside the repo."""
    result = subprocess.run([sys.executable, "-c", readme_block("mockserver-class")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
