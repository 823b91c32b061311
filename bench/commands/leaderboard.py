"""`python -m bench leaderboard RESULTS`: paper-style tables in Markdown, CSV, HTML or LaTeX."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path

from bench.commands import inputs
from bench.commands.common import add_plugin_argument
from bench.engine.store import ResultStore, read_results
from bench.report.leaderboard import METRICS, absent_suites, build
from bench.report.memo import memo
from bench.report.render import FORMATS, render

NAME = "leaderboard"
HELP = "Tables of a results folder: methods x shifts at maximum severity, ranks."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=inputs.results_dir,
                        help="results folder written by `bench run`")
    parser.add_argument("--suite", default=None, type=inputs.text,
                        help="comma-separated suites (default: all)")
    parser.add_argument("--metric", default="r1", choices=METRICS, help="metric (default r1)")
    parser.add_argument("--format", default="md", choices=FORMATS,
                        help="output format (default md: Markdown)")
    parser.add_argument("--out", default=None, type=inputs.out_file,
                        help="write to FILE instead of stdout")
    parser.add_argument("--reported", action="store_true",
                        help="add published reference rows (docs/protocol.md section 7), unranked")
    parser.add_argument("--if-present", action="store_true",
                        help="with --suite: leave out the suites the folder has no results "
                             "for; none at all: write nothing, exit 0 (scripts whose store "
                             "may lack an opt-in suite)")
    parser.add_argument("--no-cache", action="store_true",
                        help="compute every interval and test afresh: neither read nor write "
                             "RESULTS/statistics.json (the output is the same either way)")
    add_plugin_argument(parser)  # a plugin shift's order and maximum severity


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins

    load_plugins(args.plugin)
    df = read_results(args.results, cached=not args.no_cache)
    suites = [s for s in (args.suite or "").split(",") if s]
    if args.if_present and suites:
        absent = absent_suites(df, suites)
        suites = [s for s in suites if s not in absent]
        if absent:
            print(f"no results for suite(s) {', '.join(absent)} in {args.results}: "
                  + ("left out" if suites else "nothing written"), file=sys.stderr)
        if not suites:
            return 0
    # the bootstraps of earlier calls, read back by their inputs (bench.report.memo)
    with nullcontext() if args.no_cache else memo(args.results):
        board = build(df, args.metric, suites or None, reported=args.reported,
                      outcomes=ResultStore(args.results).read_outcomes(
                          cached=not args.no_cache))
    for line in board.messages:
        print(line, file=sys.stderr)
    text = render(board, args.format)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
