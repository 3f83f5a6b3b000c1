"""The dashboard in a real headless Chromium (Debian's `chromium`, installed by the setup when missing):
after a few batches of each vendor, what a person sees on each page, and an untrusted value shown as text."""
from __future__ import annotations

import pytest

from tests.dashboard import (UI, VBA_TENANT, VCC_TENANT, XSS, PIPELINER_SPACE, TOO_LONG, dump_dom,
                             install_chromium, send_batches)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    problem = install_chromium()
    if problem is not None:
        print(f"skipping the browser tests: {problem}")
        pytest.skip(f"browser: {problem}")


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    from tests.support import LiveServer

    live = LiveServer(data=tmp_path_factory.mktemp("browser") / "data").start()
    ids = send_batches(live)
    yield live, ids
    live.stop()


@pytest.fixture
def browse(server, tmp_path):
    live, _ = server
    return lambda path: dump_dom(live.url + path, tmp_path / "profile")


def test_browser_overview_shows_every_vendor_its_tenant_and_record_count(browse):
    page = browse(UI + "/")
    assert page.of_class("vendor") and len(page.of_class("vendor")) == 3
    sections = dict(zip(["pipeliner", "vbasoftware", "vcclive"], page.of_class("vendor")))
    assert sections["vbasoftware"].startswith("vbasoftware") and f"{VBA_TENANT} CallTracking: 2" in sections["vbasoftware"]
    assert f"{VCC_TENANT} fields:22: 2, records:22: 1" in sections["vcclive"]
    assert sections["pipeliner"].startswith("pipeliner") and f"{PIPELINER_SPACE} Call: 1" in sections["pipeliner"]


def test_browser_records_page_lists_the_stored_records(browse):
    page = browse(f"{UI}/records/vbasoftware/{VBA_TENANT}/CallTracking")
    assert page.of_class("key") == ["2", "1"]  # the failed item took no key
    assert "2 record(s)" in page.text and "Bob" in page.text and '"call_Key": 2' in page.of_class("json")[0]


def test_browser_journal_entry_shows_the_body_and_the_failed_items_reason(browse, server):
    _, ids = server
    page = browse(f"{UI}/requests/{ids['vbasoftware']}")
    assert TOO_LONG in page.of_class("json")[0] and '"first_Name": "Bob"' in page.of_class("json")[0]
    assert page.of_class("failed") == ["1 0 failed first_Name: Longer than maximum length 64."]
    listed = browse(UI + "/requests?vendor=vcclive")
    assert listed.of_class("status") and set(listed.text.split()) >= {"vcclive", VCC_TENANT}


@pytest.mark.parametrize("path", [f"{UI}/records/vbasoftware/{VBA_TENANT}/CallTracking", "journal"])
def test_browser_shows_a_script_value_as_text(browse, server, path):
    _, ids = server
    page = browse(f"{UI}/requests/{ids['vbasoftware']}" if path == "journal" else path)
    assert XSS in page.text  # shown as text: the DOM holds the characters, not an element
    assert page.scripts == []  # no <script> element was built from it
