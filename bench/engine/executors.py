"""Where cells run: in this process (`local`) or on a dask.distributed cluster (`dask`).

Both executors run cells through one task loop, `run_task`: claim the cell, leave it when
another live run holds it or finished it meanwhile, else execute it and write its row,
trace and outcomes before the next cell. Nothing else in bench claims a cell (a test
keeps it so).

With dask, cells are grouped by what they load (model, weights, dataset, direction) and
each group is cut into tasks of a few cells, so a worker reuses its model, dataset and
gallery for the cells of a task (and keeps them for its next task). Every cell is claimed
before it runs (`bench.engine.claims`), as in a local run. The worker writes each
finished cell's row to the results folder itself, so a client that goes away loses
nothing that finished; a worker lost mid-task loses only that task's unfinished cells,
which dask retries elsewhere. The client loads no model and no dataset.

A worker receives the run's `Runtime` (`Runtime.for_worker`: every path it uses -
``--out``, the cache, ``--data-root``, plugin and suite files - absolute) and where the
client's embedded data are; nothing else of the run's settings (each cell carries its
own). Before the first cell every connected worker checks that it can write ``--out``
and the cache (a shared filesystem is required): otherwise the run stops with one line.
Clusters: `bench.engine.clusters`.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.api.errors import ConfigError
from bench.api.registry import load_plugins
from bench.engine.cell_run import CellResult, Resources, check_released, execute_cell
from bench.engine.cells import Cell
from bench.engine.claims import claim_owner, try_claim
from bench.engine.clusters import ClusterSpec, start_cluster
from bench.engine.guards import write_row
from bench.engine.provenance import resolve_device
from bench.engine.settings import Runtime
from bench.engine.store import ResultStore
from bench.files import data_home


@dataclass(frozen=True)
class LeftCell:
    """A cell a task did not run: `owner` ('pid N on HOST', '' when unknown) is the live run
    holding its claim; None when a run finished it meanwhile."""

    cell_id: str
    owner: str | None


def run_task(cells: list[Cell], res: Resources, out: Path, run_id: str, overwrite: bool,
             progress: bool) -> Iterator[CellResult | LeftCell]:
    """The task loop both executors run: per cell, claim it (`bench.engine.claims`); leave
    it to the live run that holds the claim, or when it is finished (unless `overwrite`);
    else execute it and store its row, trace and outcomes while the claim is held. Yields
    each cell's result (or why it was left) after its claim is released."""
    store = ResultStore(out)
    for cell in cells:
        claim = try_claim(out, cell.cell_id, run_id)
        if claim is None:
            yield LeftCell(cell.cell_id, claim_owner(out, cell.cell_id))
            continue
        with claim:
            if not overwrite and store.is_finished(cell.cell_id):
                result = LeftCell(cell.cell_id, None)
            else:
                result = execute_cell(cell, res, run_id, progress=progress)
                write_row(store, result.row, result.trace, result.outcomes)
        yield result


def run_local(todo: list[Cell], runtime: Runtime, device: torch.device, run_id: str,
              on_row: Callable[[int, Cell, dict], None]) -> list[str | None]:
    """Run `todo` in this process, in order; returns, per cell left to another run, its
    owner (None: finished meanwhile). `on_row` gets each cell's place in `todo`."""
    res = Resources(runtime, device)
    # Load every model and dataset first: bad input fails now, before any row is written.
    for cell in todo:
        res.dataset(cell)
    check_released(todo, res)
    seen_models = set()
    for cell in todo:
        if (cell.model, cell.pretrained) not in seen_models:
            seen_models.add((cell.model, cell.pretrained))
            res.model(cell)
    place = {cell.cell_id: (k, cell) for k, cell in enumerate(todo, 1)}
    left: list[str | None] = []
    for result in run_task(todo, res, Path(runtime.out), run_id, runtime.overwrite,
                           progress=not runtime.quiet):
        if isinstance(result, LeftCell):
            left.append(result.owner)
            continue
        on_row(*place[result.row["cell_id"]], result.row)
    return left


def group_key(cell: Cell) -> tuple:
    """What a cell loads: cells with one key share a model, a dataset and a gallery."""
    return (cell.model, cell.pretrained, cell.weights_id, cell.image_size, cell.suite,
            cell.spec.dataset, cell.spec.direction)


TASKS_PER_WORKER = 4  # tasks per worker and group: small enough that the last ones are short


def group_cells(cells: list[Cell], n_workers: int) -> list[list[Cell]]:
    """Tasks of cells sharing a `group_key`, at most ceil(n / (4 workers)) cells each: a
    worker keeps a task's model and gallery for its next task (`_resources`), and tasks
    small enough that the workers finish together (8 cells on 2 workers: one cell each)."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(group_key(cell), []).append(cell)
    size = max(1, math.ceil(len(cells) / (TASKS_PER_WORKER * max(1, n_workers))))
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


_worker_resources: dict[str, tuple[Runtime, Resources]] = {}  # data home -> this worker's


def _resources(runtime: Runtime, data_home: str) -> Resources:
    """This worker's `Resources` for `runtime`, made once and reused by later tasks (each
    task brings an equal, unpickled copy of the runtime)."""
    kept = _worker_resources.get(data_home)
    if kept is not None and kept[0] == runtime:
        return kept[1]
    os.environ["BENCH_DATA"] = data_home  # the embedded datasets, as the client's
    device = resolve_device(runtime.device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # one single-threaded worker process per core
    res = Resources(runtime, device)
    _worker_resources.clear()
    _worker_resources[data_home] = (runtime, res)
    return res


def _worker_run_cells(cells: list[Cell], runtime: Runtime, data_home: str,
                      run_id: str) -> list[CellResult | LeftCell]:
    """Runs on a dask worker: the task loop over one task's cells (`run_task`). The worker
    stores each cell as it ends; the client gets back the rows (`CellResult` without trace
    and outcomes, already written) and the cells left to other runs (`LeftCell`)."""
    load_plugins(list(runtime.plugins))  # plugins and suite files: the cells' names resolve
    return [CellResult(result.row) if isinstance(result, CellResult) else result
            for result in run_task(cells, _resources(runtime, data_home), Path(runtime.out),
                                   run_id, runtime.overwrite, progress=False)]


def worker_preflight(paths: list[str]) -> dict:
    """Runs on every worker: can it write each path? And its malloc trim setting."""
    error = None
    for path in paths:
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".bench-preflight-"):
                pass
        except OSError as err:
            error = f"cannot write {path}: {err.strerror or err}"
            break
    return {"error": error, "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_")}


def preflight(client, runtime: Runtime, log: Callable[[str], None]) -> int:
    """Check every connected worker before the sweep (`runtime`: as the workers get it);
    returns the number of workers."""
    paths = [str(runtime.out)] + ([str(runtime.cache.root)] if runtime.cache.enabled else [])
    report = client.run(worker_preflight, paths)
    if not report:
        raise ConfigError("the dask scheduler has no workers", "start some with `dask worker`")
    for address, result in sorted(report.items()):
        if result["error"]:
            raise ConfigError(f"dask worker {address} {result['error']}",
                              "--out and the cache must be on a filesystem every worker shares")
    trimmed = sorted(a for a, r in report.items() if r["malloc_trim"])
    if trimmed:
        log(f"note: {len(trimmed)} worker(s) run with MALLOC_TRIM_THRESHOLD_ set (dask's nanny "
            "default), which slows cells; see README 'Running on a cluster'")
    return len(report)


def gpu_count() -> int:
    """The GPUs visible here, for a local cluster of one worker each; none: exit 2."""
    gpus = torch.cuda.device_count()
    if gpus == 0:
        raise ConfigError("--device cuda: no GPU is visible here")
    return gpus


def cluster_spec(runtime: Runtime) -> ClusterSpec:
    """The `ClusterSpec` of a runtime: GPUs (``--device cuda``) get one worker each."""
    gpus = 0
    if runtime.device == "cuda" and not runtime.scheduler:
        gpus = 1 if runtime.cluster else gpu_count()  # batch jobs: one GPU each
    return ClusterSpec(scheduler=runtime.scheduler, n_workers=runtime.dask_workers,
                       kind=runtime.cluster, job=dict(runtime.cluster_job), gpus=gpus)


SCHEDULER_TIMEOUT_S = 10  # a scheduler that answers at all answers well within this


def _connect(client_cls, address: str):
    """A client of the scheduler at `address`; none there: one line, exit 2 (not dask's
    OSError after its default 30 s)."""
    try:
        return client_cls(address, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError) as err:
        raise ConfigError(f"no dask scheduler answers at {address} within "
                          f"{SCHEDULER_TIMEOUT_S} s ({type(err).__name__})",
                          "start one with `dask scheduler`, or leave --scheduler out for a "
                          "local cluster") from None


def run_dask(todo: list[Cell], runtime: Runtime, run_id: str,
             on_row: Callable[[int, Cell, dict], None],
             spec: ClusterSpec | None = None) -> list[str | None]:
    """Run `todo` on a dask cluster; returns, per cell left to another run, its owner (None:
    finished meanwhile)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise ConfigError("--executor dask needs dask.distributed",
                          "pip install -e '.[dask]'") from err
    spec = spec or cluster_spec(runtime)
    on_workers = runtime.for_worker()
    home = str(data_home().expanduser().resolve())
    cluster = start_cluster(spec, runtime.workers)
    client = _connect(Client, spec.scheduler) if cluster is None else Client(cluster)
    left: list[str | None] = []
    try:
        if spec.kind:
            client.wait_for_workers(1)
        n_workers = preflight(client, on_workers, runtime.log)
        by_id = {cell.cell_id: cell for cell in todo}
        resources = {"GPU": 1} if spec.gpus else None
        futures = [client.submit(_worker_run_cells, task, on_workers, home, run_id, retries=2,
                                 pure=False, resources=resources,
                                 key=f"cells-{task[0].cell_id}-{len(task)}")
                   for task in group_cells(todo, n_workers)]
        k = 0
        for future in as_completed(futures):
            for result in future.result():
                if isinstance(result, LeftCell):
                    left.append(result.owner)
                    continue
                k += 1
                on_row(k, by_id[result.row["cell_id"]], result.row)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return left
