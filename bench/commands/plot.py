"""`python -m bench plot RESULTS`: severity curves, heatmaps, stream traces, retention."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.api.errors import ConfigError
from bench.commands import inputs
from bench.commands.common import add_plugin_argument
from bench.engine.store import ResultStore, read_results

NAME = "plot"
HELP = "Figures of a results folder (PNG and PDF): severity curves, heatmaps, streams."
FORMATS = ("png", "pdf", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=inputs.results_dir,
                        help="results folder written by `bench run`")
    parser.add_argument("--out", default=None, type=inputs.out_dir,
                        help="output folder (default RESULTS/figures)")
    parser.add_argument("--suite", default=None, type=inputs.text,
                        help="comma-separated suites (default: all)")
    parser.add_argument("--format", default="png,pdf", type=inputs.text,
                        help="comma-separated: png, pdf, svg")
    add_plugin_argument(parser)  # a plugin shift's order and maximum severity


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins

    load_plugins(args.plugin)
    formats = tuple(f for f in args.format.split(",") if f)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"unknown figure format {', '.join(bad) or '(none)'}",
                          f"known: {', '.join(FORMATS)}")
    out = args.out or inputs.require(inputs.out_dir, str(Path(args.results) / "figures"),
                                     "--out (default RESULTS/figures)")
    df = read_results(args.results)
    suites = [s for s in (args.suite or "").split(",") if s]
    absent = [s for s in suites if s not in set(df["suite"])]
    if absent:
        raise ConfigError(f"no results for suite(s) {', '.join(absent)}",
                          f"present: {', '.join(sorted(set(df['suite'])))}")
    from bench.report.plots import build_figures, save_figures  # matplotlib only when plotting

    store = ResultStore(args.results)
    figs, skipped = build_figures(df, store.read_traces(), suites or None,
                                  outcomes=store.read_outcomes())
    for line in skipped:
        print(line, file=sys.stderr)
    for path in save_figures(figs, out, formats):
        print(path)
    return 0
