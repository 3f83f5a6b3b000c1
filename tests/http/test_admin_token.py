"""The admin token (MOCKSERVER_ADMIN_TOKEN) through a real server: every operation of the served admin
spec refuses a call without it or with a wrong one (401, nothing changed) and works with it; health,
the login page and the vendor APIs stay open; the token never shows in the journal, the log or a page;
the login cookie works for a browser, logout clears it, and `next` cannot send the browser elsewhere."""
from __future__ import annotations

import http.client
import http.cookiejar
import json
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from mockserver.admin.access import cookie_value
from mockserver.testing import MockServer
from tests.readme import readme_commands

TOKEN = "adm-7f3c9e51b2d4"
WRONG = "adm-0000000000000"
COOKIE = cookie_value(TOKEN)
VBA = {"x-api-key": "k", "Authorization": "Bearer vendor-token", "vbasoftware-database": "DEMO"}
CREDENTIALS = {"bearer": {"Authorization": f"Bearer {TOKEN}"}, "header": {"X-Mockserver-Admin-Token": TOKEN}}
WRONG_CREDENTIALS = {"bearer": {"Authorization": f"Bearer {WRONG}"}, "header": {"X-Mockserver-Admin-Token": WRONG}}
CHALLENGE = 'Bearer realm="mockserver"'
METHODS = ("get", "put", "post", "delete", "patch")
# Path parameters filled with values the server holds, so no call 404s for the wrong reason.
PATH_VALUES = {"name": "vbasoftware", "vendor": "vbasoftware", "tenant": "DEMO", "entity": "CallTracking"}
# The body an operation needs to succeed ("METHOD /path" of the admin spec); a callable gets the server.
BODIES = {
    "POST /records/{vendor}/{tenant}/{entity}": lambda s: [{"call_Key": 5, "first_Name": "Ada"}],
    "PUT /snapshot": lambda s: s.snapshot(),
    "POST /faults": lambda s: {"effect": "delay", "delay_ms": 0, "vendor": "vbasoftware"},
    "POST /requests/verify": lambda s: {"where": {}, "at_least": 0},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with MockServer(admin_token=TOKEN, data=tmp_path_factory.mktemp("admin-token") / "data",
                    env={"MOCKSERVER_LOG_LEVEL": "DEBUG"}) as started:
        yield started


def raw(server: MockServer, method: str, path: str, body=None, headers=None):
    """A call that sends only the headers given (no admin token added)."""
    return server.request(method, path, body, headers, as_admin=False)


def state(server: MockServer) -> tuple:
    """What a refused call must leave as it was: the data, the fault rules (with use counts), the journal."""
    return server.snapshot(), server.faults(), server.request_count()


def admin_operations(server: MockServer) -> list[tuple[str, str, dict]]:
    status, _, spec = server.request("GET", "/__mockserver/specs/admin")
    assert status == 200
    return [(method.upper(), path, op) for path, item in spec["paths"].items()
            for method, op in item.items() if method in METHODS]


def concrete(server: MockServer, path: str) -> str:
    values = {**PATH_VALUES}
    if "{rule_id}" in path:  # a rule of its own, so DELETE has one to delete
        values["rule_id"] = server.fault(effect="delay", delay_ms=0, vendor="vbasoftware")["id"]
    return "/__mockserver" + path.format(**{k: urllib.parse.quote(v, safe="") for k, v in values.items()})


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_admin_token_every_operation_refuses_without_or_wrong_and_works_with(server, kind):
    server.reset()
    server.seed("vbasoftware", "DEMO", "CallTracking", [{"call_Key": 1, "first_Name": "Old"}])
    server.request("PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 2}], VBA)
    operations = admin_operations(server)
    assert len(operations) >= 19
    for method, path, op in operations:
        label = f"{method} {path}"
        url = concrete(server, path)
        needs_body = bool(op.get("requestBody", {}).get("required"))
        assert not needs_body or label in BODIES, f"add a body for {label} to BODIES"
        body = BODIES[label](server) if label in BODIES else None
        if op.get("security") == []:
            assert raw(server, method, url)[0] == 200, label
            continue
        before = state(server)
        for headers, challenge in ((None, CHALLENGE), (WRONG_CREDENTIALS[kind], CHALLENGE + ', error="invalid_token"')):
            status, got, problem = raw(server, method, url, body, headers)
            assert status == 401, f"{label} with {headers}: {status} {problem}"
            assert got["Content-Type"] == "application/problem+json" and got["WWW-Authenticate"] == challenge, label
            assert problem["status"] == 401 and problem["title"] == "Unauthorized", label
            assert TOKEN not in json.dumps(problem) and WRONG not in json.dumps(problem)
        assert state(server) == before, f"a refused {label} changed something"
        status, _, answer = raw(server, method, url, body, CREDENTIALS[kind])
        assert 200 <= status < 300, f"{label} with the token: {status} {answer}"


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/__mockserver/health", 200),
    ("HEAD", "/__mockserver/health", 200),
    ("POST", "/__mockserver/health", 401),           # only reading the health is open
    ("GET", "/__mockserver", 401),                   # the index without its slash
    ("GET", "/__mockserver/nothing-here", 401),      # a path nothing serves: no probing for routes
    ("GET", "/__mockserver/ui/", 401),               # the dashboard's prefix (a client, not a browser)
    ("OPTIONS", "/__mockserver/reset", 401),
    ("GET", "/__mockserver/login", 200),
])
def test_admin_token_what_is_open_under_the_prefix(server, method, path, expected):
    status, headers, _ = raw(server, method, path)
    assert status == expected
    if expected == 401:
        assert headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("path, next_path", [("/__mockserver/ui/requests?page=2", "%2F__mockserver%2Fui%2Frequests%3Fpage%3D2"),
                                             ("/__mockserver/", "%2F__mockserver%2F")])
def test_admin_token_a_browser_asking_a_dashboard_page_is_sent_to_the_login(server, path, next_path):
    request = urllib.request.Request(server.url + path,
                                     headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    try:
        browser(http.cookiejar.CookieJar()).open(request, timeout=10)
    except urllib.error.HTTPError as err:
        status, headers = err.code, err.headers
    assert status == 303
    assert headers["Location"] == "/__mockserver/login?next=" + next_path


@pytest.mark.parametrize("target", ["//__mockserver/reset", "/__mockserver//reset", "/%5F%5Fmockserver/reset",
                                    "/__mockserver/./reset"])
def test_admin_token_other_spellings_of_a_path_are_refused_too(server, target):
    server.reset()
    server.seed("vbasoftware", "DEMO", "CallTracking", [{"call_Key": 1}])
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.request("POST", target)  # the request target as written (urllib would normalise it)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 401
    assert [r["call_Key"] for r in server.records("vbasoftware", "DEMO", "CallTracking")] == [1]


def test_admin_token_vendor_apis_are_untouched(server):
    server.reset()
    status, _, body = raw(server, "PUT", "/vbasoftware/call-trackings-batch", [{"call_Key": 3}], VBA)
    assert status == 207 and body["data"][0]["status"] == 201
    assert raw(server, "GET", "/vbasoftware/call-trackings/3", headers=VBA)[0] == 200
    assert raw(server, "GET", "/vbasoftware/call-trackings/3", headers={**VBA, "x-api-key": ""})[0] == 401  # its own auth
    assert [r["call_Key"] for r in server.records("vbasoftware", "DEMO", "CallTracking")] == [3]


def test_admin_token_is_never_in_the_journal(server):
    """A client that sends the token (or the login cookie) to a vendor path too: the journal masks it."""
    server.reset()
    headers = {**VBA, "X-Mockserver-Admin-Token": TOKEN, "Cookie": f"mockserver_admin={COOKIE}; other=1",
               "X-Note": f"sent {TOKEN} here"}
    status, _, _ = raw(server, "PUT", f"/vbasoftware/call-trackings-batch?note={TOKEN}",
                       [{"call_Key": 4, "first_Name": TOKEN}], headers)
    assert status == 207
    (entry,) = server.requests()
    text = json.dumps(entry)
    assert TOKEN not in text and COOKIE not in text
    sent = {k.lower(): v for k, v in entry["headers"].items()}
    assert sent["x-mockserver-admin-token"] == "***" and sent["cookie"] == "***"
    assert sent["x-note"] == "sent *** here" and entry["query"]["note"] == ["***"]
    assert entry["body"] == [{"call_Key": 4, "first_Name": "***"}]


def test_admin_token_login_page_form_and_headers(server):
    status, headers, page = raw(server, "GET", "/__mockserver/login")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == ("default-src 'none'; style-src 'self'; form-action 'self'; "
                                                  "frame-ancestors 'none'")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert '<form method="post" action="/__mockserver/login">' in page and 'name="token"' in page
    assert "<script" not in page and "style=" not in page and "http" not in page  # no script, no asset elsewhere
    assert TOKEN not in page and COOKIE not in page and "open" not in page


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser(jar: http.cookiejar.CookieJar) -> urllib.request.OpenerDirector:
    """A client that keeps cookies as a browser does and shows each redirect instead of following it."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())


def open_url(opener, server: MockServer, method: str, path: str, form: dict | None = None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def test_admin_token_login_cookie_works_and_logout_clears_it(server):
    server.reset()
    server.seed("vbasoftware", "DEMO", "CallTracking", [{"call_Key": 1}])
    jar = http.cookiejar.CookieJar()
    client = browser(jar)
    status, headers, page = open_url(client, server, "POST", "/__mockserver/login", {"token": WRONG})
    assert status == 401 and 'name="token"' in page and "not the admin token" in page and WRONG not in page
    assert headers["WWW-Authenticate"] == CHALLENGE and not list(jar)

    status, headers, _ = open_url(client, server, "POST", "/__mockserver/login", {"token": TOKEN})
    assert status == 303 and headers["Location"] == "/__mockserver/ui/"
    set_cookie = headers["Set-Cookie"]
    assert set_cookie.startswith(f"mockserver_admin={COOKIE};") and TOKEN not in set_cookie
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/__mockserver" in set_cookie
    assert [c.value for c in jar] == [COOKIE]

    assert open_url(client, server, "GET", "/__mockserver/faults")[0] == 200  # reads: the cookie is enough
    assert open_url(client, server, "GET", "/__mockserver/ui/")[0] not in (401, 303)  # the dashboard's prefix
    status, _, body = open_url(client, server, "POST", "/__mockserver/reset")  # a JSON call that changes state
    assert status == 401 and "needs the token in" in json.loads(body)["detail"]
    assert [r["call_Key"] for r in server.records("vbasoftware", "DEMO", "CallTracking")] == [1]

    status, headers, _ = open_url(client, server, "POST", "/__mockserver/logout")
    assert status == 303 and headers["Location"] == "/__mockserver/login"
    assert [c.name for c in jar] == ["mockserver_csrf"]  # the login cookie is gone (the dashboard's CSRF one is no credential)
    assert open_url(client, server, "GET", "/__mockserver/faults")[0] == 401
    assert raw(server, "POST", "/__mockserver/logout")[0] == 401  # logout, too, needs the token or the cookie


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/__mockserver/", "/\\evil.example/",
                                    "/__mockserver/../evil", "/__mockserver/%2e%2e/evil", "javascript:alert(1)",
                                    "/elsewhere", "http://127.0.0.1/__mockserver/faults", "/__mockserver/ x"])
def test_admin_token_login_refuses_an_open_redirect(server, target):
    status, headers, _ = open_url(browser(http.cookiejar.CookieJar()), server, "POST", "/__mockserver/login",
                                  {"token": TOKEN, "next": target})
    assert status == 303 and headers["Location"] == "/__mockserver/ui/"
    page = raw(server, "GET", "/__mockserver/login?" + urllib.parse.urlencode({"next": target}))[2]
    assert 'name="next" value="/__mockserver/ui/"' in page


def test_admin_token_login_goes_on_to_a_local_next(server):
    status, headers, _ = open_url(browser(http.cookiejar.CookieJar()), server, "POST", "/__mockserver/login",
                                  {"token": TOKEN, "next": "/__mockserver/ui/requests?page=2"})
    assert status == 303 and headers["Location"] == "/__mockserver/ui/requests?page=2"


def test_admin_token_is_never_in_the_log(server):
    """After every other test of this module (DEBUG level, access log on): the whole log file."""
    raw(server, "POST", "/__mockserver/login", b"token=" + TOKEN.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    raw(server, "GET", "/__mockserver/faults", headers=CREDENTIALS["bearer"])
    log = server.log_path.read_text(errors="replace")
    assert "POST /__mockserver/login" in log and "GET /__mockserver/faults" in log  # the log was read
    assert TOKEN not in log and COOKIE not in log


def serve_log(tmp_path, host: str, env: dict) -> str:
    started = MockServer(args=("--host", host), env=env, data=tmp_path / host).start()
    try:
        assert started.request("GET", "/__mockserver/health")[0] == 200
        started.stop()
        return started.log_path.read_text(errors="replace")
    finally:
        started.close()


def test_admin_token_unset_is_open_and_said_once_on_a_public_address(tmp_path):
    open_public = serve_log(tmp_path, "0.0.0.0", {"MOCKSERVER_WORKERS": "2"})
    assert open_public.count("control plane: OPEN to whoever reaches 0.0.0.0:") == 1  # the master, not per worker
    assert "control plane: OPEN" not in serve_log(tmp_path, "127.0.0.1", {})
    guarded = serve_log(tmp_path, "0.0.0.0", {"MOCKSERVER_ADMIN_TOKEN": TOKEN})
    assert "control plane: OPEN" not in guarded and "needs the admin token" in guarded and TOKEN not in guarded


def test_admin_token_unset_the_login_page_and_the_served_spec_say_open(tmp_path, server):
    with MockServer(data=tmp_path / "data") as open_server:
        status, _, page = open_server.request("GET", "/__mockserver/login")
        assert status == 200 and "The control plane is open" in page and 'name="token"' not in page
        assert open_server.request("POST", "/__mockserver/reset")[0] == 200
        assert "security" not in open_server.request("GET", "/__mockserver/specs/admin")[2]  # nothing to send
    guarded = server.request("GET", "/__mockserver/specs/admin")[2]
    assert guarded["security"] == [{"adminBearer": []}, {"adminHeader": []}]
    assert guarded["paths"]["/health"]["get"]["security"] == []


@pytest.mark.parametrize("value, message", [("short", "at least 8 characters"),
                                            ("has a space", "visible ASCII")])
def test_admin_token_a_bad_token_stops_startup_without_echoing_it(tmp_path, value, message):
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--data", str(tmp_path)],
                            env={"MOCKSERVER_ADMIN_TOKEN": value, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "MOCKSERVER_ADMIN_TOKEN" in result.stderr and message in result.stderr
    assert value not in result.stderr


@pytest.mark.parametrize("how", ["env", "args"])
def test_admin_token_mockserver_takes_it_from_env_or_args_and_sends_it(tmp_path, how):
    given = {"env": {"env": {"MOCKSERVER_ADMIN_TOKEN": TOKEN}}, "args": {"args": ("--admin-token", TOKEN)}}[how]
    with MockServer(data=tmp_path / "data", **given) as started:
        assert started.admin_token == TOKEN and TOKEN not in started.args  # in its environment, not its argv
        assert started.fault(effect="delay", delay_ms=0)["effect"] == "delay" and len(started.faults()) == 1
        started.reset()
        assert started.faults() == [] and raw(started, "GET", "/__mockserver/faults")[0] == 401


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's recipe uses curl")
def test_admin_token_readme_recipe(tmp_path):
    serve, *calls = readme_commands("admin-token")
    words = shlex.split(serve)
    at = words.index("mockserver")
    assignments, command, flags = words[:at], words[at:at + 2], words[at + 2:]
    assert command == ["mockserver", "serve"] and all("=" in a for a in assignments), serve
    env = dict(a.split("=", 1) for a in assignments)
    with MockServer(args=flags, env=env, data=tmp_path / "data") as started:
        started.seed("vbasoftware", "DEMO", "CallTracking", [{"call_Key": 1}])
        script = "\n".join(call.replace("http://127.0.0.1:8080", started.url) + "\necho" for call in calls)
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
                             timeout=60).stdout.splitlines()
        assert json.loads(out[0])["status"] == 401
        assert json.loads(out[1])["reset"]["files"] == 1 and started.records("vbasoftware", "DEMO", "CallTracking") == []
