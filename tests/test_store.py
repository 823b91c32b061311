"""The result store: atomic rows, resume semantics, one clear error when empty."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.api.errors import DataError
from bench.engine.store import ResultStore, read_results


def test_write_read_and_status(tmp_path):
    store = ResultStore(tmp_path)
    trace = pd.DataFrame({"batch": [0], "n": [64], "r1": [50.0], "loss": [1.0], "segment": [""]})
    store.write({"cell_id": "a", "status": "ok", "r1": 50.0, "method_config": {"lr": 1e-3}}, trace)
    store.write({"cell_id": "b", "status": "failed", "error": "boom"})
    df = store.read()
    assert sorted(df.cell_id) == ["a", "b"]
    assert df.set_index("cell_id").loc["a", "method_config"] == '{"lr": 0.001}'
    assert store.is_finished("a") and not store.is_finished("b")  # failed cells are retried
    assert len(store.read_traces()) == 1
    assert store.read_outcomes().empty  # written before per-query outcomes: none, no error
    outcomes = pd.DataFrame({"position": [0, 1], "query_id": [7, 3], "batch": [0, 0],
                             "best_rank": [1, 4]})
    store.write({"cell_id": "c", "status": "ok", "r1": 50.0}, trace, outcomes)
    got = store.read_outcomes(["c", "a"])
    assert list(got.cell_id) == ["c", "c"] and list(got.best_rank) == [1, 4]
    assert list(store.read_traces(["c", "b"]).cell_id) == ["c"]  # b has no trace: skipped
    assert sorted(store.read_traces().cell_id) == ["a", "c"]
    # rewriting a cell replaces its row: never a duplicate
    store.write({"cell_id": "b", "status": "ok", "r1": 1.0})
    assert len(store.read()) == 3
    assert not list(tmp_path.rglob("*.tmp*"))


def test_rejects_bad_rows(tmp_path):
    with pytest.raises(ValueError):
        ResultStore(tmp_path).write({"cell_id": "x", "status": "weird"})


def test_read_results_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_results(tmp_path / "nope")
    with pytest.raises(DataError, match="holds no results"):
        read_results(tmp_path)


def test_the_frame_cache_reads_back_what_the_fragments_hold(tmp_path, monkeypatch):
    """A cached read is the fresh read (values and dtypes); it is stored once per content:
    rewriting one cell with other values is a new key, read afresh."""
    from bench.engine import frame_cache

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    store = ResultStore(tmp_path / "store")
    for cid, r1 in (("a", 50.0), ("b", 25.0)):
        store.write({"cell_id": cid, "status": "ok", "r1": r1, "method_config": {"lr": 1e-3}},
                    outcomes=pd.DataFrame({"position": [1, 0], "query_id": [7, 3],
                                           "batch": [0, 0], "best_rank": [1, 4]}))
    fresh = store.read()
    assert not frame_cache.cache_root().exists()  # an uncached read stores nothing
    first, second = store.read(cached=True), store.read(cached=True)
    for got in (first, second):
        pd.testing.assert_frame_equal(got, fresh, check_exact=True)
    pd.testing.assert_frame_equal(store.read_outcomes(cached=True), store.read_outcomes(),
                                  check_exact=True)
    assert len(list(frame_cache.cache_root().glob("*.parquet"))) == 2  # rows, outcomes
    store.write({"cell_id": "b", "status": "ok", "r1": 75.0})
    assert sorted(store.read(cached=True)["r1"]) == [50.0, 75.0]
    assert len(list(frame_cache.cache_root().glob("*.parquet"))) == 3
