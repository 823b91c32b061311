"""Leaderboard with per-query outcomes: intervals, markers vs source, honest bold, ties,
grouping by identity, seeds, Δ tables, MDD, and every format."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from helpers_outcomes import PLANTED, PROTOCOL, SHIFTS, flip, write_store
from helpers_results import make_row

from bench.cli import main
from bench.report.leaderboard import build
from bench.report.render import render


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("sig"))


@pytest.fixture(scope="module")
def board(store):
    return build(store.read(), outcomes=store.read_outcomes())


def _main(board):
    return next(t for t in board.tables if t.kind == "main")


def test_cells_carry_intervals_and_seed_means(store, board):
    table = _main(board)
    assert "3 seeds per cell (seeds 0, 1, 2), mean over seeds" in table.title
    assert "95 % bootstrap intervals" in table.title
    df = store.read()
    for row in table.rows:
        for col in (*SHIFTS, "Avg."):
            c = table.cell(row, col)
            assert c.lo < c.value < c.hi and c.hi - c.lo < 6  # 3 x 1000 queries: about ±1.8
    fog = df[(df.method == "tent") & (df["shift"] == "fog")].r1.mean()
    assert table.cell("tent", "fog").value == pytest.approx(fog)
    assert re.search(r"\| source \| \d+\.\d ± \d\.\d \|", render(board, "md"))


def test_markers_vs_source_with_holm(board):
    table = _main(board)
    assert table.cell("tent", "Avg.").sig == 1 and table.cell("sar", "fog").sig == 1
    assert table.cell("tcr", "Avg.").sig == -1
    assert table.cell("eata", "Avg.").sig == 0 and table.cell("source", "Avg.").sig == 0
    md = render(board, "md")
    assert "↑" in md and "↓" in md


def test_bold_only_when_significantly_better_than_runner_up(tmp_path, board):
    # tent and sar are equally good: neither is bold, both are marked as the tied group
    table = _main(board)
    tied = [r for r in table.rows if table.cell(r, "Avg.").tied]
    assert sorted(tied) == ["sar", "tent"]
    assert not any(table.cell(r, "Avg.").best for r in table.rows)
    # without sar, tent is significantly better than the runner-up: bold, alone
    alone = write_store(tmp_path, {m: f for m, f in PLANTED.items() if m != "sar"}, seeds=(0,))
    t2 = _main(build(alone.read(), outcomes=alone.read_outcomes()))
    assert [r for r in t2.rows if t2.cell(r, "Avg.").best] == ["tent"]
    assert not any(t2.cell(r, "Avg.").tied for r in t2.rows)
    # one method alone (a source-only severity table): no runner-up, nothing is marked
    lone = write_store(tmp_path / "lone", {"source": PLANTED["source"]}, seeds=(0,))
    t3 = _main(build(lone.read(), outcomes=lone.read_outcomes()))
    assert t3.cell("source", "Avg.").has_interval
    assert not any(c.best or c.tied for line in t3.cells for c in line)


def test_delta_table_and_minimum_detectable_difference(board):
    delta = next(t for t in board.tables if t.kind == "delta")
    assert delta.rows == ["tent", "eata", "sar", "tcr"]  # every method but source
    assert delta.cell("tent", "Avg.").value == pytest.approx(4.0)
    assert delta.cell("tcr", "fog").value == pytest.approx(-3.0)
    assert delta.cell("eata", "fog").value == 0 and delta.cell("eata", "fog").hi == 0
    md = render(board, "md")
    assert "| tent | +4.0 ± " in md
    mdd = [n for n in _main(board).notes if n.startswith("minimum detectable difference")]
    assert len(mdd) == 1 and "points on one column" in mdd[0] and "Avg." in mdd[0]


def test_ranking_ties_share_a_place(board):
    rank = board.tables[-1]
    assert rank.kind == "ranking"
    place = {r: rank.cell(r, "place").text for r in rank.rows}
    assert place["tent"] == place["sar"] == "1="
    assert place["source"] == place["eata"] == "3="
    assert place["tcr"] == "5"
    assert not rank.cell("tent", "place").best  # a shared first place is not bold
    assert rank.cell("tent", "mean rank").value == rank.cell("sar", "mean rank").value == 1.5


def test_ranking_breaks_equal_mean_ranks_by_method_order_when_labels_carry_models(tmp_path):
    store = write_store(tmp_path, seeds=(0,))  # eata identical to source: equal mean rank
    # a row of another model on another dataset: every label now carries its model
    store.write(make_row(999, method="tent", model="other", dataset="elsewhere",
                         protocol=json.dumps(PROTOCOL), r1=50.0))
    board = build(store.read(), outcomes=store.read_outcomes())
    rank = next(t for t in board.tables if t.title.startswith("Overall ranking of mini-clip "))
    source, eata = "source", "eata"  # the model is in the title
    assert rank.cell(source, "mean rank").value == rank.cell(eata, "mean rank").value
    # source leads the tied pair (method order), as it does where labels are bare names
    assert rank.rows.index(source) < rank.rows.index(eata)


def test_rows_with_different_weights_or_limits_are_never_merged(tmp_path):
    methods = {"source": PLANTED["source"], "tent": PLANTED["tent"]}
    store = write_store(tmp_path, methods, seeds=(0,))
    # the same method again with other weights, and once with --limit
    other = {"tent": {"pretrained": "other-ckpt", "cell_id": "x"}}
    k = 1000
    for fields in (other["tent"], {"protocol": json.dumps(PROTOCOL | {"limit": 32})},
                   {"inputs": json.dumps({"activation": "gelu"})}):
        for shift in SHIFTS:
            k += 1
            store.write(make_row(k, method="tent", shift=shift, severity=5, r1=10.0,
                                 **{"protocol": json.dumps(PROTOCOL)} | fields | {
                                     "cell_id": f"cell{k:04d}"}))
    board = build(store.read(), outcomes=store.read_outcomes())
    table = _main(board)
    assert table.rows == ["source", "tent #1", "tent #2", "tent #3", "tent #4"]
    assert "LIMITED RUN (--limit 32" in table.title
    values = {r: table.cell(r, "fog").value for r in table.rows}
    assert sorted(v for r, v in values.items() if r != "source")[:3] == [10.0] * 3
    assert any("tent #" in n and "pretrained other-ckpt" in n for n in table.notes)
    assert any("limit 32" in n for n in table.notes)
    assert any("gelu" in n for n in table.notes)
    # only the variant with source's identity is paired with it
    delta = next(t for t in board.tables if t.kind == "delta")
    assert len(delta.rows) == 1


def test_formats_show_intervals(board):
    text = render(board, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    head = next(r for r in rows if r and r[0] == "method")
    assert head[1:4] == ["gaussian_noise", "gaussian_noise lo", "gaussian_noise hi"]
    tent = next(r for r in rows if r and r[0] == "tent")
    assert float(tent[2]) < float(tent[1].rstrip("↑~*")) < float(tent[3])
    latex = render(board, "latex")
    assert r"$\pm$" in latex and r"$\uparrow$" in latex and r"\textit{" in latex
    html = render(board, "html")
    assert "<i>" in html and "±" in html


def test_reproducible(store, board):
    again = build(store.read(), outcomes=store.read_outcomes())
    assert render(again, "md") == render(board, "md")


def test_cli_reads_outcomes(store, capsys):
    assert main(["leaderboard", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "±" in out and "minimum detectable difference" in out


def test_average_pairs_cell_by_cell_when_a_cell_failed(tmp_path):
    """A method that failed on one shift: its Avg. is paired with source on the other."""
    store = write_store(tmp_path, {m: PLANTED[m] for m in ("source", "tent")}, seeds=(0,))
    df = store.read()
    failed = (df.method == "tent") & (df["shift"] == SHIFTS[0])
    df.loc[failed, ["status", "r1"]] = ["failed", float("nan")]
    board = build(df, outcomes=store.read_outcomes())
    delta = next(t for t in board.tables if t.kind == "delta")
    assert delta.cell("tent", "Avg.").value == pytest.approx(4.0)
    assert delta.cell("tent", "Avg.").sig == 1


def test_metric_without_per_query_values_says_why(store):
    df = store.read().assign(map=50.0)
    board = build(df, metric="map", outcomes=store.read_outcomes())
    table = _main(board)
    assert "no per-query values for this metric" in table.title
    assert any("not recomputable per query" in n for n in table.notes)
    assert not any(c.has_interval for line in table.cells for c in line)
    # R@5 is recomputed from the stored ranks
    r5 = _main(build(store.read(), metric="r5", outcomes=store.read_outcomes()))
    assert r5.cell("tent", "fog").has_interval


def _intervals(md: str) -> dict[tuple[str, str], list[str]]:
    """Each table row's 'value ± half-width' texts, keyed by (table heading's start, label)."""
    out, heading = {}, ""
    for line in md.splitlines():
        if line.startswith("#"):
            heading = line.split(" — ")[0]
        elif line.startswith("| ") and "±" in line:
            label, *cells = [c.strip() for c in line.strip("|").split("|")]
            out[(heading, label)] = [m for c in cells for m in re.findall(r"[+-]?\d+\.\d ± \d+\.\d", c)]
    return out


def test_a_rows_intervals_do_not_move_when_an_unrelated_run_joins(tmp_path):
    # a --limit 64 run beside a --limit 128 one renames the rows "source #1", "tent #1" ...;
    # each interval is seeded by its row's identity, so the first run's texts stay the same
    methods = {"source": lambda h, rng: h, "tent": lambda h, rng: flip(h, rng, 12, 4)}
    store = write_store(tmp_path, methods=methods, seeds=(0, 1), n=128,
                        protocol=json.dumps(PROTOCOL | {"limit": 128}))
    before = _intervals(render(build(store.read(), outcomes=store.read_outcomes()), "md"))
    write_store(tmp_path, methods=methods, seeds=(0, 1), n=64, first_cell=100,
                protocol=json.dumps(PROTOCOL | {"limit": 64}))
    after = _intervals(render(build(store.read(), outcomes=store.read_outcomes()), "md"))
    main, delta = (next(h for h, _ in before if h.startswith(p)) for p in ("## ", "### Δ"))
    assert len(before[(main, "source")]) == len(before[(delta, "tent")]) == 3  # 2 shifts, Avg.
    for (heading, label), texts in before.items():
        assert after[(heading, f"{label} #1")] == texts, (heading, label)
    assert after[(main, "source #2")] != before[(main, "source")]  # the new run is its own row


def test_outcomes_in_any_row_order_give_the_same_per_query_values():
    """`Outcomes` sorts each cell's queries by stream position whatever order the rows come
    in; the values of one `OutcomeOrder` shared by several metrics are each metric's own."""
    import numpy as np
    import pandas as pd

    from bench.report.significance import OutcomeOrder, Outcomes

    frame = pd.DataFrame({"cell_id": ["b", "a", "b", "a", "b"], "position": [2, 1, 0, 0, 1],
                          "query_id": 0, "batch": 0, "best_rank": [1, 7, 12, 1, 5]})
    order = OutcomeOrder(frame)
    for rows in (frame, frame.iloc[::-1], frame.sort_values(["cell_id", "position"])):
        got = Outcomes(rows, "r5").by_cell
        assert sorted(got) == ["a", "b"]
        assert got["a"][0].tolist() == [0, 1] and got["a"][1].tolist() == [100.0, 0.0]
        assert got["b"][0].tolist() == [0, 1, 2] and got["b"][1].tolist() == [0.0, 100.0, 100.0]
    shared = Outcomes(order, "r_mean").by_cell
    assert np.allclose(shared["b"][1], [0.0, 200 / 3, 100.0])  # rank 12, 5, 1 over k = 1, 5, 10
    assert Outcomes(order, "map").by_cell == {}  # not recomputable per query
