"""Execute a planned run against the results store: what is left to do, the checks before
the first cell, then an executor (bench.engine.executors: local or dask; planning:
bench.engine.planning; one cell: bench.engine.cell_run). It reads the run's `Runtime`
only: each planned cell carries its selection and protocol."""

from __future__ import annotations

import torch

from bench.api.registry import SUITES
from bench.engine.cell_run import Resources, check_released
from bench.engine.cells import Cell
from bench.engine.executors import cluster_spec, run_dask, run_local
from bench.engine.guards import check_out, new_run_id
from bench.engine.provenance import provenance, resolve_device
from bench.engine.settings import Runtime
from bench.engine.store import ResultStore


def _summary(k: int, n: int, cell: Cell, row: dict) -> str:
    head = f"[{k}/{n}] {cell.title}"
    if row["status"] != "ok":
        return f"{head}: {row['status']}: {row.get('error', '')}"
    extra = ""
    if row.get("retention_r1") == row.get("retention_r1") and row.get("retention_r1") is not None:
        extra = f" retention R@1 {row['retention_r1']:.1f}"
    r50 = f" R@50 {row['r50']:.1f}" if row.get("r50") is not None else ""
    return (f"{head}: R@1 {row['r1']:.1f} R@5 {row['r5']:.1f} R@10 {row['r10']:.1f}{r50} "
            f"mAP {row['map']:.1f}{extra} ({row['wall_s']:.1f}s)")


def execute(cells: list[Cell], runtime: Runtime) -> dict[str, int]:
    """Run the cells not yet finished in the store; returns counts per status.

    A cell claimed by another live run into the same folder is left to it
    (counted as ``elsewhere``).
    """
    store = ResultStore(runtime.out)
    todo = [c for c in cells if runtime.overwrite or not store.is_finished(c.cell_id)]
    counts = {"planned": len(cells), "skipped": len(cells) - len(todo)}
    if not todo:
        runtime.log(f"all {len(cells)} cells are already in {runtime.out}: nothing to do "
                    "(--overwrite redoes them)")
        return counts
    check_out(runtime.out)
    removed = store.remove_leftovers()
    if removed:
        runtime.log(f"removed {len(removed)} temporary file(s) left by an interrupted run")
    if counts["skipped"]:
        runtime.log(f"{counts['skipped']} of {len(cells)} cells already in {runtime.out}; "
                    f"running {len(todo)}")
    if runtime.threads:
        torch.set_num_threads(runtime.threads)
    device = resolve_device(runtime.device) if runtime.executor == "local" else torch.device("cpu")
    run_id = new_run_id(provenance(device)["git_sha"])

    def on_row(k: int, cell: Cell, row: dict) -> None:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        if not runtime.quiet:
            runtime.log(_summary(k, len(todo), cell, row))

    if runtime.executor == "dask":  # the client loads no model: the workers do
        real = [c for c in todo if not SUITES.get(c.suite).embedded]
        if real:  # real data: bad input (unreadable images, missing files) fails now
            checking = Resources(runtime, torch.device("cpu"))
            for cell in real:
                checking.dataset(cell)
            check_released(real, checking)
        left = run_dask(todo, runtime, run_id, on_row, cluster_spec(runtime))
    else:
        left = run_local(todo, runtime, device, run_id, on_row)
    counts["skipped"] += sum(owner is None for owner in left)  # finished meanwhile
    _left_to_others([o for o in left if o is not None], counts, runtime)
    return counts


def _left_to_others(elsewhere: list[str], counts: dict[str, int], runtime: Runtime) -> None:
    """Count and report the cells another live run was computing (owner per cell, or '')."""
    if not elsewhere:
        return
    counts["elsewhere"] = len(elsewhere)
    owners = sorted({o for o in elsewhere if o})
    runtime.log(f"{len(elsewhere)} cells are being computed by another run"
                f"{' (' + ', '.join(owners) + ')' if owners else ''}: left to it")
