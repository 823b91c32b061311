"""`perf run` and `perf sweep` end to end on tiny smoke cells, and the sweep report's
arithmetic on known times."""

from __future__ import annotations

import argparse
import re

import pytest
import torch
from helpers_run import cli

from bench.commands.perf import _dask_clusters, sweep_table
from bench.studies.perf import MethodSpeed, SweepTime, speed_table


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
    code, out, err = cli("perf", "run", "--method", "tent", "--suite", "smoke", "--limit", "16",
                         "--threads", "1")
    assert code == 0
    # progress on stderr while it runs: the query build, then each method of each round
    progress = err.splitlines()
    assert progress[0].startswith("shifted queries ready: ")
    assert progress[1].startswith("round 1/1, source: 4 cells ok, 64 queries, adapt ")
    assert progress[2].startswith("round 1/1, tent: 4 cells ok, 64 queries, adapt ")
    rows = _table(out, "method")
    assert list(rows) == ["source", "tent"]  # source added: the reference
    for cells, queries, adapt_s, qps, _rel, peak in rows.values():
        assert int(cells) == 4 and int(queries) == 4 * 16
        assert float(adapt_s) > 0 and float(qps) > 0 and float(peak) > 100  # a process of torch
    assert rows["source"][4] == "1.00x"
    assert float(rows["tent"][4].rstrip("x")) > 1  # adapting costs more than not adapting


def test_perf_run_times_the_selected_cells_only():
    code, out, err = cli("perf", "run", "--method", "tent", "--suite", "smoke", "--limit", "8",
                         "--threads", "1", "--shift", "cr", "--direction", "t2i",
                         "--device", "cpu", "--model", "mini-clip", "--pretrained", "random")
    assert code == 0, err
    assert "cells: smoke, model mini-clip, shift cr, t2i, limit 8" in out
    rows = _table(out, "method")
    assert [(r[0], r[1]) for r in rows.values()] == [("1", "8"), ("1", "8")]
    code, _, err = cli("perf", "run", "--method", "tent", "--shift", "fog")
    assert code == 2 and "--shift fog" in err


@pytest.mark.filterwarnings("ignore")
def test_perf_sweep_times_local_and_dask():
    pytest.importorskip("dask.distributed")
    code, out, err = cli("perf", "sweep", "--method", "source", "--limit", "16",
                         "--dask-workers", "1")
    assert code == 0, out
    # progress on stderr: the query build, then one line per executor as it ends
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 2 and progress[0].startswith("[1/2] local, ")
    assert progress[1].startswith("[2/2] dask 1 worker: 4 cells, ")
    assert "shifted queries ready" in err
    assert out.startswith("4 cells (smoke, limit 16, source)")
    rows = _table(out, "executor")
    (local_label,) = [k for k in rows if k.startswith("local")]
    assert set(rows) == {local_label, "dask 1 worker"}
    assert rows[local_label][3] == "1.00x"
    for wall, cpu, per_wall, *_ in rows.values():
        assert float(wall) > 0 and float(cpu) > 0
        assert float(per_wall) > 0


def _sweep_args(**kw):
    return argparse.Namespace(**({"dask_workers": [2], "scaling": False, "malloc_trim": False,
                                  "device": "cpu"} | kw))


def test_perf_sweep_runs_one_dask_cluster_per_size():
    runs = _dask_clusters(_sweep_args(dask_workers=[4, 2], scaling=True, malloc_trim=True))
    assert [label for label, _ in runs] == ["dask 1 worker", "dask 2 workers", "dask 4 workers",
                                            "dask 4 workers, malloc trim"]
    assert [(s.n_workers, s.malloc_trim, s.gpus) for _, s in runs] == [
        (1, False, 0), (2, False, 0), (4, False, 0), (4, True, 0)]
    (only,) = _dask_clusters(_sweep_args(dask_workers=[2, 2]))
    assert only[0] == "dask 2 workers"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer where no GPU is")
def test_perf_sweep_rejects_bad_sizes_and_a_missing_gpu():
    code, out, err = cli("perf", "sweep", "--dask-workers", "2,0")
    assert code == 2 and "argument --dask-workers: must be at least 1, got 0" in err and out == ""
    code, out, err = cli("perf", "sweep", "--device", "cuda")
    assert code == 2 and "no CUDA device is available" in err and out == ""


def test_sweep_table_speed_ups():
    ok = {"ok": 6, "unavailable": 2}
    runs = [SweepTime("local, 1 thread", 8, 60.0, 59.0, ok),
            SweepTime("local, 2 threads", 8, 40.0, 78.0, ok),
            SweepTime("dask 1 worker", 8, 64.0, 70.0, ok),
            SweepTime("dask 2 workers", 8, 32.0, 70.0, ok)]
    args = argparse.Namespace(suite="smoke", method="tent", limit=None, shift=None,
                              direction=None, model=None)
    rows = _table(sweep_table(runs, "local, 2 threads", args), "executor")
    assert rows["local, 2 threads"][3:] == ["1.00x", "1.50x"]  # 60 / 40
    assert rows["dask 2 workers"][3:] == ["1.25x", "2.00x"]  # 40 / 32, 64 / 32
    assert rows["dask 1 worker"][3:] == ["0.62x", "1.00x"]
    assert rows["local, 1 thread"][2] == "0.98"  # CPU / wall
    assert "cells by status: 6 ok, 2 unavailable\n" in sweep_table(runs, "local, 2 threads",
                                                                     args)
    runs[3].statuses = {"ok": 5, "failed": 1, "unavailable": 2}
    assert ("dask 2 workers: 1 failed, 5 ok, 2 unavailable"
            in sweep_table(runs, "local, 2 threads", args))


def test_perf_run_reports_cells_that_did_not_run(monkeypatch):
    from baselines.tent import Tent
    from bench.commands import perf as perf_command
    from bench.studies import perf

    def boom(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Tent, "loss", boom)
    speed = perf._method_child("tent", "smoke", 8, 1, {"pretrained": "random", "device": "cpu",
                                                       "shifts": ["clean"]})
    assert (speed.cells, speed.queries) == (0, 0)
    assert speed.not_ok.startswith("2 failed (RuntimeError: boom")
    # perf run then compares nothing: one line per method whose cells did not all run
    monkeypatch.setattr(perf, "method_speed", lambda m, *a: MethodSpeed(
        m, 2, 16, 1.0, 500.0, "" if m == "source" else speed.not_ok))
    monkeypatch.setattr(perf_command, "_warm_queries", lambda *a: None)
    code, out, err = cli("perf", "run", "--method", "tent", "--repeat", "3")
    assert code == 3 and "method" not in out
    lines = err.splitlines()
    assert "round 2/3" not in err  # a round with a cell that did not run is the last one
    assert "round 1/3, tent: 2 cells ok, 16 queries" in lines[2] and "; not run: 2 failed" in lines[2]
    assert lines[3].startswith("error: not every cell ran, nothing compared: tent: 2 failed")


def _speed(method, adapt_s, peak=1000.0):
    return MethodSpeed(method, 4, 100, adapt_s, peak)


def test_speed_table_medians_and_per_round_ratios():
    # round 2 is a slow hour for every method: per-round ratios do not see it
    rounds = [[_speed("source", 1.0), _speed("tcr", 10.0), _speed("rest", 19.0)],
              [_speed("source", 2.0), _speed("tcr", 20.0), _speed("rest", 42.0)],
              [_speed("source", 1.0), _speed("tcr", 11.0), _speed("rest", 22.0, 1400.0)]]
    out = speed_table(rounds, versus="tcr")
    assert out.startswith("3 round(s), interleaved")
    rows = _table(out, "method")
    assert rows["source"] == ["4", "100", "1.0", "100.0", "1.00x [1.00-1.00]",
                              "0.10x [0.09-0.10]", "1000"]
    # rest/tcr per round: 1.9, 2.1, 2.0 -> median 2.00; adapt s median of 19, 42, 22 = 22
    assert rows["rest"] == ["4", "100", "22.0", "4.5", "21.00x [19.00-22.00]",
                            "2.00x [1.90-2.10]", "1000"]
    assert rows["tcr"][5] == "1.00x [1.00-1.00]"


def test_speed_table_one_round_keeps_plain_ratios():
    rows = _table(speed_table([[_speed("source", 1.0), _speed("tent", 3.0)]]), "method")
    assert rows["tent"] == ["4", "100", "3.0", "33.3", "3.00x", "1000"]


def test_perf_run_rejects_bad_repeat_and_versus():
    code, _, err = cli("perf", "run", "--method", "tent", "--repeat", "0")
    assert code == 2 and "--repeat" in err
    code, _, err = cli("perf", "run", "--method", "tent", "--versus", "tcr")
    assert code == 2 and "--versus tcr" in err


def test_perf_diagnostics_times_off_warm_and_cold(monkeypatch, tmp_path):
    """Each cell once per mode and round; cold rebuilds both source passes (counted), warm
    and off build none; the table has the cell's line with its query count."""
    import bench.engine.cell_run as cell_run

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))  # no pass cached by other tests

    passes = []
    encode = cell_run.source_embeddings
    monkeypatch.setattr(cell_run, "source_embeddings",
                        lambda *a: passes.append(1) or encode(*a))
    code, out, err = cli("perf", "diagnostics", "--suite", "smoke", "--method", "tcr",
                         "--shift", "contrast", "--direction", "i2t", "--limit", "32",
                         "--pretrained", "random", "--repeat", "2")
    assert code == 0, err
    # untimed warm-up: the warm run builds both passes once; then per round only cold does
    assert len(passes) == 2 + 2 * 2
    line = next(ln for ln in out.splitlines() if "contrast@5 tcr" in ln)
    values = line.split()[-6:]
    assert values[0] == "32" and all(float(v) > 0 for v in values[1:3])


def test_perf_diagnostics_rejects_bad_input():
    for argv in (("--repeat", "0"), ("--method", "nope"), ("--threads", "0")):
        code, _, err = cli("perf", "diagnostics", *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, argv
