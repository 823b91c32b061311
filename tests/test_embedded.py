"""The embedded default: the shipped mini CLIPs on the generated suites (real weights, no mocks).

The expected numbers were measured once with the shipped checkpoints (docs/embedded.md,
"The embedded benchmark"); a retrained or damaged checkpoint, a changed generator or a
changed protocol moves them outside the tolerance.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers_run import cli

from bench.engine.store import ResultStore

METHODS = ("source", "tent", "eata", "sar", "read", "deyo", "tcr", "rest")
# source R@1 on the smoke suite (200 scenes, 1,000 captions), all queries, seed 0.
SMOKE_SOURCE_R1 = {("i2t", "clean"): 94.5, ("i2t", "contrast"): 65.0,
                   ("t2i", "clean"): 91.5, ("t2i", "cr"): 38.3}
TOLERANCE = 1.0


def _rows(out, *argv: str) -> pd.DataFrame:
    code, _, err = cli("run", "--suite", "smoke", "--out", out, "--workers", "1", "--quiet",
                       *argv)
    assert code == 0, err
    return ResultStore(out).read()


@pytest.fixture(scope="module")
def source_rows(tmp_path_factory) -> pd.DataFrame:
    return _rows(tmp_path_factory.mktemp("smoke"), "--method", "source")


def test_shipped_mini_clip_scores_what_it_scored(source_rows):
    assert (source_rows.status == "ok").all()
    assert set(source_rows.model) == {"mini-clip"}
    got = {(r.direction, r["shift"]): r.r1 for _, r in source_rows.iterrows()}
    for key, expected in SMOKE_SOURCE_R1.items():
        assert got[key] == pytest.approx(expected, abs=TOLERANCE), key


def test_shifts_degrade_but_do_not_destroy(source_rows):
    r1 = {(r.direction, r["shift"]): r.r1 for _, r in source_rows.iterrows()}
    for direction, shift in (("i2t", "contrast"), ("t2i", "cr")):
        clean = r1[(direction, "clean")]
        assert 0.1 * clean < r1[(direction, shift)] < clean - 5, (direction, shift)


def test_every_method_runs_on_the_shipped_model(tmp_path):
    df = _rows(tmp_path, "--method", ",".join(METHODS), "--limit", "128")
    assert (df.status == "ok").all(), df[df.status != "ok"][["method", "error"]]
    assert set(df.method) == set(METHODS) and len(df) == 4 * len(METHODS)
    assert (df.n_queries == 128).all()
