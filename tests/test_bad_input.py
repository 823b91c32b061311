"""The bad-input table (tests/faults/badinput.py): every command x bad paths, numbers, names
and values exits 2 with one line and nothing written; no case ends in a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "faults"))
import badinput  # noqa: E402


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return badinput.run_all(tmp_path_factory.mktemp("badinput") / "w")


def test_every_case_is_refused_cleanly(outcomes):
    problems = [f"{o.case.name}: {'; '.join(o.problems())} ({o.lines[:1]})"
                for o in outcomes if o.problems()]
    assert problems == []


def test_summary_counts(outcomes):
    counts = badinput.summary(outcomes)
    bad = counts["bad-input cases"]
    assert bad >= 150
    assert counts["tracebacks"] == 0
    assert counts["silent acceptances (bad input, exit 0)"] == 0
    assert counts["paths outside a root accepted"] == 0
    assert counts["wrong exit codes"] == 0
    assert counts["writes on bad input"] == 0
    assert counts["errors of more than one line"] == 0
    assert counts["bad input with exit 2 and nothing written"] == bad


def test_the_table_sees_what_it_reports(tmp_path):
    """The harness itself: a write, a traceback and a wrong exit are each counted."""
    w = tmp_path / "w"
    w.mkdir()
    case = badinput.Case("writes", ("x",))
    wrote = badinput.Outcome(case, 0, False, ["out/cells"], "")
    crashed = badinput.Outcome(case, 1, True, [], "Traceback (most recent call last):\n  ...")
    counts = badinput.summary([wrote, crashed])
    assert counts["writes on bad input"] == 1 and counts["tracebacks"] == 1
    assert counts["silent acceptances (bad input, exit 0)"] == 1
    assert counts["wrong exit codes"] == 2
    assert "YES" in badinput.table([crashed])
