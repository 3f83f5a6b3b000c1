"""The vendor and control-plane README blocks, run as written against a real server.

vcclive-examples, pipeliner-examples and pipeliner-list run verbatim under bash with real curl (their documented URL
pointed at a live server); seed-file is written to a file and given to `serve --seed`. Each test then
checks what was stored, not only what was printed.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from mockserver.store import Store
from tests.readme import readme_block, run_readme_commands

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the README examples use curl")


def test_readme_vcclive_examples(live_server):
    server = live_server()
    out = run_readme_commands("vcclive-examples", server.url)
    assert '{"errors": [], "response": {"0": true, "1": true}}' in out  # the seed's own example answer
    with Store(server.data).transaction("vcclive", "mycc", write=False) as tx:
        records = tx.records("records:22")
        assert records.get(1)["data"]["name"] == "Peter Green" and records.get(1)["act_status"] == 6
        assert records.get(4)["data"] == {"name": "Thomas", "address": "London", "age": "30"}
        assert records.get(2)["act_status"] == 6  # matched by the OR-ed search {"numberid": "2"}


def test_readme_pipeliner_examples(live_server, tmp_path):
    server = live_server()
    out = run_readme_commands("pipeliner-examples", server.url, cwd=tmp_path)
    assert '"ERROR_ENTITY_VALIDATION"' in out and '"is_deleted": true' in out
    with Store(server.data).transaction("pipeliner", "demo_space", write=False) as tx:
        (call,) = tx.records("Call").all()
    assert call["transcription_summary"] == "Asked for a quote" and call["is_deleted"] is False  # restored


def json_values(text: str) -> list:
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def shown_answers(name: str) -> list[str]:
    """The answers a block shows: each ``# → ...`` comment with its ``#`` continuation lines."""
    shown, current = [], None
    for line in readme_block(name).splitlines():
        text = line.strip()
        if text.startswith("# →"):
            current = text[len("# →"):].strip()
            shown.append(current)
        elif current is not None and re.match(r"#\s{2,}\S", text):  # an indented continuation
            shown[-1] += " " + text[1:].strip()
        else:
            current = None
    return shown


def shown_value(answer: str, key: str):
    """The JSON value a shown answer gives ``key`` (a scalar: string, number, true/false/null)."""
    match = re.search(rf'"{re.escape(key)}": ("(?:[^"\\]|\\.)*"|-?[0-9.]+|true|false|null)', answer)
    assert match, f"the shown answer has no {key!r}: {answer}"
    return json.loads(match.group(1))


def test_readme_pipeliner_list(live_server, tmp_path):
    """The list block: a filter, an order with a cursor (its next page is another Call), a 400; the
    answers it shows are the ones the server gives (key fields compared)."""
    server = live_server()
    out = run_readme_commands("pipeliner-list", server.url, cwd=tmp_path)
    created, contains, first, second, refused = json_values(out)  # curl prints the bodies back to back
    page1, error = shown_answers("pipeliner-list")
    call = first["data"][0]
    assert shown_value(page1, "phone_number") == call["phone_number"]
    assert shown_value(page1, "caller").replace("http://127.0.0.1:8080", server.url) == call["caller"]
    for name in ("has_next_page", "has_previous_page"):
        assert shown_value(page1, name) == first["page_info"][name]
    assert shown_value(page1, "total_count") == first["total_count"]
    assert all(first["page_info"][name].startswith(shown_value(page1, name).rstrip(".")) for name in
               ("start_cursor", "end_cursor"))
    for name in ("http_status", "code", "name"):
        assert shown_value(error, name) == refused[name]
    assert refused["message"].startswith(shown_value(error, "message").removesuffix("..."))
    assert created["success"] is True and len(created["data"]) == 3
    assert [c["phone_number"] for c in contains["data"]] == ["+1 555 0100"]
    assert list(first["data"][0]) == ["id", "caller", "phone_number"] and first["total_count"] == 3  # model order
    assert first["page_info"]["has_next_page"] is True and second["page_info"]["has_previous_page"] is True
    assert second["data"][0]["id"] != first["data"][0]["id"]
    assert (refused["http_status"], refused["code"]) == (400, 117) and "filter-op[phone_number]" in refused["message"]
    with Store(server.data).transaction("pipeliner", "list_space", write=False) as tx:
        assert len(tx.records("Call").all()) == 3


def test_readme_seed_file(live_server, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text(readme_block("seed-file"))
    server = live_server("--seed", str(seed))
    with Store(server.data).transaction("vbasoftware", "ACME_DB", write=False) as tx:
        assert tx.records("CallTracking").get(3)["first_Name"] == "Ada"
    with Store(server.data).transaction("pipeliner", "demo_space", write=False) as tx:
        assert tx.records("Account").get("acc-1") == {"id": "acc-1", "name": "Acme"}
