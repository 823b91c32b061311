from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers_results import write_results

from bench.cli import main
from bench.engine.store import ResultStore, read_results

plots = pytest.importorskip("bench.report.plots")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_results(root)
    return root


@pytest.fixture(scope="module")
def figures(results):
    df = read_results(results)
    figs, skipped = plots.build_figures(df, ResultStore(results).read_traces())
    return dict(figs), skipped


def test_figures_and_panel_counts(figures):
    figs, skipped = figures
    assert not skipped
    assert sorted(figs) == [
        "heatmap_mini-c_mini_i2t_single", "heatmap_mini-diverse_mini_i2t_continual",
        "heatmap_mini-diverse_mini_i2t_mixed", "retention_mini-diverse_mini_i2t",
        "severity_mini-c_mini_i2t_single", "stream_mini-diverse_mini_i2t"]
    assert len(figs["severity_mini-c_mini_i2t_single"].axes) == 3  # one panel per shift
    assert len(figs["stream_mini-diverse_mini_i2t"].axes) == 2  # mixed, continual
    assert len(figs["heatmap_mini-c_mini_i2t_single"].axes) == 1
    # one line per method in each severity panel; tent's failed fog@5 leaves a shorter line
    fog = figs["severity_mini-c_mini_i2t_single"].axes[1]
    lines = {ln.get_label(): ln for ln in fog.get_lines()}
    assert sorted(lines) == ["rest", "source", "tcr", "tent"]
    assert list(lines["tent"].get_xdata()) == [0, 1, 3]
    # heatmap says the status where there is no value
    texts = [t.get_text() for t in figs["heatmap_mini-c_mini_i2t_single"].axes[0].texts]
    assert "fail" in texts and "35.5" in texts


def test_method_styles_distinct_without_colour():
    methods = ["source", "tent", "eata", "sar", "read", "deyo", "tcr", "rest"]
    pairs = {(s["marker"], str(s["linestyle"])) for s in map(plots.method_style, methods)}
    assert len(pairs) == len(methods)


def test_save_writes_deterministic_files(results, tmp_path):
    df = read_results(results)
    names = ("heatmap_mini-diverse_mini_i2t_mixed", "retention_mini-diverse_mini_i2t")

    def save(folder):  # a fresh figure each time, as a rerun of the command would
        figs = dict(plots.build_figures(df, suites=["mini-diverse"])[0])
        return plots.save_figures([(n, figs[n]) for n in names], tmp_path / folder)

    first, second = save("a"), save("b")
    assert [p.name for p in first] == [
        "heatmap_mini-diverse_mini_i2t_mixed.png", "heatmap_mini-diverse_mini_i2t_mixed.pdf",
        "retention_mini-diverse_mini_i2t.png", "retention_mini-diverse_mini_i2t.pdf"]
    for a, b in zip(first, second, strict=True):
        assert a.stat().st_size > 1000
        assert a.read_bytes() == b.read_bytes()
    assert b"CreationDate" not in first[1].read_bytes()
    assert b"Software" not in first[0].read_bytes()


def test_absent_data_is_skipped_with_a_line(results):
    df = read_results(results)
    one_sev = df[(df["suite"] == "mini-c") & (df["severity"].isin([0, 5]))]
    figs, skipped = plots.build_figures(one_sev, None)
    assert [n for n, _ in figs] == ["heatmap_mini-c_mini_i2t_single"]
    assert len(skipped) == 3
    assert any(s.startswith("skipped severity curves") for s in skipped)
    assert any(s.startswith("skipped stream traces") for s in skipped)


def test_cli_plot(results, tmp_path, capsys):
    out = tmp_path / "figs"
    argv = ["plot", str(results), "--out", str(out), "--suite", "mini-diverse", "--format", "png"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    written = captured.out.split()
    assert len(written) == 4 and all(p.endswith(".png") for p in written)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.rsplit("/", 1)[1] for p in written)
    assert "skipped severity curves" in captured.err


def test_cli_plot_missing_folder(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_uncertainty_in_figures(tmp_path):
    """With per-query outcomes: a Δ-vs-source panel (non-significant cells hatched, the
    colour map centred at 0) beside the absolute heatmap, and interval bands on the curves."""
    from helpers_outcomes import PLANTED, write_store
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Rectangle

    methods = {m: PLANTED[m] for m in ("source", "tent", "eata")}
    store = write_store(tmp_path, methods, seeds=(0,), n=400, severities=(1, 5))
    figs = dict(plots.build_figures(store.read(), None, outcomes=store.read_outcomes())[0])
    heat = figs["heatmap_mini-c_mini_i2t_single"]
    assert len(heat.axes) == 2
    absolute, delta = heat.axes
    assert "Δ vs source" in delta.get_title()
    image = delta.get_images()[0]
    assert image.norm.vmin == -image.norm.vmax  # centred at 0
    hatched = [p for p in delta.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert len(hatched) == 2  # eata = source on both shifts: not significant
    texts = [t.get_text() for t in delta.texts]
    assert "+10.0↑" in texts and "ref" in texts  # 40 more hits of 400
    curves = figs["severity_mini-c_mini_i2t_single"]
    assert all(sum(isinstance(c, PolyCollection) for c in ax.collections) == 3
               for ax in curves.axes)


def test_trace_band_hand_computed():
    from bench.report.plot_stats import trace_band

    outcomes = pd.DataFrame({"cell_id": ["a"] * 4, "position": range(4), "query_id": range(4),
                             "batch": [0, 0, 1, 1], "best_rank": [1, 2, 1, 1]})
    batch, lo, hi = trace_band(outcomes, ["a"], window=1)
    assert list(batch) == [0, 1]
    half = 1.96 * np.sqrt(0.25 / 2)
    assert lo[0] == pytest.approx(100 * (0.5 - half)) and hi[0] == pytest.approx(100 * (0.5 + half))
    assert lo[1] == hi[1] == 100.0
    assert trace_band(outcomes, ["a", "b"], 1) is None  # a cell without outcomes: no band


def _with_diagnostics(results):
    """The store's rows with before/after diagnostics on mini-c's shifted cells (gap moving
    by a known amount per method) and its diverse traces with per-step angles."""
    df = read_results(results)
    shifted = (df["suite"] == "mini-c") & (df["shift"] != "clean") & (df["status"] == "ok")
    move = {"source": 0.0, "tent": -0.01, "tcr": -0.02, "rest": -0.03}
    for m in ("uniformity_q", "gap", "intermodal_sim", "consistency"):
        df[f"{m}_before"] = np.where(shifted, 0.5, np.nan)
        df[f"{m}_after"] = np.where(shifted, 0.5 + df["method"].map(move).fillna(0.0), np.nan)
        df[f"{m}_clean_before"] = np.where(shifted, 0.6, np.nan)
    traces = ResultStore(results).read_traces()
    traces["grad_angles"] = [f"[null, {80 + b}, {100 + b}]" for b in traces["batch"]]
    return df, traces


def test_diagnostic_figures_where_rows_have_them(results):
    df, traces = _with_diagnostics(results)
    figs, skipped = plots.build_figures(df, traces)
    figs = dict(figs)
    assert not skipped
    moves = figs["diagnostics_mini-c_mini_i2t"]
    assert [ax.get_title() for ax in moves.axes] == [
        "query uniformity", "modality gap", "inter-modal similarity", "consistency"]
    gap = moves.axes[1]
    # per method: a hollow marker at the mean before, a filled one at the mean after
    after = {ln.get_label(): ln.get_ydata()[0] for ln in gap.get_lines()
             if not ln.get_label().startswith("_") and ln.get_label() != "in-domain (clean, source)"}
    assert after == pytest.approx({"source": 0.5, "tent": 0.49, "tcr": 0.48, "rest": 0.47})
    clean = [ln for ln in gap.get_lines() if ln.get_label() == "in-domain (clean, source)"]
    assert list(clean[0].get_ydata()) == [0.6, 0.6]
    angles = figs["angles_mini-diverse_mini_i2t"].axes[0]
    lines = {ln.get_label(): ln for ln in angles.get_lines()}
    assert list(lines["90 degrees: conflict above"].get_ydata()) == [90.0, 90.0]
    first = next(ln for label, ln in lines.items() if not label.startswith(("_", "90")))
    # batch 0's steps (null, 80, 100) then batch 1's (null, 81, 101): the mean over cells
    assert np.isnan(first.get_ydata()[0])
    assert list(first.get_ydata()[1:3]) == [80.0, 100.0]


def test_diagnostic_figures_skipped_silently_without_them(results, figures):
    figs, skipped = figures  # the store's rows and traces carry no diagnostics
    assert not any(n.startswith(("diagnostics_", "angles_")) for n in figs)
    assert not skipped


def test_a_rerun_under_way_stays_out_of_the_figures(tmp_path):
    """Rows of a newer version whose methods have not all run (source on both shifts, tent
    on one) never join the complete version's figure: the heatmap shows version 1 alone."""
    from helpers_outcomes import PLANTED, write_store

    from bench.api.registry import SUITES, load_builtins

    load_builtins()
    current = str(SUITES.get("mini-c").version)
    write_store(tmp_path, seeds=(0,), suite_version="1")
    write_store(tmp_path, seeds=(0,), first_cell=100, methods={"source": PLANTED["source"]},
                suite_version=current, model="mini-clip-2")
    write_store(tmp_path, seeds=(0,), first_cell=200, methods={"tent": PLANTED["tent"]},
                shifts=("fog",), suite_version=current, model="mini-clip-2")
    figs = dict(plots.build_figures(read_results(tmp_path))[0])
    heat = next(f for name, f in figs.items() if name.startswith("heatmap_mini-c"))
    labels = [t.get_text() for t in heat.axes[0].get_yticklabels()]
    assert len(labels) == len(PLANTED) and not any("mini-clip-2" in lb for lb in labels)
