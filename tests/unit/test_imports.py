"""The import graph: no cycle, module by module, and ARCHITECTURE.md's "who may import whom" holds.

Every import counts (module level, inside functions, under TYPE_CHECKING): a cycle that only type
hints close is still a cycle a refactoring trips over. ``from . import name`` is an edge to the
submodule ``name`` when there is one (that is what Python loads), else to the package.
"""
from __future__ import annotations

import ast
import re

from tests.support import REPO

PACKAGE = REPO / "mockserver"
ARROW = "→"


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return found


def import_edges(found: dict[str, ast.Module]) -> set[tuple[str, str]]:
    edges = set()
    for name, tree in found.items():
        package = name if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in found else source for a in node.names]
            else:
                continue
            edges |= {(name, t) for t in targets if t in found and t != name}
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def documented_rules(text: str) -> tuple[dict[str, set[str]], set[str]]:
    """ARCHITECTURE.md's block: (component → components it may import directly, leaves)."""
    section = text[text.index("## Who may import whom"):]
    block = section[section.index("```") + 3:section.index("```", section.index("```") + 3)]
    allowed: dict[str, set[str]] = {}
    leaves: set[str] = set()
    for segment in re.split(r";|\n", block):
        segment = re.sub(r"\(.*?\)", "", segment).strip()
        if not segment:
            continue
        if ":" in segment:
            names, _, what = segment.partition(":")
            if "leaves" in what:
                leaves |= {n.strip() for n in names.split(",")}
            else:
                allowed.setdefault(names.strip(), set())  # testing: nothing of ours
            continue
        steps = [{n.strip() for n in step.strip(" {}").split(",")} for step in segment.split(ARROW)]
        for here, there in zip(steps, steps[1:]):
            for name in here:
                allowed.setdefault(name, set()).update(there)
    return allowed, leaves


def reachable(allowed: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in allowed.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_imports_have_no_cycle():
    cycle = find_cycle(import_edges(modules()))
    assert cycle is None, "import cycle: " + f" {ARROW} ".join(cycle)


def test_imports_follow_architecture_md():
    allowed, leaves = documented_rules((REPO / "ARCHITECTURE.md").read_text())
    assert find_cycle({(a, b) for a, targets in allowed.items() for b in targets}) is None
    wrong = sorted(f"{a} {ARROW} {b}" for a, b in {(component(a), component(b)) for a, b in import_edges(modules())}
                   if a != b and b not in leaves and b not in reachable(allowed, a))
    assert not wrong, f"imports ARCHITECTURE.md does not allow: {wrong}"
    documented = set(allowed) | leaves | {b for targets in allowed.values() for b in targets}
    assert documented >= {component(m) for m in modules()}, "every module is in the graph"


def test_imports_checks_can_fail():
    """The checks see what they must: a cycle (also through `from . import name`), a forbidden edge."""
    assert find_cycle({("a", "b"), ("b", "c"), ("c", "a")}) == ["a", "b", "c", "a"]
    tree = {"mockserver.x": ast.parse("from . import y, version"), "mockserver.y": ast.parse("from .x import z"),
            "mockserver.version": ast.parse("")}
    assert import_edges(tree) == {("mockserver.x", "mockserver.y"), ("mockserver.x", "mockserver.version"),
                                  ("mockserver.y", "mockserver.x")}
    allowed, leaves = documented_rules("## Who may import whom\n```\na → {b, c} ;  c → d\nz: leaves (x)\n```\n")
    assert allowed == {"a": {"b", "c"}, "c": {"d"}} and leaves == {"z"}
    assert reachable(allowed, "a") == {"b", "c", "d"} and "a" not in reachable(allowed, "d")
