"""Fault injection: kills, concurrent runs and full disks against a results folder.

Run ``python tests/faults/faults.py`` (about two minutes) for a table of every
case: cells expected, cells kept, duplicates, corrupt files, leftover temporary
files and leftover processes. tests/test_reliability.py runs the same pieces.

* ``kill-write@POINT``: a row write SIGKILLed at each point of writing its
  trace, outcomes and row (before, mid-write, written, renamed); then ``run`` resumes.
* ``sigkill-run`` / ``sigterm-run``: ``bench run`` killed while its pool of
  workers builds queries; no child may outlive it by 10 s; then resumed.
* ``concurrent``: two runs into one folder at once; each cell is computed once.
* ``disk-full-cache`` / ``disk-full-results``: the cache or the results folder
  on a tiny tmpfs (root only; else RLIMIT_FSIZE stands in for it).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "tests" / "plugins"
SMOKE = ("--suite", "smoke", "--method", "source", "--limit", "16", "--workers", "1")
KINDS = {"traces": "trace", "outcomes": "outcomes", "cells": "row"}  # folder -> kind
POINTS = tuple(f"{kind}:{stage}" for kind in KINDS.values()
               for stage in ("before", "partial", "written", "renamed"))


def bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench", *map(str, args)]


def bench_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DISABLE="1", BENCH_OFFLINE="1")
    env.update(extra)
    return env


def run_bench(*args: str, env: dict | None = None, timeout: float = 600,
              preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args), capture_output=True, text=True, cwd=ROOT,
                          env=env or bench_env(), timeout=timeout, preexec_fn=preexec)


# ---- what a folder holds ----------------------------------------------------------------

def corrupt_files(root: Path) -> list[Path]:
    """``*.parquet`` files under `root` that Parquet cannot read."""
    bad = []
    for p in sorted(Path(root).rglob("*.parquet")):
        try:
            pq.read_metadata(p)
        except Exception:  # noqa: BLE001 - any failure means unreadable
            bad.append(p)
    return bad


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob(".*.tmp"))


def stored_cells(root: Path) -> dict[str, str]:
    """cell_id -> run_id of every readable row."""
    from bench.engine.store import ResultStore
    df = ResultStore(root).read()
    return dict(zip(df.cell_id, df.run_id, strict=True))


def computed_titles(stdout: str) -> list[str]:
    """The cells a run computed, from its ``[k/n] title: ...`` lines."""
    return [line.split("] ", 1)[1].split(": ", 1)[0] for line in stdout.splitlines()
            if line.startswith("[") and "] " in line]


# ---- processes --------------------------------------------------------------------------

def _parents() -> dict[int, int]:
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                out[int(d.name)] = int(stat.rsplit(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return out


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p} - found
        found |= kids
        todo.extend(kids)
    return found


def alive(pids: set[int]) -> set[int]:
    from bench.files import pid_alive
    return {p for p in pids if pid_alive(p)}


def wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive(pids)


def kill_run_with_pool(out: Path, sig: int, cache: Path) -> tuple[set[int], int | None, str]:
    """Start a run whose query building uses 2 pool workers, kill it with `sig` once they
    are up; returns (its children still alive 10 s later, exit code, stderr)."""
    args = ("run", "--suite", "smoke", "--method", "source", "--limit", "64", "--workers", "2",
            "--out", out, "--pretrained", "random", "--no-cache")  # no cache: the pool must work
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    log = Path(out).with_name(Path(out).name + ".stderr")
    with open(log, "w") as err_file:  # a file, not a pipe: orphans would hold a pipe open
        proc = subprocess.Popen(bench_cmd(*args), cwd=ROOT, env=bench_env(BENCH_CACHE=str(cache)),
                                stdout=subprocess.DEVNULL, stderr=err_file)
    children: set[int] = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        children |= descendants(proc.pid)
        if len(children) >= 3:  # resource tracker + two workers
            time.sleep(1.0)  # let the workers get to their initialiser
            children |= descendants(proc.pid)
            break
        time.sleep(0.1)
    if proc.poll() is not None:
        raise RuntimeError(f"the run ended before its workers started: {log.read_text()}")
    proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return wait_gone(children, 10.0), proc.returncode, log.read_text()


# ---- a row write killed at one point ----------------------------------------------------

def write_killed_at(root: Path, row: dict, extra: dict, point: str) -> int:
    """Fork; the child writes (row, trace, outcomes) into `root`, SIGKILLing itself at `point`.

    The child runs the store's real atomic write: the hooks wrap the writer callable
    (partial, written) and the call itself (before, renamed). Returns the child's PID.
    """
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        if point and not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            raise RuntimeError(f"the writer was not killed at {point} (status {status})")
        return pid
    try:
        import bench.engine.store as store_mod
        import bench.files as io_mod

        def hook(kind: str, stage: str) -> None:
            if point == f"{kind}:{stage}":
                os.kill(os.getpid(), signal.SIGKILL)

        def atomic_write(path, write):
            kind = KINDS[Path(path).parent.name]
            hook(kind, "before")

            def writer(tmp):
                write(tmp)
                if point == f"{kind}:partial":
                    with open(tmp, "r+b") as f:
                        f.truncate(max(1, os.path.getsize(tmp) // 2))
                    hook(kind, "partial")
                hook(kind, "written")
            io_mod.atomic_write(path, writer)
            hook(kind, "renamed")

        store_mod.atomic_write = atomic_write
        store_mod.ResultStore(root).write(dict(row), extra.get("trace"), extra.get("outcomes"))
    except BaseException:
        import traceback
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def stored_row(root: Path, cell_id: str):
    """(row dict, {"trace": ..., "outcomes": ...} DataFrames) of a stored cell."""
    row = pq.read_table(Path(root) / "cells" / f"{cell_id}.parquet").to_pylist()[0]
    extra = {}
    for folder, key in (("traces", "trace"), ("outcomes", "outcomes")):
        path = Path(root) / folder / f"{cell_id}.parquet"
        if path.exists():
            extra[key] = pq.read_table(path).to_pandas().drop(columns="cell_id")
    return row, extra


def remove_cell(root: Path, cell_id: str) -> None:
    for sub in KINDS:
        (Path(root) / sub / f"{cell_id}.parquet").unlink(missing_ok=True)


def readers_ok(root: Path) -> str:
    """'' when `leaderboard` and `plot` both read the folder, else what failed."""
    import contextlib
    import io

    from bench.cli import main
    for args in (("leaderboard", root), ("plot", root, "--out", Path(root) / "figures",
                                         "--format", "png")):
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([str(a) for a in args])
        except Exception as exc:  # noqa: BLE001 - a crash is what this looks for
            return f"{args[0]} crashed: {type(exc).__name__}: {exc}"
        if code != 0:
            return f"{args[0]} exit {code}: {err.getvalue().strip()[-300:]}"
    return ""


# ---- cases ------------------------------------------------------------------------------

def case_kill_points(work: Path, base: Path) -> list[dict]:
    """Each kill point on a copy of a finished folder, then one resume over all of them."""
    rows = []
    expected = stored_cells(base)
    victim = sorted(expected)[0]
    row, extra = stored_row(base, victim)
    folder = work / "kill-points"
    shutil.copytree(base, folder)
    for point in POINTS:
        remove_cell(folder, victim)
        write_killed_at(folder, row, extra, point)
        kept = stored_cells(folder)
        rows.append({"case": f"kill-write@{point}", "cells expected": len(expected),
                     "cells kept": len(kept), "duplicates": 0,
                     "corrupt files": len(corrupt_files(folder)),
                     "temp files": len(temp_files(folder)), "leftover processes": 0,
                     "note": readers_ok(folder) or "leaderboard+plot read it"})
    # A row file cut short in place (e.g. a power loss without fsync): readers skip it.
    good = (base / "cells" / f"{victim}.parquet").read_bytes()
    (folder / "cells" / f"{victim}.parquet").write_bytes(good[: len(good) // 2])
    kept = stored_cells(folder)
    rows.append({"case": "truncated-row-file", "cells expected": len(expected),
                 "cells kept": len(kept), "duplicates": 0,
                 "corrupt files": len(corrupt_files(folder)),
                 "temp files": len(temp_files(folder)), "leftover processes": 0,
                 "note": readers_ok(folder) or "leaderboard+plot read it (1 warning)"})
    before = stored_cells(folder)
    res = run_bench("run", *SMOKE, "--pretrained", "random", "--out", folder)
    after = stored_cells(folder)
    rows.append({"case": "kill-write: resume", "cells expected": len(expected),
                 "cells kept": len(after),
                 "duplicates": sum(after.get(c) != r for c, r in before.items()),
                 "corrupt files": len(corrupt_files(folder)),
                 "temp files": len(temp_files(folder)), "leftover processes": 0,
                 "note": f"exit {res.returncode}"})
    return rows


def case_kill_run(work: Path, sig: int, cache: Path) -> dict:
    name = "sigkill-run" if sig == signal.SIGKILL else "sigterm-run"
    out = work / name
    left, code, _ = kill_run_with_pool(out, sig, cache)
    kept_before = stored_cells(out) if (out / "cells").is_dir() else {}
    temps = len(temp_files(out))
    res = run_bench("run", "--suite", "smoke", "--method", "source", "--limit", "64",
                    "--workers", "1", "--out", out, "--pretrained", "random",
                    env=bench_env(BENCH_CACHE=str(cache)))
    after = stored_cells(out)
    return {"case": name, "cells expected": 4, "cells kept": len(after),
            "duplicates": sum(after.get(c) != r for c, r in kept_before.items()),
            "corrupt files": len(corrupt_files(out)), "temp files": temps,
            "leftover processes": len(left),
            "note": f"killed run exit {code}; resume exit {res.returncode}"}


def run_concurrently(out: Path, n: int = 2, sleep: float = 1.5) -> list[subprocess.CompletedProcess]:
    args = ("run", "--suite", "smoke", "--method", "slow", "--plugin", PLUGINS / "slow.py",
            "--limit", "16", "--workers", "1", "--pretrained", "random", "--out", out)
    env = bench_env(BENCH_TEST_SLEEP=str(sleep))
    procs = [subprocess.Popen(bench_cmd(*args), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return results


def case_concurrent(work: Path) -> dict:
    out = work / "concurrent"
    results = run_concurrently(out)
    titles = [t for r in results for t in computed_titles(r.stdout)]
    df_run_ids = set(stored_cells(out).values())
    return {"case": "concurrent x2", "cells expected": 4, "cells kept": len(stored_cells(out)),
            "duplicates": len(titles) - len(set(titles)),
            "corrupt files": len(corrupt_files(out)), "temp files": len(temp_files(out)),
            "leftover processes": 0,
            "note": f"exits {[r.returncode for r in results]}; computed "
                    f"{[len(computed_titles(r.stdout)) for r in results]}; "
                    f"{len(df_run_ids)} run_ids"}


def _tiny_fs(path: Path, size_kb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                         capture_output=True)
    return res.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def _fsize_limit(nbytes: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def case_disk_full(work: Path, where: str) -> dict:
    """`where` = cache: the cache's disk is full (cells must stay ok); results: the results
    disk fills up mid-run (one line, exit 2, what was kept is readable)."""
    from bench.files import data_home  # the generated data stays where it is
    mnt = work / f"full-{where}"
    mounted = _tiny_fs(mnt, 64 if where == "results" else 16)
    preexec = None if mounted else _fsize_limit(24_000)
    if mounted and where == "cache":  # fill it completely
        subprocess.run(["dd", "if=/dev/zero", f"of={mnt}/filler", "bs=4k", "count=100"],
                       capture_output=True)
    out = mnt / "res" if where == "results" else work / "disk-full-cache-res"
    cache = mnt / "cache" if where == "cache" else work / "cache-disk-full-results"
    try:
        res = run_bench("run", *SMOKE, "--pretrained", "random", "--out", out,
                        env=bench_env(BENCH_CACHE=str(cache), BENCH_DATA=str(data_home())),
                        preexec=preexec)
        kept = stored_cells(out) if (out / "cells").is_dir() else {}
        lines = [ln for ln in res.stderr.splitlines() if ln.startswith(("warning:", "error:"))]
        row = {"case": f"disk-full-{where}" + ("" if mounted else " (rlimit)"),
               "cells expected": 4, "cells kept": len(kept), "duplicates": 0,
               "corrupt files": len(corrupt_files(out)) if out.exists() else 0,
               "temp files": len(temp_files(out)) if out.exists() else 0,
               "leftover processes": 0,
               "note": f"exit {res.returncode}; " + " | ".join(ln[:90] for ln in lines[:2])}
    finally:
        if mounted:
            _umount(mnt)
    return row


COLUMNS = ("case", "cells expected", "cells kept", "duplicates", "corrupt files", "temp files",
           "leftover processes", "note")


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    cache = work / "cache"
    base = work / "base"
    res = run_bench("run", *SMOKE, "--pretrained", "random", "--out", base,
                    env=bench_env(BENCH_CACHE=str(cache)))
    if res.returncode != 0:
        print(res.stdout, res.stderr)
        return 1
    rows = case_kill_points(work, base)
    rows += [case_kill_run(work, signal.SIGKILL, cache), case_kill_run(work, signal.SIGTERM, cache)]
    rows.append(case_concurrent(work))
    rows += [case_disk_full(work, "cache"), case_disk_full(work, "results")]
    print(table(rows))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
