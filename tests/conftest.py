"""Shared fixtures: app → client (Flask test client, fresh temp data dir per test) and a real server.

Flaskr's chain (app → client) plus ``live_server``: a real `python -m mockserver serve` process on a
free 127.0.0.1 port, started and stopped by the test.
"""
from __future__ import annotations

import pytest

import mockserver.testing
from mockserver import create_app
from tests.shipping import package_index_problem
from tests.support import LiveServer, free_port  # noqa: F401  (re-exported for test modules)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A `network` test (it pip-installs into a fresh venv) is skipped, with the reason, when the
    package index cannot be reached; it runs wherever it can (CI, .ci/run)."""
    if item.get_closest_marker("network") is not None:
        problem = package_index_problem()
        if problem is not None:
            pytest.skip(f"network: {problem}")


def pytest_configure(config):
    """Use the `mockserver` fixture as a downstream suite does. Installed (pip install -e), the
    package's pytest11 entry point has already registered the plugin; from a bare checkout it has not."""
    if not config.pluginmanager.is_registered(mockserver.testing):
        config.pluginmanager.register(mockserver.testing, "mockserver.testing")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def app(data_dir):
    return create_app({"data": data_dir})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    """The app's store, to assert what was (not) stored."""
    return app.extensions["mockserver"].store


@pytest.fixture
def live_server(tmp_path):
    """Factory: ``live_server(**env)`` starts a real server; every server started is stopped after the test."""
    started: list[LiveServer] = []

    def start(*args: str, data=None, env=None) -> LiveServer:
        server = LiveServer(data=data or tmp_path / "live-data", args=args, env=env or {})
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
