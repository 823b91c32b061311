"""Rows of different versions of a suite are read one version at a time."""

from __future__ import annotations

import pandas as pd

from bench.api.registry import SUITES, load_builtins
from bench.report.versions import compared_versions, versions

load_builtins()
CURRENT = str(SUITES.get("mini-c").version)


def _rows(spec: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"cell_id": f"c{k}", "suite": s, "suite_version": v, "method": m}
                         for k, (s, v, m) in enumerate(spec)])


def test_versions_put_the_current_one_first_then_newest_to_oldest():
    rows = _rows([("mini-c", "2", "source"), ("mini-c", "10", "tent"),
                  ("mini-c", CURRENT, "source"), ("smoke", "9", "source")])
    assert versions(rows, "mini-c") == [CURRENT, "10", "2"]
    assert versions(rows.drop(columns="suite_version"), "mini-c") == [CURRENT]


def test_a_version_with_only_source_gives_way_to_the_newest_compared_one():
    rows = _rows([("mini-c", CURRENT, "source"), ("mini-c", "1", "source"),
                  ("mini-c", "1", "tent"), ("mini-c", "0", "tent"), ("smoke", "2", "source")])
    picked, chosen = compared_versions(rows, ["mini-c"])
    assert chosen == {"mini-c": "1"}
    assert list(picked["cell_id"]) == ["c1", "c2", "c4"]  # other suites pass unchanged
    rows.loc[len(rows)] = {"cell_id": "c5", "suite": "mini-c", "suite_version": CURRENT,
                           "method": "tent"}
    picked, chosen = compared_versions(rows, ["mini-c"])
    assert chosen == {"mini-c": CURRENT} and list(picked["cell_id"]) == ["c0", "c4", "c5"]
    plugin = _rows([("my-suite", "1", "source"), ("my-suite", "2", "tent")])
    picked, chosen = compared_versions(plugin, ["my-suite"])  # not registered: unchanged
    assert chosen == {} and list(picked["cell_id"]) == ["c0", "c1"]


def test_a_rerun_under_way_does_not_replace_the_complete_version():
    complete = [("mini-c", "1", "source"), ("mini-c", "1", "tent")]
    partial = [("mini-c", CURRENT, "source"), ("mini-c", CURRENT, "source"),
               ("mini-c", CURRENT, "tent")]
    _, chosen = compared_versions(_rows(complete + partial), ["mini-c"])
    assert chosen == {"mini-c": "1"}  # the current version's tent has 1 row of source's 2
    _, chosen = compared_versions(_rows(partial), ["mini-c"])
    assert chosen == {"mini-c": CURRENT}  # nothing complete: the newest compared one
    done = partial + [("mini-c", CURRENT, "tent")]
    _, chosen = compared_versions(_rows(complete + done), ["mini-c"])
    assert chosen == {"mini-c": CURRENT}


def test_two_versions_of_a_suite_never_share_a_table(tmp_path):
    from helpers_outcomes import write_store

    from bench.engine.store import read_results
    from bench.report.leaderboard import build

    write_store(tmp_path, seeds=(0,), suite_version="1")
    write_store(tmp_path, seeds=(0,), first_cell=1000, suite_version=CURRENT)
    mains = [t for t in build(read_results(tmp_path), "r1").tables if t.kind == "main"]
    assert len(mains) == 2
    assert [t.title.split(" · ")[0] for t in mains] == [f"mini-c v{CURRENT}", "mini-c v1"]
    assert all(len(t.rows) == len(mains[0].rows) for t in mains)  # each version's methods once


def test_the_overall_ranking_reads_each_suite_at_one_version(tmp_path):
    from helpers_outcomes import SHIFTS, write_store

    from bench.report.leaderboard import build

    store = write_store(tmp_path, seeds=(0,))  # every method at mini-c v1
    write_store(tmp_path, seeds=(0,), first_cell=100, suite_version=CURRENT)
    board = build(store.read(), "r1", outcomes=store.read_outcomes())
    rank = next(t for t in board.tables if t.kind == "ranking")
    assert rank.title.endswith(f"(mini-c v{CURRENT})")
    assert any(n.startswith("not ranked: the tables of mini-c v1;") for n in rank.notes)
    # one version's shift columns per method, not both versions'
    assert {rank.cell(r, "cells").text for r in rank.rows} == {str(len(SHIFTS))}


def test_rows_of_two_models_get_one_ranking_each(tmp_path):
    """Methods run on different models are never ranked together; an unranked older version
    is named under the ranking that reads its suite."""
    from helpers_outcomes import PLANTED, SHIFTS, flip, write_store

    from bench.report.leaderboard import build

    store = write_store(tmp_path, seeds=(0,), suite_version=CURRENT)  # model mini-clip
    other = PLANTED | {"tcr": lambda h, rng: flip(h, rng, 80, 0)}  # tcr best on mini-clip-2
    write_store(tmp_path, methods=other, seeds=(0,), first_cell=100, suite="smoke",
                suite_version=str(SUITES.get("smoke").version), model="mini-clip-2")
    write_store(tmp_path, seeds=(0,), first_cell=200, suite_version="1")  # unranked
    board = build(store.read(), "r1", outcomes=store.read_outcomes())
    first, second = [t for t in board.tables if t.kind == "ranking"]
    unranked = [n for n in first.notes + second.notes if n.startswith("not ranked")]
    assert len(unranked) == 1 and "mini-c v1" in unranked[0] and unranked[0] in first.notes
    assert first.title.startswith("Overall ranking of mini-clip — R@1")
    assert second.title.startswith("Overall ranking of mini-clip-2 — R@1")
    assert first.title.endswith(f"(mini-c v{CURRENT})") and "(smoke v" in second.title
    assert set(first.rows) == set(second.rows) == set(PLANTED)
    assert second.rows[0] == "tcr" and first.cell("tcr", "place").text == "5"
    for rank in (first, second):  # each counts its own model's cells only
        assert {rank.cell(r, "cells").text for r in rank.rows} == {str(len(SHIFTS))}
        assert {rank.cell(r, "missing").text for r in rank.rows} == {"0"}


def test_a_ranking_of_one_model_on_a_board_of_two_names_the_model_in_its_title(tmp_path):
    from helpers_outcomes import PLANTED, write_store

    from bench.report.leaderboard import build

    store = write_store(tmp_path, seeds=(0,), suite_version="1")  # mini-clip, unranked
    write_store(tmp_path, seeds=(0,), first_cell=100, suite_version=CURRENT, model="mini-clip-2")
    board = build(store.read(), "r1", outcomes=store.read_outcomes())
    (rank,) = [t for t in board.tables if t.kind == "ranking"]
    assert rank.title.startswith("Overall ranking of mini-clip-2 — R@1")
    assert set(rank.rows) == set(PLANTED)  # the labels carry the model in the tables only
    assert any("(mini-clip-2)" in r for t in board.tables if t.kind == "main" for r in t.rows)
