"""`bench diagnose`: REST's Figure 1(b) for bench, from the rows' common-space diagnostics.

Per suite and direction, the source model on in-domain (clean) and on shifted queries: query
uniformity, query-gallery gap, inter-modal similarity and consistency (bench.engine.diagnostics)
as grouped bars; per method, how adaptation moved them (after - before, over the shifted
cells) and the traced gradient-conflict angles (`run --trace-grads`). The "before" columns of
every method's rows are the source model's, so the source panel reads them from all rows.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.report.order import method_key
from bench.report.render import frame_markdown
from bench.report.reported_diagnostics import LABEL, FigureValues

MEASURES = ("uniformity_q", "gap", "intermodal_sim", "consistency")
TITLES = {"uniformity_q": "query uniformity", "gap": "modality gap",
          "intermodal_sim": "inter-modal sim.", "consistency": "consistency"}
PANEL_KEYS = ["suite", "dataset", "direction"]
CELL_KEYS = ["dataset", "direction", "shift", "severity", "stream", "seed"]


def _ok(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[(rows["status"] == "ok") & rows["gap_before"].notna()]


def source_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (suite, dataset, direction): each measure on the source model, in-domain (the
    clean queries) and shifted (mean over the shifted cells), one line per condition."""
    ok = _ok(rows)
    out = []
    for key, g in ok.groupby(PANEL_KEYS, sort=True):
        cells = g.drop_duplicates(CELL_KEYS)  # one per cell: every method's "before" is the same
        shifted = cells[cells["shift"] != "clean"]
        line = dict(zip(PANEL_KEYS, key, strict=True))
        clean = {m: float(cells[f"{m}_clean_before"].mean()) for m in MEASURES}
        out.append(line | {"queries": "in-domain (clean)", "cells": len(cells)} | clean)
        if len(shifted):
            out.append(line | {"queries": "shifted", "cells": len(shifted)}
                       | {m: float(shifted[f"{m}_before"].mean()) for m in MEASURES})
    return pd.DataFrame(out, columns=[*PANEL_KEYS, "queries", "cells", *MEASURES])


def _angles(traces: pd.DataFrame, cell_ids: pd.Series) -> list[float]:
    picked = traces[traces["cell_id"].isin(cell_ids)]["grad_angles"].dropna()
    return [a for v in picked for a in json.loads(v) if a is not None]


def method_table(rows: pd.DataFrame, traces: pd.DataFrame) -> pd.DataFrame:
    """Per (suite, direction, method) over the shifted cells: R@1, each measure's change by
    adaptation (after - before), and the traced conflict angles (mean, share above 90)."""
    ok = _ok(rows)
    ok = ok[ok["shift"] != "clean"]
    out = []
    for (suite, direction), g in ok.groupby(["suite", "direction"], sort=True):
        for method in sorted(g["method"].unique(), key=method_key):
            m = g[g["method"] == method]
            line = {"suite": suite, "direction": direction, "method": method, "cells": len(m),
                    "r1": float(m["r1"].mean())}
            for name in MEASURES:
                line[f"Δ {name}"] = float((m[f"{name}_after"] - m[f"{name}_before"]).mean())
            angles = _angles(traces, m["cell_id"])
            line["angle mean"] = float(np.mean(angles)) if angles else math.nan
            line["angle min"] = float(np.min(angles)) if angles else math.nan
            line["angle max"] = float(np.max(angles)) if angles else math.nan
            line["angles > 90"] = (float(np.mean(np.asarray(angles) > 90.0)) if angles
                                   else math.nan)
            line["steps traced"] = len(angles)
            out.append(line)
    return pd.DataFrame(out)


def markdown(source: pd.DataFrame, methods: pd.DataFrame,
             published: FigureValues | None) -> str:
    parts = ["Source model, in-domain vs shifted queries (mean over cells)", "",
             *frame_markdown(source, tuple(PANEL_KEYS), _fmt)]
    if published is not None:
        parts += ["", f"{LABEL} ({published.model}, {published.suite}): in-domain "
                  + _pairs(published.in_domain) + "; shifted " + _pairs(published.shifted)
                  + f"; gradient angles {published.angle_range[0]:.0f}-"
                  f"{published.angle_range[1]:.0f} degrees"]
    parts += ["", "Per method over the shifted cells: R@1, change by adaptation (after - "
              "before), gradient-conflict angles (degrees; `--trace-grads`)", ""]
    parts += frame_markdown(methods, ("suite", "direction"), _fmt) if len(methods) else [
        "(no shifted cell)"]
    return "\n".join(parts)


def _pairs(values: dict[str, float]) -> str:
    return ", ".join(f"{TITLES[k]} {v:.2f}" for k, v in values.items())


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def figure(source: pd.DataFrame, methods: pd.DataFrame,
           published: FigureValues | None) -> Figure:
    """One column per (dataset, direction) panel: the four measures as grouped bars
    (in-domain, shifted, and the published values where given), and below the per-method
    conflict angle (bar: mean, whiskers: min and max over the traced steps) with the
    90-degree line (and the published range)."""
    panels = list(source.groupby(PANEL_KEYS, sort=True))
    n = max(1, len(panels))
    fig = Figure(figsize=(4.6 * n, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, n, squeeze=False)
    x = np.arange(len(MEASURES))
    for col, (key, g) in enumerate(panels):
        ax = axes[0][col]
        bars = [(q, [float(v) for v in g[g["queries"] == q][list(MEASURES)].iloc[0]])
                for q in g["queries"]]
        if published is not None:
            bars += [(f"in-domain, {LABEL}", [published.in_domain.get(m, math.nan)
                                              for m in MEASURES]),
                     (f"shifted, {LABEL}", [published.shifted.get(m, math.nan)
                                            for m in MEASURES])]
        width = 0.8 / len(bars)
        for k, (label, values) in enumerate(bars):
            hatch = "//" if LABEL in label else None
            ax.bar(x + (k - (len(bars) - 1) / 2) * width, values, width, label=label,
                   hatch=hatch, alpha=0.6 if hatch else 1.0)
        ax.set_xticks(x, [TITLES[m] for m in MEASURES], rotation=20, fontsize=8)
        ax.set_title(" · ".join(str(k) for k in key), fontsize=9)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.legend(fontsize=7)
        _angle_panel(axes[1][col], methods, key, published)
    return fig


def _angle_panel(ax, methods: pd.DataFrame, key: tuple, published: FigureValues | None) -> None:
    suite, _, direction = key
    rows = methods[(methods["suite"] == suite) & (methods["direction"] == direction)] \
        if len(methods) else methods
    rows = rows[rows["angle mean"].notna()] if len(rows) else rows
    if published is not None:
        ax.axhspan(*published.angle_range, color="grey", alpha=0.25,
                   label=f"angles, {LABEL}")
    if len(rows):
        mean = rows["angle mean"].to_numpy()
        spread = [mean - rows["angle min"].to_numpy(), rows["angle max"].to_numpy() - mean]
        ax.bar(list(rows["method"]), mean, yerr=spread, capsize=4, color="tab:purple",
               label="mean angle, min-max (bench)")
    else:
        ax.text(0.5, 0.5, "no traced angles\n(no gradient method traced)", ha="center",
                va="center", transform=ax.transAxes, fontsize=8)
    ax.axhline(90, color="red", linestyle="--", linewidth=1, label="90°: conflict")
    ax.set_ylim(0, 180)
    ax.set_ylabel("update vs keeping gradient (degrees)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7, loc="lower right")
