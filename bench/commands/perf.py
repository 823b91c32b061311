"""`python -m bench perf ...`: speed benchmarks (not tests).

* ``perf build``: images/s for corrupting the 16 image shifts x 5 severities,
  serially (in this process, as `--workers 1` runs) vs over all cores (the work
  `bench build` and the query cache do); interleaved rounds after an untimed
  warm-up, medians reported.
* ``perf run``: queries/s, time per query relative to ``source`` and each method's own
  peak memory (one fresh process per method) on a suite's cells (the shifted queries are
  built first, so only adaptation is timed); ``--repeat N`` interleaved rounds (medians,
  ratios with their range), ``--versus M`` adds the time per query relative to M.
* ``perf sweep``: one sweep with the local executor and on a dask `LocalCluster` of each
  ``--dask-workers`` size (``2,4,8``: one run per size): wall time, CPU time (all
  processes) and the speed-up; ``--scaling`` adds the local executor on one thread and
  dask on one worker (what one core does, so the speed-up of N threads and of N workers
  can be read); ``--malloc-trim`` adds a dask run with the nanny's default
  MALLOC_TRIM_THRESHOLD_. With ``--device cuda`` the dask run is the GPU cluster of
  ``run --executor dask --device cuda`` (one worker per visible GPU).
* ``perf profile``: where each method's time goes: each cell run once under torch's
  profiler (after one untimed cell), its time split by the phases the code names (forward,
  loss, backward, the keep loss, the gradient surgery, the optimizer, metrics...), with the
  device time and the host reads (values copied back to Python, each a wait on a GPU) of
  each phase; ``--versus M`` adds each phase's time per query relative to M's.
  `bench.studies.profile`.
* ``perf overhead``: the harness's own cost: each Tent cell run by bench (the cell and its
  row written) against a bare hand-written Tent loop on the same loaded model, gallery
  and queries, interleaved rounds, the ratio's median and range, and both R@1 (which must
  be equal: exit 3 otherwise). `bench.studies.overhead`.
* ``perf leaderboard`` / ``perf site`` / ``perf diagnostics``: those commands timed with
  and without their caches and from other checkouts, outputs identical
  (`bench.studies.leaderboard_perf`); the diagnostics' share of a cell's time off, warm
  and cold (`perf_diagnostics`).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.commands import inputs, perf_diagnostics, perf_leaderboard
from bench.commands.common import add_plugin_argument, add_selection_arguments

BUILD_CHUNK = 8  # jobs per task handed to a worker process

NAME = "perf"
HELP = ("speed benchmarks: perf build, run, sweep, profile, overhead, leaderboard, site, "
        "diagnostics (each: `python -m bench perf WHAT --help`)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", metavar="WHAT")
    sub.required = True
    b = sub.add_parser("build", help="images/s building the 16 x 5 image shifts")
    b.add_argument("--images", type=inputs.count, default=16,
                   help="mini-scenes test images to corrupt")
    b.add_argument("--workers", type=inputs.count, default=None,
                   help="parallel processes (default: all)")
    b.add_argument("--repeat", type=inputs.count, default=3,
                   help="interleaved serial/parallel rounds; the medians are reported")
    r = sub.add_parser("run", help="queries/s and peak memory per method on a suite")
    r.add_argument("--method", default="source,tent,tcr,rest", type=inputs.text,
                   help="comma list of methods")
    r.add_argument("--suite", default="smoke", type=inputs.text)
    r.add_argument("--limit", type=inputs.count, default=None, help="first N queries per cell")
    _add_model_arguments(r)
    r.add_argument("--threads", type=inputs.count, default=None,
                   help="torch threads per method process")
    r.add_argument("--repeat", type=inputs.count, default=1,
                   help="interleaved rounds (each method once per round, a fresh process "
                        "each); medians reported, with the ratios' range over rounds")
    r.add_argument("--versus", default=None, type=inputs.text, metavar="METHOD",
                   help="also each method's time per query relative to METHOD (per round, "
                        "then the median), e.g. --versus tcr")
    add_selection_arguments(r)
    w = sub.add_parser("sweep", help="local vs dask executor: wall time, CPU time, speed-up")
    w.add_argument("--method", default="source,tent", type=inputs.text,
                   help="comma list of methods")
    w.add_argument("--suite", default="smoke", type=inputs.text)
    w.add_argument("--limit", type=inputs.count, default=None, help="first N queries per cell")
    _add_model_arguments(w)
    w.add_argument("--dask-workers", type=inputs.counts, default=[2], metavar="N[,N...]",
                   help="dask LocalCluster size(s): one dask run per size (default 2)")
    w.add_argument("--scaling", action="store_true",
                   help="also time the local executor on 1 thread and dask on 1 worker")
    w.add_argument("--malloc-trim", action="store_true",
                   help="also time dask workers with dask's default MALLOC_TRIM_THRESHOLD_")
    add_selection_arguments(w)
    f = sub.add_parser("profile", help="each method's time by phase, under torch's profiler")
    f.add_argument("--method", default="tcr,rest", type=inputs.text, help="comma list of methods")
    f.add_argument("--suite", default="smoke", type=inputs.text)
    f.add_argument("--limit", type=inputs.count, default=None, help="first N queries per cell")
    _add_model_arguments(f)
    f.add_argument("--threads", type=inputs.count, default=1, help="torch threads (default 1)")
    f.add_argument("--versus", default=None, type=inputs.text, metavar="METHOD",
                   help="also each phase's time per query relative to METHOD's")
    f.add_argument("--trace", default=None, type=inputs.out_dir, metavar="DIR",
                   help="also write each cell's profile as a Chrome trace in DIR")
    add_selection_arguments(f)
    add_plugin_argument(f)
    o = sub.add_parser("overhead", help="bench's Tent cell vs a bare hand-written Tent loop")
    o.add_argument("--suite", default="smoke", type=inputs.text)
    o.add_argument("--limit", type=inputs.count, default=None, help="first N queries per cell")
    _add_model_arguments(o)
    o.add_argument("--threads", type=inputs.count, default=1, help="torch threads (default 1)")
    o.add_argument("--repeat", type=inputs.count, default=5,
                   help="interleaved rounds per cell (each side once per round, alternating "
                        "which goes first); medians reported")
    add_selection_arguments(o)
    perf_diagnostics.add_parser(sub, _add_model_arguments)
    perf_leaderboard.add_parser(sub)
    perf_leaderboard.add_site_parser(sub)


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, type=inputs.text,
                   help="model (default: the suite's), e.g. ViT-B-16 with --pretrained random "
                        "to time the real-size architecture")
    p.add_argument("--pretrained", default=None, type=inputs.text,
                   help="weights (default: the suite's)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="as `run --device`; sweep: cuda runs dask on one worker per GPU")


def _job(args) -> float:
    """Corrupt one image; returns the CPU seconds it took in whichever process ran it."""
    path, shift, severity, seed = args
    import numpy as np
    from PIL import Image

    from bench.api.registry import SHIFTS

    start = time.process_time()
    with Image.open(path) as im:
        image = np.asarray(im.convert("RGB"))
    SHIFTS.get(shift).apply(image, severity, seed).sum()
    return time.process_time() - start


def run(args: argparse.Namespace) -> int:
    return {"build": _perf_build, "run": _perf_run, "sweep": _perf_sweep, "profile": _perf_profile,
            "overhead": _perf_overhead,
            "diagnostics": lambda a: perf_diagnostics.run(a, _run_fields(a), _cells_label(a)),
            "leaderboard": perf_leaderboard.run, "site": perf_leaderboard.run}[args.what](args)


def _run_fields(args: argparse.Namespace) -> dict:
    """The run settings the timed runs share (`RunSettings.of` fields): model, weights,
    device and the `--shift` / `--direction` choice."""
    return {"model": args.model, "pretrained": args.pretrained, "device": args.device,
            "shifts": args.shift, "directions": args.direction}


def _cells_label(args: argparse.Namespace) -> str:
    """The timed cells in words: suite, the selection if any, and the limit."""
    parts = [args.suite] + ([f"model {args.model}"] if args.model else [])
    if args.shift:
        parts.append(f"shift {','.join(args.shift)}")
    if args.direction:
        parts.append(args.direction)
    return ", ".join(parts + [f"limit {args.limit}"])


def _warm_queries(suite: str, limit: int | None, fields: dict) -> None:
    """Build and cache the shifted queries (a `source` pass), so only adaptation is timed."""
    import tempfile
    from pathlib import Path

    from bench.engine.planning import plan_run
    from bench.engine.runner import execute
    from bench.engine.settings import RunSettings, silent

    with tempfile.TemporaryDirectory() as tmp:
        opts = RunSettings.of(methods=["source"], suites=[suite], out=Path(tmp), limit=limit,
                              quiet=True, log=silent, **fields)
        execute(plan_run(opts), opts.runtime)


def _perf_sweep(args: argparse.Namespace) -> int:
    import torch

    from bench.api.registry import load_builtins
    from bench.engine.parallel import default_workers
    from bench.engine.settings import RunSettings, silent
    from bench.studies.perf import timed_sweep

    load_builtins()
    inputs.check_names(methods=[m for m in args.method.split(",") if m], suites=args.suite)
    clusters = _dask_clusters(args)  # bad sizes or no GPU: exit 2 before any work
    fields = _run_fields(args)
    start = time.perf_counter()
    _warm_queries(args.suite, args.limit, fields)
    _progress(f"shifted queries ready: {time.perf_counter() - start:.1f} s")
    threads = torch.get_num_threads()  # the local executor's default: one per core
    opts = RunSettings.of(methods=[m for m in args.method.split(",") if m],
                          suites=[args.suite], limit=args.limit, quiet=True,
                          workers=default_workers(), log=silent, **fields)
    plans = ([(1, "local, 1 thread", None)] if args.scaling else []) + [
        (threads, f"local, {threads} threads", None)] + [(threads, *c) for c in clusters]
    runs = []
    for k, (n_threads, label, spec) in enumerate(plans, 1):
        runs.append(timed_sweep(opts.run_with(threads=n_threads), label, spec))
        _progress(f"[{k}/{len(plans)}] {label}: {runs[-1].cells} cells, {runs[-1].wall_s:.1f} s")
    print(sweep_table(runs, f"local, {threads} threads", args))
    return 0


def _dask_clusters(args: argparse.Namespace) -> list:
    """(label, ClusterSpec) of each dask run of `perf sweep`, in order."""
    from bench.engine.clusters import ClusterSpec
    from bench.engine.executors import gpu_count
    from bench.engine.provenance import resolve_device

    if resolve_device(args.device).type == "cuda":
        gpus = gpu_count()
        return [(f"dask {gpus} GPU worker{'s' * (gpus != 1)}", ClusterSpec(gpus=gpus))]
    sizes = sorted(set(args.dask_workers) | ({1} if args.scaling else set()))
    name = {n: f"dask {n} worker{'s' * (n != 1)}" for n in sizes}
    runs = [(name[n], ClusterSpec(n_workers=n)) for n in sizes]
    if args.malloc_trim:
        n = max(sizes)
        runs.append((f"{name[n]}, malloc trim", ClusterSpec(n_workers=n, malloc_trim=True)))
    return runs


def sweep_table(runs, reference: str, args: argparse.Namespace) -> str:
    """The `perf sweep` report: per run wall and CPU time, its speed-up over the local
    executor (`reference`) and, with ``--scaling``, over the one-core run of its kind."""
    local = next(r for r in runs if r.label == reference).wall_s
    one = {"local": next((r.wall_s for r in runs if r.label == "local, 1 thread"), None),
           "dask": next((r.wall_s for r in runs if r.label == "dask 1 worker"), None)}
    texts = {r.label: ", ".join(f"{n} {k}" for k, n in sorted((r.statuses or {}).items()))
             for r in runs}
    by_status = (texts[runs[0].label] if len(set(texts.values())) == 1
                 else "; ".join(f"{label}: {text}" for label, text in texts.items()))
    lines = [f"{runs[0].cells} cells ({_cells_label(args)}, {args.method}), "
             "query cache warm; dask wall time includes starting its cluster",
             f"cells by status: {by_status}",
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
    inputs.check_names(methods=methods, suites=args.suite)  # before any process is started
    if "source" not in methods:
        methods.insert(0, "source")  # the reference of the relative time per query
    if args.versus is not None and args.versus not in methods:
        raise ConfigError(f"--versus {args.versus}: not among the methods timed "
                         f"({', '.join(methods)})")
    fields = _run_fields(args)
    start = time.perf_counter()
    _warm_queries(args.suite, args.limit, fields)
    _progress(f"shifted queries ready: {time.perf_counter() - start:.1f} s")
    rounds = []
    for k in range(1, args.repeat + 1):  # interleaved: a slow hour slows every method alike
        rounds.append([])
        for m in methods:
            start = time.perf_counter()
            sp = method_speed(m, args.suite, args.limit, args.threads, fields)
            rounds[-1].append(sp)
            _progress(f"round {k}/{args.repeat}, {m}: {sp.cells} cells ok, {sp.queries} "
                      f"queries, adapt {sp.adapt_s:.1f} s (process {time.perf_counter() - start:.1f} s)"
                      + (f"; not run: {sp.not_ok}" if sp.not_ok else ""))
        if any(sp.not_ok for sp in rounds[-1]):
            break  # nothing will be compared: the rounds left would only cost time
    print(f"cells: {_cells_label(args)}")
    problems = sorted({f"{sp.method}: {sp.not_ok}" for r in rounds for sp in r if sp.not_ok})
    if problems:  # times of different cells would be compared: report instead
        for line in problems:
            print(f"error: not every cell ran, nothing compared: {line}", file=sys.stderr)
        return 3
    print(speed_table(rounds, args.versus))
    return 0


def _progress(line: str) -> None:
    """One line of a long `perf` command's progress, on stderr (the report is stdout)."""
    print(line, file=sys.stderr, flush=True)


def _perf_profile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.api.errors import ConfigError
    from bench.api.registry import load_plugins
    from bench.studies.inprocess import execute_ok, plan_in_process, preload, torch_threads
    from bench.studies.profile import MethodProfile, profile_cell, profile_table

    methods = [m for m in args.method.split(",") if m]
    if args.versus is not None and args.versus not in methods:
        raise ConfigError(f"--versus {args.versus}: not among --method {args.method}")
    load_plugins(args.plugin)
    inputs.check_names(methods=methods, suites=args.suite)
    run = plan_in_process(methods, args.suite, args.limit, _run_fields(args))
    trace_dir = Path(args.trace).absolute() if args.trace else None
    if trace_dir is not None:
        trace_dir.mkdir(parents=True, exist_ok=True)
    cuda, profiles = run.device.type == "cuda", {}
    with torch_threads(args.threads):
        for k, cell in enumerate(run.cells, 1):
            prof = profiles.setdefault(cell.label, MethodProfile(cell.label))
            preload(cell, run.res)  # no cell's profile includes loading its data
            if prof.queries == 0:  # the method's first cell: once untimed (warm-up)
                execute_ok(cell, run.res, run.run_id)
            start = time.perf_counter()
            prof.add_cell(*profile_cell(cell, run.res, run.run_id, cuda,
                                        trace_dir / f"{cell.cell_id}.json" if trace_dir else None))
            _progress(f"[{k}/{len(run.cells)}] {cell.title}: "
                      f"{time.perf_counter() - start:.1f} s")
    print(f"cells: {_cells_label(args)}; device {run.device}, {args.threads} thread(s); each "
          f"cell profiled once, its data loaded before (each method's first cell also run "
          f"once untimed before)")
    print(profile_table(list(profiles.values()), args.versus, cuda=cuda))
    return 0


def _perf_overhead(args: argparse.Namespace) -> int:
    from bench.api.registry import load_builtins
    from bench.studies.inprocess import plan_in_process, torch_threads
    from bench.studies.overhead import cell_overhead, overhead_table

    load_builtins()
    inputs.check_names(suites=args.suite)
    run = plan_in_process(["tent"], args.suite, args.limit, _run_fields(args))
    results = []
    with torch_threads(args.threads):
        for k, cell in enumerate(run.cells, 1):
            start = time.perf_counter()
            results.append(cell_overhead(cell, run.res, args.repeat, run.run_id))
            _progress(f"[{k}/{len(run.cells)}] {cell.title}: "
                      f"{time.perf_counter() - start:.1f} s")
    print(f"cells: {_cells_label(args)}; device {run.device}, {args.threads} thread(s); "
          f"{args.repeat} interleaved round(s) per cell after one untimed run of each side")
    print(overhead_table(results))
    differ = [c.title for c in results if not c.same_r1]
    if differ:  # the two sides did not do the same work: the times above are not comparable
        print(f"error: R@1 of bench and of the bare loop differ on {', '.join(differ)}",
              file=sys.stderr)
        return 3
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
    from bench.api.registry import load_builtins
    from bench.data.synth import load_mini_scenes
    from bench.engine.parallel import default_workers, pmap

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
