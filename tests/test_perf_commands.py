"""`perf run` and `perf sweep` end to end on tiny smoke cells, and the sweep report's
arithmetic on known times."""

from __future__ import annotations

import argparse
import re

import pytest
from helpers_run import cli

from bench.commands.perf import sweep_table
from bench.studies.perf import SweepTime


def _table(out: str, first: str) -> dict[str, list[str]]:
    """Rows of a whitespace table whose header starts with `first`, by label."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    rows = {}
    for line in lines[start + 1:]:
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) < 3:
            break
        rows[parts[0]] = parts[1:]
    return rows


def test_perf_run_reports_each_method_against_source():
    code, out, _ = cli("perf", "run", "--method", "tent", "--suite", "smoke", "--limit", "16",
                       "--threads", "1")
    assert code == 0
    rows = _table(out, "method")
    assert list(rows) == ["source", "tent"]  # source added: the reference
    for cells, queries, adapt_s, qps, _rel, peak in rows.values():
        assert int(cells) == 4 and int(queries) == 4 * 16
        assert float(adapt_s) > 0 and float(qps) > 0 and float(peak) > 100  # a process of torch
    assert rows["source"][4] == "1.00x"
    assert float(rows["tent"][4].rstrip("x")) > 1  # adapting costs more than not adapting


@pytest.mark.filterwarnings("ignore")
def test_perf_sweep_times_local_and_dask():
    pytest.importorskip("dask.distributed")
    code, out, _ = cli("perf", "sweep", "--method", "source", "--limit", "16",
                       "--dask-workers", "1")
    assert code == 0, out
    assert out.startswith("4 cells (smoke, source, limit 16)")
    rows = _table(out, "executor")
    (local_label,) = [k for k in rows if k.startswith("local")]
    assert set(rows) == {local_label, "dask 1 worker"}
    assert rows[local_label][3] == "1.00x"
    for wall, cpu, per_wall, *_ in rows.values():
        assert float(wall) > 0 and float(cpu) > 0
        assert float(per_wall) > 0


def test_sweep_table_speed_ups():
    runs = [SweepTime("local, 1 thread", 8, 60.0, 59.0),
            SweepTime("local, 2 threads", 8, 40.0, 78.0),
            SweepTime("dask 1 worker", 8, 64.0, 70.0),
            SweepTime("dask 2 workers", 8, 32.0, 70.0)]
    args = argparse.Namespace(suite="smoke", method="tent", limit=None)
    rows = _table(sweep_table(runs, "local, 2 threads", args), "executor")
    assert rows["local, 2 threads"][3:] == ["1.00x", "1.50x"]  # 60 / 40
    assert rows["dask 2 workers"][3:] == ["1.25x", "2.00x"]  # 40 / 32, 64 / 32
    assert rows["dask 1 worker"][3:] == ["0.62x", "1.00x"]
    assert rows["local, 1 thread"][2] == "0.98"  # CPU / wall
