"""The site's own pieces, without a browser: a number's view, the reproduce command, the
trace line and the entries behind each number."""

from __future__ import annotations

import json

import pandas as pd

from bench.report.order import prepare, row_labels
from bench.report.tables import TableCell
from bench.site.cells import reproduce, table_entries, trace_svg
from bench.site.view import cell_view


def test_cell_view_splits_value_interval_and_marker():
    cell = TableCell(54.321, status="ok", lo=53.0, hi=55.6, sig=1, p=0.012, best=True, seeds=3)
    view = cell_view(cell, entry="m3")
    assert (view.text, view.spread, view.sort) == ("54.3", "±1.3↑", "54.321000")
    assert view.css == "best up" and view.entry == "m3"
    assert view.tip == ("95 % interval [53.00, 55.60]; better than source, p (Holm) 0.012; "
                        "best: significantly better than the runner-up; 3 seeds")
    assert cell_view(TableCell(status="failed")).sort == "-1e9"  # below every value
    assert cell_view(TableCell(text="3/4")).css == ""  # a count sorts by its number
    assert cell_view(TableCell(text="3/4")).sort == "3"


def _rows() -> pd.DataFrame:
    proto = json.dumps({"batch_size": 16, "steps": 3, "limit": 48, "corruption_seed": 0,
                        "temperature": 0.01})
    base = {"suite": "smoke", "dataset": "d", "direction": "i2t", "stream": "single",
            "model": "mini-clip", "pretrained": "shipped", "protocol": proto, "status": "ok",
            "method_note": "", "suite_version": "2", "severity": 5, "r1": 50.0}
    rows = []
    for method, config in (("source", "{}"), ("tent[lr=0.01]", json.dumps(
            {"lr": 0.01, "temperature": None, "adapt": True}))):
        for shift, sev in (("clean", 0), ("contrast", 5), ("contrast", 3)):
            for seed in (1, 0):
                rows.append(base | {"method": method, "method_config": config, "shift": shift,
                                    "severity": sev, "seed": seed,
                                    "cell_id": f"{method[:4]}-{shift}-{sev}-{seed}"})
    return pd.DataFrame(rows)


def test_reproduce_names_the_registered_method_and_every_setting():
    rows = _rows()
    tent = rows[(rows["method"] == "tent[lr=0.01]") & (rows["severity"] == 5)]
    assert reproduce(tent, "results") == (
        "python -m bench run --method tent --suite smoke --model mini-clip --pretrained shipped "
        "--batch-size 16 --steps 3 --limit 48 --corruption-seed 0 --set tent.adapt=true "
        "--set tent.lr=0.01 --set tent.temperature=null --seed 0,1 --out results")
    below_max = rows[(rows["method"] == "source") & (rows["shift"] == "contrast")]
    assert "--severity 3,5 " in reproduce(below_max, "r")


def test_entries_hold_the_seeds_of_a_number_and_the_shifts_of_a_severity():
    df = prepare(_rows())
    labels = row_labels(df)
    entries = table_entries(df, labels)
    assert entries[("main", "source", "contrast")] == ["sour-contrast-5-0", "sour-contrast-5-1"]
    assert entries[("main", "tent[lr=0.01]", "clean")] == ["tent-clean-0-0", "tent-clean-0-1"]
    assert entries[("severity", "source", "3")] == ["sour-contrast-3-0", "sour-contrast-3-1"]
    assert ("main", "source", "contrast@3") not in entries  # only the maximum severity
    assert len(entries) == 2 * (2 + 2)


def test_trace_svg_draws_online_r1_on_a_0_to_100_scale():
    trace = pd.DataFrame({"batch": [2, 0, 1], "r1": [100.0, 0.0, 50.0]})
    svg = trace_svg(trace, width=180, height=36)
    assert 'points="1,35.0 90,18.0 179,1.0"' in svg and "(3 batches)" in svg
    long = pd.DataFrame({"batch": range(120), "r1": [10.0, 30.0] * 60})
    assert 'points="1,25.0 3,25.0 ' in trace_svg(long)  # 2-batch runs: 20 %, y = 31 - 30 * 0.2
    assert trace_svg(None) == ""
    assert trace_svg(pd.DataFrame({"batch": [0], "r1": [float("nan")]})) == ""


def test_a_model_every_row_shares_is_left_out_of_the_shown_labels():
    from bench.report.tables import Table
    from bench.site.view import table_view

    table = Table("t", "main", ["a"])
    for label in ("source (mini-clip)", "rest (mini-clip) #2†"):
        table.add_row(label, [TableCell(50.0, status="ok")])
    table.add_row("tcr (reported)", [TableCell(40.0, status="ok")], reported=True)
    entries = {("main", label, "a"): f"m{i}" for i, label in enumerate(table.rows)}
    view = table_view(table, entries, "main")
    assert [r.shown for r in view.rows] == ["source", "rest #2†", "tcr (reported)"]
    # measured numbers open their cells; a published point has none
    assert [r.cells[0].entry for r in view.rows] == ["m0", "m1", ""]
    assert [r.label for r in view.rows][:2] == ["source (mini-clip)", "rest (mini-clip) #2†"]
    table.add_row("tent (other-clip)", [TableCell(50.0, status="ok")])
    assert [r.shown for r in table_view(table).rows][0] == "source (mini-clip)"


def test_the_site_renders_the_leaderboard_and_compare_numbers(tmp_path):
    """Built from the committed smoke cells of source and tent: its CSV downloads are
    `bench leaderboard --format csv` byte for byte, its compare page holds `bench compare`'s
    pooled reading, and every measured number of a table page links to an entry of its data
    script."""
    import re

    from bench.cli import main

    store = _smoke_store(tmp_path)
    site, board = tmp_path / "site", tmp_path / "board.csv"
    assert main(["site", str(store), "--out", str(site), "--no-figures"]) == 0
    for metric in ("r1", "r10"):
        assert main(["leaderboard", str(store), "--metric", metric, "--format", "csv",
                     "--out", str(board)]) == 0
        assert (site / "downloads" / f"leaderboard.{metric}.csv").read_bytes() == \
            board.read_bytes()
    compare = tmp_path / "compare.md"
    assert main(["compare", str(store), "--method", "tent", "--out", str(compare)]) == 0
    pooled = [line for line in compare.read_text().splitlines() if "pooled" in line][0]
    delta = pooled.split(" | ")[3].replace("*", "")  # "-0.1 ± 0.3" (with its marker, if any)
    page = (site / "compare.html").read_text()
    assert delta.split(" ± ")[0] in page and "pooled over the" in page
    table = (site / "smoke_mini-scenes-smoke_t2i_single.html").read_text()
    data = (site / "data" / "smoke_mini-scenes-smoke_t2i_single.js").read_text()
    links = re.findall(r'cell\.html#smoke_mini-scenes-smoke_t2i_single/(\w+)"', table)
    # per metric (R@1, R@5, R@10, mAP): 2 rows x 2 columns (clean, cr) in the main table; tent
    # x 2 in the Δ table, which mAP lacks (no per-query values for it)
    assert len(links) == 4 * 4 + 3 * 2
    assert all(f'"{entry}":{{' in data for entry in links)
    assert len(set(links)) == 4  # the same four numbers' entries in every metric and view


def test_a_cell_in_two_stores_is_an_error(tmp_path):
    import shutil
    from pathlib import Path

    import pytest

    from bench.api.errors import DataError
    from bench.site.load import read_stores

    committed = Path(__file__).resolve().parents[1] / "results" / "embedded" / "cells"
    one = sorted(committed.glob("*.parquet"))[0]
    for name in ("a", "b"):
        (tmp_path / name / "cells").mkdir(parents=True)
        shutil.copy(one, tmp_path / name / "cells")
    assert len(read_stores([tmp_path / "a"]).rows) == 1
    with pytest.raises(DataError, match=f"cell {one.stem} is in .*a and in .*b"):
        read_stores([tmp_path / "a", tmp_path / "b"])


def _smoke_store(tmp_path, methods=("source", "tent"), store=None):
    """A results folder (`store`, default tmp_path/store) holding the committed smoke cells
    of `methods`."""
    import shutil
    from pathlib import Path

    from bench.engine.store import ResultStore

    committed = Path(__file__).resolve().parents[1] / "results" / "embedded"
    rows = ResultStore(committed).read()
    ids = rows.loc[(rows["suite"] == "smoke") & rows["method"].isin(list(methods)), "cell_id"]
    store = store or tmp_path / "store"
    for sub in ("cells", "outcomes", "traces"):
        (store / sub).mkdir(parents=True)
        for cid in ids:
            if (committed / sub / f"{cid}.parquet").exists():
                shutil.copy(committed / sub / f"{cid}.parquet", store / sub)
    return store


def _files(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_cached_figures_are_the_fresh_figures_and_a_changed_input_draws_afresh(
        tmp_path, monkeypatch):
    """The site built from the figure cache is byte for byte the site built with --no-cache;
    the second build copies the stored files (a marker written into the cache shows up in
    the output); changing one query's outcome is a new key, drawn afresh."""
    from bench.cli import main
    from bench.site.figure_cache import cache_root

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    store = _smoke_store(tmp_path)

    def site(name: str, *extra: str) -> dict[str, bytes]:
        assert main(["site", str(store), "--out", str(tmp_path / name), *extra]) == 0
        return _files(tmp_path / name)

    fresh = site("fresh", "--no-cache")
    assert not cache_root().exists()  # --no-cache writes no cache
    assert sum(name.startswith("figures/") for name in fresh) >= 2
    assert site("first") == fresh  # a miss: drawn, then stored
    (entry,) = [p for p in cache_root().iterdir()]
    assert site("second") == fresh  # a hit: copied
    png = sorted(entry.glob("*.png"))[0]
    png.write_bytes(png.read_bytes() + b"marker")
    assert site("marked")[f"figures/{png.name}"].endswith(b"marker")  # really from the cache

    outcomes = sorted((store / "outcomes").glob("*.parquet"))[0]
    df = pd.read_parquet(outcomes)
    df.loc[0, "best_rank"] = df["best_rank"].iloc[0] + 1
    df.to_parquet(outcomes, index=False)
    changed = site("changed")
    assert len(list(cache_root().iterdir())) == 2  # a second key
    assert not changed[f"figures/{png.name}"].endswith(b"marker")
    assert changed == site("changed-fresh", "--no-cache")


def test_the_figure_cache_keeps_the_most_recently_used_drawings(tmp_path, monkeypatch):
    import os

    from bench.site import figure_cache

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(figure_cache, "KEEP", 2)
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "a.png").write_bytes(b"png")
    placed = {("s", "d", "t2i", "single"): [{"file": "a.png", "caption": "a"}]}
    for n, key in enumerate(("k1", "k2")):
        figure_cache.save(key, figures, placed, 1)
        os.utime(figure_cache.cache_root() / key, (n, n))
    out = tmp_path / "out"
    out.mkdir()
    assert figure_cache.load("k1", out) == (placed, 1)  # k1 used now: newer than k2
    figure_cache.save("k3", figures, placed, 1)
    assert sorted(p.name for p in figure_cache.cache_root().iterdir()) == ["k1", "k3"]
    assert (out / "a.png").read_bytes() == b"png"


def test_nested_stores_are_sections_of_their_own(tmp_path):
    """--nested: a sub-folder holding cells/ is a site of its own in OUT/<name>/ (its own
    tables and ranking: source only here), listed on the main index and linking back;
    without --nested the main site is the same as before and has no section."""
    from bench.cli import main

    store = _smoke_store(tmp_path)
    _smoke_store(tmp_path, methods=("source",), store=store / "only-source")
    plain, nested = tmp_path / "plain", tmp_path / "nested"
    assert main(["site", str(store), "--out", str(plain), "--no-figures"]) == 0
    assert main(["site", str(store), "--out", str(nested), "--no-figures", "--nested"]) == 0
    assert not (plain / "only-source").exists()
    assert "Other result stores" not in (plain / "index.html").read_text()
    index = (nested / "index.html").read_text()
    assert 'href="only-source/index.html"' in index and "Other result stores" in index
    section = (nested / "only-source" / "index.html").read_text()
    assert 'href="../index.html"' in section and "bench leaderboard: only-source" in section
    assert (nested / "only-source" / "assets" / "site.js").is_file()
    board = (nested / "only-source" / "downloads" / "leaderboard.r1.csv").read_text()
    assert "source" in board and "tent" not in board  # ranked apart from the main store
    main_board = (nested / "downloads" / "leaderboard.r1.csv").read_text()
    assert main_board == (plain / "downloads" / "leaderboard.r1.csv").read_text()
    for name in ("data/smoke_mini-scenes-smoke_i2t_single.js",
                 "downloads/smoke_mini-scenes-smoke_i2t_single.r1.csv"):
        assert (nested / name).read_text() == (plain / name).read_text()
    compare = (nested / "compare.html").read_text()  # every page links to the sections
    assert compare.replace('<a href="index.html#stores">Other stores</a>', "") == \
        (plain / "compare.html").read_text()
    assert (nested / "only-source" / "smoke_mini-scenes-smoke_i2t_single.html").is_file()


def test_a_nested_store_named_like_a_site_folder_is_refused(tmp_path, capsys):
    from bench.cli import main

    store = _smoke_store(tmp_path)
    _smoke_store(tmp_path, methods=("source",), store=store / "data")
    assert main(["site", str(store), "--out", str(tmp_path / "site"), "--nested"]) == 2
    assert "nested store" in capsys.readouterr().err
    assert main(["site", str(store), "--out", str(tmp_path / "site"), "--no-figures"]) == 0


def _with_diagnostics(store, direction: str) -> None:
    """Give the rows of one direction's cells a before / after modality gap (the other
    direction's rows keep the columns empty, as rows stored without diagnostics do)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.engine.store import RESULT_SCHEMA

    for path in sorted((store / "cells").glob("*.parquet")):
        row = pq.read_table(path).to_pylist()[0]
        if row["direction"] != direction:
            continue
        row |= {"gap_before": 0.5, "gap_after": 0.625 if row["method"] == "tent" else 0.5}
        pq.write_table(pa.Table.from_pylist([row], schema=RESULT_SCHEMA), path)


def test_diagnostics_are_offered_where_the_rows_have_them(tmp_path):
    """Rows of t2i carry gap_before / gap_after, rows of i2t none: the t2i page's metric
    switch offers them (the numbers of `leaderboard --metric gap_after`) and its cells show
    before -> after; the i2t page and its cells are as without diagnostics."""
    from bench.cli import main

    store = _smoke_store(tmp_path)
    plain = tmp_path / "plain"
    assert main(["site", str(store), "--out", str(plain), "--no-figures"]) == 0
    _with_diagnostics(store, "t2i")
    site, board = tmp_path / "site", tmp_path / "board.csv"
    assert main(["site", str(store), "--out", str(site), "--no-figures"]) == 0
    t2i, i2t = "smoke_mini-scenes-smoke_t2i_single", "smoke_mini-scenes-smoke_i2t_single"
    page = (site / f"{t2i}.html").read_text()
    assert '<optgroup label="common-space diagnostics"><option value="gap_before">gap before' \
        '</option><option value="gap_after">gap after</option></optgroup>' in page
    assert f'id="{t2i}-gap_after-main"' in page
    data = (site / "data" / f"{t2i}.js").read_text()
    assert "common space: source → adapted" in data
    assert "gap 0.500 → 0.625" in data and "gap 0.500 → 0.500" in data
    for name in (f"{i2t}.html", f"data/{i2t}.js"):  # no diagnostics: unchanged
        assert (site / name).read_text() == (plain / name).read_text()
    assert main(["leaderboard", str(store), "--metric", "gap_after", "--format", "csv",
                 "--out", str(board)]) == 0
    assert (site / "downloads" / "leaderboard.gap_after.csv").read_bytes() == board.read_bytes()
    assert "0.625" in board.read_text()


def test_diagnostics_lines_show_source_and_adapted_measures():
    import math

    from bench.site.cells import diagnostics_lines

    row = {"gap_before": 0.66, "gap_after": 0.69, "gap_clean_before": 0.64,
           "gap_clean_after": math.nan, "consistency_before": 0.29, "consistency_after": None,
           "uniformity_g": 0.8, "grad_angle": 112.34}
    present = ["gap_before", "gap_after", "gap_clean_before", "consistency_before",
               "uniformity_g", "grad_angle"]
    assert diagnostics_lines(row, present) == [
        "gap 0.660 → 0.690 (clean 0.640 → –)", "consistency 0.290 → –",
        "uniformity g (gallery) 0.800", "grad angle 112.3°"]
    assert diagnostics_lines(row, []) == []


def test_a_trace_of_61_to_120_batches_is_drawn_from_the_means_of_batch_pairs():
    """The pairs' means are numpy's nanmean of each pair, bit for bit (NaN batches left out,
    an all-NaN pair NaN, an odd last batch alone)."""
    import numpy as np

    from bench.site.cells import _pair_means

    rng = np.random.default_rng(0)
    values = rng.uniform(0, 100, 101)
    values[[3, 10, 11, 40]] = np.nan
    expected = [np.nanmean(values[i:i + 2]) if not np.isnan(values[i:i + 2]).all() else np.nan
                for i in range(0, len(values), 2)]
    got = _pair_means(values)
    assert len(got) == 51 and np.isnan(got[5]) and got[-1] == values[-1]
    assert np.array_equal(got, np.array(expected), equal_nan=True)


def test_two_versions_of_a_suite_never_share_a_figure(tmp_path, monkeypatch):
    """Severity curves are drawn per table (suite version): the earlier version's rows go to
    its own figure (`mini-c-v1`), never into the current version's."""
    from helpers_outcomes import write_store

    from bench.api.registry import SUITES, load_builtins
    from bench.cli import main

    load_builtins()
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    store = tmp_path / "store"
    write_store(store, seeds=(0,), severities=(3, 5), suite_version="1")
    write_store(store, seeds=(0,), severities=(2, 3), first_cell=100,
                suite_version=str(SUITES.get("mini-c").version))
    assert main(["site", str(store), "--out", str(tmp_path / "site"), "--no-cache"]) == 0
    names = sorted(p.name for p in (tmp_path / "site" / "figures").glob("severity_*.png"))
    assert names == ["severity_mini-c-v1_mini_i2t_single.png",
                     "severity_mini-c_mini_i2t_single.png"]
