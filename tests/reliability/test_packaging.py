"""Packaging: the wheel the image installs (shared `image` venv), and a newcomer's source installs
(the README's `pip install -e .`, then `pip install '.[test]'`) in one fresh venv."""
from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
import zipfile

import pytest

import mockserver
from tests.readme import readme_commands
from tests.shipping import INSTALL_TIMEOUT_S, build_context, clean_env, make_venv, sh, wait_until
from tests.support import REPO, free_port

pytestmark = pytest.mark.network  # every test here pip-installs into a fresh venv

SHIPPED_SPECS = sorted(p.name for p in (REPO / "specs").glob("*.yaml"))
VERSION_LINE = f"mockserver, version {mockserver.__version__}"


def test_packaging_wheel_ships_the_specs_as_package_data(image):
    names = zipfile.ZipFile(image.wheel).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("mockserver/specs/") and n.endswith(".yaml")) \
        == SHIPPED_SPECS
    assert "mockserver/serving.py" in names and "mockserver/schemathesis_hooks/__init__.py" in names and not [n for n in names if n.startswith(("tests/", "specs/"))]


DASHBOARD_FILES = sorted(str(p.relative_to(REPO)) for p in (REPO / "mockserver" / "ui").rglob("*")
                         if p.suffix in (".html", ".css"))
RENDER_DASHBOARD = """
import sys
from mockserver import create_app
client = create_app({"data": sys.argv[1]}).test_client()
for path in ("/__mockserver/ui/", "/__mockserver/ui/requests", "/__mockserver/ui/faults", "/__mockserver/ui/static/dashboard.css"):
    answer = client.get(path)
    print(answer.status_code, path, len(answer.data))
"""


def test_packaging_wheel_ships_the_dashboard_and_the_installed_package_renders_it(image, tmp_path):
    names = zipfile.ZipFile(image.wheel).namelist()
    assert DASHBOARD_FILES and [n for n in DASHBOARD_FILES if n not in names] == []
    (tmp_path / "render.py").write_text(RENDER_DASHBOARD)
    out = sh(f"python render.py {tmp_path / 'data'}", cwd=tmp_path, env=clean_env(image.bin))
    assert [line.split()[0] for line in out.splitlines()] == ["200"] * 4, out


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
    """A newcomer's installs, in one fresh venv on a copy of the packaged files: the README's first
    command verbatim (`pip install -e . && mockserver serve`), then `pip install '.[test]'` (a regular,
    non-editable source install plus the test tools). `pip install .` alone is what the `image` fixture
    does in two steps (the Dockerfile's `pip wheel .`, then installing that wheel)."""
    source = build_context(tmp_path / "source")
    python = make_venv(tmp_path / "venv")
    env = clean_env(python.parent)
    work = tmp_path / "elsewhere"
    work.mkdir()
    port = free_port()
    health = f"http://127.0.0.1:{port}/__mockserver/health"

    install_and_serve = readme_commands("first-commands")[0]
    server_env = {**env, "MOCKSERVER_PORT": str(port), "MOCKSERVER_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen(["bash", "-c", install_and_serve], cwd=source, env=server_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_until(lambda: _answers(health), INSTALL_TIMEOUT_S, "the README's first command to serve", proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert not _answers(health)
    assert sh("mockserver --version", cwd=work, env=env).strip() == VERSION_LINE
    missing = subprocess.run(["python", "-m", "pytest", "--version"], cwd=work, env=env, capture_output=True)
    assert missing.returncode != 0, "pytest belongs to the test extra, not the runtime install"

    sh("python -m pip install -q '.[test]'", cwd=source, env=env)
    where = sh("python -c 'import mockserver; print(mockserver.__file__)'", cwd=work, env=env)
    assert "site-packages" in where, f"not a regular install: {where}"
    for tool in ("python -m pytest --version", "schemathesis --version", "hadolint --version"):
        sh(tool, cwd=work, env=env)
    assert "ok  vbasoftware.yaml" in sh("mockserver check", cwd=work, env=env)
    # The plugin both ways: autoloaded, and named with -p (as with PYTEST_DISABLE_PLUGIN_AUTOLOAD):
    # the entry point's name must be the module's, or pytest refuses to register it twice.
    (work / "test_downstream.py").write_text(DOWNSTREAM_TEST)
    for how in ("", "-p mockserver.testing", "-p mockserver.testing -p no:cacheprovider"):
        assert "1 passed" in sh(f"python -m pytest -q {how} test_downstream.py", cwd=work, env=env)
    disabled = {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert "1 passed" in sh("python -m pytest -q -p mockserver.testing test_downstream.py", cwd=work, env=disabled)


DOWNSTREAM_TEST = """
def test_fixture_serves(mockserver):
    mockserver.seed("pipeliner", "DEMO", "Account", [{"id": "a"}])
    assert mockserver.records("pipeliner", "DEMO", "Account") == [{"id": "a"}]
"""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False
