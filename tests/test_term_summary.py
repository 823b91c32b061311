"""`bench.studies.term_summary`: per-stream means and maxima of the traced loss terms,
checked on hand-made traces, and the tool's clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.api.errors import DataError
from bench.studies.term_summary import markdown, summarise_terms

ROOT = Path(__file__).resolve().parent.parent


def _rows() -> pd.DataFrame:
    base = {"suite": "s", "direction": "i2t", "stream": "mixed", "shift": "mix",
            "severity": 5, "status": "ok"}
    return pd.DataFrame([base | {"method": "rest", "seed": 0, "cell_id": "a"},
                         base | {"method": "rest", "seed": 1, "cell_id": "b"},
                         base | {"method": "tcr", "seed": 0, "cell_id": "c"},
                         base | {"method": "rest", "seed": 2, "cell_id": "d",
                                 "status": "error"}])


def _trace(cell: str, terms: list[dict], grads: list[dict] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"cell_id": cell, "batch": range(len(terms)),
                         "terms": [json.dumps(t) for t in terms],
                         "term_grads": [json.dumps(g) for g in grads] if grads else None})


def test_means_over_batches_then_seeds_and_maxima_over_both():
    traces = pd.concat([
        _trace("a", [{"rem": 1.0, "keep": -0.5}, {"rem": 3.0, "keep": 0.1}],
               [{"rem": 2.0, "keep": 0.0}, {"rem": 4.0, "keep": 1.0}]),
        _trace("b", [{"rem": 0.0, "keep": 0.2}, {"rem": 2.0, "keep": 0.0},
                     {"rem": 4.0, "keep": 0.0}],
               [{"rem": 1.0, "keep": 0.0}] * 3),
        _trace("c", [{"rem": 100.0}]),  # another method: ignored
        _trace("d", [{"rem": 100.0, "keep": 9.0}]),  # a failed cell: ignored
    ], ignore_index=True)
    out = summarise_terms(_rows(), traces, "rest")
    assert len(out) == 1
    r = out.iloc[0]
    assert r["seeds"] == 2 and r["batches"] == 3
    # rem: cell a mean 2, cell b mean 2 -> 2; max |rem| over both 4
    assert r["term:rem mean"] == pytest.approx(2.0) and r["term:rem max abs"] == 4.0
    # keep: a mean -0.2, b mean 0.2/3 -> (-0.2 + 0.0667) / 2; max |keep| 0.5 (a negative value)
    assert r["term:keep mean"] == pytest.approx((-0.2 + 0.2 / 3) / 2)
    assert r["term:keep max abs"] == pytest.approx(0.5)
    # gradient norms: a mean 3, b mean 1 -> 2; max 4
    assert r["grad:rem mean"] == pytest.approx(2.0) and r["grad:rem max abs"] == 4.0
    assert r["grad:keep mean"] == pytest.approx(0.25)
    text = markdown(out, "rest")
    assert "| s | i2t | mixed | mix | 5 | 2 | 3 |" in text


def test_no_terms_is_one_clear_error(tmp_path):
    traces = _trace("c", [{"rem": 1.0}])
    with pytest.raises(DataError, match="no traced loss terms for method 'rest'"):
        summarise_terms(_rows(), traces, "rest")
    with pytest.raises(DataError, match="on suite 'other'"):
        summarise_terms(_rows(), _trace("a", [{"rem": 1.0}]), "rest", suite="other")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "term_summary.py"),
                           str(tmp_path / "missing"), "--method", "rest"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: results folder")
