"""The control-plane hooks of the Dialect base class: the defaults the VCC and Pipeliner dialects inherit."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mockserver.batch import ItemFailed
from mockserver.dialects.base import FREE_FORM_KEY, Dialect, SeedTarget


class Plain(Dialect):
    name = "plain"


@pytest.mark.parametrize("body,items", [([1, 2], [1, 2]), ({"elements": [1]}, None), (None, None)])
def test_dialect_batch_items_default_is_a_json_array_body(body, items):
    call = type("C", (), {"body": body})()
    assert Plain().batch_items(call) == items


def test_dialect_injected_item_failure_default_carries_status_and_message():
    failure = Plain().injected_item_failure(None, 3, {}, status=503, message="boom")
    assert isinstance(failure, ItemFailed)
    assert failure.errors == [("", "boom")] and failure.detail == {"status": 503, "injected": True}


@pytest.mark.parametrize("record,ok", [({"id": "a", "x": 1}, True), ({"id": 7}, True), ({"id": ""}, False),
                                       ({"id": True}, False), ({"name": "no id"}, False), ([1], False)])
def test_dialect_seed_record_default_for_a_free_form_entity(record, ok):
    target = SeedTarget(spec=None, entity="Account", operation=None, user="u", now=datetime.now(timezone.utc))
    assert target.key == FREE_FORM_KEY
    if ok:
        assert Plain().seed_record(target, None, 0, record) == (record["id"], record)
    else:
        with pytest.raises(ItemFailed):
            Plain().seed_record(target, None, 0, record)
