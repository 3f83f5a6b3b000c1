"""Every command in README.md is exercised, and this module says how.

The convention: each fenced block of README.md sits right under ``<!-- exercised: NAME -->``, and a
test somewhere under tests/ names it literally in ``readme_block("NAME")``, ``readme_commands("NAME")``
or ``run_readme_commands("NAME", ...)`` (tests/readme.py), taking the commands from the README rather
than a copy. A section author adds a block and the test that runs it together; this module fails on an
unmarked block or a marker no test uses. What runs each block today:

- first-commands: the second command is what .ci/run runs, verbatim (checked here); the first runs
  verbatim in a fresh venv in tests/reliability/test_packaging.py (install, serve, answer, SIGTERM).
- health, vba-examples, vba-binding: run verbatim by bash with real curl against a live server (URL pointed at it).
- fuzz-vbasoftware, fuzz-vcclive, fuzz-pipeliner: the server started with the recipe's settings, the
  other commands run verbatim from a temp dir outside the repo with bounds appended (2 examples,
  fuzzing phase, fixed seed); tests/conformance runs the full hunt.
- docker-build, docker-run, docker-run-volume, docker-run-specs, ci-github, ci-gitlab: there is no
  Docker engine here, so tests/reliability/test_dockerfile.py emulates `docker build` (the Dockerfile's
  stages, without Docker) and `docker run`/`docker stop` (the image's CMD with its ENV, the `-e`, `-v`
  and `-p` of the command), and runs the CI examples' commands against that emulated container.

It also checks that the configuration table has a row for every Settings field's MOCKSERVER_* variable.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from mockserver.config import ENV_PREFIX, Settings
from mockserver.store import Store
from tests.readme import DOCUMENTED_URLS, readme_blocks, readme_commands, run_readme_commands
from tests.support import REPO

CALLERS = re.compile(r"""(?:readme_block|readme_commands|run_readme_commands)\(\s*["']([\w-]+)["']""")
SHIPPED_SPECS = sorted(p.stem for p in (REPO / "specs").glob("*.yaml"))


def exercised_names() -> set[str]:
    names = set()
    for path in (REPO / "tests").rglob("*.py"):
        if path != REPO / "tests" / "readme.py":
            names |= set(CALLERS.findall(path.read_text()))
    return names


def test_readme_every_block_is_marked_and_exercised():
    blocks = readme_blocks()
    unmarked = [b.line for b in blocks if b.name is None]
    assert not unmarked, f"README blocks at lines {unmarked} lack <!-- exercised: NAME -->"
    names = [b.name for b in blocks]
    assert len(names) == len(set(names)), f"duplicate block names: {names}"
    unused = set(names) - exercised_names()
    assert not unused, f"no test runs these README blocks: {sorted(unused)}"


def test_readme_convention_spots_an_unmarked_block():
    text = "<!-- exercised: one -->\n```sh\ntrue\n```\n\n```sh\nfalse\n```\n"
    assert [(b.name, b.text) for b in readme_blocks(text)] == [("one", "true\n"), (None, "false\n")]


def test_readme_first_commands_and_ci_runs_the_test_command():
    install_and_serve, install_and_test = readme_commands("first-commands")
    assert install_and_serve == "python -m pip install -e . && mockserver serve"
    assert install_and_test == "python -m pip install -q -e '.[test]' && python -m pytest"
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert install_and_test in ci_lines, ".ci/run must call the README's test command verbatim"


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="the README's examples use curl, not installed")


@needs_curl
def test_readme_health_command(live_server):
    server = live_server()
    health = json.loads(run_readme_commands("health", server.url))
    assert health["status"] == "ok" and sorted(s["name"] for s in health["specs"]) == SHIPPED_SPECS


@needs_curl
def test_readme_vba_examples(live_server):
    server = live_server()
    out = run_readme_commands("vba-examples", server.url)
    assert out.count('"status": 201') == 5, out  # 3 calls, 1 trial, 1 event created
    assert '"first_Name": "Ada"' in out and '"study_Title": "Trial A"' in out and '"subject": "Call back"' in out
    with Store(server.data).transaction("vbasoftware", "DEMO", write=False) as tx:
        assert sorted(r["call_Key"] for r in tx.records("CallTracking").all()) == [1, 2, 7]
        assert tx.records("CallTracking").get(1)["first_Name"] == "Ada"
        assert tx.records("CareCaseClinicalTrial").get(1)["study_Title"] == "Trial A"
        assert tx.records("Event").get(100)["reminder"] is True


@needs_curl
def test_readme_vba_binding_examples(live_server):
    server = live_server()
    out = run_readme_commands("vba-binding", server.url)
    assert '"id": [{"key": "call_Key", "value": "20"}], "status": 201' in out, out
    assert '"errors": {"$[1].call_Length": ["The JSON value could not be converted to System.Nullable`1[System.Int32]. ' \
           'Path: $[1].call_Length | LineNumber: 0 | BytePositionInLine: 52."]}' in out, out
    with Store(server.data).transaction("vbasoftware", "DEMO", write=False) as tx:
        assert tx.records("CallTracking").all() == [tx.records("CallTracking").get(20)]
        assert tx.records("CallTracking").get(20)["first_Name"] == "Ada" and "bogus" not in tx.records("CallTracking").get(20)


# Each vendor's fuzz recipe: the server's start line, then the commands run in another terminal.
FUZZ_RECIPES = {
    "vbasoftware": lambda: readme_commands("fuzz-vbasoftware"),
    "vcclive": lambda: readme_commands("fuzz-vcclive"),
    "pipeliner": lambda: readme_commands("fuzz-pipeliner"),
}


@needs_curl
@pytest.mark.parametrize("vendor", sorted(FUZZ_RECIPES))
def test_readme_fuzz_recipe(live_server, tmp_path, vendor):
    """Verbatim (bounds appended: 2 examples, fuzzing phase, fixed seed), from a directory outside the
    repository, with the installed package's schemathesis and hooks (no PYTHONPATH, no SCHEMATHESIS_HOOKS)."""
    serve, fetch, fuzz = FUZZ_RECIPES[vendor]()
    *assignments, program, command = shlex.split(serve)
    assert (program, command) == ("mockserver", "serve") and all("=" in a for a in assignments), serve
    server = live_server(env=dict(a.split("=", 1) for a in assignments))
    assert fetch.startswith("curl ") and fuzz.startswith("schemathesis --config-file ")
    script = "\n".join([fetch, fuzz + " --max-examples 2 --phases fuzzing --seed 7"])
    for url in DOCUMENTED_URLS:
        script = script.replace(url, server.url)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCHEMATHESIS_HOOKS")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]
    assert "Unmatched filters" not in result.stdout and "ST401" not in result.stdout, result.stdout[-3000:]
    assert 'hooks = "mockserver.schemathesis_hooks"' in (tmp_path / f"{vendor}.toml").read_text()
    assert not REPO.resolve() in tmp_path.resolve().parents


def test_readme_configuration_table_lists_every_setting():
    text = (REPO / "README.md").read_text()
    table = text[text.index("<!-- section: configuration -->"):text.index("<!-- /section: configuration -->")]
    documented = set(re.findall(r"^\|[^|]*\| `(MOCKSERVER_\w+)` \|", table, re.M))
    settings = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
    assert documented == settings, f"missing rows: {settings - documented}; unknown: {documented - settings}"


@needs_curl
def test_readme_journal_verify_command(live_server):
    """The verify example: 200 once the batch it names was sent, 409 with a near miss before."""
    server = live_server()
    missing = json.loads(run_readme_commands("journal-verify", server.url))
    assert missing["status"] == 409 and missing["count"] == 0 and missing["near_misses"] == []
    headers = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "DEMO"}
    server.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 1}], headers)
    near = json.loads(run_readme_commands("journal-verify", server.url))
    assert near["status"] == 409 and near["near_misses"][0]["mismatched"] == ["body"]
    server.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 2, "first_Name": "Bob"}], headers)
    held = json.loads(run_readme_commands("journal-verify", server.url))
    assert held["count"] == 1 and held["expected"] == {"exactly": 1}
