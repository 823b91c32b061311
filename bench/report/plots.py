"""Figures of a results folder: severity curves, heatmaps, stream traces, retention, and
where rows have them the common-space diagnostics (`bench.report.plot_diagnostics`).

Lines and heatmap rows are the leaderboard's rows (`bench.report.order.ROW_KEYS`: a method
run with other weights, protocol or inputs is its own line, never averaged in). With
per-query outcomes, curves carry 95 % interval bands and each heatmap has a Δ-vs-source
panel beside it (`bench.report.plot_stats`).

Figures are built with `matplotlib.figure.Figure` and the Agg canvas, never pyplot,
so nothing global changes and figures are freed with their last reference. Each
method keeps one marker, line style and colour everywhere, readable in greyscale.
PNG and PDF are written without dates so committed figures regenerate identically.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.report.order import (
    DIVERSE_STREAMS,
    ROW_KEYS,
    prepare,
    ranked_methods,
    row_labels,
    shift_key,
    stream_key,
)
from bench.report.plot_diagnostics import angle_traces, diagnostic_moves
from bench.report.plot_stats import cell_bands, delta_heatmap_axes, trace_band
from bench.report.significance import Outcomes
from bench.report.versions import compared_versions

STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.3,
         "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.3,
         "lines.markersize": 4, "pdf.fonttype": 42, "svg.hashsalt": "bench"}
# Okabe-Ito: colour-blind safe; markers and dashes carry the identity in greyscale.
COLORS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#999999")
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p")
DASHES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}
GROUP = ["suite", "dataset", "direction"]


def method_style(method: str, others: list[str] | None = None) -> dict:
    """Marker, line style and colour of a method, the same in every figure."""
    ranked = ranked_methods()
    if method in ranked:
        i = ranked.index(method)
    else:  # plugins: after the ranked methods, alphabetically
        i = len(ranked) + sorted(set(others or [method]) | {method}).index(method)
    return {"marker": MARKERS[i % len(MARKERS)], "linestyle": DASHES[i % len(DASHES)],
            "color": COLORS[i % len(COLORS)]}


def _style_of(g: pd.DataFrame) -> dict[str, dict]:
    """Style of each row label, from its method."""
    pairs = dict(zip(g["row"], g["method"], strict=True))
    ranked = ranked_methods()
    others = sorted({m for m in pairs.values() if m not in ranked})
    return {r: method_style(m, others) for r, m in pairs.items()}


def _rows_in_order(g: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(g.sort_values("row_order")["row"]))


def with_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Add `row` (the leaderboard's row label within each suite · dataset · direction) and
    `row_order`; the figures group by these, never by method alone."""
    df = df.copy()
    df["row"], df["row_order"] = "", 0
    for _, g in df.groupby(GROUP):
        labels = row_labels(g)
        keys = list(g[ROW_KEYS].itertuples(index=False, name=None))
        df.loc[g.index, "row"] = [labels[k] for k in keys]
        df.loc[g.index, "row_order"] = [list(labels).index(k) for k in keys]
    return df


def _seed_mean(df: pd.DataFrame) -> pd.DataFrame:
    """ok rows' R@1 averaged over seeds, one row per (group, stream, shift, severity, row)."""
    ok = df[(df["status"] == "ok") & df["r1"].notna()]
    keys = GROUP + ["stream", "shift", "severity", "row", "row_order", "method"]
    return ok.groupby(keys, as_index=False)["r1"].mean()


def _grid(n: int, ncols: int = 4, size: tuple = (2.5, 2.1)) -> tuple[Figure, list]:
    """A figure with exactly n panels (unused grid slots removed)."""
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows + 0.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel())
    for ax in axes[n:]:
        ax.remove()
    return fig, axes[:n]


def _legend(fig: Figure, axes: list) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:  # a method may be absent from the first panel
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 8),
                   frameon=False)


def _name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p) for p in parts if p)


def severity_curves(df: pd.DataFrame, outcomes: Outcomes | None = None) -> list[tuple[str, Figure]]:
    """R@1 vs severity, one panel per shift, per (suite, dataset, direction, stream); with
    per-query outcomes, a 95 % interval band around each curve."""
    means = _seed_mean(df)
    bands = cell_bands(df, outcomes, GROUP + ["stream", "row", "shift", "severity"]) \
        if outcomes is not None and outcomes.by_cell else {}
    figs = []
    for key, g in means.groupby(GROUP + ["stream"]):
        shifted = g[g["shift"] != "clean"]
        if shifted["severity"].nunique() < 2:
            continue
        shifts = sorted(set(shifted["shift"]), key=shift_key)
        rows = _rows_in_order(g)
        styles = _style_of(g)
        fig, axes = _grid(len(shifts))
        for ax, shift in zip(axes, shifts, strict=True):
            for m in rows:
                # the clean cell, when run, is the curve's severity-0 point
                pts = g[(g["row"] == m) & g["shift"].isin([shift, "clean"])]
                pts = pts.sort_values("severity")
                if len(pts):
                    ax.plot(pts["severity"], pts["r1"], label=m, **styles[m])
                    band = [bands.get((*key, m, sh, sev)) for sh, sev in
                            zip(pts["shift"], pts["severity"], strict=True)]
                    if band and all(band):
                        ax.fill_between(pts["severity"], [b[0] for b in band],
                                        [b[1] for b in band], color=styles[m]["color"],
                                        alpha=0.15, linewidth=0)
            ax.set_title(shift)
            ax.set_xlabel("severity")
            ax.set_xticks(sorted(set(g.loc[g["shift"].isin([shift, "clean"]), "severity"])))
        axes[0].set_ylabel("R@1 (%)")
        _legend(fig, axes)
        fig.suptitle(f"{' · '.join(key)}: R@1 vs severity")
        figs.append((_name("severity", *key), fig))
    return figs


def heatmaps(df: pd.DataFrame, outcomes: Outcomes | None = None) -> list[tuple[str, Figure]]:
    """Rows x shifts R@1 at maximum severity (the leaderboard's main table), values written
    in the cells; with per-query outcomes, the Δ-vs-source panel beside it."""
    from bench.report.leaderboard import main_table  # the one place the table's numbers come from
    from bench.report.significance import annotate

    figs = []
    for key, g in df.groupby(GROUP + ["stream"]):
        labels = row_labels(g)
        table = main_table(key, g, "r1", labels, outcomes=outcomes)
        delta = annotate(table)
        figs.append((_name("heatmap", *key), heatmap_figure(key, table, delta)))
    return figs


def heatmap_figure(key: tuple, table, delta=None) -> Figure:
    """One main table (rows x shift columns, R@1 at maximum severity) as a heatmap, with
    its Δ-vs-source table beside it when given; non-ok cells are said, not coloured."""
    cols = [c for c in table.columns if c not in ("Avg.", "shifts ok")]
    values = np.full((len(table.rows), len(cols)), np.nan)
    words = [["" for _ in cols] for _ in table.rows]
    for i, row in enumerate(table.rows):
        for j, col in enumerate(cols):
            c = table.cell(row, col)
            if c.status == "ok":
                values[i, j] = c.value
                words[i][j] = f"{c.value:.1f}"
            elif c.status != "blank":  # failed / diverged / unavailable / not run
                words[i][j] = "–" if c.status == "missing" else c.status[:4]
    return _heatmap(key, table.rows, cols, values, words, delta)


def _heatmap(key: tuple, rows: list, cols: list, values: np.ndarray, words: list,
             delta=None) -> Figure:
    width = max(3.4, 1.2 + 0.55 * len(cols))  # room for the panel titles
    fig = Figure(figsize=(width * (2 if delta is not None else 1), 0.9 + 0.32 * len(rows)),
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2 if delta is not None else 1, 1)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#e6e6e6")
    finite = values[np.isfinite(values)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=lo, vmax=max(hi, lo + 1e-6),
              aspect="auto")
    mid = (lo + hi) / 2
    for i in range(len(rows)):
        for j in range(len(cols)):
            dark = np.isfinite(values[i, j]) and values[i, j] < mid  # viridis is dark when low
            ax.text(j, i, words[i][j], ha="center", va="center", fontsize=6,
                    color="white" if dark else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    if delta is None:
        ax.set_title(f"{' · '.join(key)}: R@1 (%) at max severity")
    else:
        ax.set_title("R@1 (%) at max severity", fontsize=9)
        fig.suptitle(" · ".join(key))
        delta_heatmap_axes(fig.add_subplot(1, 2, 2, sharey=ax), delta, cols, rows)
    return fig


def stream_traces(df: pd.DataFrame, traces: pd.DataFrame,
                  outcomes: pd.DataFrame | None = None) -> list[tuple[str, Figure]]:
    """Online R@1 along diverse streams, smoothed; continual segments shaded; with
    per-query outcomes, a 95 % band per moving window."""
    rows = df[df["stream"].isin(DIVERSE_STREAMS)]
    cols = ["cell_id", "method", "row", "row_order", "stream", "shift"] + GROUP
    t = traces.merge(rows[cols], on="cell_id")
    figs = []
    for key, g in t.groupby(GROUP):
        panels = sorted(set(zip(g["stream"], g["shift"], strict=True)),
                        key=lambda p: (stream_key(p[0]), p[1]))
        styles = _style_of(g)
        fig, axes = _grid(len(panels), ncols=2, size=(3.6, 2.4))
        for ax, (stream, shift) in zip(axes, panels, strict=True):
            p = g[(g["stream"] == stream) & (g["shift"] == shift)]
            if stream == "continual":
                _shade_segments(ax, p)
            for m in _rows_in_order(p):
                mine = p[p["row"] == m]
                online = mine.groupby("batch")["r1"].mean()  # over seeds
                window = max(1, min(len(online) // 10, 25))
                ax.plot(online.index, online.rolling(window, min_periods=1).mean(), label=m,
                        markevery=max(1, len(online) // 8), **styles[m])
                band = trace_band(outcomes, sorted(set(mine["cell_id"])), window)
                if band is not None:
                    ax.fill_between(band[0], band[1], band[2], color=styles[m]["color"],
                                    alpha=0.15, linewidth=0)
            ax.set_title(f"{stream}: {shift}")
            ax.set_xlabel("batch")
        axes[0].set_ylabel("online R@1 (%), moving average")
        _legend(fig, axes)
        fig.suptitle(f"{' · '.join(key)}: online R@1 along the stream")
        figs.append((_name("stream", *key), fig))
    return figs


def _shade_segments(ax, panel: pd.DataFrame) -> None:
    """Alternate grey bands over the contiguous segments of a continual stream."""
    first = panel[panel["cell_id"] == panel["cell_id"].min()].sort_values("batch")
    seg = first["segment"].fillna("").to_numpy()
    batch = first["batch"].to_numpy()
    starts = [0] + [i for i in range(1, len(seg)) if seg[i] != seg[i - 1]]
    for k, s in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(seg)
        if k % 2 == 0:
            ax.axvspan(batch[s] - 0.5, batch[end - 1] + 0.5, color="0.9", lw=0, zorder=0)
        ax.text(batch[s], 1.0, seg[s], transform=ax.get_xaxis_transform(), fontsize=5,
                rotation=90, va="top", ha="left", color="0.35")


def retention_scatter(df: pd.DataFrame) -> list[tuple[str, Figure]]:
    """Retention R@1 (clean queries after adaptation) vs the adapted stream's R@1."""
    ok = df[(df["status"] == "ok") & df["retention_r1"].notna() & df["r1"].notna()]
    keys = GROUP + ["stream", "shift", "row", "row_order", "method"]
    means = ok.groupby(keys, as_index=False)[["r1", "retention_r1"]].mean()
    figs = []
    for key, g in means.groupby(GROUP):
        fig = Figure(figsize=(3.6, 3.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        styles = _style_of(g)
        for m in _rows_in_order(g):
            pts = g[g["row"] == m]
            st = styles[m]
            ax.scatter(pts["r1"], pts["retention_r1"], marker=st["marker"], color=st["color"],
                       label=m, s=24)
            for _, r in pts.iterrows():
                ax.annotate(r["stream"], (r["r1"], r["retention_r1"]), fontsize=5,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("R@1 on the shifted stream (%)")
        ax.set_ylabel("retention R@1 (clean, after) (%)")
        ax.legend(frameon=False)
        ax.set_title(f"{' · '.join(key)}: retention vs adaptation")
        figs.append((_name("retention", *key), fig))
    return figs


def build_figures(df: pd.DataFrame, traces: pd.DataFrame | None = None,
                  suites: list[str] | None = None, outcomes: pd.DataFrame | None = None,
                  ) -> tuple[list[tuple[str, Figure]], list[str]]:
    """Every figure the rows support, and one line per kind of figure skipped. Each suite's
    rows are read at one version (`compared_versions`: the newest whose methods have all
    run), as the README reads them: rows of two versions ran another model or shift
    strength and never share a figure. Suites not registered pass unchanged."""
    df = prepare(df)
    if suites:
        df = df[df["suite"].isin(suites)]
    df, _ = compared_versions(df, sorted(set(df["suite"])))
    df = with_rows(df)
    traces = traces if traces is not None else pd.DataFrame(columns=["cell_id"])
    per_query = Outcomes(outcomes, "r1")
    figs, skipped = [], []
    with matplotlib.rc_context(STYLE):
        for what, fn, why in (
            ("severity curves", lambda d: severity_curves(d, per_query),
             "no group has more than one severity"),
            ("heatmaps", lambda d: heatmaps(d, per_query), "no ok rows"),
            ("stream traces", lambda d: stream_traces(d, traces, outcomes),
             "no traces of mixed / continual / mixed-severity streams"),
            ("retention scatter", retention_scatter, "no ok rows with retention_r1"),
        ):
            made = fn(df) if len(df) else []
            figs += made
            if not made:
                skipped.append(f"skipped {what}: {why}")
        if len(df):  # only where rows (and traces) have them; nothing said otherwise
            helpers = (_style_of, _rows_in_order, _legend, _name)
            figs += diagnostic_moves(df, *helpers)
            figs += angle_traces(df, traces, *helpers)
    return figs, skipped


def save_figures(figs: list[tuple[str, Figure]], out_dir: str | Path,
                 formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write each figure in each format, without dates in the metadata."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context(STYLE):
        for name, fig in figs:
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                fig.savefig(path, dpi=150, metadata=METADATA.get(fmt))
                paths.append(path)
    return paths
