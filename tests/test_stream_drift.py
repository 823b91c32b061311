"""R@1 along the stream, in parts of each cell's batches, and its change over source on the
same cells: hand-computed on tiny outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.api.errors import DataError
from bench.report.stream_drift import drift, drift_markdown, outcome_parts, trace_parts


def _outcomes(cell: str, ranks: list[list[int]]) -> pd.DataFrame:
    """One row per query: batch b holds the best ranks ranks[b]."""
    return pd.DataFrame([{"cell_id": cell, "batch": b, "best_rank": r}
                         for b, batch in enumerate(ranks) for r in batch])


ROWS = pd.DataFrame([
    {"cell_id": "s1", "method": "source", "shift": "fog", "severity": 3, "seed": 0},
    {"cell_id": "t1", "method": "tent", "shift": "fog", "severity": 3, "seed": 0},
    {"cell_id": "s2", "method": "source", "shift": "snow", "severity": 3, "seed": 0},
    {"cell_id": "t2", "method": "tent", "shift": "snow", "severity": 3, "seed": 0},
    {"cell_id": "t3", "method": "tent", "shift": "frost", "severity": 3, "seed": 0}])
OUTCOMES = pd.concat([
    _outcomes("s1", [[1, 1], [1, 2], [1, 1], [2, 1]]),  # parts of 2 batches: 75, 75
    _outcomes("t1", [[1, 1], [1, 1], [2, 1], [3, 4]]),  # 100, 25
    _outcomes("s2", [[1, 2], [2, 2], [1, 1], [1, 2]]),  # 25, 75
    _outcomes("t2", [[1, 1], [2, 2], [2, 2], [2, 2]]),  # 50, 0
    _outcomes("t3", [[1, 1], [1, 1], [1, 1], [1, 1]])])  # no source cell: not in the change


def test_parts_cut_each_stream_by_batch():
    parts = outcome_parts(OUTCOMES, parts=2)
    assert parts.loc["s1"].tolist() == [75.0, 75.0]
    assert parts.loc["t1"].tolist() == [100.0, 25.0]
    # 5 batches in 2 parts: batches 0-2 (b * 2 // 5 == 0) and 3-4
    five = outcome_parts(_outcomes("x", [[1], [2], [1], [1], [1]]), parts=2)
    assert five.loc["x"].tolist() == pytest.approx([200 / 3, 100.0])


def test_change_is_taken_on_the_cells_source_also_has():
    means, change, n = drift(ROWS, outcome_parts(OUTCOMES, parts=2))
    assert n == 2
    assert means.loc["source"].tolist() == [50.0, 75.0]
    assert means.loc["tent"].tolist() == pytest.approx([250 / 3, 125 / 3])  # all three cells
    # fog and snow only: tent (75, 12.5) minus source (50, 75)
    assert change.loc["tent"].tolist() == pytest.approx([25.0, -62.5])
    text = drift_markdown(ROWS, outcome_parts(OUTCOMES, parts=2), "R@1")
    assert "| tent | 83.3 (+25.0) | 41.7 (-62.5) |" in text
    assert "| source | 50.0 | 75.0 |" in text and "over the 2 source cells" in text
    assert text.startswith("R@1 along the stream") and "| 1st half | 2nd half |" in text


def test_no_reference_cells_is_one_clear_error():
    with pytest.raises(DataError, match="no per-batch records of source"):
        drift(ROWS[ROWS.method == "tent"], outcome_parts(OUTCOMES))


def test_trace_measures_weight_each_batch_by_its_queries():
    traces = pd.DataFrame({"cell_id": ["s1"] * 4 + ["t1"] * 4, "batch": [0, 1, 2, 3] * 2,
                           "n": [2, 2, 3, 1, 2, 2, 2, 2],
                           "uniformity_q": [0.5, 0.7, 0.2, 0.6, 0.5, 0.5, 0.9, None]})
    parts = trace_parts(traces, "uniformity_q", parts=2)
    assert parts.loc["s1"].tolist() == pytest.approx([0.6, (3 * 0.2 + 0.6) / 4])
    assert parts.loc["t1"].tolist() == pytest.approx([0.5, 0.9])  # a missing batch left out
    means, change, _ = drift(ROWS, parts)
    assert change.loc["tent"].tolist() == pytest.approx([-0.1, 0.9 - 0.3])
    assert trace_parts(traces.drop(columns="uniformity_q"), "uniformity_q").empty


def test_the_tool_reads_every_method_of_the_current_version(tmp_path):
    """tools/stream_drift.py: every method the store holds (tcr too, which the published
    comparison leaves out), shifted cells only, the current version only; no source is one
    line and exit 2."""
    import subprocess
    import sys
    from pathlib import Path

    from helpers_outcomes import write_store

    from bench.api.registry import SUITES, load_builtins

    load_builtins()
    tool = Path(__file__).resolve().parent.parent / "tools" / "stream_drift.py"
    current = str(SUITES.get("mini-coco-c").version)
    store = write_store(tmp_path, seeds=(0,), shifts=("fog", "snow", "clean"),
                        suite="mini-coco-c", suite_version=current)
    write_store(tmp_path, seeds=(0,), first_cell=100, suite="mini-coco-c", suite_version="0")
    run = subprocess.run([sys.executable, str(tool), str(tmp_path), "--direction", "i2t"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = store.read()
    cells = rows[(rows["suite_version"].astype(str) == current) & (rows["shift"] != "clean")]
    cells = cells[["cell_id", "method", "shift", "severity", "seed"]]
    expected = drift_markdown(cells, outcome_parts(store.read_outcomes(list(cells["cell_id"]))),
                              "R@1")
    assert f"`mini-coco-c` v{current} i2t: 2 shifts, 10 cells" in run.stdout
    assert expected in run.stdout and "| tcr |" in expected
    nothing = subprocess.run([sys.executable, str(tool), str(tmp_path), "--direction", "t2i"],
                             capture_output=True, text=True)
    assert nothing.returncode == 2 and nothing.stderr.count("\n") == 1
