"""`compare-queries`: bench's own corrupted queries against TCR's released pre-built ones.

For every single-stream shift cell of a coco-c / flickr-c suite: how far bench's
corrupted query images are from the released ones (mean absolute pixel
difference, 0-255, at the model's input after the same squash resize: what the
model sees), or for text shifts the share of captions that are identical, and
R@1 of the source model (no adaptation) on both query sets against the same
clean gallery.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from bench.api.registry import SHIFTS, load_builtins
from bench.engine.cell_run import Resources, cell_plan, check_released
from bench.engine.loop import evaluate_frozen
from bench.engine.planning import plan_run
from bench.engine.settings import RunSettings
from bench.shifts import CLEAN

COLUMNS = ["suite", "dataset", "direction", "shift", "severity", "n_queries",
           "mean_abs_pixel_diff", "same_captions", "r1_bench", "r1_released"]


def released_pair(cell):
    return dataclasses.replace(cell, inputs=dataclasses.replace(cell.inputs, queries="released"))


def compare_cells(opts: RunSettings, shifts: list[str] | None = None) -> list:
    load_builtins()
    for name in shifts or []:
        SHIFTS.get(name)
    cells = plan_run(opts.select(methods=["source"], overrides={}, queries="bench"))
    return [c for c in cells if c.spec.stream == "single" and c.spec.shift != CLEAN
            and c.inputs is not None and c.spec.dataset in ("coco", "flickr30k")
            and (not shifts or c.spec.shift in shifts)]


def compare_table(opts: RunSettings, device: torch.device,
                  shifts: list[str] | None = None) -> pd.DataFrame:
    res = Resources(opts.runtime, device)
    cells = compare_cells(opts, shifts)
    check_released([released_pair(c) for c in cells], res)
    rows = []
    for cell in tqdm(cells, desc="compare-queries", disable=opts.runtime.quiet, leave=False):
        ds, rm, s = res.dataset(cell), res.model(cell), cell.spec
        gallery = res.gallery(cell)
        plan = cell_plan(cell, ds)
        ours, theirs = res.queries(cell, plan), res.queries(released_pair(cell), plan)
        both = ours.usable & theirs.usable
        row = {"suite": cell.suite, "dataset": s.dataset, "direction": s.direction,
               "shift": s.shift, "severity": s.severity, "n_queries": int(both.sum()),
               "mean_abs_pixel_diff": float("nan"), "same_captions": float("nan")}
        a, b = np.asarray(ours.raw)[both], np.asarray(theirs.raw)[both]
        if s.direction == "i2t":
            row["mean_abs_pixel_diff"] = float(np.abs(a.astype(np.int16) - b).mean())
        else:
            row["same_captions"] = float((a == b).all(axis=1).mean())
        row["r1_bench"] = evaluate_frozen(rm, s.direction, gallery.to(rm.device), ours)["r1"]
        row["r1_released"] = evaluate_frozen(rm, s.direction, gallery.to(rm.device),
                                             theirs)["r1"]
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown(df: pd.DataFrame) -> str:
    parts = ["| suite | dataset | shift | severity | queries | mean abs pixel diff | "
             "same captions | R@1 bench | R@1 released |", "|---|---|---|---:|---:|---:|---:|"
             "---:|---:|"]
    for r in df.itertuples():
        mad = "" if np.isnan(r.mean_abs_pixel_diff) else f"{r.mean_abs_pixel_diff:.2f}"
        same = "" if np.isnan(r.same_captions) else f"{100 * r.same_captions:.1f} %"
        parts.append(f"| {r.suite} | {r.dataset} | {r.shift} | {r.severity} | {r.n_queries} | "
                     f"{mad} | {same} | {r.r1_bench:.2f} | {r.r1_released:.2f} |")
    return "\n".join(parts) + "\n"
