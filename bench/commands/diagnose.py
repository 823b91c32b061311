"""`python -m bench diagnose`: the common space and the gradient conflict of a suite.

Runs the source model and the given methods as ordinary cells (with `--trace-grads`, so the
per-step conflict angles are traced; a cell already stored is read, not rerun), then prints
the source model's in-domain vs shifted measures and each method's change by adaptation, and
draws them (docs/diagnostics.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.commands import inputs
from bench.commands import run as run_command

NAME = "diagnose"
HELP = ("diagnostics of the common space (uniformity, gap, inter-modal similarity, "
        "consistency) in-domain vs shifted, and per method how adaptation moved them and the "
        "gradient-conflict angles; prints tables and writes a PNG")


def add_arguments(p: argparse.ArgumentParser) -> None:
    run_command.add_arguments(p)  # the same options as `run`; --method defaults to source
    p.set_defaults(method=["source"])
    for action in p._actions:
        if action.dest == "method":
            action.required = False
    p.add_argument("--figure", type=inputs.out_file, default=None,
                   help="PNG to write (default: OUT/diagnose-SUITE.png)")


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins
    from bench.engine.planning import plan_run
    from bench.engine.runner import execute
    from bench.engine.store import ResultStore
    from bench.report.reported_diagnostics import figure_values
    from bench.studies.diagnose import figure, markdown, method_table, source_table

    load_plugins(args.plugin)
    opts = run_command.options_from_args(args)
    methods = ["source", *(m for m in opts.selection.methods if m != "source")]
    opts = opts.select(methods=methods, trace_grads=True, diagnostics=True)
    cells = plan_run(opts)
    if not cells:
        print("no cell to run (every suite was skipped)")
        return 0
    counts = execute(cells, opts.runtime)
    ran = {k: v for k, v in counts.items() if k not in ("planned", "skipped")}
    print(f"done: {counts['planned']} cells planned, {counts['skipped']} already stored"
          + "".join(f", {v} {k}" for k, v in sorted(ran.items())) + f"; results in {opts.runtime.out}")
    store = ResultStore(opts.runtime.out)
    ids = {c.cell_id for c in cells}
    rows = store.read()
    rows = rows[rows["cell_id"].isin(ids)]
    traces = store.read_traces(sorted(ids))
    missing = int(rows["gap_before"].isna().sum())
    if missing:
        print(f"note: {missing} stored rows have no diagnostics (stored before them or with "
              "--no-diagnostics); rerun them with --overwrite")
    suites = opts.selection.suites
    for suite in suites if suites != ["all"] else sorted(rows["suite"].unique()):
        part = rows[rows["suite"] == suite]
        if part.empty:
            continue
        models = list(part[["model", "pretrained"]].drop_duplicates().itertuples(index=False))
        published = figure_values(suite, [tuple(m) for m in models])
        source = source_table(part)
        per_method = method_table(part, traces)
        print()
        print(f"## {suite}")
        print()
        print(markdown(source, per_method, published))
        path = args.figure or Path(opts.runtime.out) / f"diagnose-{suite}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure(source, per_method, published).savefig(path, dpi=110)
        print(f"\nwrote {path}")
    return 0
