"""The measurements behind `python -m bench perf run` and `perf sweep` (README, "Measured").

* `method_speed`: one method on a suite's cells in a fresh spawned process, so the peak
  memory reported is that method's own (the child's high-water mark: model, data and the
  method), not the high-water mark of every method run before it.
* `timed_sweep`: the same cells with the local executor or on a dask `LocalCluster`,
  with wall time and CPU time (this process and its reaped children, which include the
  local cluster's workers once it is closed).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass
class MethodSpeed:
    method: str
    cells: int
    queries: int
    adapt_s: float
    peak_mb: float

    @property
    def s_per_query(self) -> float:
        return self.adapt_s / max(self.queries, 1)


def _cpu_s(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def cpu_clock() -> float:
    """CPU seconds of this process and of its children that have ended (a closed
    LocalCluster's workers among them); the difference of two readings is a sweep's CPU."""
    return _cpu_s(resource.RUSAGE_SELF) + _cpu_s(resource.RUSAGE_CHILDREN)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _method_child(method: str, suite: str, limit: int | None, pretrained: str | None,
                  threads: int | None) -> MethodSpeed:
    import torch

    from bench.api.registry import load_builtins
    from bench.engine.planning import RunOptions, plan_run
    from bench.engine.provenance import peak_memory_mb, resolve_device
    from bench.engine.runner import execute
    from bench.engine.store import ResultStore

    if threads:
        torch.set_num_threads(threads)
    load_builtins()
    with tempfile.TemporaryDirectory() as tmp:
        opts = RunOptions(methods=[method], suites=[suite], pretrained=pretrained,
                          out=Path(tmp), limit=limit, quiet=True, workers=1,
                          log=lambda msg: None)
        execute(plan_run(opts), opts)
        df = ResultStore(opts.out).read()
    device = resolve_device("auto")
    peak = peak_memory_mb(device) if device.type == "cuda" else _peak_mb()
    adapt_s = float((df.n_queries / df.queries_per_s).sum())
    return MethodSpeed(method, len(df), int(df.n_queries.sum()), adapt_s, peak)


def method_speed(method: str, suite: str, limit: int | None = None,
                 pretrained: str | None = None, threads: int | None = None) -> MethodSpeed:
    """Run `method` on `suite` in a fresh spawned process (the query cache must be warm)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_method_child, method, suite, limit, pretrained, threads).result()


@dataclass
class SweepTime:
    label: str
    cells: int
    wall_s: float
    cpu_s: float


def timed_sweep(opts, label: str, dask_workers: int | None = None,
                malloc_trim: bool = False) -> SweepTime:
    """Run `opts`' cells into a fresh folder; dask_workers: on a new LocalCluster that many
    workers (its start counts), with dask's default MALLOC_TRIM_THRESHOLD_ if malloc_trim."""
    from bench.engine.planning import plan_run
    from bench.engine.runner import execute

    with tempfile.TemporaryDirectory() as tmp:
        opts.out = Path(tmp)
        cells = plan_run(opts)
        cpu0 = cpu_clock()
        start = time.perf_counter()
        if dask_workers is None:
            opts.executor = "local"
            execute(cells, opts)
        else:
            import logging

            logging.getLogger("distributed").setLevel(logging.ERROR)

            from bench.engine.clusters import ClusterSpec, start_cluster
            environ = dict(os.environ)  # dask's nanny exports its variables into this process
            cluster = start_cluster(ClusterSpec(n_workers=dask_workers, malloc_trim=malloc_trim),
                                    dask_workers)
            os.environ.clear()
            os.environ.update(environ)
            try:
                opts.executor, opts.scheduler = "dask", cluster.scheduler_address
                execute(cells, opts)
            finally:
                cluster.close()
                opts.scheduler = None
        wall = time.perf_counter() - start
        # The LocalCluster's workers are this process's children: once it is closed their CPU
        # time is in RUSAGE_CHILDREN (adding what each worker reports of itself counted it
        # twice: 3.5 CPU/wall on 2 cores).
        cpu = cpu_clock() - cpu0
    return SweepTime(label, len(cells), wall, cpu)
