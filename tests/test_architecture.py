"""Architecture checks: no import cycle among bench, corruptions, baselines and methods
modules, and no source file over 400 lines (the layer contracts are import-linter's)."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "corruptions", "baselines", "methods")
MAX_LINES = 400


def _edges(graph) -> dict[str, set[str]]:
    """Module -> the modules of our packages it imports (at any level, TYPE_CHECKING too)."""
    return {m: {d for d in graph.find_modules_directly_imported_by(m)
                if d.split(".")[0] in PACKAGES}
            for m in graph.modules if m.split(".")[0] in PACKAGES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(edges):
        if state.get(root):
            continue
        path, stack = [root], [iter(sorted(edges.get(root, ())))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def test_find_cycle_names_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"x"}}) == ["x", "x"]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES)


def test_graph_sees_known_imports(graph):
    """The graph is real: it holds an import this file relies on being seen."""
    edges = _edges(graph)
    assert "bench.engine.cell_run" in edges["bench.engine.executors"]
    assert "corruptions.table" in edges["corruptions.image"]


def test_no_import_cycles(graph):
    cycle = find_cycle(_edges(graph))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_file_over_400_lines():
    too_long = []
    for folder in ("bench", "corruptions", "baselines", "methods", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                too_long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not too_long, f"files over {MAX_LINES} lines: " + ", ".join(too_long)
