"""Where cells run: in this process (`local`) or on a dask.distributed cluster (`dask`).

With dask, each cell is one task. A worker keeps its models, datasets and
galleries between the cells it runs, and writes each finished cell's row to the
shared results folder itself, so a client that goes away loses nothing that
finished; a worker lost mid-cell loses only that cell, which dask retries
elsewhere. Without ``--scheduler`` a `LocalCluster` bound to 127.0.0.1 is
started (one single-threaded worker process per core by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.errors import ConfigError
from bench.plan import Cell


@dataclass(frozen=True)
class WorkerSettings:
    """The picklable part of the run options a worker needs."""

    data_root: str | None
    out: str
    device: str
    plugins: tuple[str, ...]
    retention: bool
    cache_enabled: bool
    cache_root: str
    built_dir: str | None = None  # `run --built DIR`

    @classmethod
    def from_options(cls, opts) -> WorkerSettings:
        return cls(data_root=None if opts.data_root is None else str(opts.data_root),
                   out=str(opts.out), device=opts.device, plugins=tuple(opts.plugins),
                   retention=opts.retention, cache_enabled=opts.cache.enabled,
                   cache_root=str(opts.cache.root),
                   built_dir=None if opts.built_dir is None else str(opts.built_dir))


_worker_resources: dict = {}


def _worker_run_cell(cell: Cell, settings: WorkerSettings, run_id: str) -> dict:
    """Runs on a dask worker: execute one cell and store its row; returns the row."""
    from bench.cache import Cache
    from bench.provenance import resolve_device
    from bench.registry import load_plugins
    from bench.runner import Resources, RunOptions, execute_cell
    from bench.store import ResultStore

    load_plugins(list(settings.plugins))
    res = _worker_resources.get(settings)
    if res is None:
        import torch
        torch.set_num_threads(1)  # one worker process per core: no oversubscription
        opts = RunOptions(methods=[], suites=[], out=Path(settings.out),
                          data_root=None if settings.data_root is None else Path(settings.data_root),
                          device=settings.device, quiet=True, workers=1,
                          plugins=list(settings.plugins), retention=settings.retention,
                          cache=Cache(settings.cache_root, enabled=settings.cache_enabled),
                          built_dir=None if settings.built_dir is None else Path(settings.built_dir),
                          log=lambda msg: None)
        res = Resources(opts, resolve_device(settings.device))
        _worker_resources.clear()
        _worker_resources[settings] = res
    row = execute_cell(cell, res, run_id, progress=False)
    trace = row.pop("_trace", None)
    ResultStore(settings.out).write(row, trace, row.pop("_outcomes", None))
    return row


def run_dask(todo: list[Cell], opts, run_id: str, on_row: Callable[[int, Cell, dict], None],
             scheduler: str | None = None, n_workers: int | None = None) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as err:
        raise ConfigError("--executor dask needs dask.distributed",
                          "pip install -e '.[dask]'") from err
    settings = WorkerSettings.from_options(opts)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=n_workers or opts.workers, threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address=None,
                               # no dashboard; the scheduler's HTTP server (health, metrics)
                               # takes a free loopback port, not 8787
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        client = Client(cluster)
    try:
        futures = {client.submit(_worker_run_cell, cell, settings, run_id, retries=2,
                                 pure=False, key=f"cell-{cell.cell_id}"): cell for cell in todo}
        for k, future in enumerate(as_completed(futures), 1):
            on_row(k, futures[future], future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

