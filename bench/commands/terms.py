"""`python -m bench terms RESULTS --method M [--suite S]`: which loss term drives a method's
update, and the common-space diagnostics, per stream (`bench.studies.term_summary`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.commands import inputs
from bench.engine.store import ResultStore, read_results

NAME = "terms"
HELP = ("which loss term drives a method's update per stream (each traced term's mean and "
        "largest value, gradient norms with --trace-grads) and its common-space diagnostics "
        "(before/after measures, mean conflict angle)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=inputs.results_dir,
                        help="results folder written by `bench run`")
    parser.add_argument("--method", required=True, type=inputs.text,
                        help="the method whose traces are summarised")
    parser.add_argument("--suite", default=None, type=inputs.text,
                        help="only this suite (default: all)")
    parser.add_argument("--out", default=None, type=inputs.out_file,
                        help="also write the Markdown to FILE")


def run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.studies.term_summary import picked_rows, report

    rows = read_results(args.results)
    for kind, value, present in (("method", args.method, rows["method"]),
                                 ("suite", args.suite, rows["suite"])):
        if value is not None and value not in set(present):
            raise ConfigError(f"no results for {kind} '{value}'",
                              f"present: {', '.join(sorted(set(present)))}")
    mine = picked_rows(rows, args.method, args.suite)["cell_id"].tolist()
    traces = ResultStore(args.results).read_traces(mine)  # only the summarised cells
    text = report(rows, traces, args.method, args.suite)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0
