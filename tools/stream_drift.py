"""R@1, query uniformity and inter-modal similarity along the stream for every method of one
suite version and direction, each beside source on the same cells (`bench.report.stream_drift`).

    python tools/stream_drift.py RESULTS [--suite mini-coco-c] [--direction t2i]
        [--version N] [--out F.md]

`tools/rank_vs_published.py` reads the same for the published baselines only; this one
takes every method the results hold (TCR and REST included), single-stream shifted cells,
clean left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markdown_report import report  # noqa: E402
from rank_vs_published import along_stream  # noqa: E402

from bench.api.errors import DataError  # noqa: E402
from bench.api.registry import SUITES, load_builtins  # noqa: E402
from bench.engine.store import ResultStore, read_results  # noqa: E402
from bench.report.versions import at_version  # noqa: E402

CELL_COLUMNS = ["cell_id", "method", "shift", "severity", "seed"]


def drift_text(results: Path, suite: str, direction: str, version: str | None) -> str:
    if suite not in SUITES:
        raise DataError(f"unknown suite {suite!r}")
    version = str(SUITES.get(suite).version) if version is None else version
    rows = read_results(results)
    rows = at_version(rows[(rows["suite"] == suite) & (rows["direction"] == direction)
                           & (rows["stream"] == "single") & (rows["shift"] != "clean")
                           & (rows["status"] == "ok")], version)
    if "source" not in set(rows["method"]):
        raise DataError(f"{results}: no source cells of {suite} v{version} {direction}")
    cells = rows[CELL_COLUMNS]
    store = ResultStore(results)
    outcomes = store.read_outcomes(list(cells["cell_id"]))
    head = (f"`{suite}` v{version} {direction}: {cells['shift'].nunique()} shifts, "
            f"{len(cells)} cells, methods {', '.join(sorted(set(cells['method'])))}")
    return "\n\n".join([head, *along_stream(store, cells, outcomes)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="results folder")
    p.add_argument("--suite", default="mini-coco-c")
    p.add_argument("--direction", default="t2i", choices=["i2t", "t2i"])
    p.add_argument("--version", help="suite version (default: the current one)")
    p.add_argument("--out", type=Path, help="also write the Markdown here")
    args = p.parse_args(argv)
    load_builtins()
    return report(lambda: drift_text(args.results, args.suite, args.direction, args.version),
                  args.out)


if __name__ == "__main__":
    sys.exit(main())
