"""Logging and serving settings: the access log (text / JSON lines / off), log level and format by env."""
from __future__ import annotations

import json
import logging
import re
import urllib.parse

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from mockserver import serving
from mockserver.cli import main
from mockserver.config import Settings, cores
from mockserver.logs import AccessLog, configure_logging

BATCH_HEADERS = {"x-api-key": "k", "Authorization": "Bearer t", "vbasoftware-database": "LOGS"}


@pytest.fixture
def root_logging():
    """configure_logging replaces the root handlers: put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_logs_json_lines_access_and_batch(app, store, capsys, root_logging):
    configure_logging("INFO", "json")
    client = Client(AccessLog(app))
    resp = client.put("/vbasoftware/call-trackings-batch?trace=1", json=[{"call_Key": 0}], headers=BATCH_HEADERS,
                      buffered=True)  # buffered: the body is sent and closed, as a server does
    assert resp.status_code == 207 and resp.content_type == "application/json"
    with store.transaction("vbasoftware", "LOGS", write=False) as tx:
        assert len(tx.records("CallTracking")) == 1
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = [e for e in lines if e["logger"] == "mockserver.access"]
    assert len(access) == 1
    entry = access[0]
    assert {k: entry[k] for k in ("level", "method", "path", "query", "status", "bytes")} == {
        "level": "INFO", "method": "PUT", "path": "/vbasoftware/call-trackings-batch", "query": "trace=1",
        "status": 207, "bytes": len(resp.data)}
    assert entry["ms"] >= 0 and entry["time"].endswith("+00:00") and entry["pid"]
    assert [e["logger"] for e in lines].count("mockserver.batch") == 1


def test_logs_text_access_line_and_level(app, capsys, root_logging):
    configure_logging("WARNING", "text")
    Client(AccessLog(app)).get("/__mockserver/health", buffered=True)
    assert capsys.readouterr().err == ""  # INFO lines are below WARNING
    configure_logging("INFO", "text")
    resp = Client(AccessLog(app)).get("/nowhere", buffered=True,
                                      environ_base={"REMOTE_ADDR": "10.1.2.3"})
    err = capsys.readouterr().err
    assert resp.status_code == 404
    assert re.search(rf'INFO \[\d+\] mockserver\.access 10\.1\.2\.3 "GET /nowhere" 404 {len(resp.data)}B [\d.]+ms', err), err


@pytest.mark.parametrize("name,raw,field,expected", [
    ("MOCKSERVER_LOG_FORMAT", "JSON", "log_format", "json"),
    ("MOCKSERVER_LOG_FORMAT", "text", "log_format", "text"),
    ("MOCKSERVER_ACCESS_LOG", "off", "access_log", False),
    ("MOCKSERVER_ACCESS_LOG", "1", "access_log", True),
    ("MOCKSERVER_LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("MOCKSERVER_WORKERS", "4", "workers", 4),
])
def test_settings_parse_serving_variables(name, raw, field, expected):
    assert getattr(Settings.from_env({name: raw}), field) == expected


@pytest.mark.parametrize("name,raw", [
    ("MOCKSERVER_LOG_FORMAT", "xml"), ("MOCKSERVER_ACCESS_LOG", "maybe"), ("MOCKSERVER_LOG_LEVEL", "loud"),
    ("MOCKSERVER_WORKERS", "0"), ("MOCKSERVER_WORKERS", "two"),
])
def test_serve_rejects_bad_serving_variables(name, raw, tmp_path):
    result = CliRunner().invoke(main, ["serve", "--data", str(tmp_path)], env={name: raw})
    assert result.exit_code == 2
    assert f"{name}={raw!r}" in result.output


@pytest.mark.parametrize("access_log,wrapped", [(True, True), (False, False)])
def test_serving_run_wraps_access_log_only_when_on(monkeypatch, app, access_log, wrapped):
    seen = {}

    class Recorder:
        def __init__(self, wsgi, options):
            seen["wsgi"], seen["options"] = wsgi, options

        def run(self):
            seen["ran"] = True

    monkeypatch.setattr(serving, "_MockServerApplication", Recorder)
    serving.run(app, Settings(host="::1", port=9999, workers=3, access_log=access_log))
    assert seen["ran"] and isinstance(seen["wsgi"], AccessLog) is wrapped
    assert seen["options"]["bind"] == ["[::1]:9999"] and seen["options"]["workers"] == 3


def test_settings_default_to_one_worker_per_core():
    """The control plane is shared by the workers (shared.py), so the default uses every core."""
    assert Settings.from_env({}).workers == cores() >= 1
    assert Settings.from_env({"MOCKSERVER_WORKERS": "3"}).workers == 3


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_logs_never_show_the_admin_token(app, capsys, root_logging, log_format):
    """A client that puts the token in a URL (raw or percent-encoded): no line shows it, in any form."""
    token = 'adm"in\\tok+en/1'
    configure_logging("DEBUG", log_format, secrets=[token, None])
    client = Client(AccessLog(app))
    for query in (urllib.parse.urlencode({"t": token}), "t=" + token.replace("+", "%2B")):
        client.get("/nowhere/" + urllib.parse.quote(token, safe=""), query_string=query, buffered=True)
    logging.getLogger("mockserver.test").warning("said %s", token)
    err = capsys.readouterr().err
    assert err.count('"GET /nowhere/') == 2 and "said ***" in err
    forms = {token, json.dumps(token)[1:-1], urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
    assert not [form for form in forms if form in err], err
