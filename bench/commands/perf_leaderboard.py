"""``perf leaderboard RESULTS`` and ``perf site RESULTS``: `bench leaderboard` / `bench site`
timed in fresh processes with their caches (statistics memo; the site's figure and frame
caches too), without them (``--no-cache``) and from other bench checkouts
(``--versus-code DIR``), interleaved rounds; the outputs must be byte-identical (exit 3
otherwise). `bench.studies.leaderboard_perf` does the timing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.commands import inputs


def add_parser(sub) -> None:
    g = sub.add_parser("leaderboard", help="`bench leaderboard RESULTS`: memo, fresh, other code")
    g.add_argument("results", type=inputs.results_dir, help="results folder written by `bench run`")
    g.add_argument("--suite", default=None, type=inputs.text, help="as `leaderboard --suite`")
    g.add_argument("--metric", default="r1", type=inputs.text, help="as `leaderboard --metric`")
    g.add_argument("--repeat", type=inputs.integer(1), default=3, help="interleaved rounds; medians reported")
    g.add_argument("--versus-code", action="append", default=[], metavar="DIR",
                   type=inputs.existing_dir,
                   help="also time the command from the bench checkout in DIR (repeatable)")


def add_site_parser(sub) -> None:
    g = sub.add_parser("site", help="`bench site RESULTS`: caches, fresh, other code")
    g.add_argument("results", type=inputs.results_dir, help="results folder written by `bench run`")
    g.add_argument("--nested", action="store_true", help="as `site --nested`")
    g.add_argument("--no-figures", action="store_true", help="as `site --no-figures`")
    g.add_argument("--repeat", type=inputs.integer(1), default=3, help="interleaved rounds; medians reported")
    g.add_argument("--versus-code", action="append", default=[], metavar="DIR",
                   type=inputs.existing_dir,
                   help="also time the command from the bench checkout in DIR (repeatable)")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.engine.store import read_results
    from bench.studies.leaderboard_perf import perf_table, time_leaderboard

    read_results(args.results)  # a missing or empty folder: one line, exit 2
    bad = [d for d in args.versus_code if not (Path(d) / "bench" / "__main__.py").is_file()]
    if args.repeat < 1 or bad:
        raise ConfigError(f"--repeat must be >= 1 (got {args.repeat}) and each --versus-code "
                          f"a bench checkout (not one: {', '.join(bad) or '-'})")
    command = args.what
    if command == "site":
        extra = [flag for flag, on in (("--nested", args.nested),
                                       ("--no-figures", args.no_figures)) if on]
    else:
        extra = (["--suite", args.suite] if args.suite else []) + ["--metric", args.metric]
    runs = time_leaderboard(Path(args.results), extra, args.repeat, args.versus_code, _progress,
                            command)
    print(f"`bench {command} {args.results} {' '.join(extra)}`: {args.repeat} interleaved "
          "round(s), each run a fresh process")
    print(perf_table(runs))
    differ = [v.name for v in runs if v.output != runs[0].output]
    if differ:
        print(f"error: output differs from the memo run's: {', '.join(differ)}", file=sys.stderr)
        return 3
    return 0
