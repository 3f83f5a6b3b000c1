"""The image, built without Docker: the Dockerfile's builder stage makes the wheel, its runtime stage's
`pip install` puts it in a fresh virtualenv (the base image's Python is a Python with nothing else)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.shipping import (Container, Stage, as_python_pip, build_context, make_venv, parse_dockerfile,
                            pip_segments, sh)


@dataclass
class Image:
    runtime: Stage
    root: Container  # the runtime stage's filesystem
    python: Path  # the venv's python: `python` and the console script live beside it
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.python.parent


def _run_stage(stage: Stage, root: Container, context: Path, stages: dict[str, Container], python: Path) -> None:
    root.path(stage.workdir).mkdir(parents=True, exist_ok=True)
    for args in stage.copies:
        flags = [a for a in args if a.startswith("--")]
        *sources, dest = [a for a in args if not a.startswith("--")]
        origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        paths = ([stages[origin].path(s) for s in sources] if origin else [context / s for s in sources])
        root.copy_in(paths, dest, stage.workdir)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for run in stage.runs:
        for command in pip_segments(run):
            sh(as_python_pip(root.translate(command), python), cwd=root.path(stage.workdir), env=env)


@pytest.fixture(scope="session")
def image(tmp_path_factory) -> Image:
    stages = parse_dockerfile()
    tmp = tmp_path_factory.mktemp("image")
    context = build_context(tmp / "context")
    roots: dict[str, Container] = {}
    for index, stage in enumerate(stages[:-1]):
        roots[stage.name or str(index)] = root = Container(tmp / f"stage-{index}")
        _run_stage(stage, root, context, roots, Path(sys.executable))
    runtime = stages[-1]
    root = Container(tmp / "runtime")
    python = make_venv(tmp / "venv")
    _run_stage(runtime, root, context, roots, python)
    wheels = sorted(next(iter(roots.values())).root.rglob("*.whl"))
    assert len(wheels) == 1, f"the builder stage should make one wheel, made {wheels}"
    return Image(runtime=runtime, root=root, python=python, wheel=wheels[0])
