"""The protocol runner end to end: Parquet rows, resume, failures, interruption."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers_run import PLUGINS, smoke_run

from bench.engine.store import ResultStore


def test_run_writes_rows_and_second_run_does_nothing(tmp_path):
    code, out, _ = smoke_run(tmp_path)
    assert code == 0
    df = ResultStore(tmp_path).read()
    assert len(df) == 8 and set(df.status) == {"ok"}
    assert set(df.method) == {"source", "tent"}
    assert df.n_queries.eq(64).all()
    row = df[(df.method == "tent") & (df.direction == "i2t") & (df["shift"] == "clean")].iloc[0]
    assert row.torch_version and row.bench_version and row.device.startswith("cpu")
    assert '"lr": 0.0003' in row.method_config
    assert '"batch_size": 64' in row.protocol and '"steps": 3' in row.protocol
    traces = ResultStore(tmp_path).read_traces()
    assert set(traces.cell_id) == set(df.cell_id)
    # per-query outcomes: every scored query, and they recompute the row's metrics
    outcomes = ResultStore(tmp_path).read_outcomes()
    assert set(outcomes.cell_id) == set(df.cell_id)
    for cell_id, o in outcomes.groupby("cell_id"):
        r = df.set_index("cell_id").loc[cell_id]
        assert len(o) == r.n_queries and o.position.is_unique
        assert 100 * (o.best_rank <= 1).mean() == pytest.approx(r.r1)
        assert 100 * (o.best_rank <= 5).mean() == pytest.approx(r.r5)
        sizes = traces[traces.cell_id == cell_id].set_index("batch")["n"]
        assert o.groupby("batch").size().equals(sizes.rename(None).rename_axis("batch"))
    code, out, _ = smoke_run(tmp_path)
    assert code == 0 and "nothing to do" in out
    assert len(ResultStore(tmp_path).read()) == 8


def test_failing_cell_is_recorded_and_run_goes_on(tmp_path):
    code, out, _ = smoke_run(tmp_path, "--plugin", PLUGINS / "flaky.py", methods="flaky")
    assert code == 3  # documented: some cell of this run failed or diverged
    assert "2 cells failed or diverged (exit 3)" in out.splitlines()[-1]
    df = ResultStore(tmp_path).read().set_index("direction")
    assert (df.loc["t2i", "status"] == "failed").all()
    assert df.loc["t2i", "error"].str.contains("fails on t2i on purpose").all()
    assert (df.loc["i2t", "status"] == "ok").all()
    assert "failed" in out


def test_interrupted_run_resumes_without_duplicates(tmp_path, monkeypatch):
    marker = tmp_path / "count"
    monkeypatch.setenv("BENCH_TEST_INTERRUPT_AFTER", f"{marker}:3")
    args = ("--plugin", PLUGINS / "flaky.py")
    code, _, err = smoke_run(tmp_path / "res", *args, methods="interrupter")
    assert code == 130 and "resume" in err
    first = ResultStore(tmp_path / "res").read()
    assert len(first) == 2  # the third cell was interrupted: no row, no half-written file
    assert not list((tmp_path / "res").rglob("*.tmp*"))
    monkeypatch.delenv("BENCH_TEST_INTERRUPT_AFTER")
    code, out, _ = smoke_run(tmp_path / "res", *args, methods="interrupter")
    assert code == 0 and "2 of 4 cells already" in out
    df = ResultStore(tmp_path / "res").read()
    assert len(df) == 4 and df.cell_id.is_unique
    kept = first.set_index("cell_id").created_at
    assert (df.set_index("cell_id").loc[kept.index, "created_at"] == kept).all()


def test_overwrite_redoes_cells(tmp_path):
    smoke_run(tmp_path, methods="source")
    before = ResultStore(tmp_path).read().set_index("cell_id").run_id
    code, out, _ = smoke_run(tmp_path, "--overwrite", methods="source")
    after = ResultStore(tmp_path).read().set_index("cell_id").run_id
    assert code == 0 and len(after) == 4
    assert not pd.Series(before == after.loc[before.index]).all()
