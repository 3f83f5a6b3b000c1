"""The vendor and control-plane README blocks, run as written against a real server.

vcclive-examples and pipeliner-examples run verbatim under bash with real curl (their documented URL
pointed at a live server); seed-file is written to a file and given to `serve --seed`. Each test then
checks what was stored, not only what was printed.
"""
from __future__ import annotations

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


def test_readme_seed_file(live_server, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text(readme_block("seed-file"))
    server = live_server("--seed", str(seed))
    with Store(server.data).transaction("vbasoftware", "ACME_DB", write=False) as tx:
        assert tx.records("CallTracking").get(3)["first_Name"] == "Ada"
    with Store(server.data).transaction("pipeliner", "demo_space", write=False) as tx:
        assert tx.records("Account").get("acc-1") == {"id": "acc-1", "name": "Acme"}
