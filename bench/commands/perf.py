"""`python -m bench perf ...`: speed benchmarks (not tests).

* ``perf build``: images/s for corrupting the 16 image shifts x 5 severities,
  serially (in this process, as `--workers 1` runs) vs over all cores (the work
  `bench build` and the query cache do); interleaved rounds after an untimed
  warm-up, medians reported.
* ``perf run``: queries/s, time per query relative to ``source`` and each method's own
  peak memory (one fresh process per method) on a suite's cells (the shifted queries are
  built first, so only adaptation is timed); ``--repeat N`` interleaved rounds (medians,
  ratios with their range), ``--versus M`` adds the time per query relative to M.
* ``perf sweep``: one sweep with the local executor and on a dask `LocalCluster`: wall
  time, CPU time (all processes) and the speed-up; ``--scaling`` adds the local executor
  on one thread and dask on one worker (what one core does, so the speed-up of N threads
  and of N workers can be read); ``--malloc-trim`` adds a dask run with the nanny's
  default MALLOC_TRIM_THRESHOLD_ (to measure what dropping it gains).
"""

from __future__ import annotations

import argparse
import time

from bench.commands.common import add_selection_arguments

BUILD_CHUNK = 8  # jobs per task handed to a worker process

NAME = "perf"
HELP = "speed benchmarks: `perf build` (corruption throughput), `perf run` (queries/s)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", metavar="WHAT")
    sub.required = True
    b = sub.add_parser("build", help="images/s building the 16 x 5 image shifts")
    b.add_argument("--images", type=int, default=16, help="mini-scenes test images to corrupt")
    b.add_argument("--workers", type=int, default=None, help="parallel processes (default: all)")
    b.add_argument("--repeat", type=int, default=3,
                   help="interleaved serial/parallel rounds; the medians are reported")
    r = sub.add_parser("run", help="queries/s and peak memory per method on a suite")
    r.add_argument("--method", default="source,tent,tcr,rest", help="comma list of methods")
    r.add_argument("--suite", default="smoke")
    r.add_argument("--limit", type=int, default=None, help="first N queries per cell")
    r.add_argument("--pretrained", default=None, help="weights (default: the suite's)")
    r.add_argument("--threads", type=int, default=None, help="torch threads per method process")
    r.add_argument("--repeat", type=int, default=1,
                   help="interleaved rounds (each method once per round, a fresh process "
                        "each); medians reported, with the ratios' range over rounds")
    r.add_argument("--versus", default=None, metavar="METHOD",
                   help="also each method's time per query relative to METHOD (per round, "
                        "then the median), e.g. --versus tcr")
    add_selection_arguments(r)
    w = sub.add_parser("sweep", help="local vs dask executor: wall time, CPU time, speed-up")
    w.add_argument("--method", default="source,tent", help="comma list of methods")
    w.add_argument("--suite", default="smoke")
    w.add_argument("--limit", type=int, default=None, help="first N queries per cell")
    w.add_argument("--pretrained", default=None, help="weights (default: the suite's)")
    w.add_argument("--dask-workers", type=int, default=2)
    w.add_argument("--scaling", action="store_true",
                   help="also time the local executor on 1 thread and dask on 1 worker")
    w.add_argument("--malloc-trim", action="store_true",
                   help="also time dask workers with dask's default MALLOC_TRIM_THRESHOLD_")
    add_selection_arguments(w)


def _job(args) -> float:
    """Corrupt one image; returns the CPU seconds it took in whichever process ran it."""
    path, shift, severity, seed = args
    import time

    import numpy as np
    from PIL import Image

    from bench.api.registry import SHIFTS

    start = time.process_time()
    with Image.open(path) as im:
        image = np.asarray(im.convert("RGB"))
    SHIFTS.get(shift).apply(image, severity, seed).sum()
    return time.process_time() - start


def run(args: argparse.Namespace) -> int:
    return {"build": _perf_build, "run": _perf_run, "sweep": _perf_sweep}[args.what](args)


def _selection(args: argparse.Namespace) -> dict:
    """The `--shift` / `--direction` choice as `RunOptions` fields."""
    return {"shifts": args.shift, "directions": args.direction}


def _cells_label(args: argparse.Namespace) -> str:
    """The timed cells in words: suite, the selection if any, and the limit."""
    parts = [args.suite]
    if args.shift:
        parts.append(f"shift {','.join(args.shift)}")
    if args.direction:
        parts.append(args.direction)
    return ", ".join(parts + [f"limit {args.limit}"])


def _warm_queries(suite: str, pretrained: str | None, limit: int | None,
                  selection: dict) -> None:
    """Build and cache the shifted queries (a `source` pass), so only adaptation is timed."""
    import tempfile
    from pathlib import Path

    from bench.engine.planning import RunOptions, plan_run
    from bench.engine.runner import execute

    with tempfile.TemporaryDirectory() as tmp:
        opts = RunOptions(methods=["source"], suites=[suite], pretrained=pretrained,
                          out=Path(tmp), limit=limit, quiet=True, log=lambda msg: None,
                          **selection)
        execute(plan_run(opts), opts)


def _perf_sweep(args: argparse.Namespace) -> int:
    import torch

    from bench.api.registry import load_builtins
    from bench.engine.parallel import default_workers
    from bench.engine.planning import RunOptions
    from bench.studies.perf import timed_sweep

    load_builtins()
    selection = _selection(args)
    _warm_queries(args.suite, args.pretrained, args.limit, selection)
    threads = torch.get_num_threads()  # the local executor's default: one per core
    opts = RunOptions(methods=[m for m in args.method.split(",") if m], suites=[args.suite],
                      pretrained=args.pretrained, limit=args.limit, quiet=True,
                      workers=default_workers(), log=lambda msg: None, **selection)
    n = args.dask_workers
    runs = []
    if args.scaling:
        opts.threads = 1
        runs.append(timed_sweep(opts, "local, 1 thread"))
    opts.threads = threads
    runs.append(timed_sweep(opts, f"local, {threads} threads"))
    if args.scaling:
        runs.append(timed_sweep(opts, "dask 1 worker", 1))
    if n != 1 or not args.scaling:
        runs.append(timed_sweep(opts, f"dask {n} worker{'s' * (n != 1)}", n))
    if args.malloc_trim:
        runs.append(timed_sweep(opts, f"dask {n} worker{'s' * (n != 1)}, malloc trim", n,
                                malloc_trim=True))
    print(sweep_table(runs, f"local, {threads} threads", args))
    return 0


def sweep_table(runs, reference: str, args: argparse.Namespace) -> str:
    """The `perf sweep` report: per run wall and CPU time, its speed-up over the local
    executor (`reference`) and, with ``--scaling``, over the one-core run of its kind."""
    local = next(r for r in runs if r.label == reference).wall_s
    one = {"local": next((r.wall_s for r in runs if r.label == "local, 1 thread"), None),
           "dask": next((r.wall_s for r in runs if r.label == "dask 1 worker"), None)}
    lines = [f"{runs[0].cells} cells ({_cells_label(args)}, {args.method}), "
             "query cache warm; dask wall time includes starting its cluster",
             f"{'executor':<30} {'wall s':>7} {'CPU s':>7} {'CPU/wall':>8} {'vs local':>8} "
             f"{'vs 1 core':>9}"]
    for r in runs:
        base = one["dask" if r.label.startswith("dask") else "local"]
        scale = f"{base / r.wall_s:>8.2f}x" if base else f"{'':>9}"
        lines.append(f"{r.label:<30} {r.wall_s:>7.1f} {r.cpu_s:>7.1f} {r.cpu_s / r.wall_s:>8.2f} "
                     f"{local / r.wall_s:>7.2f}x {scale}")
    return "\n".join(lines)


def _perf_run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.api.registry import load_builtins
    from bench.studies.perf import method_speed, speed_table

    load_builtins()
    methods = [m for m in args.method.split(",") if m]
    if "source" not in methods:
        methods.insert(0, "source")  # the reference of the relative time per query
    if args.repeat < 1:
        raise ConfigError(f"--repeat must be >= 1, got {args.repeat}")
    if args.versus is not None and args.versus not in methods:
        raise ConfigError(f"--versus {args.versus}: not among the methods timed "
                         f"({', '.join(methods)})")
    selection = _selection(args)
    _warm_queries(args.suite, args.pretrained, args.limit, selection)
    rounds = []
    for _ in range(args.repeat):  # interleaved: a slow hour slows every method alike
        rounds.append([method_speed(m, args.suite, args.limit, args.pretrained, args.threads,
                                    selection) for m in methods])
    print(f"cells: {_cells_label(args)}")
    print(speed_table(rounds, args.versus))
    return 0


def _timed(jobs: list, workers: int) -> tuple[float, float]:
    """Wall seconds of corrupting `jobs` on `workers` processes, and the CPU seconds the
    jobs themselves took (summed over the processes that ran them)."""
    from bench.engine.parallel import pmap

    start = time.perf_counter()
    cpu = sum(pmap(_job, jobs, workers=workers, min_parallel=1, chunk_size=BUILD_CHUNK))
    return time.perf_counter() - start, cpu


def _perf_build(args: argparse.Namespace) -> int:
    import statistics

    import corruptions
    from bench.api.errors import ConfigError
    from bench.api.registry import load_builtins
    from bench.data.synth import load_mini_scenes
    from bench.engine.parallel import default_workers, pmap

    if args.images < 1 or args.repeat < 1:
        raise ConfigError("--images and --repeat must be at least 1")
    load_builtins()
    ds = load_mini_scenes(split="test")
    n = min(args.images, ds.n_images)
    jobs = [(str(ds.image_paths[i]), s, sev, corruptions.seed_for(i, s, sev))
            for s in corruptions.IMAGE_SHIFTS for sev in range(1, 6) for i in range(n)]
    workers = args.workers or default_workers()
    # Warm-up, untimed: every shift's one-time costs (lazy imports, frost textures) in this
    # process and in each pool worker, so both sides time the steady state.
    warm = [(str(ds.image_paths[0]), s, 1, 0) for s in corruptions.IMAGE_SHIFTS]
    pmap(_job, warm, workers=1)
    pmap(_job, warm * 2 * workers, workers=workers, min_parallel=1, chunk_size=1)
    size = f"{ds.load_image(0).shape[1]}x{ds.load_image(0).shape[0]}"
    print(f"corrupting {len(jobs)} images ({n} mini-scenes test images at {size} x 16 shifts "
          f"x 5 severities), serial vs {workers} workers, {args.repeat} interleaved round(s):")
    serial, parallel = [], []
    busy = []  # CPU seconds of the jobs per wall second of the parallel pass: cores at work
    for k in range(1, args.repeat + 1):
        serial.append(_timed(jobs, 1)[0])
        wall, cpu = _timed(jobs, workers)
        parallel.append(wall)
        busy.append(cpu / wall)
        print(f"  round {k}: serial {serial[-1]:6.1f} s ({len(jobs) / serial[-1]:5.1f} images/s), "
              f"{workers} workers {wall:6.1f} s ({len(jobs) / wall:5.1f} images/s, job CPU "
              f"{cpu:.1f} s = {busy[-1]:.2f} cores busy), speed-up {serial[-1] / wall:.2f}x")
    ts, tp = statistics.median(serial), statistics.median(parallel)
    print(f"median: serial {len(jobs) / ts:.1f} images/s, {workers} workers "
          f"{len(jobs) / tp:.1f} images/s ({statistics.median(busy):.2f} of {workers} cores "
          f"busy), speed-up {ts / tp:.2f}x")
    return 0
