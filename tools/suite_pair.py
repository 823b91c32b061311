"""Two suites side by side (`bench.report.suite_pair`): per method, each direction's average
R@1 over the shifts and its Δ vs source with the paired 95 % interval and each suite's own
Holm-corrected verdict. By default the Flickr-length `mini-c` beside the COCO-length
`mini-coco-c`: does the stream length change what the benchmark says?

    python tools/suite_pair.py RESULTS [RESULTS ...] [--suites mini-c,mini-coco-c] [--out F.md]

Each suite is read at one version (rows of another version are another model or shift
strength): the newest whose rows hold a method beside source. Several results folders are
read as one (the committed mini-coco-c cells live in their own
store, results/embedded/coco); `make coco` writes it for the committed results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markdown_report import report  # noqa: E402

from bench.api.errors import ConfigError  # noqa: E402
from bench.api.registry import load_builtins  # noqa: E402
from bench.engine.store import ResultStore, read_results  # noqa: E402
from bench.report.leaderboard import build  # noqa: E402
from bench.report.render import frame_markdown  # noqa: E402
from bench.report.suite_pair import common_shifts, suite_pair  # noqa: E402
from bench.report.versions import compared_versions, with_versions  # noqa: E402


def markdown(folders: list[Path], suites: tuple[str, str]) -> str:
    parts = [(f, read_results(f)) for f in folders]
    parts = [(f, rows[rows["suite"].isin(suites)]) for f, rows in parts]
    rows = pd.concat([r for _, r in parts], ignore_index=True)
    if rows.empty:
        raise ConfigError(f"no results for {' or '.join(suites)} in "
                          f"{', '.join(map(str, folders))}")
    rows, chosen = compared_versions(rows, suites)
    twice = rows["cell_id"][rows["cell_id"].duplicated()]
    if len(twice):
        raise ConfigError(f"cell {twice.iloc[0]} is in more than one folder",
                          "give each cell's folder once")
    rows, shift_notes = common_shifts(rows, suites)
    outcomes = pd.concat([ResultStore(f).read_outcomes(list(r["cell_id"])) for f, r in parts],
                         ignore_index=True)
    board = build(rows, "r1", list(suites), outcomes=outcomes)
    table, notes = suite_pair(board.tables, suites)
    notes = shift_notes + notes
    head = (f"R@1 (%) averaged over each suite's shifts at the level its leaderboard reads (the "
            f"level the suite file sets, else the maximum severity), mean over seeds; "
            f"Δ vs source paired on the same queries (95 % bootstrap interval) and the "
            f"verdict of the suite's own table (sign test, Holm across its methods); "
            f"{', '.join(with_versions(suites, chosen))}")
    return "\n".join([head, "", *frame_markdown(table, text_columns=("method",)),
                      *(["", *notes] if notes else [])])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, nargs="+", help="results folder(s), read as one")
    p.add_argument("--suites", default="mini-c,mini-coco-c",
                   help="two suites, comma-separated (default mini-c,mini-coco-c)")
    p.add_argument("--out", type=Path, help="also write the Markdown here")
    args = p.parse_args(argv)
    suites = tuple(s.strip() for s in args.suites.split(",") if s.strip())
    if len(suites) != 2:
        print(f"error: --suites takes two suites, got {args.suites!r}", file=sys.stderr)
        return 2
    load_builtins()
    return report(lambda: markdown(args.results, suites), args.out)


if __name__ == "__main__":
    sys.exit(main())
