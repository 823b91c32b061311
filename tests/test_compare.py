"""`bench compare`: the paired test of two methods on every common cell."""

from __future__ import annotations

import pytest
from helpers_outcomes import PLANTED, write_store

from bench.cli import main
from bench.report.paired_compare import POOLED, compare_table


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("cmp"), seeds=(0,))


def test_planted_difference_found_on_every_cell(store):
    table = compare_table(store.read(), store.read_outcomes(), "tent", "source")
    assert table.rows[-1] == POOLED and len(table.rows) == 3
    for row in table.rows:
        delta = table.cell(row, "Δ")
        assert delta.value == pytest.approx(4.0) and delta.sig == 1 and delta.lo > 0
        assert table.cell(row, "p (Holm)").text
    assert table.cell(table.rows[0], "better / worse").text == "60 / 20"
    worse = compare_table(store.read(), store.read_outcomes(), "tcr", "source")
    assert all(worse.cell(r, "Δ").sig == -1 for r in worse.rows)


def test_identical_methods_show_nothing(store):
    table = compare_table(store.read(), store.read_outcomes(), "eata", "source")
    assert all(table.cell(r, "Δ").sig == 0 and table.cell(r, "Δ").value == 0
               for r in table.rows)
    assert table.cell(POOLED, "p (Holm)").text == "1"


def test_without_outcomes_values_only(store):
    table = compare_table(store.read(), None, "tent", "source")
    assert POOLED not in table.rows
    assert table.cell(table.rows[0], "Δ").status == "n/a"
    assert any("not tested" in n for n in table.notes)


def test_cli(store, capsys):
    assert main(["compare", str(store.root), "--method", "tent"]) == 0
    out = capsys.readouterr().out
    assert "| cell | tent | source | Δ |" in out and "+4.0 ± " in out
    assert main(["compare", str(store.root), "--method", "nope"]) == 2
    assert "no results for method 'nope'" in capsys.readouterr().err
    assert main(["compare", str(store.root), "--method", "tent", "--baseline", "tent"]) == 2


def test_each_suite_is_compared_at_one_version(tmp_path, capsys):
    from bench.api.registry import SUITES, load_builtins

    load_builtins()
    current = str(SUITES.get("mini-c").version)
    old = write_store(tmp_path, seeds=(0,))  # mini-c at version 1
    write_store(tmp_path, seeds=(0,), first_cell=100, suite_version=current)
    assert main(["compare", str(old.root), "--method", "tent"]) == 0
    out = capsys.readouterr().out
    assert f"paired on the same queries; mini-c v{current}" in out
    rows = [line for line in out.splitlines() if line.startswith("| mini-c")]
    assert len(rows) == 2  # the current version's two cells, not both versions' four


def test_a_method_only_at_an_older_version_is_named_with_it(tmp_path, capsys):
    from bench.api.registry import SUITES, load_builtins

    load_builtins()
    current = str(SUITES.get("mini-c").version)
    old = write_store(tmp_path, seeds=(0,))  # every method at mini-c v1
    write_store(tmp_path, seeds=(0,), first_cell=100, suite_version=current,
                methods={m: PLANTED[m] for m in ("source", "tent")})
    assert main(["compare", str(old.root), "--method", "tcr"]) == 2
    err = capsys.readouterr().err
    assert f"'tcr' has results only at mini-c v1; compared: mini-c v{current}" in err
