"""A results folder whose rows and per-query outcomes agree, with planted differences."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from helpers_results import make_row

from bench.engine.store import ResultStore

N = 1000
SHIFTS = ("gaussian_noise", "fog")
PROTOCOL = {"batch_size": 64, "steps": 3, "limit": None, "queries_left_out": 0}


def flip(hits: np.ndarray, rng, gain: int, loss: int) -> np.ndarray:
    """Fix `gain` of the misses and break `loss` of the hits (a planted difference)."""
    out = hits.copy()
    out[rng.choice(np.nonzero(hits == 0)[0], gain, replace=False)] = 1
    out[rng.choice(np.nonzero(hits == 1)[0], loss, replace=False)] = 0
    return out


# method -> how its hits derive from source's on the same queries
PLANTED = {
    "source": lambda h, rng: h,
    "tent": lambda h, rng: flip(h, rng, 60, 20),  # +4 points: better
    "sar": lambda h, rng: flip(h, rng, 60, 20),  # the same size as tent: tied with it
    "eata": lambda h, rng: h.copy(),  # identical to source
    "tcr": lambda h, rng: flip(h, rng, 10, 40),  # -3 points: worse
}


def write_store(root, methods=PLANTED, seeds=(0, 1, 2), extra=None, n=N,
                severities=(5,), first_cell: int = 0, shifts=SHIFTS,
                **common) -> ResultStore:
    """A results folder whose rows and per-query outcomes agree exactly; cell ids count
    from `first_cell` + 1 (a second call into the same folder starts past the first's);
    `common`: fields of every row (e.g. suite=...)."""
    store, k = ResultStore(root), first_cell
    for seed, shift, severity in ((a, b, c) for a in seeds for b in shifts for c in severities):
        rng = np.random.default_rng([seed, shifts.index(shift), severity])
        source = (rng.random(n) < 0.5).astype(int)
        for method, derive in methods.items():
            hits = derive(source, rng)
            best = np.where(hits == 1, 1, 3 + np.arange(n) % 5)
            k += 1
            fields = {"protocol": json.dumps(PROTOCOL)} | common | (extra or {}).get(method, {})
            row = make_row(k, method=method, shift=shift, severity=severity, seed=seed,
                           n_queries=n, r1=100 * hits.mean(), r5=100 * (best <= 5).mean(),
                           r10=100.0, **fields)
            outcomes = pd.DataFrame({"position": np.arange(n), "query_id": np.arange(n),
                                     "batch": np.arange(n) // 64, "best_rank": best})
            store.write(row, None, outcomes)
    return store
