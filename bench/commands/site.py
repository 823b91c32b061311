"""`python -m bench site RESULTS [RESULTS ...] --out DIR`: the leaderboard as a static website."""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

from bench.api.errors import ConfigError
from bench.commands import inputs
from bench.commands.common import add_plugin_argument
from bench.report.memo import memo

NAME = "site"
HELP = "A static website of result folders: tables, methods, cells, compare, figures."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=inputs.results_dir, help="results folder(s) written by `bench run`")
    parser.add_argument("--out", required=True, type=inputs.out_dir, help="output folder (its pages are replaced)")
    parser.add_argument("--reported", action="store_true",
                        help="add published reference rows beside rows of the same backbone")
    parser.add_argument("--no-figures", action="store_true", help="leave the figures out")
    parser.add_argument("--timings", action="store_true",
                        help="print the wall and CPU seconds of each phase")
    parser.add_argument("--compare", default=None, type=inputs.text, metavar="A:B,...",
                        help="method pairs of the compare page (default: each method vs "
                             "source)")
    parser.add_argument("--no-cache", action="store_true",
                        help="compute every statistic and draw every figure afresh (no statistics "
                             "memo nor figure cache read or written)")
    parser.add_argument("--nested", action="store_true",
                        help="also give each nested store (a sub-folder of RESULTS holding "
                             "cells/, e.g. results/embedded/coco) a section of its own in "
                             "OUT/<sub-folder>/, linked from the index")
    add_plugin_argument(parser)  # a plugin shift's order and maximum severity


def _pairs(text: str) -> list[tuple[str, str]] | None:
    if not text:
        return None
    pairs = []
    for item in text.split(","):
        a, sep, b = item.partition(":")
        if not sep or not a or not b:
            raise ConfigError(f"--compare item '{item}' is not METHOD:BASELINE",
                              "e.g. --compare tent:source,rest:tcr")
        pairs.append((a, b))
    return pairs


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins
    from bench.site.build import build_site, section_summary
    from bench.site.load import nested_stores, read_stores

    load_plugins(args.plugin)
    pairs = _pairs(args.compare)
    nested = nested_stores(args.results) if args.nested else []
    start, cpu = time.perf_counter(), time.process_time()
    inputs = read_stores(args.results, cached=not args.no_cache)
    sections = [(name, read_stores([folder], cached=not args.no_cache))
                for name, folder in nested]
    read = (time.perf_counter() - start, time.process_time() - cpu)
    options = {"reported": args.reported, "figures": not args.no_figures,
               "cache": not args.no_cache}
    # the bootstraps that `leaderboard` memoised, read back by their inputs (bench.report.memo);
    # the memo's keys are content hashes, so one folder's memo serves every table
    with nullcontext() if args.no_cache else memo(args.results[0]):
        report = build_site(inputs, args.out, pairs=pairs, **options,
                            sections=[section_summary(n, i) for n, i in sections])
    # a nested store's section: its own tables and ranking, each method vs source compared
    for (name, section), (_, folder) in zip(sections, nested, strict=True):
        with nullcontext() if args.no_cache else memo(folder):
            done = build_site(section, args.out / name, section=name, **options)
        report.pages += [f"{name}/{page}" for page in done.pages]
        report.figures += done.figures
        report.messages += [f"{name}: {line}" for line in done.messages]
        for phase, (wall, busy) in done.phases.items():
            before = report.phases.get(phase, (0.0, 0.0))
            report.phases[phase] = (before[0] + wall, before[1] + busy)
    for line in report.messages:
        print(line)
    phases = {"read stores": read} | report.phases
    print(f"wrote {report.out}/index.html: {len(report.pages)} pages, {report.figures} figures "
          f"in {time.perf_counter() - start:.1f} s (CPU {time.process_time() - cpu:.1f} s)")
    if args.timings:
        for name, (wall, busy) in phases.items():
            print(f"  {name}: {wall:.1f} s (CPU {busy:.1f} s)")
    return 0
