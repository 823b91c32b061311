"""One task loop: the local and the dask executors both run cells through
`bench.engine.executors.run_task` (claim, skip if finished, execute, write), and a cell's
result stays typed (row, trace, outcomes) from `execute_cell` to the store."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
from helpers_run import cli

from bench.engine import executors
from bench.engine.cell_run import CellResult
from bench.engine.store import ResultStore

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _calls(name: str) -> list[str]:
    """'module:function' of every function in bench/ that calls `name`."""
    out = []
    for path in sorted(BENCH.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == name):
                    out.append(f"{path.relative_to(BENCH.parent).with_suffix('')}:{fn.name}")
    return sorted(set(out))


def test_only_the_task_loop_claims_and_stores_cells_of_a_run():
    assert _calls("try_claim") == ["bench/engine/executors:run_task"]
    assert "bench/engine/executors:run_task" in _calls("execute_cell")
    assert [c for c in _calls("execute_cell") if c.startswith("bench/engine")] == [
        "bench/engine/executors:run_task"]


def test_both_executors_run_the_task_loop():
    assert _calls("run_task") == ["bench/engine/executors:_worker_run_cells",
                                  "bench/engine/executors:run_local"]


def test_a_cell_result_is_typed_end_to_end(tmp_path):
    code, _, err = cli("run", "--method", "tent", "--suite", "smoke", "--pretrained", "random",
                       "--out", tmp_path, "--limit", "32", "--workers", "1", "--quiet",
                       "--shift", "contrast")
    assert code == 0, err
    store = ResultStore(tmp_path)
    rows = store.read()
    assert len(rows) == 1 and not any(c.startswith("_") for c in rows.columns)
    traces, outcomes = store.read_traces(), store.read_outcomes()
    assert len(traces) == 1 and int(traces["n"].sum()) == 32  # one batch of 32 queries
    assert len(outcomes) == 32
    result = CellResult({"cell_id": "x"})
    assert result.trace is None and result.outcomes is None
    assert isinstance(executors.LeftCell("x", None), executors.LeftCell)
    assert pd.api.types.is_integer_dtype(outcomes["best_rank"])
