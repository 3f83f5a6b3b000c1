"""The journal without HTTP: the ring bound, masking, the query."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings, strategies as st

from mockserver.journal import MASK, Journal, JournalQuery, Masker, journal_body
from mockserver.shared import SharedDir

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entry(n: int, **extra) -> dict:
    return {"id": str(n), "vendor": "v", "operation": "Op", "tenant": "T", "status": 207, **extra}


def test_journal_ring_buffer_drops_the_oldest(tmp_path):
    journal = Journal(SharedDir(tmp_path), 2)
    for n in range(5):
        journal.record(entry(n), T0 + timedelta(seconds=n))
    assert [e["id"] for e in journal.find(JournalQuery())] == ["3", "4"]
    assert journal.find(JournalQuery(since=T0 + timedelta(seconds=4)))[0]["time"] == "2026-01-01T00:00:04.000Z"


def test_journal_of_size_zero_keeps_nothing(tmp_path):
    journal = Journal(SharedDir(tmp_path), 0)
    journal.record(entry(1), T0)
    assert journal.count(JournalQuery()) == 0


def test_journal_masker_masks_secrets_everywhere_longest_first():
    masker = Masker(["tok", "token-123"], ["x-custom-key"])
    assert masker.headers({"X-Custom-Key": "abc", "Authorization": "Basic zzz", "X-Other": "a token-123"}) == {
        "X-Custom-Key": MASK, "Authorization": MASK, "X-Other": f"a {MASK}"}
    assert masker.value({"token-123": ["tok", 1, None]}) == {MASK: [MASK, 1, None]}
    assert masker.query({"x-custom-key": ["a", "b"]}) == {"x-custom-key": [MASK, MASK]}


def test_journal_body_is_json_else_text():
    masker = Masker()
    assert journal_body(b'[{"a": 1}]', masker) == ([{"a": 1}], False)
    assert journal_body(b"not json", masker) == ("not json", False)
    assert journal_body(b"", masker) == (None, False)


SECRET_PARTS = ['b", "a', 'b","a', "bench", "tok", "1234", "true", "e1", "a b", 'q"uote', "back\\slash", "é-key", "12,3", ":null"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SECRET_PARTS), max_size=3),
       st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20),
                              st.floats(allow_nan=False, allow_infinity=False),
                              st.text(st.sampled_from(list("abtok1234e,:nul é\"bench")), max_size=12)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(st.sampled_from(list("abtoke1 ")), max_size=6),
                                                            inner, max_size=3)), max_leaves=12),
       st.sampled_from([None, 1]), st.booleans())
@example(['b", "a'], ["b", "a"], None, True)  # a secret across two strings: in neither of them
@example(["bench"], {"bench": ["a bench", 1]}, None, True)
def test_journal_body_masks_what_the_value_walk_masks(secrets, value, indent, ascii_only):
    """journal_body masks in the text where that is safe: the result equals masking the parsed value."""
    masker = Masker(secrets)
    raw = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert journal_body(raw, masker) == (masker.value(json.loads(raw)), False)


def test_journal_newest_pages_from_the_most_recent_across_segments_within_the_ring(tmp_path):
    journal = Journal(SharedDir(tmp_path), 16)  # segments of 2 entries: the pages cross files
    for n in range(20):
        journal.record(entry(n, tenant="T" if n % 2 else "U"), T0 + timedelta(seconds=n))
    assert journal.newest(JournalQuery(), 0, 3) == ([journal.get(str(n)) for n in (19, 18, 17)], True)
    page, older = journal.newest(JournalQuery(tenant="T"), 5, 5)
    assert [e["id"] for e in page] == ["9", "7", "5"] and older is False  # 1 and 3 fell out of the ring
    assert journal.get("3") is None and journal.get("4")["id"] == "4" and "_n" not in journal.get("4")
    assert journal.newest(JournalQuery(status=500), 0, 5) == ([], False)


def test_journal_newest_and_get_match_the_field_not_the_same_text_in_a_body(tmp_path):
    journal = Journal(SharedDir(tmp_path), 10)
    journal.record(entry(1, tenant="A", body={"tenant": "B", "id": "2", "status": 401}), T0)
    journal.record(entry(2, tenant="B"), T0)
    assert [e["id"] for e in journal.newest(JournalQuery(tenant="B"), 0, 5)[0]] == ["2"]
    assert journal.newest(JournalQuery(status=401), 0, 5) == ([], False)
    assert journal.get("2")["tenant"] == "B"


def test_journal_find_with_limit_is_the_most_recent_matches_oldest_first(tmp_path):
    """``limit`` reads from the newest end; the answer is what filtering the whole ring gives."""
    journal = Journal(SharedDir(tmp_path), 16)
    for n in range(20):
        journal.record(entry(n, tenant="T" if n % 3 else "U"), T0 + timedelta(seconds=n))
    for query_args in ({}, {"tenant": "T"}, {"tenant": "U"}, {"status": 500}):
        everything = journal.find(JournalQuery(**query_args))
        for limit in (1, 3, 16, 50):
            assert journal.find(JournalQuery(**query_args, limit=limit)) == everything[-limit:]
