"""Which loss term drives a method's update: the traced terms per stream, as a table
(`bench.studies.term_summary`).

    python tools/term_summary.py RESULTS --method rest [--suite mini-diverse] [--out F.md]

Gradient norms appear only for cells run with `bench run --trace-grads`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markdown_report import report  # noqa: E402

from bench.engine.store import ResultStore, read_results  # noqa: E402
from bench.studies.term_summary import markdown, picked_rows, summarise_terms  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="results folder")
    p.add_argument("--method", required=True)
    p.add_argument("--suite", help="only this suite")
    p.add_argument("--out", type=Path, help="also write the Markdown here")
    args = p.parse_args(argv)

    def text() -> str:
        rows = read_results(args.results)
        mine = picked_rows(rows, args.method, args.suite)["cell_id"].tolist()
        traces = ResultStore(args.results).read_traces(mine)  # only the summarised cells
        table = summarise_terms(rows, traces, args.method, args.suite)
        return markdown(table, args.method)

    return report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
