"""`bench terms` (`bench.studies.term_summary`): per-stream means and maxima of the traced
loss terms and the rows' diagnostics, checked on hand-made traces and rows, and the
command on a real store and its clear error."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from helpers_run import cli, smoke_run

from bench.api.errors import DataError
from bench.studies.term_summary import markdown, report, summarise_diagnostics, summarise_terms


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


def test_diagnostics_are_averaged_over_seeds_per_stream():
    rows = _rows()
    rows["gap_before"] = [0.5, 0.7, 9.0, 9.0]   # tcr's row and the failed one: ignored
    rows["gap_after"] = [0.4, math.nan, 9.0, 9.0]  # seed 1 did not measure after
    rows["grad_angle"] = [100.0, 120.0, 9.0, 9.0]
    rows["consistency_before"] = math.nan  # measured nowhere: left out
    out = summarise_diagnostics(rows, "rest")
    assert list(out.columns) == ["suite", "direction", "stream", "shift", "severity", "seeds",
                                 "gap_before", "gap_after", "grad_angle"]
    r = out.iloc[0]
    assert r["seeds"] == 2
    assert r["gap_before"] == pytest.approx(0.6) and r["gap_after"] == pytest.approx(0.4)
    assert r["grad_angle"] == pytest.approx(110.0)
    # a method without terms still reports its diagnostics
    text = report(rows, _trace("c", [{"rem": 1.0}]), "rest")
    assert "`rest` traces no loss terms." in text
    assert "| s | i2t | mixed | mix | 5 | 2 | 0.6 | 0.4 | 110 |" in text


def test_no_terms_and_no_diagnostics_is_one_clear_error():
    traces = _trace("c", [{"rem": 1.0}])
    assert summarise_terms(_rows(), traces, "rest").empty
    with pytest.raises(DataError, match="no traced loss terms and no diagnostics for method"):
        report(_rows(), traces, "rest")
    with pytest.raises(DataError, match="on suite 'other'"):
        report(_rows(), _trace("a", [{"rem": 1.0}]), "rest", suite="other")


def test_the_command_on_a_store(tmp_path):
    code, _, err = smoke_run(tmp_path / "r", "--trace-grads", methods="tcr", limit=32)
    assert code == 0, err
    code, out, err = cli("terms", tmp_path / "r", "--method", "tcr", "--suite", "smoke",
                         "--out", tmp_path / "t.md")
    assert code == 0, err
    assert "Loss terms of `tcr` per stream" in out and "term:" in out
    assert "Common-space diagnostics of `tcr` per stream" in out and "gap_after" in out
    assert "grad_angle" in out
    assert (tmp_path / "t.md").read_text() == out
    code, _, err = cli("terms", tmp_path / "r", "--method", "rest")
    assert code == 2 and err.startswith("error: no results for method 'rest'")
