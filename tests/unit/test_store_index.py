"""Ordered indexes (store_index.py) and the store keeping them in step with writes."""
from __future__ import annotations

import pytest

from mockserver.store import Store, StoreError
from mockserver.store_index import NULL_KEY, Order, OrderedIndex, Without, key_value, sort_key


def test_store_index_sort_key_orders_every_json_type_with_null_last():
    values = [None, "b", 2, True, "a", {"x": 1}, 1.5, False, [1]]
    ordered = sorted(values, key=sort_key)
    assert ordered == [False, True, 1.5, 2, "a", "b", [1], {"x": 1}, None]
    assert [key_value(sort_key(v)) for v in ordered] == ordered


def test_store_index_ordered_index_keeps_distinct_values_sorted_through_moves():
    index = OrderedIndex(("phone",))
    for key, phone in [("k1", "b"), ("k2", "a"), ("k3", "b"), ("k4", None)]:
        index.add(key, {"phone": phone})
    assert index.values == [sort_key("a"), sort_key("b"), NULL_KEY]
    assert list(index.keys("b")) == ["k1", "k3"] and list(index.keys(None)) == ["k4"]
    index.remove("k2")  # the last "a": the value goes too
    index.remove("k1")
    index.add("k1", {"phone": "c"})
    assert index.values == [sort_key("b"), sort_key("c"), NULL_KEY]
    assert [sorted(b) for b in index.between(sort_key("b"), sort_key("c"), high_inclusive=False)] == [["k3"]]
    assert [sorted(b) for b in index.where(lambda v: v is None)] == [["k4"]]
    index.remove("missing")  # not indexed: nothing happens


def test_store_index_order_walks_levels_from_a_bound_both_ways():
    flag, name = OrderedIndex(("flag",)), OrderedIndex(("name",))
    rows = {"a": (True, "x"), "b": (False, "y"), "c": (True, "w"), "d": (False, "y"), "e": (None, "x")}
    for key, (f, n) in rows.items():
        flag.add(key, {"flag": f})
        name.add(key, {"name": n})
    order = Order([(flag, False), (name, True)], sorted(rows))
    assert list(order.walk()) == ["b", "d", "a", "c", "e"]  # false, true, null; names descending; ties by key
    assert list(order.walk(bound=order.position("d"))) == ["a", "c", "e"]
    assert list(order.walk(bound=order.position("a"), reverse=True)) == ["d", "b"]
    assert list(order.walk(bound=order.position("a"), inclusive=True)) == ["a", "c", "e"]
    assert list(order.walk(Without(sorted(rows), {"a", "e"}))) == ["b", "d", "c"]


def test_store_index_records_keep_ordered_indexes_up_to_date_and_refuse_unsaved_writes(tmp_path):
    store = Store(tmp_path)
    with store.transaction("v", "t") as tx:
        for key, n in [("1", 3), ("2", 1), ("3", 2)]:
            tx.records("E").put(key, {"n": n})
    with store.transaction("v", "t", write=False) as tx:
        assert list(tx.records("E").order([(("n",), False)]).walk()) == ["2", "3", "1"]
    with store.transaction("v", "t") as tx:  # a write after the index was built moves the key
        tx.records("E").put("1", {"n": 0})
        tx.records("E").delete("3")
        with pytest.raises(StoreError):
            tx.records("E").ordered(("n",))  # its own writes are not in the index yet
    with store.transaction("v", "t", write=False) as tx:
        assert list(tx.records("E").order([(("n",), True)]).walk()) == ["2", "1"]
        assert list(tx.records("E").ordered(("n",)).keys(0)) == ["1"]
