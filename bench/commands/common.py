"""Arguments and parsing shared by several subcommands."""

from __future__ import annotations

import argparse

from bench.api.contract import DIRECTIONS
from bench.api.errors import ConfigError
from bench.commands import inputs


@inputs.validator
def comma_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


@inputs.validator
def int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in comma_list(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected integers like 0,1,2: {text}") from err


def severity_arg(text: str):
    if text.strip().lower() == "all":
        return "all"
    try:
        return int_list(text)
    except argparse.ArgumentTypeError as err:
        raise ConfigError(f"bad --severity '{text}'", "use e.g. 1,3,5 or all") from err


def add_plugin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="PATH|MODULE",
                        type=inputs.plugin,
                        help="import a plugin file or module that registers methods, suites, "
                             "shifts or models (repeatable)")
    parser.add_argument("--suite-file", action="append", dest="plugin", metavar="FILE.toml",
                        type=inputs.suite_file,
                        help="register the suite a TOML file defines (docs/suites.md); name it "
                             "with --suite (repeatable)")


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Run part of a suite's cells; their ids do not change (split a sweep by hand)."""
    parser.add_argument("--shift", type=comma_list, default=None, metavar="A,B",
                        help="only the cells of these shifts (e.g. fog,clean; a stream cell's "
                             "name, e.g. image-mix, selects it)")
    parser.add_argument("--direction", choices=DIRECTIONS, default=None,
                        help="only the cells of this direction")


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("batch clusters (--executor dask --cluster slurm|pbs)")
    g.add_argument("--cluster", choices=("slurm", "pbs"), default=None,
                   help="start the dask workers as batch jobs (dask-jobqueue: pip install "
                        "-e '.[cluster]'); --dask-workers jobs")
    g.add_argument("--cluster-config", default=None, metavar="FILE", type=inputs.existing_file,
                   help="TOML/JSON file of dask-jobqueue settings (queue, account, memory, "
                        "walltime, job_extra_directives, ...); flags below override it")
    g.add_argument("--cluster-queue", default=None, type=inputs.text, help="partition / queue")
    g.add_argument("--cluster-account", default=None, type=inputs.text,
                   help="project / account to charge")
    g.add_argument("--cluster-memory", default=None, type=inputs.text,
                   help="memory per job, e.g. 16GB")
    g.add_argument("--cluster-walltime", default=None, type=inputs.text,
                   help="time limit per job, e.g. 04:00:00")
    g.add_argument("--cluster-cores", type=inputs.count, default=None,
                   help="cores per job (default 1)")


def cluster_job_settings(args: argparse.Namespace) -> dict:
    """dask-jobqueue keyword arguments from --cluster-config then the --cluster-* flags."""
    from pathlib import Path

    from bench.engine.clusters import read_job_config

    job = read_job_config(Path(args.cluster_config)) if args.cluster_config else {}
    for key in ("queue", "account", "memory", "walltime", "cores"):
        value = getattr(args, f"cluster_{key}")
        if value is not None:
            job[key] = value
    return job


def source_study_options(args: argparse.Namespace, severity):
    """`RunSettings` for a study that runs only the source model over a suite's query cells
    (`similarity`, `compare-queries`): the shared flags, checked as `run` checks them."""
    from bench.api.protocol import Protocol
    from bench.engine.cache import Cache
    from bench.engine.parallel import default_workers
    from bench.engine.settings import RunSettings, Runtime, Selection, silent

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    return RunSettings(
        Selection(methods=["source"], suites=args.suite, model=args.model,
                  pretrained=args.pretrained, severity=severity,
                  activation=getattr(args, "activation", None)),
        Protocol(limit=args.limit),
        Runtime(data_root=args.data_root, workers=args.workers or default_workers(),
                cache=Cache(enabled=not args.no_cache), plugins=args.plugin,
                quiet=args.quiet, log=silent if args.quiet else print))
