"""`python -m bench compare RESULTS --method a --baseline b`: paired test on every common cell.

Each suite is read at one version (`compared_versions`: the newest whose methods have all
run), named in the table's title."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.api.errors import ConfigError
from bench.commands import inputs
from bench.commands.common import add_plugin_argument
from bench.engine.store import ResultStore, read_results
from bench.report.paired_compare import compare_table
from bench.report.render import FORMATS, render
from bench.report.tables import METRICS, Leaderboard
from bench.report.versions import compared_versions, with_versions

NAME = "compare"
HELP = "Paired test of two methods on every cell they share (Δ, interval, sign test)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=inputs.results_dir,
                        help="results folder written by `bench run`")
    parser.add_argument("--method", required=True, type=inputs.text, help="the method to test")
    parser.add_argument("--baseline", default="source", type=inputs.text,
                        help="what it is compared with "
                        "(default source)")
    parser.add_argument("--suite", default=None, type=inputs.text,
                        help="comma-separated suites (default: all)")
    parser.add_argument("--metric", default="r1", choices=METRICS, help="metric (default r1)")
    parser.add_argument("--format", default="md", choices=FORMATS, help="output format")
    parser.add_argument("--out", default=None, type=inputs.out_file,
                        help="write to FILE instead of stdout")
    add_plugin_argument(parser)  # a plugin shift's order and maximum severity


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins

    load_plugins(args.plugin)
    df = read_results(args.results)
    suites = [s for s in (args.suite or "").split(",") if s]
    if suites:
        df = df[df["suite"].isin(suites)]
    # each suite at one version, as the README's tables read it: rows of two versions ran
    # another model or shift strength, so pooling them would mix two benchmarks
    read, chosen = compared_versions(df, sorted(set(df["suite"])))
    for method in (args.method, args.baseline):
        _check_version(df, read, chosen, method)
    table = compare_table(read, ResultStore(args.results).read_outcomes(), args.method,
                          args.baseline, args.metric)
    if chosen:
        table.title += "; " + ", ".join(with_versions(sorted(chosen), chosen))
    text = render(Leaderboard(args.metric, [table]), args.format)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _check_version(df, read, chosen: dict[str, str], method: str) -> None:
    """A method whose rows exist only at suite versions the comparison does not read is
    named with the versions it has, not reported as absent."""
    if method in set(read["method"]) or method not in set(df["method"]):
        return
    mine = df[df["method"] == method]
    held = sorted({f"{s} v{v}" for s, v in zip(mine["suite"], mine["suite_version"], strict=True)})
    read_at = ", ".join(with_versions(sorted(chosen), chosen))
    raise ConfigError(f"'{method}' has results only at {', '.join(held)}; compared: {read_at}",
                      "each suite is read at the newest version whose methods have all run; "
                      "pass --suite to pick the suites")
