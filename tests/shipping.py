"""What the Docker image and a newcomer's install do, done without Docker: parse the Dockerfile and
.dockerignore, lay out the build context, run a stage's commands in a fresh virtualenv.

Nothing here copies a value from the Dockerfile by hand: ENV, WORKDIR, COPY, RUN, CMD and HEALTHCHECK
are read from it, and only the container's absolute paths are mapped onto temp directories.
"""
from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mockserver.testing import terminate
from tests.support import REPO, free_port

INSTALL_TIMEOUT_S = 240


@dataclass
class Stage:
    base: str
    name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    copies: list[list[str]] = field(default_factory=list)  # COPY args (flags included)
    runs: list[str] = field(default_factory=list)
    user: str | None = None
    volumes: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    cmd: list[str] | None = None
    healthcheck: list[str] | None = None  # exec-form argv
    healthcheck_options: dict[str, str] = field(default_factory=dict)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and line continuations joined."""
    out, pending = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):  # comments, also between continued lines
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _exec_form(args: str) -> list[str]:
    if not args.startswith("["):
        raise AssertionError(f"use the exec form (a JSON array) so signals reach the server: {args}")
    return json.loads(args)


def parse_dockerfile(path: Path = REPO / "Dockerfile") -> list[Stage]:
    stages: list[Stage] = []
    for word, args in instructions(path.read_text()):
        if word == "FROM":
            parts = args.split()
            stages.append(Stage(base=parts[0], name=parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None))
            continue
        stage = stages[-1]
        if word == "ENV":
            stage.env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
        elif word == "WORKDIR":
            stage.workdir = args
        elif word == "COPY":
            stage.copies.append(shlex.split(args))
        elif word == "RUN":
            stage.runs.append(args)
        elif word == "USER":
            stage.user = args
        elif word == "VOLUME":
            stage.volumes += json.loads(args) if args.startswith("[") else args.split()
        elif word == "EXPOSE":
            stage.expose += args.split()
        elif word == "CMD":
            stage.cmd = _exec_form(args)
        elif word == "HEALTHCHECK":
            options, _, command = args.partition(" CMD ")
            stage.healthcheck_options = dict(opt.lstrip("-").split("=", 1) for opt in options.split())
            stage.healthcheck = _exec_form(command.strip())
    return stages


def dockerignore_allows(relpath: str, rules: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent dir matches too."""
    parts = relpath.strip("/").split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    allowed = True
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        patterns = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns):
            allowed = negate
    return allowed


def dockerignore_rules(path: Path = REPO / ".dockerignore") -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def build_context(dest: Path) -> Path:
    """The files `docker build .` would send, per .dockerignore, from the repository's tracked files."""
    rules = dockerignore_rules()
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    for rel in tracked:
        if dockerignore_allows(rel, rules) and (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


class Container:
    """A stage's filesystem paths mapped onto a temp dir (``/wheels`` → ``<root>/wheels``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def translate(self, command: str) -> str:
        """Absolute container paths in a (pip) command → paths under this container's root."""
        return re.sub(r"(?<![\w.])/(?=\w)", str(self.root) + "/", command)

    def copy_in(self, sources: list[Path], dest: str, workdir: str) -> None:
        """COPY semantics: into a directory for `dir/` or several sources, else onto ``dest``."""
        target = self.path(dest if dest.startswith("/") else f"{workdir}/{dest}")
        into = dest.endswith("/") or len(sources) > 1
        for source in sources:
            to = target / source.name if into and source.is_file() else target
            if source.is_dir():
                shutil.copytree(source, to, dirs_exist_ok=True)
            else:
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, to)


def pip_segments(run: str) -> list[str]:
    """The `pip ...` commands of a RUN line (the rest - useradd, chown - is about the container OS)."""
    return [seg.strip() for seg in run.split("&&") if re.match(r"\s*(python -m )?pip ", seg)]


def as_python_pip(command: str, python: Path) -> str:
    return re.sub(r"^(python -m )?pip ", f"{shlex.quote(str(python))} -m pip ", command.strip())


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path / "bin" / "python"


def clean_env(venv_bin: Path, **extra: str) -> dict[str, str]:
    """No PYTHONPATH and the venv first on PATH: what runs is what was installed."""
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_CONFIG_FILE")}
    return {**keep, "PATH": f"{venv_bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin", **extra}


def sh(command: str, *, cwd: Path, env: dict[str, str], timeout: float = INSTALL_TIMEOUT_S) -> str:
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"`{command}` failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def wait_until(check, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode} before {what}")
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Running:
    """An emulated container: the image's CMD as a local process."""

    proc: subprocess.Popen
    url: str  # where its published port is reachable
    env: dict[str, str]
    mounts: dict[str, Path]
    log: Path

    def host_path(self, container_path: str) -> Path:
        return self.mounts[container_path]

    def stop(self, grace: float = 10.0) -> int:
        """`docker stop`: SIGTERM, then (like Docker after its 10 s grace) SIGKILL."""
        return terminate(self.proc, grace)


class DockerEmulator:
    """`docker build` / `run` / `stop` from the README without a Docker engine.

    `docker build -t TAG .` names the image the `image` fixture built from the Dockerfile's stages;
    `docker run` starts the image's CMD in its venv with the image's ENV overlaid by `-e`, the image's
    VOLUMEs and `-v` mounts mapped onto temp dirs (named volumes under ``volumes/``), and the published
    port moved to a free one on 127.0.0.1 (the README's URLs are rewritten to it). It returns once the
    image's HEALTHCHECK passes. Only the options the README uses are known; any other fails the test.
    """

    def __init__(self, image, pwd: Path) -> None:
        self.image, self.pwd = image, pwd
        self.tags: set[str] = set()
        self.named: dict[str, Running] = {}
        self.started: list[Running] = []
        self.volumes = pwd.parent / "volumes"

    def command(self, command: str) -> Running | int | None:
        argv = [arg.replace("$PWD", str(self.pwd)) for arg in shlex.split(command)]
        assert argv[0] == "docker", command
        if argv[1] == "build":
            assert argv[2] == "-t" and argv[4:] == ["."], f"unexpected build command: {command}"
            self.tags.add(argv[3])
            return None
        if argv[1] == "stop":
            return self.named.pop(argv[2]).stop()
        assert argv[1] == "run", f"unsupported docker command: {command}"
        return self._run(argv[2:])

    def _run(self, args: list[str]) -> Running:
        options: dict[str, list[str]] = {"-e": [], "-p": [], "-v": [], "--name": []}
        while args[0].startswith("-"):
            flag = args.pop(0)
            if flag in ("--rm", "-d"):
                continue
            assert flag in options, f"docker run option {flag} is not emulated"
            options[flag].append(args.pop(0))
        image_ref, *cmd = args
        assert image_ref in self.tags, f"{image_ref} was not built (built: {self.tags})"
        return self.start(env=dict(e.split("=", 1) for e in options["-e"]), publish=options["-p"],
                          volumes=options["-v"], name=(options["--name"] or [None])[0], cmd=cmd or None)

    def start(self, env: dict[str, str], publish: list[str], volumes: list[str] = (), name: str | None = None,
              cmd: list[str] | None = None) -> Running:
        runtime = self.image.runtime
        env = {**runtime.env, **env}
        mounts: dict[str, Path] = {}
        for spec in volumes:
            source, target, *_mode = spec.split(":")
            mounts[target] = Path(source) if source.startswith("/") else self.volumes / source
        for volume in runtime.volumes:  # anonymous volumes: fresh per container
            mounts.setdefault(volume, self.pwd.parent / f"anon-{len(self.started)}{volume.replace('/', '-')}")
        for path in mounts.values():
            path.mkdir(parents=True, exist_ok=True)

        def host(container_path: str) -> Path:
            for target, source in mounts.items():
                if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
                    return source / container_path[len(target):].lstrip("/")
            return self.image.root.path(container_path)

        (published,) = publish
        host_port, container_port = published.split(":")
        assert container_port == env["MOCKSERVER_PORT"] and container_port in runtime.expose
        port = free_port()
        env.update({key: str(host(value)) for key, value in env.items()
                    if key.startswith("MOCKSERVER_") and value.startswith("/")})
        env.update(MOCKSERVER_PORT=str(port), MOCKSERVER_HOST="127.0.0.1")  # loopback only, free port
        env = clean_env(self.image.bin, **env)
        workdir = host(runtime.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        log = self.pwd.parent / f"container-{len(self.started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd or runtime.cmd, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        running = Running(proc, f"http://127.0.0.1:{port}", env, mounts, log)
        self.started.append(running)
        if name:
            self.named[name] = running
        timeout = float(runtime.healthcheck_options.get("timeout", "5s").rstrip("s"))

        def healthy() -> bool:
            return subprocess.run(runtime.healthcheck, env=env, cwd=workdir, capture_output=True,
                                  timeout=timeout + 5).returncode == 0
        wait_until(healthy, 45, "the HEALTHCHECK to pass", proc)
        return running

    def close(self) -> None:
        for running in self.started:
            running.stop()


PROBE_PACKAGE = "tinydb"  # small, and a dependency: an index that cannot give it cannot install us
PROBE_TIMEOUT_S = 10


@functools.lru_cache(maxsize=None)
def package_index_problem() -> str | None:
    """None when pip (as configured here) can download a package, else why not: the reason a
    `network` test is skipped with. Asked once per session, with a short timeout."""
    with tempfile.TemporaryDirectory() as dest:
        try:
            result = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-cache-dir",
                                     "--timeout", "5", "--retries", "0", "--dest", dest, PROBE_PACKAGE],
                                    capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, cwd=dest)
        except subprocess.TimeoutExpired:
            return f"the package index did not answer `pip download {PROBE_PACKAGE}` within {PROBE_TIMEOUT_S} s"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the package index cannot be reached (`pip download {PROBE_PACKAGE}`: {last})"
    return None
