"""The uncertainty in the figures: Δ-vs-source heatmaps and interval bands.

* `delta_heatmap_axes`: Δ R@1 vs source on the same queries (the leaderboard's Δ table),
  a diverging colour map centred at 0; cells whose difference is not significant
  (sign test, 95 %, Holm across the column's methods) are greyed and hatched.
* `cell_bands`: the 95 % bootstrap interval of each (row, shift, severity) cell, over
  seeds x queries (`bench.report.stats`), drawn as a band around the severity curves.
* `trace_band`: online R@1 along a stream with a 95 % band: per window of batches,
  p +- 1.96 sqrt(p (1 - p) / n) over the n queries of the window pooled over seeds
  (normal approximation to the binomial; a band per point, not a simultaneous band).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from bench.report import stats
from bench.report.significance import BETTER, WORSE, Outcomes


def delta_heatmap_axes(ax, delta, columns: list[str], rows: list[str]) -> None:
    """Draw a Δ table (bench.report.tables.Table, kind delta) on `ax`, rows aligned with `rows`."""
    values = np.full((len(rows), len(columns)), np.nan)
    sig = np.zeros_like(values)
    words = [["" for _ in columns] for _ in rows]
    for i, row in enumerate(rows):
        if row not in delta.rows:
            words[i] = ["ref" if k == 0 else "" for k in range(len(columns))]
            continue
        for j, col in enumerate(columns):
            if col not in delta.columns:
                continue
            c = delta.cell(row, col)
            if c.status == "ok":
                values[i, j], sig[i, j] = c.value, c.sig
                arrow = BETTER if c.sig > 0 else WORSE if c.sig < 0 else ""
                words[i][j] = f"{c.value:+.1f}{arrow}"
    finite = np.abs(values[np.isfinite(values)])
    span = max(float(finite.max()) if finite.size else 1.0, 0.5)
    cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="#ffffff")
    shown = np.ma.masked_where(~np.isfinite(values) | (sig == 0), values)
    ax.imshow(shown, cmap=cmap, vmin=-span, vmax=span, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(columns)):
            if np.isfinite(values[i, j]) and sig[i, j] == 0:  # not significant: grey, hatched
                ax.add_patch(matplotlib.patches.Rectangle(
                    (j - 0.5, i - 0.5), 1, 1, facecolor="#e6e6e6", edgecolor="#b0b0b0",
                    hatch="///", linewidth=0))
            strong = sig[i, j] != 0 and abs(values[i, j]) > 0.6 * span  # dark end of RdBu
            ax.text(j, i, words[i][j], ha="center", va="center", fontsize=6,
                    color="white" if strong else "black")
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    ax.set_title("Δ vs source, paired (hatched: n.s.)", fontsize=9)


def cell_bands(df: pd.DataFrame, outcomes: Outcomes, keys: list[str]) -> dict[tuple, tuple]:
    """(lo, hi) of each group of ok rows by `keys` whose every row has per-query outcomes."""
    ok = df[(df["status"] == "ok") & df["r1"].notna()]
    out = {}
    for key, g in ok.groupby(keys):
        sample = outcomes.sample(g)
        if sample is not None:
            iv = stats.interval(sample, n_boot=1000, rng=stats.rng_for("band", *key))
            out[key] = (iv.lo, iv.hi)
    return out


def trace_band(outcomes: pd.DataFrame, cell_ids: list[str],
               window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(batch, lo, hi) of the moving-window online R@1 over the cells' queries (pooled over
    seeds), or None unless every cell has per-query outcomes."""
    if outcomes is None or outcomes.empty:
        return None
    mine = outcomes[outcomes["cell_id"].isin(cell_ids)]
    if set(mine["cell_id"]) != set(cell_ids):
        return None
    per_batch = (mine.assign(hit=mine["best_rank"] <= 1)
                 .groupby("batch")["hit"].agg(["sum", "count"]).sort_index())
    hits = per_batch["sum"].rolling(window, min_periods=1).sum().to_numpy(dtype=float)
    n = per_batch["count"].rolling(window, min_periods=1).sum().to_numpy(dtype=float)
    p = hits / n
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    return per_batch.index.to_numpy(), 100 * (p - half), 100 * (p + half)
