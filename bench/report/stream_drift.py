"""R@1 along the stream: whether a method's change over source is there from the first
batches or builds up as it adapts.

Online methods see a cell's queries in order and carry their adapted weights from batch to
batch, so a change over source that grows from the first to the last part of the stream is
accumulated by adaptation (reinforced errors, drift), while one that is there from the
start is not. Each cell's stream is cut into `parts` runs of batches (batch ``b`` of ``n``
falls in part ``floor(b * parts / n) + 1``); a part's R@1 is the share of its queries whose
best relevant item ranks first in the stored per-query outcomes (the cell R@1's optimistic
tie rule). A method's parts are averaged over its cells; its change is taken against the
reference method's parts on the same (shift, severity, seed) cells only.
"""

from __future__ import annotations

import pandas as pd

from bench.api.errors import DataError

__all__ = ["cell_parts", "drift", "drift_markdown"]

KEY = ["shift", "severity", "seed"]
WORDS = {2: "half", 3: "third", 4: "quarter", 5: "fifth"}


def cell_parts(outcomes: pd.DataFrame, parts: int = 5) -> pd.DataFrame:
    """R@1 (%) of each part of each cell's stream: index cell_id, columns 1..parts."""
    o = outcomes[["cell_id", "batch", "best_rank"]]
    n = o.groupby("cell_id")["batch"].transform("max") + 1
    part = o["batch"] * parts // n + 1
    hit = (o["best_rank"] == 1).astype(float) * 100.0
    table = hit.groupby([o["cell_id"], part]).mean().unstack()
    table.columns = [int(c) for c in table.columns]
    return table.reindex(columns=range(1, parts + 1))


def drift(rows: pd.DataFrame, outcomes: pd.DataFrame, reference: str = "source",
          parts: int = 5) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per method of `rows` (cells: cell_id, method, shift, severity, seed): the mean R@1 of
    each part over its cells, and the same minus `reference`'s on the cells both have.
    Returns (R@1 per part, change per part, number of reference cells)."""
    per_cell = rows.set_index("cell_id")[["method", *KEY]].join(cell_parts(outcomes, parts),
                                                                 how="inner")
    cols = list(range(1, parts + 1))
    ref = per_cell[per_cell["method"] == reference].set_index(KEY)[cols]
    if ref.empty:
        raise DataError(f"no per-query outcomes of {reference}'s cells",
                        "rerun its cells: outcomes are stored with every new cell")
    means, changes = {}, {}
    for method, g in per_cell.groupby("method", sort=False):
        g = g.set_index(KEY)[cols]
        both = g.index.intersection(ref.index)
        means[method] = g.mean()
        changes[method] = g.loc[both].mean() - ref.loc[both].mean()
    return pd.DataFrame(means).T, pd.DataFrame(changes).T, len(ref)


def drift_markdown(rows: pd.DataFrame, outcomes: pd.DataFrame, reference: str = "source",
                   parts: int = 5) -> str:
    """The drift table: each method's R@1 per part of the stream and, in brackets, its change
    over `reference` on the same cells."""
    means, changes, n = drift(rows, outcomes, reference, parts)
    word = WORDS.get(parts, f"1/{parts}")
    heads = [{1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th") for k in range(1, parts + 1)]
    lines = [f"R@1 along the stream: each cell's batches cut into {parts} equal runs (the "
             f"first {word} of the stream to the last), averaged over the {n} {reference} "
             f"cells and the same cells of each method; in brackets the change over "
             f"{reference}:", "",
             "| method | " + " | ".join(f"{h} {word}" for h in heads) + " |",
             "|---|" + "---:|" * parts]
    order = [reference] + sorted(m for m in means.index if m != reference)
    for method in order:
        cells = [f"{means.loc[method, k]:.1f}" + ("" if method == reference else
                                                  f" ({changes.loc[method, k]:+.1f})")
                 for k in range(1, parts + 1)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
