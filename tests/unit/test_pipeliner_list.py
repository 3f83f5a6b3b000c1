"""Calls.list's indexed page (pipeliner_list.py) equals a brute-force filter + sort + page of the records."""
from __future__ import annotations

import functools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import store_index
from mockserver.dialects.pipeliner_list import ListError, ListQuery, decode_cursor, page, typed
from mockserver.store import Store

FIELDS = {
    "id": {"type": "string", "format": "uuid"},
    "phone_number": {"type": "string", "nullable": True},
    "created": {"type": "string"},
    "is_deleted": {"type": "boolean"},
    "is_delete_protected": {"type": "boolean"},
}
TEXTS = st.one_of(st.none(), st.sampled_from(["", "a", "ab", "Ab", "b", "ba", "abc", "+1 555"]))
RECORD = st.fixed_dictionaries({
    "phone_number": TEXTS,
    "created": st.sampled_from(["2024-01-01T00:00:00", "2024-01-02T00:00:00", "2024-01-03T00:00:00"]),
    "is_deleted": st.booleans(),
    "is_delete_protected": st.booleans(),
})
ORDERABLE = ["phone_number", "created", "is_deleted", "is_delete_protected", "id"]
FILTERS = st.one_of(
    st.tuples(st.just("phone_number"), st.sampled_from(["eq", "ieq", "not-eq", "not-ieq", "contains", "starts",
                                                        "ends", "icontains", "istarts", "iends", "gt", "gte",
                                                        "lt", "lte"]), st.sampled_from(["a", "A", "b", "ab", ""])),
    st.tuples(st.just("phone_number"), st.sampled_from(["null", "not-null", "empty", "not-empty"]), st.just("")),
    st.tuples(st.just("phone_number"), st.just("between"), st.sampled_from(["a,b", "ab,ba", "b,a"])),
    st.tuples(st.sampled_from(["is_delete_protected", "is_deleted"]), st.sampled_from(["eq", "not-eq", "gt", "lte"]),
              st.sampled_from(["true", "false"])),
    st.tuples(st.just("created"), st.sampled_from(["gt", "gte", "lt", "lte", "eq"]),
              st.sampled_from(["2024-01-02T00:00:00", "2024-01-01T12:00:00"])),
)


# --- the reference: plain Python over decoded records -------------------------------------------

def passes(value, op, wanted):
    unary = {"null": value is None, "not-null": value is not None,
             "empty": value is None or value == "", "not-empty": value is not None and value != ""}
    if op in unary:
        return unary[op]
    if value is None:
        return False  # SQL: null passes no comparison
    if isinstance(value, bool):
        wanted = wanted == "true"
    if op == "between":
        low, high = wanted.split(",")
        return low <= value <= high
    if op in ("ieq", "not-ieq", "icontains", "istarts", "iends"):
        value, wanted, op = value.lower(), wanted.lower(), {"not-ieq": "not-eq"}.get(op, op[1:])
    checks = {"eq": lambda: value == wanted, "not-eq": lambda: value != wanted, "contains": lambda: wanted in value,
              "starts": lambda: value.startswith(wanted), "ends": lambda: value.endswith(wanted),
              "gt": lambda: value > wanted, "gte": lambda: value >= wanted,
              "lt": lambda: value < wanted, "lte": lambda: value <= wanted}
    return checks[op]()


def reference(records, order, filters, include_deleted):
    kept = [r for r in records if all(passes(r[f], op, v) for f, op, v in filters)
            and (include_deleted or r["is_deleted"] is not True)]

    def compare(a, b):
        for name, descending in order:
            x, y = a[name], b[name]
            if x == y:
                continue
            if x is None or y is None:  # nulls last ascending, first descending
                result = 1 if x is None else -1
            else:
                result = 1 if x > y else -1
            return -result if descending else result
        return (a["id"] > b["id"]) - (a["id"] < b["id"])

    return [r["id"] for r in sorted(kept, key=functools.cmp_to_key(compare))]


# --- the store ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("list-data"))


def fill(store, tenant, records):
    with store.transaction("pipeliner", tenant) as tx:
        for record in records:
            tx.records("Call").put(record["id"], record)


def query(order, filters, include_deleted, **more):
    return ListQuery.parse({"order-by": [("-" if d else "") + n for n, d in order],
                            "filter": {f: v for f, _, v in filters}, "filter-op": {f: op for f, op, _ in filters},
                            "include-deleted": include_deleted, **more}, FIELDS, "id")


def walk_forward(store, tenant, order, filters, include_deleted, size):
    seen, after = [], None
    with store.transaction("pipeliner", tenant, write=False) as tx:
        for _ in range(100):
            got = page(tx.records("Call"), query(order, filters, include_deleted, first=size, after=after), "is_deleted")
            seen += got.keys
            if not got.has_next:
                return seen, got.total
            after = got.cursors[1]
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("small_run", [0, 3, store_index.SMALL_RUN], ids=["walk", "mixed", "sort"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(RECORD, max_size=40), data=st.data())
def test_pipeliner_list_pages_equal_a_brute_force_filter_sort_and_page(store, monkeypatch, small_run, records, data):
    """Below SMALL_RUN candidates a level sorts them, above it walks its index: both paths, and their mix."""
    monkeypatch.setattr(store_index, "SMALL_RUN", small_run)
    records = [{"id": str(uuid.UUID(int=i * 7919 % 1000)), **r} for i, r in enumerate(records)]
    tenant = uuid.uuid4().hex
    fill(store, tenant, records)
    order = data.draw(st.lists(st.tuples(st.sampled_from(ORDERABLE), st.booleans()), max_size=3,
                               unique_by=lambda t: t[0]))
    filters = data.draw(st.lists(FILTERS, max_size=2, unique_by=lambda t: t[0]))
    include_deleted = data.draw(st.booleans())
    size = data.draw(st.integers(1, 7))
    expected = reference(records, order, filters, include_deleted)

    seen, total = walk_forward(store, tenant, order, filters, include_deleted, size)
    assert seen == expected and total == len(expected)

    # backwards from the end with last/before gives the same Calls
    backwards, before = [], None
    with store.transaction("pipeliner", tenant, write=False) as tx:
        while True:
            got = page(tx.records("Call"), query(order, filters, include_deleted, last=size, before=before), "is_deleted")
            backwards = got.keys + backwards
            if not got.has_previous:
                break
            before = got.cursors[0]
        # first N then last M: the last M of the first N
        both = page(tx.records("Call"), query(order, filters, include_deleted, first=size, last=2), "is_deleted")
    assert backwards == expected
    assert both.keys == expected[:size][-2:]


def test_pipeliner_list_writes_move_records_in_the_index(store):
    tenant = uuid.uuid4().hex
    ids = [str(uuid.UUID(int=i)) for i in range(1, 6)]
    fill(store, tenant, [{"id": k, "phone_number": p, "created": "x", "is_deleted": False, "is_delete_protected": False}
                         for k, p in zip(ids, ["e", "d", "c", "b", "a"])])
    fill(store, tenant, [{"id": ids[0], "phone_number": "0", "created": "x", "is_deleted": False,
                          "is_delete_protected": False}])
    with store.transaction("pipeliner", tenant) as tx:
        tx.records("Call").delete(ids[1])
    seen, total = walk_forward(store, tenant, [("phone_number", False)], [], False, 2)
    assert seen == [ids[0], ids[4], ids[3], ids[2]] and total == 4


@pytest.mark.parametrize("params,fragment", [
    ({"filter": {"phone_number": "a,b,c"}, "filter-op": {"phone_number": "between"}}, "two values"),
    ({"filter": {"is_deleted": "yes"}}, "not a boolean"),
    ({"filter": {"is_deleted": "true"}, "filter-op": {"is_deleted": "contains"}}, "compares text"),
    ({"filter-op": {"phone_number": "eq"}}, "needs a value"),
    ({"filter": {"nope": "1"}}, "not a field"),
    ({"order-by": ["created", "-created"]}, "more than once"),
    ({"after": "bm90IGpzb24="}, "Not a cursor"),
    ({"after": "WyJhIl0=", "order-by": ["created"]}, "Not a cursor"),  # ["a"]: made for the default order
    ({"after": "WyJ4IiwiYSJd", "order-by": ["is_deleted"]}, "Not a cursor of this order-by"),  # ["x","a"]
])
def test_pipeliner_list_bad_parameters_are_list_errors(params, fragment):
    with pytest.raises(ListError) as caught:
        ListQuery.parse(params, FIELDS, "id")
    assert fragment in str(caught.value)


def test_pipeliner_list_cursor_is_the_vendor_shape():
    # the vendor's own example cursor decodes to a position in the default (id) order
    assert decode_cursor("WyIwMzU4NmNhMS1mMmJjLTQ2MDctYWE3Ni1jYWYyYTNlOWQ5ODciXQ==", [], ("id", FIELDS["id"]), "after") == \
        ("03586ca1-f2bc-4607-aa76-caf2a3e9d987",)


@pytest.mark.parametrize("schema,raw,value", [
    ({"type": "integer"}, "5", 5), ({"type": "integer"}, "-5", -5), ({"type": "number"}, "1.5", 1.5),
    ({"type": "number"}, "2", 2), ({"type": "boolean"}, "false", False),
])
def test_pipeliner_list_typed_reads_json_spellings(schema, raw, value):
    assert typed("n", schema, raw, "filter[n]") == value


@pytest.mark.parametrize("schema,raw", [
    ({"type": "integer"}, "05"), ({"type": "integer"}, " 5"), ({"type": "integer"}, "1.5"), ({"type": "integer"}, "zz"),
    ({"type": "number"}, "NaN"), ({"type": "number"}, "1e400"), ({"type": "number"}, "Infinity"),
    ({"type": "boolean"}, "1"), ({"type": "string", "format": "uuid"}, "notuuid"),
    ({"type": "string", "enum": ["A"]}, "B"),
])
def test_pipeliner_list_typed_refuses_values_the_field_cannot_hold(schema, raw):
    with pytest.raises(ListError) as caught:
        typed("n", schema, raw, "filter[n]")
    assert caught.value.errors[0][0] == "filter[n]"
