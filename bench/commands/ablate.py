"""`python -m bench ablate`: a method's full config and each component removed in turn.

Every variant runs as ordinary cells of the result store (labels from `config_label`), so
the command resumes like `run` and shares cells with it; the table is printed in Markdown.
"""

from __future__ import annotations

import argparse

from bench.commands import inputs
from bench.commands import run as run_command

NAME = "ablate"
HELP = ("ablation study: run one method's full config (--method, e.g. rest) and each component "
        "removed in turn as cells, then print the table (rows = variants, columns = R@1)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    # the same options as `run`; --method must name exactly one method, and --set
    # METHOD.FIELD=VALUE changes its full config
    run_command.add_arguments(p)
    p.add_argument("--table", type=inputs.out_file, default=None,
                   help="also write the table to FILE (Markdown)")


def _title(method: str, opts, cells: list) -> str:
    """Names each suite at the version its cells ran, so tables of two versions never read alike."""
    seeds = ",".join(map(str, opts.selection.seeds))
    limit = f", first {opts.protocol.limit} queries" if opts.protocol.limit else ""
    suites = ",".join(sorted({f"{c.suite} v{c.suite_version}" for c in cells}))
    return (f"Ablation of {method} on {suites} ({len(cells)} cells per variant, "
            f"seed {seeds}{limit}; R@1)")


def run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.api.registry import load_plugins
    from bench.engine.planning import plan_run
    from bench.engine.runner import execute
    from bench.engine.settings import silent
    from bench.engine.store import ResultStore
    from bench.studies.ablation import markdown, table_rows, variants

    load_plugins(args.plugin)
    if len(args.method) != 1:
        raise ConfigError("ablate takes exactly one --method", "e.g. --method rest")
    method = args.method[0]
    opts = run_command.options_from_args(args)
    others = sorted(set(opts.selection.overrides) - {method})
    if others:
        raise ConfigError(f"--set/--config name {', '.join(others)}, not the ablated {method}")
    cells_by_variant = {}
    quiet = opts.run_with(log=silent)  # "skip suite ..." lines once
    for k, v in enumerate(variants(method, opts.selection.overrides.get(method))):
        cells_by_variant[v.name] = plan_run((opts if k == 0 else quiet).select(
            overrides={method: v.overrides}))
    unique = {c.cell_id: c for cells in cells_by_variant.values() for c in cells}
    if not unique:
        print("no cell to run (every suite was skipped)")
        return 0
    counts = execute(list(unique.values()), opts.runtime)
    ran = {k: v for k, v in counts.items() if k not in ("planned", "skipped")}
    print(f"done: {counts['planned']} cells planned, {counts['skipped']} already stored"
          + "".join(f", {v} {k}" for k, v in sorted(ran.items())) + f"; results in {opts.runtime.out}")
    table = table_rows(cells_by_variant, ResultStore(opts.runtime.out).read())
    text = markdown(table, _title(method, opts, next(iter(cells_by_variant.values()))))
    print()
    print(text)
    if args.table:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.table}")
    return 0
