"""The README's fenced blocks, by name, for the tests that run them.

Convention (checked by tests/docs/test_readme.py): every fenced block of README.md sits right under
``<!-- exercised: NAME -->`` (NAME unique), and some test calls ``readme_block("NAME")``,
``readme_commands("NAME")`` or ``run_readme_commands("NAME", ...)`` with that literal name.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from tests.support import REPO

README = REPO / "README.md"
DOCUMENTED_URLS = ("http://127.0.0.1:8080", "http://localhost:8080")  # what the README's examples target
_FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.S | re.M)
_MARKER = re.compile(r"<!-- exercised: ([\w-]+) -->\s*$")


@dataclass(frozen=True)
class Block:
    name: str | None  # None: the marker is missing
    lang: str
    text: str
    line: int


def readme_blocks(text: str | None = None) -> list[Block]:
    text = README.read_text() if text is None else text
    blocks = []
    for match in _FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        blocks.append(Block(marker.group(1) if marker else None, match.group(1), match.group(2),
                            text.count("\n", 0, match.start()) + 1))
    return blocks


def readme_block(name: str) -> str:
    found = [b for b in readme_blocks() if b.name == name]
    assert len(found) == 1, f"README.md has {len(found)} blocks named {name!r}"
    return found[0].text


def readme_commands(name: str) -> list[str]:
    """The block's commands: comments and blank lines dropped, `\\` continuations joined."""
    commands, pending = [], ""
    for line in readme_block(name).splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1].rstrip() + " "
            continue
        commands.append((pending + line.strip()).strip())
        pending = ""
    return commands


def run_readme_commands(name: str, base_url: str, *, cwd=REPO, env=None, timeout: float = 120) -> str:
    """Run a block verbatim under `bash -euo pipefail`, its documented URL pointed at ``base_url``."""
    script = readme_block(name)
    for url in DOCUMENTED_URLS:
        script = script.replace(url, base_url)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"README block {name!r} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.stdout
