"""The web dashboard through a real server: every page renders what the control plane holds, paged
and filtered; untrusted values are escaped; state changes only by a POST carrying the CSRF token."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.dashboard import (CALLER, PIPELINER, PIPELINER_BASE, TOO_LONG, TWILIO, UI, VBA, VBA_TENANT, VCC_TENANT,
                             XSS, Page, Session, send_batches)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
RECORDS = f"{UI}/records/vbasoftware/{VBA_TENANT.replace(' ', '%20')}/CallTracking"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support import LiveServer

    live = LiveServer(data=tmp_path_factory.mktemp("dashboard") / "data").start()
    yield live
    live.stop()


@pytest.fixture
def browser(server):
    server.reset()  # data, fault rules and journal
    return Session(server.url)


def seed_calls(server, count: int, **fields) -> None:
    server.seed("vbasoftware", VBA_TENANT, "CallTracking",
                [{"call_Key": n, "first_Name": f"name-{n}", **fields} for n in range(1, count + 1)])


@pytest.mark.parametrize("path, status", [
    ("/", 200), ("/requests", 200), ("/faults", 200), ("/records/vbasoftware/T/CallTracking", 200),
    ("/requests/nope", 404), ("/records/nobody/T/CallTracking", 404), ("/requests?status=abc", 400),
    ("/nothing-here", 404), ("/static/dashboard.css", 200)])
def test_dashboard_every_response_sets_the_security_headers(browser, path, status):
    got, headers, _ = browser.get(UI + path)
    assert got == status
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_dashboard_serves_its_style_sheet_from_the_package(browser):
    status, headers, css = browser.get(UI + "/static/dashboard.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and "tr.failed" in css
    page = browser.page(UI + "/")
    assert '<link rel="stylesheet" href="/__mockserver/ui/static/dashboard.css">' in page.html
    assert page.scripts == [] and "style=" not in page.html  # nothing the CSP would block


def test_index_sends_a_browser_to_the_dashboard_and_tells_json_clients_where_it_is(server, browser):
    status, headers, _ = browser.open("GET", "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"  # followed the 303
    status, headers, body = server.request("GET", "/")  # urllib's Accept: */*
    assert status == 200 and headers["Content-Type"] == "application/json" and body["dashboard"] == UI + "/"
    no_follow = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        no_follow.open(urllib.request.Request(server.url + "/", headers={"Accept": "text/html"}))
    assert answer.value.code == 303 and answer.value.headers["Location"] == UI + "/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_overview_shows_specs_tenants_counts_faults_and_last_requests(server, browser):
    ids = send_batches(server)
    server.fault(effect="delay", vendor="vcclive", delay_ms=1)
    page = browser.page(UI + "/")
    for spec, base in (("vbasoftware", "/vbasoftware"), ("vcclive", "/v2"), ("admin", "/__mockserver")):
        assert f'<a href="/__mockserver/specs/{spec}">{spec}</a>' in page.html and base in page.of_class("specs")[0]
    tenants = page.of_class("tenant")
    assert VBA_TENANT in tenants and VCC_TENANT in tenants and "space_a" in tenants
    assert "CallTracking: 2" in page.text and "records:22: 1" in page.text and "Call: 1" in page.text
    assert "<b>DB</b>" not in page.html and "ACME &lt;b&gt;DB&lt;/b&gt;" in page.html  # a tenant is untrusted too
    assert 'effect: "delay"' in page.text and "rate-limit" in page.text  # a rule, and the documented limits
    linked = re.findall(r'href="/__mockserver/ui/requests/([0-9a-f-]+)"', page.html)
    assert linked[0] == ids["pipeliner"] and set(ids.values()) <= set(linked) and len(linked) <= 20


def test_overview_lists_at_most_the_last_20_requests_newest_first(server, browser):
    for n in range(25):
        server.request("GET", f"/vbasoftware/call-trackings/{n + 1}", headers=VBA)
    page = browser.page(UI + "/")
    paths = [p for p in re.findall(r"<td>(/vbasoftware/call-trackings/\d+)</td>", page.html)]
    assert paths == [f"/vbasoftware/call-trackings/{n}" for n in range(25, 5, -1)]


def test_records_page_lists_fields_and_json_highest_key_first_50_a_page(server, browser):
    seed_calls(server, 120)
    first = browser.page(RECORDS)
    assert first.of_class("key") == [str(n) for n in range(120, 70, -1)]
    assert "120 record(s)" in first.text and "Page 1 of 3" in first.text and "first_Name" in first.text
    assert "name-120" in first.text
    record = json.loads(first.of_class("json")[0])
    assert record["call_Key"] == 120 and record["first_Name"] == "name-120"
    assert browser.page(RECORDS + "?page=3").of_class("key") == [str(n) for n in range(20, 0, -1)]
    assert browser.page(RECORDS + "?page=4").of_class("key") == []
    bad = browser.page(RECORDS + "?page=0", 400)
    assert "'page' must be an integer from 1" in bad.text


@pytest.mark.parametrize("text, keys", [
    ("first_Name = name-7", ["7"]), ("call_Key = 42", ["42"]), ("first_Name=nobody", []),
    ('last_Name = null', [str(n) for n in range(60, 10, -1)])])
def test_records_filter_finds_by_field_value(server, browser, text, keys):
    seed_calls(server, 60)
    page = browser.page(RECORDS + "?filter=" + text.replace(" ", "+").replace("=", "%3D"))
    assert page.of_class("key") == keys


def test_records_filter_that_is_not_field_equals_value_is_a_400(server, browser):
    seed_calls(server, 1)
    page = browser.page(RECORDS + "?filter=first_Name", 400)
    assert "A filter is 'field = value'" in page.text


def test_records_values_are_escaped(server, browser):
    server.seed("vbasoftware", VBA_TENANT, "CallTracking", [{"call_Key": 1, "first_Name": XSS}])
    page = browser.page(RECORDS)
    assert XSS not in page.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.html
    assert XSS in page.text and page.scripts == []


def test_requests_page_filters_and_pages_newest_first(server, browser):
    for n in range(55):
        server.request("GET", f"/vbasoftware/call-trackings/{n + 1}", headers=VBA)
    server.request("PUT", "/vbasoftware/call-trackings-batch", [], {"vbasoftware-database": "T"})  # 401
    everything = browser.page(UI + "/requests")
    statuses = everything.of_class("status")
    assert len(statuses) == 50 and statuses[0] == "401" and statuses.count("404") == 49
    assert 'rel="next" href="?page=2"' in everything.html and 'rel="prev"' not in everything.html
    older = browser.page(UI + "/requests?page=2")
    assert re.findall(r"<td>(/vbasoftware/call-trackings/\d+)</td>", older.html) == [
        f"/vbasoftware/call-trackings/{n}" for n in range(6, 0, -1)]
    assert 'rel="next"' not in older.html and 'rel="prev" href="?page=1"' in older.html
    only_401 = browser.page(UI + "/requests?status=401&vendor=&tenant=")
    assert only_401.of_class("status") == ["401"]
    by_tenant = browser.page(UI + "/requests?vendor=vbasoftware&tenant=" + VBA_TENANT.replace(" ", "+")
                             + "&operation=GetCallTracking&page=2")
    assert by_tenant.of_class("status") == ["404"] * 5 and "tenant=ACME+%3Cb%3EDB%3C%2Fb%3E" in by_tenant.html
    assert browser.page(UI + "/requests?tenant=nobody").of_class("status") == []


@pytest.mark.parametrize("query, message", [
    ("vendor=nobody", "Unknown vendor 'nobody'; known: pipeliner, vbasoftware, vcclive."),
    ("operation=Nope", "Unknown operation 'Nope'"),
    ("status=600", "'status' must be an integer from 100 to 599"),
    ("colour=red", "Unknown filter 'colour'"),
    ("page=x", "'page' must be an integer from 1")])
def test_requests_page_unknown_filter_values_are_a_400_with_the_message(browser, query, message):
    page = browser.page(UI + "/requests?" + query, 400)
    assert message in page.text


def test_request_detail_shows_request_response_masked_headers_and_item_outcomes(server, browser):
    ids = send_batches(server)
    page = browser.page(f"{UI}/requests/{ids['vbasoftware']}")
    assert "PUT /vbasoftware/call-trackings-batch" in page.text and "CreateOrUpdateBatchCallTracking" in page.text
    assert "sk-dashboard-key" not in page.html and "dev-token" not in page.html and "***" in page.text
    sent = json.loads(page.of_class("json")[0])
    assert sent[1]["first_Name"] == TOO_LONG and sent[0]["first_Name"] == XSS
    answer = json.loads(page.of_class("json")[1])
    assert [item["status"] for item in answer["data"]] == [201, 400, 201]
    assert page.of_class("outcome") == ["created", "failed", "created"]
    assert page.of_class("failed") == ["1 0 failed first_Name: Longer than maximum length 64."]
    assert XSS not in page.html


@pytest.mark.parametrize("vendor, outcomes, reason", [
    ("vcclive", ["updated", "failed"], "error.record_not_found numberid"),
    ("pipeliner", ["created", "failed"], "ERROR_ENTITY_NOT_FOUND: id: Call 00000000-0000-0000-0000-000000000009 "
                                         "does not exist in this space."),
])
def test_request_detail_item_outcomes_of_each_dialect_agree_with_the_engine(server, browser, vendor, outcomes, reason):
    ids = send_batches(server)
    page = browser.page(f"{UI}/requests/{ids[vendor]}")
    assert page.of_class("outcome") == outcomes and page.of_class("reason")[1] == reason
    assert len(page.of_class("failed")) == 1 and reason in page.of_class("failed")[0]
    [entry] = [e for e in server.requests(vendor=vendor) if e["id"] == ids[vendor]]
    assert [i["result"] for i in entry["items"]] == outcomes  # what the engine did


def test_request_detail_of_a_rollback_all_batch_shows_the_rolled_back_items(server, browser):
    status, _, _ = server.request("POST", PIPELINER_BASE + "/batch-modify", [
        {"caller_id": CALLER, "twilio_call_log_id": TWILIO}, {"caller_id": CALLER}], PIPELINER)
    assert status == 422
    [entry] = server.requests(vendor="pipeliner")
    page = browser.page(f"{UI}/requests/{entry['id']}")
    assert page.of_class("outcome") == ["rolled-back", "failed"]
    assert "twilio_call_log_id" in page.of_class("failed")[0] and "nothing was saved" in page.of_class("failed")[0]
    assert [i["result"] for i in entry["items"]] == ["rolled-back", "failed"]


def test_dashboard_post_without_the_csrf_token_is_refused_and_changes_nothing(server, browser):
    seed_calls(server, 3)
    browser.page(UI + "/")  # the browser has its cookie now
    [cookie] = list(browser.cookies)
    for form in ({"vendor": "vbasoftware", "confirm": "yes"}, {"vendor": "vbasoftware", "confirm": "yes",
                                                                "csrf_token": "x" * 43}):
        status, headers, html = browser.open("POST", UI + "/reset", form)
        assert status == 403 and headers["Content-Security-Policy"] == CSP
        assert "CSRF token is missing or does not match" in Page(html).text
    status, _, _ = browser.open("POST", UI + "/faults", {"rule": '{"effect": "delay"}'})
    assert status == 403 and server.faults() == []
    status, _, _ = Session(server.url).open("POST", UI + "/reset", {"vendor": "vbasoftware", "confirm": "yes",
                                                                     "csrf_token": cookie.value})
    assert status == 403  # the right value, but no cookie: another site's form
    assert len(server.records("vbasoftware", VBA_TENANT, "CallTracking")) == 3


def test_dashboard_csrf_cookie_is_http_only_and_same_site_strict(server):
    status, headers, _ = Session(server.url).get(UI + "/")
    cookie = headers["Set-Cookie"]
    assert status == 200 and cookie.startswith("mockserver_csrf=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__mockserver/ui" in cookie


def test_reset_forms_need_the_confirmation_then_reset_the_tenant_or_the_vendor(server, browser):
    seed_calls(server, 3)
    server.seed("vbasoftware", "OTHER", "CallTracking", [{"call_Key": 1}])
    status, page = browser.submit(UI + "/", UI + "/reset", {"vendor": "vbasoftware", "tenant": VBA_TENANT})
    assert status == 400 and "Tick the confirmation box" in page.text
    assert len(server.records("vbasoftware", VBA_TENANT, "CallTracking")) == 3
    status, page = browser.submit(UI + "/", UI + "/reset", {"vendor": "vbasoftware", "tenant": VBA_TENANT,
                                                           "confirm": "yes"})
    assert status == 200 and VBA_TENANT not in page.of_class("tenant") and "OTHER" in page.of_class("tenant")
    assert server.records("vbasoftware", VBA_TENANT, "CallTracking") == []
    status, page = browser.submit(UI + "/", UI + "/reset", {"vendor": "vbasoftware", "confirm": "yes"})
    assert status == 200 and server.records("vbasoftware", "OTHER", "CallTracking") == []
    status, page = browser.submit(UI + "/faults", UI + "/reset", {"vendor": "nobody", "confirm": "yes"})
    assert status == 404 and "Unknown vendor 'nobody'" in page.text


def test_fault_form_adds_what_the_api_takes_and_shows_its_errors(server, browser):
    rule = {"effect": "item-error", "vendor": "vbasoftware", "index": 1, "times": 2}
    status, page = browser.submit(UI + "/faults", UI + "/faults", {"rule": json.dumps(rule)})
    assert status == 200 and 'effect: "item-error"' in page.text
    [held] = server.faults()
    assert {k: held[k] for k in rule} == rule
    for text, status_wanted, message in (
            ("{not json", 400, "The rule is not valid JSON"),
            ('{"effect": "explode"}', 400, "effect"),
            ('{"effect": "delay", "vendor": "nobody"}', 404, "nobody"),
            (json.dumps({"effect": "delay", "note": XSS}), 400, "note")):
        status, page = browser.submit(UI + "/faults", UI + "/faults", {"rule": text})
        assert status == status_wanted and message in page.of_class("problem")[0], page.text
        assert XSS not in page.html and text in page.text  # the textarea keeps what was typed, escaped
    assert len(server.faults()) == 1  # nothing was added by the bad ones
    status, page = browser.submit(UI + "/faults", f"{UI}/faults/{held['id']}/delete", {})
    assert status == 200 and server.faults() == [] and "No fault rules." in page.text
    status, page = browser.submit(UI + "/faults", f"{UI}/faults/{held['id']}/delete", {})
    assert status == 404


def test_limits_form_switches_on_the_documented_limits(server, browser):
    status, page = browser.submit(UI + "/faults", UI + "/limits/vbasoftware", {})
    assert status == 200 and [r["effect"] for r in server.faults()] == ["rate-limit", "require-user-agent"]
