from __future__ import annotations

import pytest
from helpers_results import write_results

from bench.cli import main
from bench.store import ResultStore, read_results

plots = pytest.importorskip("bench.plots")


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
