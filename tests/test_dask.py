"""The dask executor: the same cells give the same rows as the local executor, on a local
cluster and on a hand-started scheduler with two workers, and the rows land in the client's
--out whatever the workers' working directory; clusters and job scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_run import cli, smoke_run

from bench.engine.store import ResultStore

pytest.importorskip("dask.distributed")

COLUMNS = ["cell_id", "status", "r1", "r5", "r10", "map", "n_queries"]
LIMIT = 24  # 8 smoke cells (4 specs x source, tent) of 24 queries


def _rows(out: Path):
    return ResultStore(out).read()[COLUMNS].sort_values("cell_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "results"
    code, _, err = smoke_run(out, limit=LIMIT)
    assert code == 0, err
    rows = _rows(out)
    assert len(rows) == 8 and (rows.status == "ok").all()
    return rows


def test_local_cluster_rows_equal_the_local_executor(local_rows, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a relative --out: resolved by the client, so the rows land in the client's folder
    code, out, err = smoke_run(Path("results"), "--executor", "dask", "--dask-workers", "2",
                               limit=LIMIT)
    assert code == 0 and "8 ok" in out, err
    assert f"results in {tmp_path / 'results'}" in out
    assert _rows(tmp_path / "results").equals(local_rows)
    # resumable like any run: nothing left to do
    code, out, _ = smoke_run(Path("results"), "--executor", "dask", "--dask-workers", "2",
                             limit=LIMIT)
    assert code == 0 and "nothing to do" in out


def test_dask_workers_respect_cell_claims(local_rows, tmp_path):
    """A cell another live run holds is left to it, as the local executor does."""
    from bench.engine.claims import try_claim

    out = tmp_path / "results"
    held = local_rows.cell_id[0]
    with try_claim(out, held, "another-run"):
        code, text, err = smoke_run(out, "--executor", "dask", "--dask-workers", "1",
                                    limit=LIMIT)
        assert code == 0, err
    assert "7 ok" in text and "1 left to another run" in text
    assert held not in set(_rows(out).cell_id)
    code, text, _ = smoke_run(out, limit=LIMIT)  # released: a later run does that one only
    assert code == 0 and "7 already stored, 1 ok" in text
    assert _rows(out).equals(local_rows)


# A suite no module defines: only this file, written by the test, names it.
FILE_SUITE = """\
name = "file-only"
version = "1"
model = "mini-clip"

[datasets.scenes]
format = "mini-scenes"
images = 200

[[cells]]
dataset = "scenes"
direction = "i2t"
shifts = ["clean", "contrast"]
severity = 5
"""


def test_a_suite_defined_only_by_a_file_runs_on_dask_workers(tmp_path, monkeypatch):
    """The workers (spawned processes, which do not inherit this registry) read the suite
    file themselves; its cells give the rows of the local executor."""
    monkeypatch.chdir(tmp_path)
    Path("my_suite.toml").write_text(FILE_SUITE)
    run = ("run", "--method", "source", "--suite", "file-only", "--suite-file", "my_suite.toml",
           "--pretrained", "random", "--limit", str(LIMIT), "--workers", "1", "--quiet")
    code, _, err = cli(*run, "--out", "local")
    assert code == 0, err
    code, out, err = cli(*run, "--out", "dask", "--executor", "dask", "--dask-workers", "1")
    assert code == 0 and "2 ok" in out, err
    assert len(_rows(tmp_path / "dask")) == 2
    assert _rows(tmp_path / "dask").equals(_rows(tmp_path / "local"))


def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_for_workers(address: str, n: int, procs: list, timeout: float = 60) -> None:
    from dask.distributed import Client

    with Client(address, timeout=timeout) as client:
        deadline = time.monotonic() + timeout
        while len(client.scheduler_info()["workers"]) < n:
            assert all(p.poll() is None for p in procs), "a dask process exited early"
            assert time.monotonic() < deadline, "the workers did not connect"
            time.sleep(0.2)


def test_hand_started_scheduler_and_two_workers(local_rows, tmp_path, monkeypatch):
    client_dir, worker_dir = tmp_path / "client", tmp_path / "workers"
    client_dir.mkdir()
    worker_dir.mkdir()
    file = tmp_path / "scheduler.json"
    procs = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(file)], worker_dir,
                    tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not file.exists():
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        for k in range(2):  # no nanny: no MALLOC_TRIM_THRESHOLD_ (docs/cluster.md)
            procs.append(_start(["distributed.cli.dask_worker", "--scheduler-file", str(file),
                                 "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                 "--no-dashboard"], worker_dir, tmp_path / f"worker{k}.log"))
        import json
        address = json.loads(file.read_text())["address"]
        _wait_for_workers(address, 2, procs)
        monkeypatch.chdir(client_dir)
        code, out, err = smoke_run(Path("results"), "--executor", "dask", "--scheduler",
                                   address, limit=LIMIT)
        assert code == 0 and "8 ok" in out, err
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert _rows(client_dir / "results").equals(local_rows)
    assert not (worker_dir / "results").exists()  # not in the workers' working directory


def test_preflight_stops_on_a_worker_that_cannot_write(tmp_path, monkeypatch):
    from bench.api.errors import ConfigError

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # the fake workers are us
    from bench.engine.cache import Cache
    from bench.engine.executors import preflight, worker_preflight
    from bench.engine.settings import Runtime

    (tmp_path / "file").write_text("")

    class Workers:  # stands for a dask Client: `run` calls the function on each worker
        def __init__(self, out_per_worker):
            self.out_per_worker = out_per_worker

        def run(self, fn, paths):
            return {a: fn([out] + paths[1:]) for a, out in self.out_per_worker.items()}

    settings = Runtime(out=tmp_path / "out", device="cpu",
                       cache=Cache(tmp_path / "cache")).for_worker()
    notes = []
    ok = Workers({"tcp://a": str(tmp_path / "out"), "tcp://b": str(tmp_path / "out")})
    assert preflight(ok, settings, notes.append) == 2 and notes == []
    # worker b does not see the shared folder where the client does
    bad = Workers({"tcp://a": str(tmp_path / "out"), "tcp://b": str(tmp_path / "file" / "out")})
    with pytest.raises(ConfigError, match="dask worker tcp://b cannot write .*shares"):
        preflight(bad, settings, notes.append)
    with pytest.raises(ConfigError, match="no workers"):
        preflight(Workers({}), settings, notes.append)
    assert worker_preflight([str(tmp_path)])["error"] is None


def test_worker_preflight_reports_the_first_unwritable_path(tmp_path):
    from bench.engine.executors import worker_preflight

    (tmp_path / "file").write_text("")
    ok = worker_preflight([str(tmp_path / "a"), str(tmp_path / "b")])
    assert ok["error"] is None and (tmp_path / "a").is_dir()
    bad = worker_preflight([str(tmp_path / "a"), str(tmp_path / "file" / "x")])
    assert bad["error"].startswith(f"cannot write {tmp_path / 'file' / 'x'}")


def test_cells_are_grouped_by_what_they_load():
    from bench.api.registry import load_builtins
    from bench.engine.executors import group_cells, group_key
    from bench.engine.planning import plan_run
    from bench.engine.settings import RunSettings

    load_builtins()
    cells = plan_run(RunSettings.of(methods=["source", "tent", "tcr"], suites=["smoke"],
                                pretrained="random", log=lambda m: None))
    tasks = group_cells(cells, n_workers=2)
    assert sorted(c.cell_id for t in tasks for c in t) == sorted(c.cell_id for c in cells)
    assert all(len({group_key(c) for c in t}) == 1 for t in tasks)  # one gallery per task
    assert max(len(t) for t in tasks) == 2 and len(tasks) == 6  # 12 cells / (4 x 2 workers)
    assert len(group_cells(cells, n_workers=100)) == 12
