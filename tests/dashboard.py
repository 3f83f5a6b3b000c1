"""What the dashboard tests share: a browser-like session (cookies, forms) over a real server, an HTML
reader, and a few batches of each vendor with a failed item."""
from __future__ import annotations

import http.cookiejar
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from html.parser import HTMLParser
from pathlib import Path

from tests.support import basic

UI = "/__mockserver/ui"
XSS = "<script>alert(1)</script>"
VBA_TENANT, VCC_TENANT, PIPELINER_SPACE = "ACME <b>DB</b>", "mycc", "space_a"
VBA = {"x-api-key": "sk-dashboard-key", "Authorization": "Bearer dev-token", "vbasoftware-database": VBA_TENANT}
VCC = {"Authorization": basic(VCC_TENANT, "api-token")}
PIPELINER = {"Authorization": basic("api-token", "api-password")}
PIPELINER_BASE = f"/api/v100/rest/spaces/{PIPELINER_SPACE}/entities/Calls"
CALLER, TWILIO = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
TOO_LONG = "x" * 65  # VBA's first_Name holds 64


class Page(HTMLParser):
    """A page's text, its elements by class (with their text) and its forms' hidden fields."""

    VOID = {"input", "br", "meta", "link", "img", "hr"}
    BLOCKS = {"td", "th", "tr", "p", "li", "ul", "h1", "h2", "h3", "div", "pre", "section", "table", "nav",
              "label", "button", "option", "title", "summary"}

    def __init__(self, html: str):
        super().__init__()
        self.html, self.chunks, self.hidden, self.scripts = html, [], {}, []
        self.by_class: dict[str, list[str]] = {}
        self._open: list[tuple[str, list[str], list[str]]] = []  # (tag, classes, text so far)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs.get("name")] = attrs.get("value")
        if tag == "script":
            self.scripts.append(attrs)
        if tag in self.BLOCKS:
            self.handle_data(" ")
        if tag not in self.VOID:
            self._open.append((tag, (attrs.get("class") or "").split(), []))

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.handle_data(" ")
        while self._open:
            name, classes, text = self._open.pop()
            for cls in classes:
                self.by_class.setdefault(cls, []).append("".join(text).strip())
            if self._open:
                self._open[-1][2].extend(text)
            if name == tag:
                break

    def handle_data(self, data):
        self.chunks.append(data)
        if self._open:
            self._open[-1][2].append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def of_class(self, cls: str) -> list[str]:
        return [" ".join(t.split()) for t in self.by_class.get(cls, [])]


class Session:
    """A browser's view of one server: cookies kept, redirects followed, error pages returned."""

    def __init__(self, url: str):
        self.url, self.cookies = url, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def open(self, method: str, path: str, form: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode()

    def get(self, path: str, **headers: str) -> tuple[int, dict, str]:
        return self.open("GET", path, headers=headers)

    def page(self, path: str, status: int = 200) -> Page:
        got, headers, html = self.get(path)
        assert got == status and headers["Content-Type"] == "text/html; charset=utf-8", (got, html[-2000:])
        return Page(html)

    def submit(self, from_path: str, action: str, form: dict) -> tuple[int, Page]:
        """Post a form of the page at ``from_path`` with that page's CSRF token, as a browser would."""
        token = self.page(from_path).hidden["csrf_token"]
        status, _, html = self.open("POST", action, {**form, "csrf_token": token})
        return status, Page(html)


def send_batches(server) -> dict[str, str]:
    """A batch of each vendor, each with one failed item; returns each vendor's batch journal id."""
    status, _, body = server.request("PUT", "/vbasoftware/call-trackings-batch", [
        {"call_Key": 0, "first_Name": XSS}, {"call_Key": 0, "first_Name": TOO_LONG}, {"call_Key": 0, "first_Name": "Bob"}],
        VBA)
    assert status == 207, body
    for name in ("name", "city"):
        assert server.request("POST", "/v2/projects/22/fields", {"name": name, "type": "text"}, VCC)[0] == 200
    assert server.request("POST", "/v2/projects/22/records", {"form": {"name": "Green"}}, VCC)[0] == 200
    status, _, body = server.request("PUT", "/v2/projects/22/records", {"elements": [
        {"form": {"city": "Szeged"}, "numberid": 1}, {"form": {"city": "Pécs"}, "numberid": 99}]}, VCC)
    assert status == 200 and len(body["errors"]) == 1, body
    status, _, body = server.request("POST", PIPELINER_BASE + "/batch-modify?rollback-method=1", [
        {"caller_id": CALLER, "twilio_call_log_id": TWILIO}, {"id": str(uuid.UUID(int=9)), "phone_number": "1"}],
        PIPELINER)
    assert status == 200, body
    batches = {"vbasoftware": "CreateOrUpdateBatchCallTracking", "vcclive": "BatchRecordModification",
               "pipeliner": "Calls.batch_create_or_update"}
    return {vendor: server.requests(vendor=vendor, operation=op)[-1]["id"] for vendor, op in batches.items()}


# --- a real browser ---------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
APT_TIMEOUT_S = 900
# --dump-dom prints the DOM once the page has loaded. The flags keep Chromium from reaching anything but
# the mock: no background services, and every other host through a proxy that is not there.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
                  "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-pings",
                  "--disable-breakpad", "--proxy-server=http://127.0.0.1:9")


def install_chromium() -> str | None:
    """Debian's chromium, installed when it is missing (idempotent); None, or why it cannot be had."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() != 0:
        return f"{CHROMIUM} is missing and installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "chromium"]
    output = ""
    for commands in ([install], [["apt-get", "update", "-q"], install]):  # a fresh machine has no lists yet
        try:
            runs = [subprocess.run(c, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S) for c in commands]
        except subprocess.TimeoutExpired as exc:
            return f"apt-get did not finish in {APT_TIMEOUT_S}s ({' '.join(exc.cmd)})"
        output = "\n".join(r.stdout + r.stderr for r in runs)
        if all(r.returncode == 0 for r in runs) and CHROMIUM.exists():
            return None
    return "apt-get could not install chromium: " + " | ".join(output.strip().splitlines()[-3:])


def dump_dom(url: str, profile: Path) -> Page:
    """The DOM Chromium built from the page at ``url`` (what a person sees, as HTML)."""
    run = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "<html" in run.stdout, run.stderr[-2000:]
    return Page(run.stdout)
