"""Along the stream: whether a method's change over source is there from the first batches
or builds up as it adapts, in R@1 and in the common space.

Online methods see a cell's queries in order and carry their adapted weights from batch to
batch, so a change over source that grows from the first to the last part of the stream is
accumulated by adaptation (reinforced errors, drift), while one that is there from the
start is not. Each cell's stream is cut into `parts` runs of batches (batch ``b`` of ``n``
falls in part ``floor(b * parts / n) + 1``).

- R@1 of a part (`outcome_parts`): the share of its queries whose best relevant item ranks
  first in the stored per-query outcomes (the cell R@1's optimistic tie rule).
- A common-space measure of a part (`trace_parts`): the trace batches' values of that
  measure (`bench.engine.diagnostics`: the batch's scored queries against the gallery),
  averaged with each batch weighted by its number of queries.

A method's parts are averaged over its cells; its change is taken against the reference
method's parts on the same (shift, severity, seed) cells only.
"""

from __future__ import annotations

import pandas as pd

from bench.api.errors import DataError

__all__ = ["drift", "drift_markdown", "outcome_parts", "trace_parts"]

KEY = ["shift", "severity", "seed"]
WORDS = {2: "half", 3: "third", 4: "quarter", 5: "fifth"}


def _part(batch: pd.Series, cell: pd.Series, parts: int) -> pd.Series:
    n = batch.groupby(cell).transform("max") + 1
    return batch * parts // n + 1


def _by_part(values: pd.Series, cell: pd.Series, part: pd.Series, parts: int,
             weight: pd.Series | None = None) -> pd.DataFrame:
    if weight is None:
        table = values.groupby([cell, part]).mean().unstack()
    else:
        sums = (values * weight).groupby([cell, part]).sum()
        table = (sums / weight.groupby([cell, part]).sum()).unstack()
    table.columns = [int(c) for c in table.columns]
    return table.reindex(columns=range(1, parts + 1))


def outcome_parts(outcomes: pd.DataFrame, parts: int = 5) -> pd.DataFrame:
    """R@1 (%) of each part of each cell's stream: index cell_id, columns 1..parts."""
    hit = (outcomes["best_rank"] == 1).astype(float) * 100.0
    return _by_part(hit, outcomes["cell_id"],
                    _part(outcomes["batch"], outcomes["cell_id"], parts), parts)


def trace_parts(traces: pd.DataFrame, measure: str, parts: int = 5) -> pd.DataFrame:
    """One trace measure per part of each cell's stream (batches weighted by their queries);
    cells whose traces lack the measure are left out."""
    t = traces[traces[measure].notna()] if measure in traces else traces.iloc[:0]
    if t.empty:
        return pd.DataFrame(columns=range(1, parts + 1), dtype=float)
    return _by_part(t[measure].astype(float), t["cell_id"],
                    _part(t["batch"], t["cell_id"], parts), parts, t["n"].astype(float))


def drift(rows: pd.DataFrame, per_cell: pd.DataFrame, reference: str = "source",
          ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per method of `rows` (cells: cell_id, method, shift, severity, seed): the mean of each
    part of `per_cell` (index cell_id, one column per part) over its cells, and the same
    minus `reference`'s on the cells both have. Returns (means, changes, reference cells)."""
    cols = list(per_cell.columns)
    joined = rows.set_index("cell_id")[["method", *KEY]].join(per_cell, how="inner")
    ref = joined[joined["method"] == reference].set_index(KEY)[cols]
    if ref.empty:
        raise DataError(f"no per-batch records of {reference}'s cells",
                        "rerun its cells: outcomes and traces are stored with every new cell")
    means, changes = {}, {}
    for method, g in joined.groupby("method", sort=False):
        g = g.set_index(KEY)[cols]
        both = g.index.intersection(ref.index)
        means[method] = g.mean()
        changes[method] = g.loc[both].mean() - ref.loc[both].mean()
    return pd.DataFrame(means).T, pd.DataFrame(changes).T, len(ref)


def drift_markdown(rows: pd.DataFrame, per_cell: pd.DataFrame, what: str,
                   reference: str = "source", digits: int = 1) -> str:
    """The table of `what` per part of the stream for each method, its change over
    `reference` on the same cells in brackets."""
    means, changes, n = drift(rows, per_cell, reference)
    parts = len(per_cell.columns)
    word = WORDS.get(parts, f"1/{parts}")
    heads = [{1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th") for k in range(1, parts + 1)]
    lines = [f"{what} along the stream: each cell's batches cut into {parts} equal runs (the "
             f"first {word} of the stream to the last), averaged over the {n} {reference} "
             f"cells and the same cells of each method; in brackets the change over "
             f"{reference}:", "",
             "| method | " + " | ".join(f"{h} {word}" for h in heads) + " |",
             "|---|" + "---:|" * parts]
    order = [reference] + sorted(m for m in means.index if m != reference)
    for method in order:
        cells = [f"{means.loc[method, k]:.{digits}f}" + (
            "" if method == reference else f" ({changes.loc[method, k]:+.{digits}f})")
            for k in range(1, parts + 1)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
