"""The reading of a leaderboard (docs/results.md) says only what the tests say: planted differences
come out as better / worse than source, identical methods as no difference."""

from __future__ import annotations

from helpers_outcomes import write_store

from bench.report.leaderboard import build
from bench.report.paired_compare import compare_table
from bench.report.reading import board_reading, compare_reading


def _lines(tmp_path):
    store = write_store(tmp_path / "results")
    board = build(store.read(), "r1", outcomes=store.read_outcomes())
    return board_reading(board.tables), store


def test_planted_differences_read_as_such(tmp_path):
    lines, _ = _lines(tmp_path)
    by_method = {line.split("`")[1]: line for line in lines if line.startswith("  - `")}
    assert set(by_method) == {"tent", "sar", "eata", "tcr"}  # source is the reference
    assert "Avg. Δ +4.0 [" in by_method["tent"] and "**better than source**" in by_method["tent"]
    assert "**better than source**" in by_method["sar"]
    assert "Avg. Δ +0.0 [+0.0, +0.0]" in by_method["eata"]
    assert "no significant difference from source" in by_method["eata"]
    assert "Avg. Δ -3.0 [" in by_method["tcr"] and "**worse than source**" in by_method["tcr"]
    assert "per shift: better on 2, worse on 0 of 2" in by_method["tent"]


def test_rows_without_outcomes_get_no_reading(tmp_path):
    store = write_store(tmp_path / "results")
    board = build(store.read(), "r1", outcomes=None)
    lines = board_reading(board.tables)
    assert lines and all("no reading" in line for line in lines)


def test_pooled_comparison_in_words(tmp_path):
    _, store = _lines(tmp_path)
    df, outcomes = store.read(), store.read_outcomes()
    text = compare_reading(compare_table(df, outcomes, "tent", "tcr"))
    assert text.startswith("`tent` vs `tcr`, pooled over the 2 cells they share: Δ +7.0 [")
    assert "**tent better**" in text
    same = compare_reading(compare_table(df, outcomes, "eata", "source"))
    assert "no significant difference" in same and "Δ +0.0" in same


def test_pooled_comparison_counts_only_cells_with_outcomes(tmp_path):
    _, store = _lines(tmp_path)
    df, outcomes = store.read(), store.read_outcomes()
    dropped = df[(df.method == "tent") & (df["shift"] == "fog")].cell_id.iloc[0]
    text = compare_reading(compare_table(df, outcomes[outcomes.cell_id != dropped],
                                         "tent", "tcr"))
    assert text.startswith("`tent` vs `tcr`, pooled over the 1 of their 2 shared cells "
                           "that have per-query outcomes: Δ ")


def test_one_column_tables_read_on_that_column(tmp_path):
    store = write_store(tmp_path / "results")
    df = store.read()
    df = df[df["shift"] == "fog"]
    board = build(df, "r1", outcomes=store.read_outcomes())
    lines = board_reading(board.tables)
    tent = next(line for line in lines if line.startswith("  - `tent`"))
    assert tent.startswith("  - `tent`: Δ +4.0 [") and "per shift" not in tent
