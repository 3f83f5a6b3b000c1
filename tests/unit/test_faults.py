"""Fault rules without HTTP: parsing, matching, expiry, the token bucket; the admin spec says the same."""
from __future__ import annotations

import threading

import pytest
import yaml

from mockserver.faults import (MAX_RULES, RULE_SCHEMA, FaultBook, FaultError, Target, TooManyRules, load_rules_file,
                               parse_rule, parse_rules)
from mockserver.seeding import SNAPSHOT_SCHEMA
from mockserver.shared import SharedDir
from tests.support import REPO

TARGET = Target(vendor="v", operation="Op", tenant="T", items=[{"a": 1}, {"a": 2, "b": True}],
                user_agent="ua", client_key="key")


def admin_schema(name: str) -> dict:
    return yaml.safe_load((REPO / "specs" / "admin.yaml").read_text())["components"]["schemas"][name]


@pytest.mark.parametrize("name,schema", [("FaultRuleInput", RULE_SCHEMA), ("Snapshot", SNAPSHOT_SCHEMA)])
def test_faults_admin_spec_states_exactly_what_the_server_validates(name, schema):
    described = {k: v for k, v in admin_schema(name).items() if k != "description"}
    assert described == schema


@pytest.mark.parametrize("index,fields,item_index,item,hit", [
    (None, None, 0, {"a": 1}, True),
    (1, None, 0, {"a": 1}, False),
    (1, None, 1, {"a": 2}, True),
    (None, {"a": 2}, 1, {"a": 2}, True),
    (None, {"b": 1}, 1, {"b": True}, False),  # JSON equality: 1 is not true
    (None, {"a": 2}, 1, [2], False),
])
def test_faults_item_matching(index, fields, item_index, item, hit):
    given = {"index": index, "fields": fields}
    rule = parse_rule({"effect": "item-error", **{k: v for k, v in given.items() if v is not None}})
    assert rule.matches_item(item_index, item) is hit


def test_faults_rules_expire_after_times_and_only_matching_requests_use_them(tmp_path):
    book = FaultBook(SharedDir(tmp_path), sleep=lambda s: None)
    [rule] = book.add([parse_rule({"effect": "request-error", "tenant": "T", "times": 2})])
    other = Target("v", "Op", "U", None, None, "k")
    assert book.before_action(other) == ([], None)
    answers = [book.before_action(TARGET)[1] for _ in range(3)]
    assert [a.status if a else None for a in answers] == [500, 500, None]
    assert book.all() == [] and rule.uses == 0  # the shared state counted, not this copy


def test_faults_delays_add_up_and_are_bounded(tmp_path):
    slept = []
    book = FaultBook(SharedDir(tmp_path), sleep=slept.append)
    book.add(parse_rules([{"effect": "delay", "delay_ms": 10_000}] * 3))
    applied, answer = book.before_action(TARGET)
    assert answer is None and len(applied) == 3 and slept == [20.0]


def test_faults_token_bucket_refills_at_its_rate(tmp_path):
    now = [0.0]
    book = FaultBook(SharedDir(tmp_path), clock=lambda: now[0])
    book.add([parse_rule({"effect": "rate-limit", "rate": 10, "burst": 2})])
    statuses = [book.before_action(TARGET)[1] for _ in range(3)]
    assert [s is None for s in statuses] == [True, True, False]
    assert statuses[2].headers == {"Retry-After": "1"}
    now[0] = 0.1
    assert book.before_action(TARGET)[1] is None


def test_faults_use_counts_are_exact_under_concurrency(tmp_path):
    book = FaultBook(SharedDir(tmp_path))
    [rule] = book.add([parse_rule({"effect": "item-error", "times": 50})])
    hits = []

    def worker():
        for i in range(20):
            hits.append(book.item_failure(TARGET, i, {}) is not None)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hits.count(True) == 50 and book.all() == []


def test_faults_book_is_bounded(tmp_path):
    book = FaultBook(SharedDir(tmp_path))
    book.add([parse_rule({"effect": "delay"}) for _ in range(MAX_RULES)])
    with pytest.raises(TooManyRules):
        book.add([parse_rule({"effect": "delay"})])


@pytest.mark.parametrize("data", [None, "x", [1], {"effect": "delay", "rate": 0}, {"effect": "delay", "times": 1.5}])
def test_faults_bad_rules_raise_fault_error(data):
    with pytest.raises(FaultError):
        parse_rules(data)


@pytest.mark.parametrize("text", ["- {effect: item-error, fields: {call_Length: .inf}}",
                                  "- {effect: item-error, fields: {call_Length: .nan}}"])
def test_faults_rule_file_with_a_non_finite_number_is_refused(tmp_path, text):
    """YAML's .inf/.nan are not JSON: listed back by GET /faults they would break every client parser."""
    path = tmp_path / "faults.yaml"
    path.write_text(text)
    with pytest.raises(FaultError, match=r"faults.yaml.*0\.fields\.call_Length.*not JSON"):
        load_rules_file(path)
