"""Reliability: kills, concurrent runs, unwritable caches, bad inputs, exit codes.

The fault-injection pieces live in tests/faults/faults.py; `python tests/faults/faults.py`
runs all its cases and prints a table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers_run import PLUGINS, cli

from bench.engine import inputs as queries
from bench.engine.claims import claim_owner, claim_path, try_claim
from bench.engine.guards import new_run_id
from bench.engine.store import ResultStore
from bench.files import atomic_write, leftover_temps, temp_path
from bench.models.weights import file_sha256
from bench.suites.streams import Segment, plan_stream

sys.path.insert(0, str(Path(__file__).parent / "faults"))
import faults  # noqa: E402

SMOKE = ("run", "--suite", "smoke", "--method", "source", "--limit", "16", "--workers", "1",
         "--pretrained", "random")


@pytest.fixture(scope="module")
def smoke_folder(tmp_path_factory) -> Path:
    """One finished smoke run (4 cells, source, 16 queries)."""
    out = tmp_path_factory.mktemp("smoke") / "res"
    code, _, err = cli(*SMOKE, "--out", out)
    assert code == 0, err
    return out


def test_temp_files_are_hidden_and_never_match_the_globs(tmp_path):
    tmp = temp_path(tmp_path / "cells" / "abc.parquet")
    assert tmp.name.startswith(".") and not tmp.name.endswith(".parquet")

    def fail(p: Path) -> None:
        p.write_bytes(b"half")
        raise OSError("disk full")
    with pytest.raises(OSError):
        atomic_write(tmp_path / "cells" / "abc.parquet", fail)
    assert not list((tmp_path / "cells").iterdir())  # a failed write leaves nothing


def test_row_write_killed_at_every_point_leaves_a_readable_folder(smoke_folder, tmp_path):
    expected = faults.stored_cells(smoke_folder)
    victim = sorted(expected)[0]
    row, extra = faults.stored_row(smoke_folder, victim)
    assert set(extra) == {"trace", "outcomes"}
    folder = tmp_path / "res"
    shutil.copytree(smoke_folder, folder)
    for point in faults.POINTS:
        faults.remove_cell(folder, victim)
        faults.write_killed_at(folder, row, extra, point)  # asserts the writer was SIGKILLed
        kept = faults.stored_cells(folder)
        assert set(kept) == set(expected) - ({victim} if point != "row:renamed" else set())
        assert not list((folder / "cells").glob(f"{victim}*.tmp")), "a temp file kept .parquet"
    for sub in faults.KINDS:  # killed at partial and at written
        assert len(leftover_temps(folder / sub)) == 2, sub
    good = (smoke_folder / "cells" / f"{victim}.parquet").read_bytes()
    (folder / "cells" / f"{victim}.parquet").write_bytes(good[: len(good) // 2])
    assert set(faults.stored_cells(folder)) == set(expected) - {victim}  # skipped, warned
    assert faults.readers_ok(folder) == ""  # leaderboard and plot both read it
    code, out, err = cli(*SMOKE, "--out", folder)
    assert code == 0, err
    assert "removed 6 temporary file(s)" in out and "3 of 4 cells already" in out
    assert not faults.temp_files(folder) and not faults.corrupt_files(folder)
    after = faults.stored_cells(folder)
    assert set(after) == set(expected)
    assert all(after[c] == r for c, r in expected.items() if c != victim)  # not recomputed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_run_leaves_no_child_alive(tmp_path, sig, session_cache):
    left, code, err = faults.kill_run_with_pool(tmp_path / "res", sig, Path(session_cache))
    assert left == set(), f"children alive 10 s after the kill: {left}"
    if sig == signal.SIGTERM:  # handled like Ctrl-C
        assert code == 143 and "interrupted: finished cells are kept" in err
        assert "Traceback" not in err


def test_unwritable_cache_warns_once_and_cells_are_ok(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("BENCH_CACHE", str(blocker))
    threads = torch.get_num_threads()
    try:
        code, out, err = cli(*SMOKE, "--out", tmp_path / "res", "--threads", "1")
    finally:
        torch.set_num_threads(threads)
    assert code == 0, err
    assert err.count("warning: cannot write the cache") == 1
    df = ResultStore(tmp_path / "res").read()
    assert len(df) == 4 and set(df.status) == {"ok"}
    assert set(df.device) == {"cpu:1threads"}  # the thread count is recorded in each row


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    a_file = tmp / "a-file"
    a_file.write_text("x")
    return [
        (["--out", a_file], "is a file, not a folder"),
        (["--out", a_file / "sub"], "is a file, not a folder"),
        (["--set", "source.lr=1"], "has no option"),
        (["--method", "tent", "--set", "tent.lr=NaN"], "tent.lr=nan is out of range"),
        (["--method", "tent", "--set", "tent.lr=-1"], "tent.lr=-1.0 is out of range"),
        (["--method", "sar", "--set", "sar.ema_momentum=2"], "must be >= 0 and <= 1"),
        (["--severity", "3,9"], "--severity 9 is not a level of any shift of smoke"),
        (["--workers", "0"], "argument --workers: must be at least 1, got 0"),
        (["--workers", "-2"], "argument --workers: must be at least 1, got -2"),
        (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
        (["--plugin", PLUGINS / "raises.py"], "failed to import: ValueError: plugin bug"),
        (["--plugin", PLUGINS / "needs_dep.py"],
         "needs module 'bench_missing_dependency_xyz', which is not installed"),
        (["--plugin", PLUGINS / "retent.py"],
         f"method 'tent' is registered twice (by bench and plugin {PLUGINS / 'retent.py'})"),
    ]


def test_bad_inputs_give_one_line_exit_2_and_write_nothing(tmp_path):
    for extra, message in _bad_inputs(tmp_path):
        out = tmp_path / "res"
        code, _, err = cli(*SMOKE, "--out", out, *extra)  # a later --method wins
        assert code == 2, (extra, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), (extra, err)
        assert message in err, (extra, err)
        assert not out.exists(), extra
    assert (tmp_path / "a-file").read_text() == "x"


def test_plugin_module_with_a_missing_dependency_names_it(tmp_path, monkeypatch):
    (tmp_path / "myplug.py").write_text("import another_missing_dep_xyz  # noqa\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = cli("list", "methods", "--plugin", "myplug")
    assert code == 2 and "needs module 'another_missing_dep_xyz'" in err
    code, _, err = cli("list", "methods", "--plugin", "no_such_plugin_xyz")
    assert code == 2 and "plugin module 'no_such_plugin_xyz' not found" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_refused_up_front(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    code, _, err = cli(*SMOKE, "--out", ro / "res")
    assert code == 2 and "cannot be written" in err and not (ro / "res").exists()


def test_claims_respect_live_owners_and_take_over_dead_ones(tmp_path):
    claim_path(tmp_path, "c1").parent.mkdir(parents=True)
    claim_path(tmp_path, "c1").write_text(json.dumps({"pid": 2**22 + 7, "host": "h"}))
    taken = try_claim(tmp_path, "c1", "run-a")  # stale: nobody holds its lock
    assert taken is not None
    assert json.loads(claim_path(tmp_path, "c1").read_text())["pid"] == os.getpid()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from bench.engine.claims import try_claim; "
         "c = try_claim(sys.argv[1], 'c2', 'run-b'); print('held', flush=True); time.sleep(60)",
         str(tmp_path)], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    try:
        assert holder.stdout.readline().strip() == "held"
        assert try_claim(tmp_path, "c2", "run-a") is None
        assert claim_owner(tmp_path, "c2").startswith(f"pid {holder.pid} ")
    finally:
        holder.kill()
        holder.wait()
    again = try_claim(tmp_path, "c2", "run-a")  # its owner died: taken over
    assert again is not None
    again.release()
    taken.release()
    assert not list((tmp_path / "claims").iterdir())


def test_two_concurrent_runs_compute_each_cell_once(tmp_path):
    results = faults.run_concurrently(tmp_path / "res", n=2, sleep=4.0)
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-500:] for r in results]
    computed = [faults.computed_titles(r.stdout) for r in results]
    titles = [t for c in computed for t in c]
    assert len(titles) == len(set(titles)) == 4, computed  # each cell exactly once
    assert all(computed), "the runs did not overlap"
    assert any("left to another run" in r.stdout for r in results)
    run_ids = set(faults.stored_cells(tmp_path / "res").values())
    assert len(run_ids) == 2


def test_run_ids_are_unique_within_a_second():
    ids = {new_run_id("abcdef0123") for _ in range(50)}
    assert len(ids) == 50


def test_weights_memo_sees_a_rewrite_with_same_size_and_mtime(tmp_path):
    ckpt = tmp_path / "w.pt"
    ckpt.write_bytes(b"A" * 1000)
    first = file_sha256(ckpt)
    st = ckpt.stat()
    time.sleep(0.05)
    with open(ckpt, "r+b") as f:  # same inode, same size
        f.write(b"B" * 1000)
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    assert ckpt.stat().st_size == st.st_size and ckpt.stat().st_mtime_ns == st.st_mtime_ns
    assert file_sha256(ckpt) != first
    assert file_sha256(ckpt, memo=False) == file_sha256(ckpt)


def test_limit_below_the_number_of_segments_leaves_empty_segments_out(monkeypatch):
    # `run --suite mini-diverse --limit 8`: the image mix has 16 segments, 8 stay empty.
    built = []

    def resized(ds, ids, shift, severity, rm, opt):
        assert len(ids) > 0, "an empty segment was built"
        built.append(shift)
        return np.zeros((len(ids), 4, 4, 3), np.uint8), np.zeros(len(ids), dtype=bool)
    monkeypatch.setattr(queries, "resized_images", resized)
    plan = plan_stream(100, [Segment(f"s{k}", 5) for k in range(16)], "continual", 0, limit=8)
    ds = SimpleNamespace(relevant_to_image=lambda: [np.array([i]) for i in range(100)])
    qs = queries.build_queries(ds, "i2t", plan, SimpleNamespace(image_tensor=None), opt=None)
    assert len(built) == 8 and qs.raw.shape == (8, 4, 4, 3) and qs.usable.all()


def test_unreadable_fragment_is_skipped_with_a_warning(tmp_path, capsys):
    (tmp_path / "cells").mkdir(parents=True)
    (tmp_path / "cells" / "broken.parquet").write_bytes(b"PAR1 not really")
    assert ResultStore(tmp_path).read().empty
    assert "skipping unreadable result file" in capsys.readouterr().err
    assert ResultStore(tmp_path).status("broken") is None


def test_a_full_disk_outside_a_cell_is_one_line_and_exit_2(tmp_path, monkeypatch):
    import errno

    import bench.commands.leaderboard as command

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.png"))
    monkeypatch.setattr(command, "run", full)
    code, _, err = cli("leaderboard", tmp_path)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: No space left on device (") and "x.png" in err
