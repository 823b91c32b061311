"""The dask executor: the same cells give the same rows as the local executor."""

from __future__ import annotations

import pytest
from helpers_run import smoke_run

from bench.store import ResultStore

pytest.importorskip("dask.distributed")

COLUMNS = ["cell_id", "status", "r1", "r5", "r10", "map", "n_queries"]


def test_dask_local_cluster_matches_local_executor(tmp_path):
    assert smoke_run(tmp_path / "local", limit=32)[0] == 0
    code, out, _ = smoke_run(tmp_path / "dask", "--executor", "dask", "--dask-workers", "2",
                             limit=32)
    assert code == 0 and "8 ok" in out
    local = ResultStore(tmp_path / "local").read()[COLUMNS].sort_values("cell_id")
    dask = ResultStore(tmp_path / "dask").read()[COLUMNS].sort_values("cell_id")
    assert local.reset_index(drop=True).equals(dask.reset_index(drop=True))
    # resumable like any run: nothing left to do
    code, out, _ = smoke_run(tmp_path / "dask", "--executor", "dask", "--dask-workers", "2",
                             limit=32)
    assert code == 0 and "nothing to do" in out
