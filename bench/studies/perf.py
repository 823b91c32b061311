"""The measurements behind `python -m bench perf run` and `perf sweep` (docs/performance.md).

* `method_speed`: one method on a suite's cells in a fresh spawned process, so the peak
  memory reported is that method's own (the child's high-water mark: model, data and the
  method), not the high-water mark of every method run before it.
* `speed_table`: the report of interleaved rounds: median times, and each relative time
  per query taken within a round (methods of one round run back to back), as the median
  with its range over rounds.
* `timed_sweep`: the same cells with the local executor or on a dask `LocalCluster`,
  with wall time and CPU time (this process and its reaped children, which include the
  local cluster's workers once it is closed).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass
class MethodSpeed:
    method: str
    cells: int  # cells timed (status ok)
    queries: int
    adapt_s: float
    peak_mb: float
    not_ok: str = ""  # cells that did not run to the end: "N failed (first error)", ...

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


def _method_child(method: str, suite: str, limit: int | None, threads: int | None,
                  fields: dict) -> MethodSpeed:
    import torch

    from bench.api.registry import load_builtins
    from bench.engine.planning import plan_run
    from bench.engine.provenance import peak_memory_mb, resolve_device
    from bench.engine.runner import execute
    from bench.engine.settings import RunSettings, silent
    from bench.engine.store import ResultStore

    if threads:
        torch.set_num_threads(threads)
    load_builtins()
    with tempfile.TemporaryDirectory() as tmp:
        opts = RunSettings.of(methods=[method], suites=[suite], out=Path(tmp), limit=limit,
                              quiet=True, workers=1, log=silent, **fields)
        execute(plan_run(opts), opts.runtime)
        df = ResultStore(opts.runtime.out).read()
    device = resolve_device(opts.runtime.device)
    peak = peak_memory_mb(device) if device.type == "cuda" else _peak_mb()
    bad = df[df.status != "ok"]
    not_ok = "; ".join(f"{len(g)} {status} ({g.error.iloc[0]})"
                       for status, g in bad.groupby("status"))
    df = df[df.status == "ok"]
    adapt_s = float((df.n_queries / df.queries_per_s).sum())
    return MethodSpeed(method, len(df), int(df.n_queries.sum()), adapt_s, peak, not_ok)


def method_speed(method: str, suite: str, limit: int | None = None,
                 threads: int | None = None, fields: dict | None = None) -> MethodSpeed:
    """Run `method` on `suite` in a fresh spawned process (the query cache must be warm);
    `fields`: further `RunSettings.of` fields (``model``, ``pretrained``, ``device``, and
    ``shifts`` / ``directions`` choosing part of the cells). On a GPU the peak memory is
    the GPU's."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_method_child, method, suite, limit, threads,
                           fields or {}).result()


def _ratio(values: list[float]) -> str:
    """A per-round ratio: its median, and with several rounds their range."""
    text = f"{statistics.median(values):.2f}x"
    return text if len(values) == 1 else f"{text} [{min(values):.2f}-{max(values):.2f}]"


def speed_table(rounds: list[list[MethodSpeed]], versus: str | None = None) -> str:
    """The `perf run` report. ``rounds[r]`` holds every method's speed in round r (same
    methods, same order, source first). Times are medians over rounds; a relative time per
    query ("x source", "x <versus>") is taken within each round (the methods of one round
    ran back to back) and reported as the median with its range over rounds."""
    methods = [sp.method for sp in rounds[0]]
    by_method = {m: [r[i] for r in rounds] for i, m in enumerate(methods)}
    refs = [("source", "x source")] + ([(versus, f"x {versus}")] if versus else [])
    width = 8 if len(rounds) == 1 else 22
    lines = [f"{len(rounds)} round(s), interleaved; times: median over rounds"
             + ("; ratios: median [min-max] over rounds" if len(rounds) > 1 else ""),
             f"{'method':<10} {'cells':>5} {'queries':>8} {'adapt s':>8} {'queries/s':>10} "
             + " ".join(f"{label:>{width}}" for _, label in refs) + f" {'peak MB':>8}"]
    for m in methods:
        runs = by_method[m]
        adapt = statistics.median([sp.adapt_s for sp in runs])
        ratios = [_ratio([a.s_per_query / b.s_per_query
                          for a, b in zip(runs, by_method[ref], strict=True)])
                  for ref, _ in refs]
        lines.append(f"{m:<10} {runs[0].cells:>5} {runs[0].queries:>8} {adapt:>8.1f} "
                     f"{runs[0].queries / max(adapt, 1e-9):>10.1f} "
                     + " ".join(f"{r:>{width}}" for r in ratios)
                     + f" {statistics.median([sp.peak_mb for sp in runs]):>8.0f}")
    lines.append("peak MB: each method's own process (model, data and the method), median; "
                 "x M: time per query relative to M")
    return "\n".join(lines)


@dataclass
class SweepTime:
    label: str
    cells: int
    wall_s: float
    cpu_s: float
    statuses: dict[str, int] | None = None  # cells per status (ok, failed, unavailable...)


def timed_sweep(opts, label: str, spec=None) -> SweepTime:
    """Run the cells of `opts` (`RunSettings`) into a fresh folder: with the local executor,
    or on a new dask cluster started from `spec` (a `ClusterSpec`; its start counts)."""
    from bench.engine.planning import plan_run
    from bench.engine.runner import execute

    with tempfile.TemporaryDirectory() as tmp:
        opts = opts.run_with(out=Path(tmp))
        cells = plan_run(opts)
        cpu0 = cpu_clock()
        start = time.perf_counter()
        if spec is None:
            counts = execute(cells, opts.run_with(executor="local").runtime)
        else:
            import logging

            import distributed  # noqa: F401  its import sets its loggers' level (INFO)

            # after a local pass open_clip's `logging.info` has given the root logger a
            # handler, and dask's INFO lines (scheduler, nannies) would reach it
            logging.getLogger("distributed").setLevel(logging.ERROR)

            from bench.engine.clusters import start_cluster
            environ = dict(os.environ)  # dask's nanny exports its variables into this process
            cluster = start_cluster(spec, spec.n_workers or 1)
            os.environ.clear()
            os.environ.update(environ)
            try:
                counts = execute(cells, opts.run_with(
                    executor="dask", scheduler=cluster.scheduler_address).runtime)
            finally:
                cluster.close()
        wall = time.perf_counter() - start
        # The LocalCluster's workers are this process's children: once it is closed their CPU
        # time is in RUSAGE_CHILDREN (adding what each worker reports of itself counted it
        # twice: 3.5 CPU/wall on 2 cores).
        cpu = cpu_clock() - cpu0
    statuses = {k: v for k, v in counts.items() if k not in ("planned", "skipped")}
    return SweepTime(label, len(cells), wall, cpu, statuses)
