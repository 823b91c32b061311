"""Two suites side by side read each suite's own verdicts: a planted gain on one suite and
none on the other come out as such, with the paired interval; rows short of shifts say so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers_outcomes import PLANTED, SHIFTS, write_store

from bench.api.errors import DataError
from bench.report.leaderboard import build
from bench.report.suite_pair import common_shifts, suite_pair

SUITES = ("mini-c", "mini-coco-c")
ROOT = Path(__file__).resolve().parent.parent


def _board(tmp_path, drop_shift: str | None = None):
    """mini-c with PLANTED's differences; mini-coco-c where every method equals source."""
    write_store(tmp_path, first_cell=0, extra={"tcr": {"method_note": "a reconstruction"}})
    same = {m: (lambda h, rng: h.copy()) for m in PLANTED}
    store = write_store(tmp_path, methods=same, first_cell=1000,
                        extra={m: {"suite": "mini-coco-c"} for m in PLANTED})
    rows = store.read()
    if drop_shift:
        rows = rows[~((rows.suite == "mini-coco-c") & (rows.method == "tent")
                      & (rows["shift"] == drop_shift))]
    return build(rows, "r1", list(SUITES), outcomes=store.read_outcomes())


def test_each_suite_keeps_its_own_verdict(tmp_path):
    table, notes = suite_pair(_board(tmp_path).tables, SUITES)
    assert notes == ["† tcr: a reconstruction"]  # the marker's note, and no other note
    table["method"] = table["method"].str.rstrip("†")
    assert list(table.columns) == ["method", "i2t mini-c", "i2t mini-coco-c"]
    by = table.set_index("method")
    assert ", Δ +4.0 [" in by.loc["tent", "i2t mini-c"]
    assert by.loc["tent", "i2t mini-c"].endswith("] better")
    assert by.loc["tcr", "i2t mini-c"].endswith("] worse")
    assert by.loc["eata", "i2t mini-c"].endswith("Δ +0.0 [+0.0, +0.0] no difference")
    for method in ("tent", "tcr", "eata"):  # identical to source on the second suite
        assert by.loc[method, "i2t mini-coco-c"].endswith("Δ +0.0 [+0.0, +0.0] no difference")
    assert "Δ" not in by.loc["source", "i2t mini-c"]  # the reference has no Δ
    assert by.loc["source", "i2t mini-c"] == by.loc["source", "i2t mini-coco-c"]


def test_a_row_short_of_shifts_says_so(tmp_path):
    table, _ = suite_pair(_board(tmp_path, drop_shift="fog").tables, SUITES)
    tent = table.set_index("method").loc["tent", "i2t mini-coco-c"]
    assert "(1/2 shifts)" in tent


def test_a_partly_run_suite_is_paired_on_the_shifts_both_ran(tmp_path):
    write_store(tmp_path, first_cell=0)
    store = write_store(tmp_path, first_cell=1000, shifts=SHIFTS[:1], suite="mini-coco-c")
    rows = store.read()
    kept, notes = common_shifts(rows, SUITES)
    assert set(kept["shift"]) == {SHIFTS[0]} and len(kept) == 2 * len(rows) // 3
    assert notes == [f"i2t: averages over the shifts both suites ran ({SHIFTS[0]}); "
                     f"left out: mini-c's {SHIFTS[1]}"]
    table, _ = suite_pair(build(kept, "r1", list(SUITES),
                                outcomes=store.read_outcomes()).tables, SUITES)
    source = rows[(rows.suite == "mini-c") & (rows.method == "source")]
    first, both = (source[source["shift"].isin(k)].r1.mean() for k in (SHIFTS[:1], SHIFTS))
    assert f"{first:.1f}" != f"{both:.1f}"  # the left-out shift would change the average
    assert table.set_index("method").loc["source", "i2t mini-c"] == f"{first:.1f}"
    assert common_shifts(kept, SUITES)[1] == []  # nothing more to line up


def test_absent_suites_are_an_error(tmp_path):
    board = _board(tmp_path)
    with pytest.raises(DataError, match="no single-stream table of mini-pedes-c or smoke"):
        suite_pair(board.tables, ("mini-pedes-c", "smoke"))


def _tool(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "suite_pair.py"), *args],
                          capture_output=True, text=True)


def test_tool_writes_the_table_and_refuses_bad_input(tmp_path):
    coco = {m: {"suite": "mini-coco-c"} for m in PLANTED}
    write_store(tmp_path / "a")
    write_store(tmp_path / "a", extra=coco, first_cell=1000)  # the same folder, new cell ids
    write_store(tmp_path / "b", extra=coco)
    out = tmp_path / "pair.md"
    done = _tool(str(tmp_path / "a"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "| method | i2t mini-c | i2t mini-coco-c |" in text
    assert text.count("] better |") == 4  # tent and sar on both suites
    bad = _tool(str(tmp_path / "a"), "--suites", "mini-c")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --suites takes two suites")
    absent = _tool(str(tmp_path / "b"), "--out", str(tmp_path / "no.md"))  # no mini-c
    assert absent.returncode == 2
    assert absent.stderr.startswith("error: no results for suite(s) mini-c")
    assert not (tmp_path / "no.md").exists()
    write_store(tmp_path / "c", first_cell=5000)  # mini-c here, mini-coco-c in b: read as one
    split = _tool(str(tmp_path / "c"), str(tmp_path / "b"))
    assert split.returncode == 0, split.stderr
    assert split.stdout.strip() == text.strip()
    twice = _tool(str(tmp_path / "b"), str(tmp_path / "a"))  # a holds b's cell ids too
    assert twice.returncode == 2 and "in more than one folder" in twice.stderr
