"""A small synthetic results folder for leaderboard and plot tests.

Values follow a formula (see `r1_of`) so that tests can also recompute them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bench.engine.store import ResultStore

METHODS = ("source", "tent", "tcr", "rest")
SHIFTS = ("gaussian_noise", "fog", "jpeg_compression")
BASE = {"source": 40.0, "tent": 42.0, "tcr": 47.0, "rest": 48.0}
REST_NOTE = "reconstruction from the paper's text; no official code"


def r1_of(method: str, shift: str, severity: int, seed: int) -> float:
    return BASE[method] - 2.5 * severity - SHIFTS.index(shift) + 0.4 * seed


def make_row(n: int, **fields) -> dict:
    row = {"run_id": "test", "cell_id": f"cell{n:04d}", "suite": "mini-c", "suite_version": "1",
           "dataset": "mini", "direction": "i2t", "shift": "clean", "severity": 0,
           "stream": "single", "method": "source", "method_config": "{}", "method_note": "",
           "model": "mini-clip", "pretrained": "embedded", "seed": 0, "n_queries": 64,
           "n_gallery": 320, "status": "ok", "r1": np.nan, "r5": np.nan, "r10": np.nan}
    row.update(fields)
    if row["status"] != "ok":
        row.update(r1=np.nan, r5=np.nan, r10=np.nan, error="boom")
    return row


def single_rows() -> list[dict]:
    """mini-c i2t: 4 methods x 3 shifts x severities 1, 3, 5 (+ clean); tcr with 2 seeds.

    tent failed on fog at severity 5; rest carries a method_note.
    """
    rows, n = [], 0
    for method in METHODS:
        note = REST_NOTE if method == "rest" else ""
        seeds = (0, 1) if method == "tcr" else (0,)
        for seed in seeds:
            n += 1
            rows.append(make_row(n, method=method, seed=seed, method_note=note,
                                 r1=BASE[method] + 0.4 * seed))
            for shift in SHIFTS:
                for sev in (1, 3, 5):
                    n += 1
                    status = "failed" if (method, shift, sev) == ("tent", "fog", 5) else "ok"
                    r1 = r1_of(method, shift, sev, seed)
                    rows.append(make_row(n, method=method, shift=shift, severity=sev, seed=seed,
                                         method_note=note, status=status, r1=r1, r5=r1 + 20))
    return rows


def diverse_rows() -> list[tuple[dict, pd.DataFrame]]:
    """mini-diverse i2t: mixed and continual streams with retention and traces."""
    out, n = [], 500
    for stream in ("mixed", "continual"):
        for method in ("source", "tent", "tcr"):
            n += 1
            r1 = BASE[method] - 10 + (2 if stream == "mixed" else 0)
            segs = {"gaussian_noise": r1 - 1, "fog": r1 + 1}
            row = make_row(n, suite="mini-diverse", stream=stream, shift="mix16", severity=5,
                           method=method, r1=r1, retention_r1=BASE[method] - 3,
                           segment_r1=json.dumps(segs))
            batches = np.arange(20)
            seg = (["gaussian_noise"] * 10 + ["fog"] * 10 if stream == "continual"
                   else ["gaussian_noise", "fog"] * 10)
            trace = pd.DataFrame({"batch": batches, "n": 16, "r1": r1 + np.sin(batches),
                                  "loss": np.nan if method == "source" else 1.0 / (1 + batches),
                                  "segment": seg})
            out.append((row, trace))
    return out


def coco_rows() -> list[dict]:
    """coco-c i2t with two methods at severity 5: the suite with published points."""
    return [make_row(900 + i, suite="coco-c", dataset="coco", shift=shift, severity=5,
                     method=method, r1=BASE[method] - 5 - i % 3)
            for i, (method, shift) in enumerate(
                (m, s) for m in ("source", "tent") for s in ("gaussian_noise", "fog"))]


def write_results(root: Path, diverse: bool = True, coco: bool = False) -> ResultStore:
    store = ResultStore(root)
    for row in single_rows():
        store.write(row)
    if diverse:
        for row, trace in diverse_rows():
            store.write(row, trace)
    if coco:
        for row in coco_rows():
            store.write(row)
    return store
