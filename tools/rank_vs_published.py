"""The measured ranking of source, tent, eata, sar, read, deyo beside the published BLIP
COCO-C ranking (docs/protocol.md section 7), with Kendall's tau (`bench.report.published_rank`).

    python tools/rank_vs_published.py RESULTS [--suite mini-coco-c] [--direction i2t,t2i] [--out F.md]

One section per suite version the results hold (the current one first; rows of different
versions are different models or shift strengths and never join) and direction (image
shifts, then text shifts where the results have them).

`make rank` runs it on the committed results; run the suite first, e.g.
`python -m bench run --method source,tent,eata,sar,read,deyo --suite mini-coco-c`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markdown_report import report  # noqa: E402

from bench.api.errors import DataError  # noqa: E402
from bench.api.registry import load_builtins  # noqa: E402
from bench.engine.store import ResultStore, read_results  # noqa: E402
from bench.report.published_rank import compare, markdown, versions  # noqa: E402
from bench.report.stream_drift import drift_markdown, outcome_parts, trace_parts  # noqa: E402

# the common-space measures read along the stream (docs/diagnostics.md)
STREAM_MEASURES = {"uniformity_q": "Query uniformity", "intermodal_sim": "Inter-modal similarity"}
from bench.report.versions import at_version  # noqa: E402


def rank_markdown(results: Path, suite: str, directions: list[str]) -> str:
    """One section per suite version the results hold (the current one first) and
    direction, with R@1 along the stream where the cells have per-query outcomes
    (`bench.report.stream_drift`); a version whose baselines are not all run yet gets one
    line saying so."""
    rows = read_results(results)
    parts, first_error = [], None
    for version in versions(rows, suite):
        for direction in directions:
            picked = at_version(rows[(rows["suite"] == suite) & (rows["direction"] == direction)],
                                version)
            if direction != directions[0] and picked.empty:
                continue  # the first direction is required; later ones only where run
            outcomes = ResultStore(results).read_outcomes(list(picked["cell_id"]))
            try:
                cmp = compare(rows, suite, direction, outcomes=outcomes, version=version)
            except DataError as err:
                first_error = first_error or err
                if not picked.empty:
                    parts.append(f"`{suite}` v{version} {direction}: {err.args[0]}")
                continue
            parts.append(markdown(cmp))
            if "source" in set(cmp.cells["method"]):
                parts += along_stream(ResultStore(results), cmp.cells, outcomes)
    if not any(p.startswith("Measured") for p in parts):
        raise first_error
    return "\n\n".join(parts)


def along_stream(store: ResultStore, cells, outcomes) -> list[str]:
    """R@1 and the common-space measures along the stream of the compared cells
    (`bench.report.stream_drift`), where the cells have per-query outcomes and traces."""
    out = []
    if not outcomes.empty:
        out.append(drift_markdown(cells, outcome_parts(outcomes), "R@1"))
    traces = store.read_traces(list(cells["cell_id"]))
    for measure, what in STREAM_MEASURES.items():
        per_cell = trace_parts(traces, measure)
        if cells[cells["method"] == "source"]["cell_id"].isin(per_cell.index).any():
            out.append(drift_markdown(cells, per_cell, f"{what} (`{measure}`)", digits=3))
    return out


def _directions(value: str) -> list[str]:
    """`i2t`, `t2i` or both as a comma list; anything else is refused, not dropped."""
    parts = value.split(",")
    if not parts or any(d not in ("i2t", "t2i") for d in parts):
        raise argparse.ArgumentTypeError(f"i2t, t2i or both (comma list), got {value!r}")
    return parts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="results folder")
    p.add_argument("--suite", default="mini-coco-c")
    p.add_argument("--direction", default="i2t,t2i", type=_directions,
                   help="comma list of i2t, t2i (default: both)")
    p.add_argument("--out", type=Path, help="also write the Markdown here")
    args = p.parse_args(argv)
    load_builtins()
    return report(lambda: rank_markdown(args.results, args.suite, args.direction), args.out)


if __name__ == "__main__":
    sys.exit(main())
