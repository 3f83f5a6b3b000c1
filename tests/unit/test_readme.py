"""The README's worked example is the test file CI runs, character for character."""
from __future__ import annotations

from tests.readme import readme_block
from tests.support import REPO


def test_readme_downstream_example_is_the_tested_file():
    assert readme_block("downstream-example") == (REPO / "tests" / "http" / "test_downstream_example.py").read_text()
