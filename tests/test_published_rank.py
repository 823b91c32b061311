"""Kendall's tau of a measured baseline ranking vs the published BLIP COCO-C one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.api.errors import DataError
from bench.api.registry import load_builtins
from bench.engine.store import ResultStore
from bench.report.published_rank import compare, markdown
from bench.suites.embedded import IMAGE_SHIFTS

load_builtins()
ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = {"source": 45.0, "tent": 43.0, "eata": 49.3, "sar": 46.0, "read": 46.9, "deyo": 48.2}


def rows(avg: dict[str, float], seeds=(0,), drop: tuple[str, str] | None = None) -> pd.DataFrame:
    out = []
    for method, value in avg.items():
        for k, shift in enumerate(IMAGE_SHIFTS):
            if drop == (method, shift):
                continue
            for seed in seeds:  # shift k: value + (k - 7.5) averages back to value
                out.append({"suite": "mini-coco-c", "direction": "i2t", "stream": "single",
                            "status": "ok", "shift": shift, "severity": 5, "method": method,
                            "seed": seed, "r1": value + (k - 7.5) + (seed - 0.5 * max(seeds))})
    out.append({**out[0], "severity": 3, "r1": 0.0})  # not the maximum severity: ignored
    out.append({**out[0], "method": "tcr", "r1": 99.0})  # not a published baseline
    return pd.DataFrame(out)


def test_same_order_gives_tau_one_and_the_measured_means():
    cmp = compare(rows({m: v - 10 for m, v in PUBLISHED.items()}, seeds=(0, 1)))
    assert cmp.tau == pytest.approx(1.0) and cmp.n_shifts == 16
    by = cmp.table.set_index("method")
    assert by.loc["eata", "measured"] == pytest.approx(39.3)
    assert by.loc["eata", "published rank"] == 1 and by.loc["tent", "published rank"] == 6
    assert "Kendall's tau-b = 1.000" in markdown(cmp)


def test_reversed_order_gives_minus_one_and_incomplete_methods_are_left_out():
    reversed_ = {m: 100 - v for m, v in PUBLISHED.items()}
    assert compare(rows(reversed_)).tau == pytest.approx(-1.0)
    cmp = compare(rows(reversed_, drop=("sar", "fog")))
    assert "sar" not in set(cmp.table.method) and len(cmp.table) == 5
    # one swap among 6: (15 - 2 * 1) / 15 concordant minus discordant pairs
    swapped = dict(PUBLISHED, read=PUBLISHED["sar"], sar=PUBLISHED["read"])
    assert compare(rows(swapped)).tau == pytest.approx(13 / 15)


def test_too_few_methods_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="need at least 2"):
        compare(rows({"source": 40.0}))
    store = ResultStore(tmp_path)
    store.write({"cell_id": "x", "status": "ok", "suite": "smoke", "r1": 1.0})
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "rank_vs_published.py"),
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "need at least 2" in run.stderr
