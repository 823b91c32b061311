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

Every path a worker uses (``--out``, the cache, ``--data-root``) is absolute, and
before the first cell every connected worker checks that it can write ``--out`` and
the cache (a shared filesystem is required): otherwise the run stops with one line.
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
from bench.engine.cache import Cache
from bench.engine.cell_run import CellResult, Resources, check_released, execute_cell
from bench.engine.cells import Cell
from bench.engine.claims import claim_owner, try_claim
from bench.engine.clusters import ClusterSpec, start_cluster
from bench.engine.guards import write_row
from bench.engine.planning import RunOptions
from bench.engine.provenance import resolve_device
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


def run_local(todo: list[Cell], opts: RunOptions, device: torch.device, run_id: str,
              on_row: Callable[[int, Cell, dict], None]) -> list[str | None]:
    """Run `todo` in this process, in order; returns, per cell left to another run, its
    owner (None: finished meanwhile). `on_row` gets each cell's place in `todo`."""
    res = Resources(opts, device)
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
    for result in run_task(todo, res, Path(opts.out), run_id, opts.overwrite,
                           progress=not opts.quiet):
        if isinstance(result, LeftCell):
            left.append(result.owner)
            continue
        on_row(*place[result.row["cell_id"]], result.row)
    return left


def _absolute(path) -> str:
    return str(Path(path).expanduser().resolve())


@dataclass(frozen=True)
class WorkerSettings:
    """The picklable part of the run options a worker needs (absolute paths)."""

    data_root: str | None
    out: str
    device: str
    plugins: tuple[str, ...]
    retention: bool
    cache_enabled: bool
    cache_root: str
    data_home: str  # where the embedded datasets are (the client's, as the cache)
    built_dir: str | None = None  # `--built DIR`: shifted queries written by `build --out`
    overwrite: bool = False  # `--overwrite`: redo a cell even when it is finished

    @classmethod
    def from_options(cls, opts: RunOptions) -> WorkerSettings:
        return cls(data_root=None if opts.data_root is None else _absolute(opts.data_root),
                   out=_absolute(opts.out), device=opts.device, plugins=tuple(opts.plugins),
                   retention=opts.retention, cache_enabled=opts.cache.enabled,
                   cache_root=_absolute(opts.cache.root), data_home=_absolute(data_home()),
                   built_dir=None if opts.built_dir is None else _absolute(opts.built_dir),
                   overwrite=opts.overwrite)


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


_worker_resources: dict = {}


def _resources(settings: WorkerSettings) -> Resources:
    """This worker's `Resources` for `settings`, made once and reused by later tasks."""
    res = _worker_resources.get(settings)
    if res is None:
        os.environ["BENCH_DATA"] = settings.data_home  # the embedded datasets, as the client's
        device = resolve_device(settings.device)
        if device.type == "cpu":
            torch.set_num_threads(1)  # one single-threaded worker process per core
        opts = RunOptions(methods=[], suites=[], out=Path(settings.out),
                          data_root=None if settings.data_root is None else Path(settings.data_root),
                          device=settings.device, quiet=True, workers=1,
                          plugins=list(settings.plugins), retention=settings.retention,
                          cache=Cache(settings.cache_root, enabled=settings.cache_enabled),
                          built_dir=None if settings.built_dir is None else Path(settings.built_dir),
                          log=lambda msg: None)
        res = Resources(opts, device)
        _worker_resources.clear()
        _worker_resources[settings] = res
    return res


def _worker_run_cells(cells: list[Cell], settings: WorkerSettings,
                      run_id: str) -> list[CellResult | LeftCell]:
    """Runs on a dask worker: the task loop over one task's cells (`run_task`). The worker
    stores each cell as it ends; the client gets back the rows (`CellResult` without trace
    and outcomes, already written) and the cells left to other runs (`LeftCell`)."""
    load_plugins(list(settings.plugins))
    return [CellResult(result.row) if isinstance(result, CellResult) else result
            for result in run_task(cells, _resources(settings), Path(settings.out), run_id,
                                   settings.overwrite, progress=False)]


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


def preflight(client, settings: WorkerSettings, log: Callable[[str], None]) -> int:
    """Check every connected worker before the sweep; returns the number of workers."""
    paths = [settings.out] + ([settings.cache_root] if settings.cache_enabled else [])
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


def cluster_spec(opts: RunOptions) -> ClusterSpec:
    """The `ClusterSpec` of the run options: GPUs (``--device cuda``) get one worker each."""
    gpus = 0
    if opts.device == "cuda" and not opts.scheduler:
        gpus = 1 if opts.cluster else gpu_count()  # batch jobs: one GPU each
    return ClusterSpec(scheduler=opts.scheduler, n_workers=opts.dask_workers, kind=opts.cluster,
                       job=dict(opts.cluster_job), gpus=gpus)


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


def run_dask(todo: list[Cell], opts: RunOptions, run_id: str, on_row: Callable[[int, Cell, dict], None],
             spec: ClusterSpec | None = None) -> list[str | None]:
    """Run `todo` on a dask cluster; returns, per cell left to another run, its owner (None:
    finished meanwhile)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise ConfigError("--executor dask needs dask.distributed",
                          "pip install -e '.[dask]'") from err
    spec = spec or cluster_spec(opts)
    settings = WorkerSettings.from_options(opts)
    cluster = start_cluster(spec, opts.workers)
    client = _connect(Client, spec.scheduler) if cluster is None else Client(cluster)
    left: list[str | None] = []
    try:
        if spec.kind:
            client.wait_for_workers(1)
        n_workers = preflight(client, settings, opts.log)
        by_id = {cell.cell_id: cell for cell in todo}
        resources = {"GPU": 1} if spec.gpus else None
        futures = [client.submit(_worker_run_cells, task, settings, run_id, retries=2,
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
