"""The README's worked example is the test file CI runs, character for character."""
from __future__ import annotations

import re

from tests.support import REPO


def test_readme_downstream_example_is_the_tested_file():
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- section: control-plane -->")[1].split("<!-- /section: control-plane -->")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks == [(REPO / "tests" / "http" / "test_downstream_example.py").read_text()]
