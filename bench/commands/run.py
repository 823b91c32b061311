"""`python -m bench run`: evaluate methods on suites under the online protocol."""

from __future__ import annotations

import argparse

from bench.api.protocol import PROTOCOL
from bench.commands import inputs
from bench.commands.common import (
    add_cluster_arguments,
    add_plugin_argument,
    add_selection_arguments,
    cluster_job_settings,
    comma_list,
    severity_arg,
)

NAME = "run"
HELP = "run TTA methods on benchmark suites and store one Parquet row per cell"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", type=comma_list, required=True,
                   help="comma list of methods (see `list methods`)")
    p.add_argument("--suite", type=comma_list, required=True,
                   help="comma list of suites, or 'all' (see `list suites`)")
    p.add_argument("--model", type=inputs.text,
                   help="model name: a registered one (mini-clip, ...) or any open_clip "
                                   "architecture; default: the suite's model")
    p.add_argument("--pretrained", type=inputs.text,
                   help="open_clip pretrained tag or a local checkpoint path "
                                        "('random' = untrained, for tests only)")
    p.add_argument("--image-size", type=inputs.integers(8), default=None, metavar="H,W",
                   help="override the model's input size, e.g. 384,128 for IRRA person search")
    p.add_argument("--activation", choices=("quick_gelu", "gelu"), default=None,
                   help="MLP activation of the model (default: by the weights: QuickGELU for "
                        "OpenAI and IRRA weights, docs/real-data.md)")
    p.add_argument("--data-root", type=inputs.existing_dir,
                   help="folder with the real datasets (docs/real-data.md)")
    p.add_argument("--queries", choices=("bench", "released"), default="bench",
                   help="shifted queries: bench's own corruption, or TCR's released pre-built "
                        "coco-IP/coco-TP (flickr-IP/flickr-TP) files under --data-root")
    p.add_argument("--built", type=inputs.existing_dir, default=None, metavar="DIR",
                   help="read the shifted queries `build --out DIR` wrote")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="leave missing or unreadable images out (the count is recorded in the "
                        "rows) instead of stopping with exit 2")
    p.add_argument("--out", type=inputs.out_dir, default="results", help="results folder")
    p.add_argument("--seed", type=inputs.seeds, default=[0], help="stream seed(s), comma list")
    p.add_argument("--corruption-seed", type=inputs.seed, default=PROTOCOL.corruption_seed,
                   metavar="N",
                   help="base seed of bench's query corruptions (default %(default)s); part of "
                        "each cell id")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--batch-size", type=inputs.count, default=PROTOCOL.batch_size,
                   help="queries per batch of the stream (default %(default)s)")
    p.add_argument("--steps", type=inputs.count, default=PROTOCOL.steps,
                   help="adaptation steps per batch (default %(default)s)")
    p.add_argument("--severity", type=inputs.severity, default=None,
                   help="severities to run, e.g. 1,3,5 or all (default: the suite's level, each "
                        "shift's maximum unless the suite file sets default_severity)")
    p.add_argument("--limit", type=inputs.count, default=None,
                   help="only the first N queries (quick look)")
    p.add_argument("--set", action="append", type=inputs.method_setting, default=[],
                   metavar="METHOD.FIELD=VALUE",
                   help="override a method hyperparameter (repeatable)")
    p.add_argument("--config", type=inputs.existing_file,
                   help="JSON/TOML file {method: {field: value}}")
    p.add_argument("--retention", action="store_true",
                   help="also measure retention (clean-query R@1 after the stream) on every cell")
    p.add_argument("--trace-grads", action="store_true",
                   help="traces also record, per batch, the gradient norm of each loss term "
                        "and, per step, the angle between the update and a knowledge-keeping "
                        "gradient (extra backwards; results are unchanged)")
    p.add_argument("--no-diagnostics", action="store_true",
                   help="leave the common-space diagnostics (uniformity, gap, inter-modal "
                        "similarity, consistency) out of rows and traces (docs/diagnostics.md)")
    p.add_argument("--overwrite", action="store_true", help="redo cells already in --out")
    p.add_argument("--workers", type=inputs.count, default=None,
                   help="processes for building shifted queries (default: all cores)")
    p.add_argument("--threads", type=inputs.count, default=None,
                   help="torch CPU threads (default: torch's default, one per core); recorded "
                        "in each row's `device`, see docs/commands.md 'Reproducibility'")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="run cells here, or as tasks on a dask.distributed cluster")
    p.add_argument("--scheduler", default=None, type=inputs.scheduler, metavar="ADDRESS",
                   help="dask scheduler (tcp://host:8786); default: a local cluster")
    p.add_argument("--dask-workers", type=inputs.count, default=None,
                   help="workers of the local dask cluster (default: --workers), or batch jobs "
                        "with --cluster")
    add_cluster_arguments(p)
    add_selection_arguments(p)
    p.add_argument("--no-cache", action="store_true", help="do not read or write caches")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-cell lines")
    add_plugin_argument(p)


def options_from_args(args: argparse.Namespace):
    """The run's settings (`bench.engine.settings.RunSettings`) from the parsed flags."""
    from bench.api.errors import ConfigError
    from bench.api.protocol import Protocol
    from bench.engine.cache import Cache
    from bench.engine.method_configs import parse_sets, read_config_file
    from bench.engine.parallel import default_workers
    from bench.engine.settings import RunSettings, Runtime, Selection, silent

    overrides = read_config_file(args.config) if args.config else {}
    for method, fields in parse_sets(args.set).items():
        overrides.setdefault(method, {}).update(fields)
    for name, value in (("--batch-size", args.batch_size), ("--steps", args.steps)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1")
    if args.image_size is not None and (len(args.image_size) != 2 or min(args.image_size) < 8):
        raise ConfigError("--image-size takes H,W, e.g. 384,128")
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if args.corruption_seed < 0:
        raise ConfigError("--corruption-seed must be 0 or more")
    if args.corruption_seed and args.queries == "released":
        raise ConfigError("--corruption-seed seeds bench's own corruption, not --queries released")
    for name, value in (("--workers", args.workers), ("--dask-workers", args.dask_workers),
                        ("--threads", args.threads)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if args.cluster and args.executor != "dask":
        raise ConfigError("--cluster needs --executor dask")
    if args.cluster and args.scheduler:
        raise ConfigError("--cluster and --scheduler exclude each other")
    selection = Selection(
        methods=args.method, suites=args.suite, model=args.model, pretrained=args.pretrained,
        seeds=args.seed, severity=severity_arg(args.severity) if args.severity else None,
        shifts=args.shift, directions=args.direction, overrides=overrides,
        image_size=tuple(args.image_size) if args.image_size else None,
        activation=args.activation, queries=args.queries, skip_unreadable=args.skip_unreadable,
        retention=args.retention, trace_grads=args.trace_grads,
        diagnostics=not args.no_diagnostics)
    protocol = Protocol(batch_size=args.batch_size, steps=args.steps, limit=args.limit,
                        corruption_seed=args.corruption_seed)
    runtime = Runtime(
        data_root=args.data_root, out=args.out.expanduser().resolve(), built_dir=args.built,
        device=args.device, threads=args.threads,
        workers=args.workers if args.workers is not None else default_workers(),
        cache=Cache(enabled=not args.no_cache), plugins=args.plugin, overwrite=args.overwrite,
        executor=args.executor, scheduler=args.scheduler, dask_workers=args.dask_workers,
        cluster=args.cluster, cluster_job=cluster_job_settings(args), quiet=args.quiet,
        log=silent if args.quiet else (lambda msg: print(msg, flush=True)))
    return RunSettings(selection, protocol, runtime)


EXIT_CELLS_FAILED = 3  # some cell of this run failed or diverged (docs/commands.md, exit codes)


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins
    from bench.engine.planning import plan_run
    from bench.engine.runner import execute

    load_plugins(args.plugin)
    opts = options_from_args(args)
    cells = plan_run(opts)
    if not cells:
        print("no cell to run (every suite was skipped)")
        return 0
    counts = execute(cells, opts.runtime)
    ran = {k: v for k, v in counts.items() if k not in ("planned", "skipped", "elsewhere")}
    elsewhere = counts.get("elsewhere", 0)
    bad = counts.get("failed", 0) + counts.get("diverged", 0)
    print(f"done: {counts['planned']} cells planned, {counts['skipped']} already stored"
          + "".join(f", {v} {k}" for k, v in sorted(ran.items()))
          + (f", {elsewhere} left to another run" if elsewhere else "")
          + f"; results in {opts.runtime.out}"
          + (f"; {bad} cells failed or diverged (exit {EXIT_CELLS_FAILED})" if bad else ""))
    return EXIT_CELLS_FAILED if bad else 0
