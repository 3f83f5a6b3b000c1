"""`network` tests (fresh-venv pip installs) are skipped with a printed reason when the package index
cannot be reached: shown by running one of them where pip can reach nothing."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO, free_port

NETWORK_TEST = "tests/reliability/test_packaging.py::test_packaging_wheel_ships_the_specs_as_package_data"


def test_network_tests_are_skipped_with_the_reason_when_the_index_is_unreachable():
    nothing = f"http://127.0.0.1:{free_port()}/simple"  # a closed port: connection refused at once
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": nothing, "PIP_EXTRA_INDEX_URL": "",
           "PIP_FIND_LINKS": "", "PIP_NO_CACHE_DIR": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", NETWORK_TEST], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 skipped" in result.stdout
    assert "SKIPPED" in result.stdout and "network: the package index cannot be reached (`pip download tinydb`" \
        in result.stdout, result.stdout[-3000:]


def test_network_marker_is_registered():
    result = subprocess.run([sys.executable, "-m", "pytest", "--markers"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert "@pytest.mark.network: pip-installs into a fresh venv" in result.stdout
