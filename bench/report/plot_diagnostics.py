"""Figures of the common-space diagnostics (docs/diagnostics.md), where rows have them.

* `diagnostic_moves`: per suite · dataset · direction, one panel per measure (uniformity,
  gap, inter-modal similarity, consistency); per leaderboard row (method) its mean over
  the shifted cells and seeds on the source model (before, hollow marker) and as adapted
  (after, filled), joined by an arrow; the clean queries on the source model (in-domain)
  as a dotted line.
* `angle_traces`: per suite · dataset · direction, each row's gradient-conflict angle
  (`--trace-grads`) per adaptation step along the stream, the mean over its cells, with the
  90-degree line past which the update conflicts with the knowledge-keeping gradient.

Rows without diagnostics (stored before them, or with `--no-diagnostics`) and cells traced
without `--trace-grads` draw nothing: no figure, no line in the skipped list.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bench.report.tables import DIAGNOSTIC_MEASURES as MEASURES

LABELS = {"uniformity_q": "query uniformity", "gap": "modality gap",
          "intermodal_sim": "inter-modal similarity", "consistency": "consistency"}
CONFLICT_DEGREES = 90.0


def _figure(panels: int, width: float, height: float) -> tuple[Figure, list]:
    """A figure of `panels` side by side, each with its own y scale."""
    fig = Figure(figsize=(width * panels, height + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(1, panels, squeeze=False).ravel())


def diagnostic_moves(df: pd.DataFrame, style_of, rows_in_order, legend,
                     name) -> list[tuple[str, Figure]]:
    """Before -> after per measure and row, over the shifted cells (module docstring); the
    plotting helpers come from `bench.report.plots` (styles, row order, legend, name)."""
    cols = [f"{m}_{p}" for m in MEASURES for p in ("before", "after", "clean_before")]
    if not set(cols) <= set(df.columns):
        return []
    ok = df[(df["status"] == "ok") & (df["shift"] != "clean")
            & df[[f"{m}_before" for m in MEASURES]].notna().any(axis=1)]
    figs = []
    for key, g in ok.groupby(["suite", "dataset", "direction"]):
        means = g.groupby(["row", "row_order", "method"], as_index=False)[cols].mean()
        styles = style_of(means)
        order = rows_in_order(means)
        fig, axes = _figure(len(MEASURES), 2.6, 2.4)
        for ax, m in zip(axes, MEASURES, strict=True):
            for x, r in enumerate(order):
                v = means[means["row"] == r].iloc[0]
                st = styles[r]
                before, after = v[f"{m}_before"], v[f"{m}_after"]
                ax.plot([x], [before], marker=st["marker"], color=st["color"],
                        markerfacecolor="none", linestyle="none")
                ax.plot([x], [after], marker=st["marker"], color=st["color"],
                        linestyle="none", label=r)
                if np.isfinite(before) and np.isfinite(after):
                    ax.annotate("", (x, after), (x, before),
                                arrowprops={"arrowstyle": "->", "color": st["color"]})
            clean = means[f"{m}_clean_before"].mean()
            if np.isfinite(clean):
                ax.axhline(clean, color="0.4", linestyle=":", linewidth=1,
                           label="in-domain (clean, source)")
            ax.set_xticks(range(len(order)), order, rotation=45, ha="right")
            ax.set_title(LABELS[m])
        axes[0].set_ylabel("before (hollow) -> after (filled)")
        legend(fig, axes)
        fig.suptitle(f"{' · '.join(key)}: the common space before and after adaptation "
                     f"(mean over {g['shift'].nunique()} shifted cells and seeds)")
        figs.append((name("diagnostics", *key), fig))
    return figs


def step_angles(trace: pd.DataFrame) -> list[float]:
    """A cell's per-step conflict angles in stream order (undefined steps as NaN)."""
    out = []
    for value in trace.sort_values("batch")["grad_angles"]:
        if isinstance(value, str):
            out += [np.nan if a is None else float(a) for a in json.loads(value)]
    return out


def angle_traces(df: pd.DataFrame, traces: pd.DataFrame, style_of, rows_in_order,
                 legend, name) -> list[tuple[str, Figure]]:
    """Per-step conflict angle per row, mean over its traced cells, with the 90-degree line."""
    if "grad_angles" not in traces or traces["grad_angles"].isna().all():
        return []
    traced = traces[traces["grad_angles"].notna()]
    cols = ["cell_id", "row", "row_order", "method", "suite", "dataset", "direction"]
    ok = df[(df["status"] == "ok") & df["cell_id"].isin(set(traced["cell_id"]))][cols]
    figs = []
    for key, g in ok.groupby(["suite", "dataset", "direction"]):
        styles = style_of(g)
        fig, axes = _figure(1, 5.6, 2.6)
        ax = axes[0]
        for r in rows_in_order(g):
            cells = [step_angles(t) for _, t in
                     traced[traced["cell_id"].isin(g.loc[g["row"] == r, "cell_id"])]
                     .groupby("cell_id")]
            n = max(len(c) for c in cells)
            padded = np.full((len(cells), n), np.nan)
            for i, c in enumerate(cells):
                padded[i, :len(c)] = c
            with warnings.catch_warnings():  # a step undefined in every cell stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(padded, axis=0) if n else padded
            ax.plot(np.arange(n), mean, label=r, markevery=max(1, n // 8), **styles[r])
        ax.axhline(CONFLICT_DEGREES, color="0.3", linestyle="--", linewidth=1,
                   label="90 degrees: conflict above")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("adaptation step along the stream")
        ax.set_ylabel("angle(update, keep) (degrees)")
        legend(fig, axes)
        fig.suptitle(f"{' · '.join(key)}: conflict angle per step (mean over cells)")
        figs.append((name("angles", *key), fig))
    return figs
