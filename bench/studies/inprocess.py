"""Cells run inside this process, on resources loaded once (`perf profile`, `perf overhead`):
the plan, the loaded resources, torch's thread count while they run, and one cell's row."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class InProcess:
    cells: list  # `Cell`s, in the planner's order
    res: object  # `bench.engine.cell_run.Resources`, loading each model and set once
    run_id: str
    device: torch.device


def plan_in_process(methods: list[str], suite: str, limit: int | None,
                    fields: dict) -> InProcess:
    """The cells of `methods` on `suite` (``fields``: further `RunSettings.of` fields: model, weights,
    device, shift and direction selection) and the resources to run them; nothing is
    written anywhere."""
    from bench.engine.cell_run import Resources
    from bench.engine.guards import new_run_id
    from bench.engine.planning import plan_run
    from bench.engine.provenance import provenance, resolve_device
    from bench.engine.settings import RunSettings, silent

    with tempfile.TemporaryDirectory() as tmp:  # planning only: nothing is written there
        opts = RunSettings.of(methods=methods, suites=[suite], out=Path(tmp), limit=limit,
                              quiet=True, log=silent, **fields)
        cells = plan_run(opts)
    device = resolve_device(opts.runtime.device)
    return InProcess(cells, Resources(opts.runtime, device),
                     new_run_id(provenance(device)["git_sha"]), device)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to n, then put back as they were (a command can run
    inside another, as the tests run them)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def execute_ok(cell, res, run_id: str):
    """`execute_cell` without a progress bar (its `CellResult`); a row whose status is not
    ok is an error."""
    from bench.engine.cell_run import execute_cell

    result = execute_cell(cell, res, run_id, progress=False)
    if result.row["status"] != "ok":
        raise RuntimeError(f"{cell.title}: {result.row['status']}: {result.row.get('error')}")
    return result


def preload(cell, res) -> None:
    """Load what `execute_cell` reads for ``cell`` (model, dataset, gallery embeddings, the
    shifted queries), so that a measured run of it does no loading."""
    from bench.engine.cell_run import cell_plan

    ds = res.dataset(cell)
    res.model(cell)
    res.gallery(cell)
    res.queries(cell, cell_plan(cell, ds))
