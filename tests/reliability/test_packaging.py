"""Packaging: the wheel the image installs (shared `image` venv), and a newcomer's source installs
(`pip install -e .`, `pip install .`, `pip install '.[test]'`) in one fresh venv."""
from __future__ import annotations

import subprocess
import zipfile

import mockserver
from tests.shipping import build_context, clean_env, make_venv, sh
from tests.support import REPO

SHIPPED_SPECS = sorted(p.name for p in (REPO / "specs").glob("*.yaml"))
VERSION_LINE = f"mockserver, version {mockserver.__version__}"


def test_packaging_wheel_ships_the_specs_as_package_data(image):
    names = zipfile.ZipFile(image.wheel).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("mockserver/specs/") and n.endswith(".yaml")) \
        == SHIPPED_SPECS
    assert "mockserver/serving.py" in names and not [n for n in names if n.startswith(("tests/", "specs/"))]


def test_packaging_installed_console_script_and_module_report_version(image, tmp_path):
    env = clean_env(image.bin)
    assert sh("mockserver --version", cwd=tmp_path, env=env).strip() == VERSION_LINE
    assert sh("python -m mockserver --version", cwd=tmp_path, env=env).strip() == VERSION_LINE
    where = sh("python -c 'import mockserver; print(mockserver.__file__)'", cwd=tmp_path, env=env)
    assert where.startswith(str(image.python.parent.parent)), f"imported from {where}, not the venv"


def test_packaging_installed_check_finds_shipped_specs_outside_the_repo(image, tmp_path):
    out = sh("mockserver check", cwd=tmp_path, env=clean_env(image.bin))
    assert [line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("ok")] == SHIPPED_SPECS
    bad = subprocess.run(["mockserver", "check", "--specs", str(tmp_path / "missing")], cwd=tmp_path,
                         env=clean_env(image.bin), capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "missing" in bad.stderr


def test_packaging_source_installs_in_a_fresh_venv(tmp_path):
    """`pip install -e .` (the README's first command is run verbatim by tests/docs), then `pip install .`
    replaces it with a real install, then `pip install '.[test]'` adds the test tools."""
    source = build_context(tmp_path / "source")  # the packaged files only, as a fresh clone holds them
    python = make_venv(tmp_path / "venv")
    env = clean_env(python.parent)
    work = tmp_path / "elsewhere"
    work.mkdir()

    sh("python -m pip install -q .", cwd=source, env=env)
    assert sh("mockserver --version", cwd=work, env=env).strip() == VERSION_LINE
    where = sh("python -c 'import mockserver; print(mockserver.__file__)'", cwd=work, env=env)
    assert "site-packages" in where
    missing = subprocess.run(["python", "-m", "pytest", "--version"], cwd=work, env=env, capture_output=True)
    assert missing.returncode != 0, "pytest belongs to the test extra, not the runtime install"

    sh("python -m pip install -q '.[test]'", cwd=source, env=env)
    for tool in ("python -m pytest --version", "schemathesis --version", "hadolint --version"):
        sh(tool, cwd=work, env=env)
    assert "ok  vbasoftware.yaml" in sh("mockserver check", cwd=work, env=env)
