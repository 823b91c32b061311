"""``perf diagnostics``: what the common-space diagnostics add to each cell's time, its
``wall_s`` off, warm (the source passes built before) and cold (built by the cell itself,
the disk cache bypassed), interleaved rounds, medians. `bench.studies.diagnostics_cost`
does the timing."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from bench.commands import inputs
from bench.commands.common import add_selection_arguments


def add_parser(sub, add_model_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
    d = sub.add_parser("diagnostics", help="what the common-space diagnostics add to each "
                       "cell's time: off, warm (source passes built) and cold (built by the cell)")
    d.add_argument("--method", default="source,tcr", type=inputs.text,
                   help="comma list of methods")
    d.add_argument("--suite", default="smoke", type=inputs.text)
    d.add_argument("--limit", type=inputs.count, default=None, help="first N queries per cell")
    add_model_arguments(d)
    d.add_argument("--threads", type=inputs.count, default=1, help="torch threads (default 1)")
    d.add_argument("--repeat", type=inputs.count, default=3,
                   help="interleaved rounds per cell (each mode once per round, the order "
                        "rotating); medians reported")
    add_selection_arguments(d)


def run(args: argparse.Namespace, fields: dict, cells_label: str) -> int:
    """``fields``: the `RunSettings.of` fields of `perf`'s timed runs; ``cells_label``: the
    timed cells in words."""
    from bench.api.registry import load_builtins
    from bench.studies.diagnostics_cost import cell_cost, cost_table
    from bench.studies.inprocess import plan_in_process, torch_threads

    load_builtins()
    methods = [m for m in args.method.split(",") if m]
    inputs.check_names(methods=methods, suites=args.suite)
    run_ = plan_in_process(methods, args.suite, args.limit, fields)
    results = []
    with torch_threads(args.threads):
        for k, cell in enumerate(run_.cells, 1):
            start = time.perf_counter()
            results.append(cell_cost(cell, run_.res, args.repeat, run_.run_id))
            print(f"[{k}/{len(run_.cells)}] {cell.title}: {time.perf_counter() - start:.1f} s",
                  file=sys.stderr, flush=True)
    print(f"cells: {cells_label}; device {run_.device}, {args.threads} thread(s); "
          f"{args.repeat} interleaved round(s) per cell after one untimed run off and warm; "
          "the cell's wall_s with diagnostics off, warm (source passes built before) and cold "
          "(built by the cell itself)")
    print(cost_table(results))
    return 0
