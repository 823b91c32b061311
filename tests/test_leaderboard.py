from __future__ import annotations

import csv
import dataclasses
import io

import pandas as pd
import pytest
from helpers_results import SHIFTS, make_row, write_results

from bench.api.registry import SHIFTS as SHIFT_BOOK
from bench.cli import main
from bench.engine.store import read_results
from bench.report import order as ordering
from bench.report.leaderboard import build
from bench.report.render import render


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_results(root, coco=True)
    return root


@pytest.fixture(scope="module")
def df(results):
    return read_results(results)


def _table(board, suite, kind="main"):
    return next(t for t in board.tables if t.kind == kind and t.title.startswith(suite))


def test_main_table_equals_direct_pandas(df):
    board = build(df)
    table = _table(board, "mini-c")
    ok = df[(df["suite"] == "mini-c") & (df["status"] == "ok")]
    at_max = ok[(ok["severity"] == 5) | (ok["shift"] == "clean")]
    expected = at_max.groupby(["method", "shift"])["r1"].mean().unstack()
    got = table.values().rename(index=lambda s: s.rstrip("†"))
    cols = ["clean", *SHIFTS]
    assert list(got.index) == ["source", "tent", "tcr", "rest"]  # the fixed method order
    assert list(got.columns[:4]) == cols  # clean, then protocol order
    pd.testing.assert_frame_equal(got[cols], expected.loc[got.index, cols], check_names=False)
    avg = expected[list(SHIFTS)].mean(axis=1, skipna=True)
    assert got["Avg."].to_dict() == pytest.approx(avg.to_dict())


def test_suite_level_columns_need_no_stand_in_note(df):
    """Rows of the suite's current version at the level its file sets (mini-c: image shifts
    at 3) are the suite's own level: the title says so and no column gets a note; the same
    level in an earlier version's rows is a stand-in for the maximum and keeps both."""
    from bench.api.registry import SUITES
    rows = df[(df["suite"] == "mini-c") & ((df["severity"] == 5) | (df["shift"] == "clean"))]
    rows = rows.assign(severity=rows["severity"].where(rows["shift"] == "clean", 3))
    current = rows.assign(suite_version=str(SUITES.get("mini-c").version))
    table = _table(build(current, suites=["mini-c"]), "mini-c")
    assert "gaussian_noise@3" in table.columns
    assert "at the suite's severity (shift@N: level N, the level its suite file sets)" in table.title
    assert not any("highest severity run" in n for n in table.notes)
    assert "Avg. excludes clean: plain mean over the shift columns." in table.notes
    older = _table(build(rows.assign(suite_version="1"), suites=["mini-c"]), "mini-c")
    assert "below the shift's maximum" in older.title
    assert any("gaussian_noise@3: highest severity run (3)" in n for n in older.notes)


def test_failed_cell_shown_and_excluded(df):
    table = _table(build(df), "mini-c")
    assert table.cell("tent", "fog").status == "failed"
    assert table.cell("tent", "shifts ok").text == "2/3"
    assert table.cell("tent", "Avg.").value == pytest.approx((29.5 + 27.5) / 2)
    md = render(build(df), "md")
    assert "| tent | 42.0 | 29.5 | failed | 27.5 | 28.5 | 2/3 |" in md
    # seeds: tcr has two, shown as mean (sd) since these rows have no per-query outcomes
    assert "| tcr | 47.2 (sd 0.3) |" in md


def test_severity_table_means_over_shifts(df):
    table = _table(build(df), "mini-c", "severity")
    assert table.columns == ["1", "3", "5"]
    ok = df[(df["suite"] == "mini-c") & (df["status"] == "ok") & (df["shift"] != "clean")]
    per_shift = ok.groupby(["method", "severity", "shift"])["r1"].mean()
    expected = per_shift.groupby(["method", "severity"]).mean().unstack()
    got = table.values().rename(index=lambda s: s.rstrip("†"))
    assert got.loc["tcr", "3"] == pytest.approx(expected.loc["tcr", 3])
    assert got.loc["tent", "5"] == pytest.approx(expected.loc["tent", 5])
    assert table.cell("tent", "5").mark == " (2/3)"


def test_rows_without_outcomes_are_point_values_never_bolded(df):
    """Rows written before per-query outcomes: values without intervals, said in the
    heading, and no best mark (nothing about them can be tested)."""
    board = build(df, suites=["mini-c"])
    table = _table(board, "mini-c")
    assert "point values only (no per-query outcomes stored" in table.title
    assert not any(c.best or c.tied or c.has_interval for line in table.cells for c in line)
    assert not [t for t in board.tables if t.kind == "delta"]
    md, html, latex, text = (render(board, f) for f in ("md", "html", "latex", "csv"))
    assert "**" not in md and "| rest† | 48.0 | 35.5 | 34.5 | 33.5 | 34.5 | 3/3 |" in md
    assert "<b>" not in html and html.startswith("<!DOCTYPE html>")
    assert r"\textbf" not in latex and r"gaussian\_noise" in latex
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    assert ["rest†", "48.0", "35.5", "34.5", "33.5", "34.5", "3/3"] in rows


def test_segment_table_of_diverse_streams(df):
    board = build(df, suites=["mini-diverse"])
    seg = [t for t in board.tables if t.kind == "segments"]
    assert len(seg) == 2 and seg[0].columns == ["gaussian_noise", "fog"]
    assert seg[1].cell("tcr", "fog").value == pytest.approx(38.0)  # continual: 47 - 10 + 1
    assert not [t for t in build(df, metric="r5").tables if t.kind == "segments"]


def test_ranking_counts_cells_and_failures(df):
    board = build(df)
    rank = board.tables[-1]
    assert rank.kind == "ranking" and rank.rows[0] == "rest†"
    cells = {r: int(rank.cell(r, "cells").text) for r in rank.rows}
    # coco-c 2 + mini-c 3 + mixed 1 + continual 1 = 7 for source; tent misses fog
    assert cells == {"source": 7, "tent": 6, "tcr": 5, "rest†": 3}
    assert rank.cell("tent", "failed").text == "1"
    # a table without the method's row counts all its shift columns as missing:
    # rest† has no coco-c (2), mixed (1) or continual (1) row
    missing = {r: rank.cell(r, "missing").text for r in rank.rows}
    assert missing == {"source": "0", "tent": "0", "tcr": "2", "rest†": "4"}
    assert rank.cell("rest†", "mean rank").value == pytest.approx(1.0)
    ok = df[(df["suite"] == "mini-c") & (df["status"] == "ok") & (df["severity"] == 5)]
    assert rank.cell("rest†", "mean R@1").value == pytest.approx(
        ok.loc[ok["method"] == "rest", "r1"].mean())


def test_missing_counts_only_tables_of_the_rows_model():
    # two datasets, each with its own model; tent (mini-clip) has no row on pedes-x but
    # misses every column of the scenes table where its model's rows are
    rows = [make_row(1, dataset="scenes", shift="fog", severity=5, r1=50.0),
            make_row(2, dataset="scenes", shift="snow", severity=5, r1=48.0),
            make_row(3, dataset="scenes-x", shift="fog", severity=5, r1=30.0),
            make_row(4, dataset="scenes-x", shift="fog", severity=5, method="tent", r1=31.0),
            make_row(5, dataset="pedes", shift="fog", severity=5, model="mini-reid", r1=20.0)]
    reid, clip = [t for t in build(pd.DataFrame(rows)).tables if t.kind == "ranking"]
    assert clip.title.startswith("Overall ranking of mini-clip ")  # tables in dataset order
    assert {r: clip.cell(r, "missing").text for r in clip.rows} == {"source": "0", "tent": "2"}
    assert {r: reid.cell(r, "missing").text for r in reid.rows} == {"source": "0"}


def test_reported_rows_are_separate_and_labelled(df):
    # the coco-c rows on the published backbone: its points are shown beside them
    df = df.assign(model=df["model"].where(df["suite"] != "coco-c", "blip-base-coco"))
    board = build(df, reported=True)
    coco = _table(board, "coco-c")
    labelled = [r for r, rep in zip(coco.rows, coco.reported, strict=True) if rep]
    assert labelled and all(r.endswith("(reported)") for r in labelled)
    assert coco.cell("eata (reported)", "Avg.").value == pytest.approx(49.3)
    assert not any(c.best for r in labelled for c in coco.cells[coco.rows.index(r)])
    assert any("not yet verified against the PDF" in n for n in coco.notes)
    assert not any("(reported)" in r for r in board.tables[-1].rows)  # never ranked
    assert "eata (reported)" in render(board, "md")
    # mini-c has no published points, but coco-c does: no notice
    assert not board.messages
    none = build(df, suites=["mini-c"], reported=True)
    assert len(none.messages) == 1 and "no published reference points" in none.messages[0]


def test_max_severity_uses_the_shift_book_then_rows(df, monkeypatch):
    assert ordering.max_severity("mix16", [1, 5, 3]) == 5  # not in the book: the rows' highest
    fog = SHIFT_BOOK.get("fog")
    monkeypatch.setitem(SHIFT_BOOK._items, "fog", dataclasses.replace(fog, max_level=7))
    assert ordering.max_severity("fog", [1, 2]) == 7
    # the protocol maximum (7) was not run: the highest run stands in, labelled
    table = _table(build(df, suites=["mini-c"]), "mini-c")
    assert "fog@5" in table.columns
    assert any("fog@5: highest severity run" in n for n in table.notes)
    assert "at the severity run (shift@N: level N, below the shift's maximum)" in table.title
    monkeypatch.setitem(SHIFT_BOOK._items, "fog", fog)
    table = _table(build(df, suites=["mini-c"]), "mini-c")
    assert "at maximum severity" in table.title and "fog@5" not in table.columns


def test_ordering_keys():
    shifts = ["backtrans", "zzz", "fog", "ocr", "gaussian_noise", "clean"]
    assert sorted(shifts, key=ordering.shift_key) == [
        "clean", "gaussian_noise", "fog", "ocr", "backtrans", "zzz"]
    methods = ["zplug", "rest", "aplug", "tent", "source"]
    assert sorted(methods, key=ordering.method_key) == ["source", "tent", "rest", "aplug", "zplug"]


def test_cli_writes_file(results, tmp_path, capsys):
    out = tmp_path / "lb.html"
    assert main(["leaderboard", str(results), "--format", "html", "--out", str(out)]) == 0
    assert "<table>" in out.read_text(encoding="utf-8")
    assert main(["leaderboard", str(results), "--suite", "mini-c", "--metric", "r5"]) == 0
    assert "R@5" in capsys.readouterr().out


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_cli_empty_or_missing_folder(tmp_path, capsys, make):
    path = tmp_path / "results"
    if make == "empty":
        (path / "cells").mkdir(parents=True)
    assert main(["leaderboard", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "results folder" in err[0]


def test_cli_unknown_suite(results, capsys):
    assert main(["leaderboard", str(results), "--suite", "nope"]) == 2
    assert "no results for suite(s) nope" in capsys.readouterr().err
    assert main(["leaderboard", str(results), "--metric", "minp"]) == 2  # ReID only
    assert "no result row measures minp" in capsys.readouterr().err


def test_cli_if_present_leaves_absent_suites_out(results, tmp_path, capsys):
    out = tmp_path / "t.md"
    assert main(["leaderboard", str(results), "--suite", "nope", "--if-present",
                 "--out", str(out)]) == 0
    assert not out.exists()
    assert capsys.readouterr().err.strip() == (
        f"no results for suite(s) nope in {results}: nothing written")
    assert main(["leaderboard", str(results), "--suite", "nope,mini-c", "--if-present",
                 "--out", str(out)]) == 0
    assert "left out" in capsys.readouterr().err
    assert main(["leaderboard", str(results), "--suite", "mini-c", "--out",
                 str(tmp_path / "plain.md")]) == 0
    assert out.read_text() == (tmp_path / "plain.md").read_text()


def test_a_partly_run_suite_names_its_shifts_without_rows(df):
    from bench.api.registry import SUITES
    rows = df[(df.suite == "mini-c") & (df.direction == "i2t")].assign(dataset="mini-scenes")
    main = next(t for t in build(rows, "r1").tables if t.kind == "main")
    planned = {c.shift for c in SUITES.get("mini-c").cells() if c.direction == "i2t"}
    left = sorted(planned - set(rows["shift"]))
    assert len(left) == 13  # 16 image shifts, 3 run
    assert [n for n in main.notes if n.startswith("not run yet")] == [
        f"not run yet (no rows): {', '.join(left)}, the suite's other shifts of this table; "
        "Avg. covers the columns shown."]
    mini = df[(df.suite == "mini-c") & (df.direction == "i2t")]  # dataset "mini": not the suite's
    other = next(t for t in build(mini, "r1").tables if t.kind == "main")
    assert not any(n.startswith("not run yet") for n in other.notes)


def test_reported_rows_only_beside_their_backbone():
    from bench.report.reported import points_for
    assert points_for("coco-c", "i2t", models=[("ViT-B-16", "openai")]) == []
    blip = points_for("coco-c", "i2t", models=[("blip-base-coco", "shipped")])
    assert {p.method for p in blip} >= {"source", "tent"} and all(
        str(p.model) == "BLIP ViT-B/16 fine-tuned on COCO" for p in blip)
    clip = points_for("base2coco", "t2i", models=[("ViT-B-16", "openai"), ("blip-base", "")])
    assert [p.value for p in clip] == [33.0]
    assert points_for("base2coco", "t2i", models=[("blip-base", "shipped")]) == []
    assert points_for("base2coco", "t2i", models=[("ViT-B-16", "/w/other.pt")]) == []
    rows = [make_row(950 + i, suite="coco-c", dataset="coco", shift=s, severity=5, r1=40.0,
                     model="ViT-B-16", pretrained="openai")
            for i, s in enumerate(("gaussian_noise", "fog"))]
    board = build(pd.DataFrame(rows), reported=True)
    assert not any(any(board_rep) for board_rep in (t.reported for t in board.tables))
    assert "with these models" in board.messages[0] and "blip-base-coco" in board.messages[0]
