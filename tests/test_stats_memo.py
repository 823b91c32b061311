"""The statistics memo (RESULTS/statistics.json) gives exactly what computing afresh gives,
and any change of an input (an outcome, the generator's state, the resample count, the
libraries) is a miss that is computed afresh."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers_outcomes import write_store
from helpers_run import cli

from bench.report import memo, stats
from bench.report.leaderboard import build
from bench.report.render import render


def _board(store) -> str:
    return render(build(store.read(), "r1", outcomes=store.read_outcomes()), "md")


def _sample(seed: int = 0, n: int = 200) -> stats.Sample:
    rng = np.random.default_rng(seed)
    return {("fog", 5, s): (np.arange(n), 100.0 * (rng.random(n) < 0.5), 1.0) for s in range(3)}


def test_memoised_board_equals_the_fresh_one_and_computes_nothing(tmp_path, monkeypatch):
    store = write_store(tmp_path / "res")
    fresh = _board(store)  # no memo active: every interval and test computed
    with memo.memo(store.root) as m:
        assert _board(store) == fresh
    assert m.new >= 30  # (a statistic asked twice in one build is a hit)
    assert (store.root / memo.FILE).is_file()

    def no_bootstrap(*args, **kwargs):
        raise AssertionError("a memoised statistic was computed again")

    monkeypatch.setattr(stats, "bootstrap", no_bootstrap)
    with memo.memo(store.root) as m:
        assert _board(store) == fresh
    assert m.new == 0 and m.hits >= 30


def test_a_changed_outcome_is_computed_afresh(tmp_path):
    store = write_store(tmp_path / "res")
    with memo.memo(store.root):
        _board(store)
    # break one hit of one cell: its value, interval and pairs change
    path = sorted(store.outcomes_dir.glob("*.parquet"))[0]
    outcomes = pd.read_parquet(path)
    first_hit = int(np.flatnonzero(outcomes["best_rank"].to_numpy() == 1)[0])
    outcomes.loc[first_hit, "best_rank"] = 4
    outcomes.to_parquet(path, index=False)
    fresh = _board(store)
    with memo.memo(store.root) as m:
        assert _board(store) == fresh
    assert m.new > 0 and m.hits > 0  # the changed cell's statistics miss, the others hit


@pytest.mark.parametrize("change", ["values", "seed", "n_boot", "level", "weight"])
def test_each_input_is_part_of_the_key(tmp_path, change):
    sample, seed, n_boot, level = _sample(), 7, 500, 0.95
    with memo.memo(tmp_path):
        first = stats.interval(sample, n_boot, np.random.default_rng(seed), level)
    if change == "values":
        key = next(iter(sample))
        pos, vals, w = sample[key]
        vals = vals.copy()
        vals[0] = 100.0 - vals[0]
        sample = {**sample, key: (pos, vals, w)}
    elif change == "weight":
        key = next(iter(sample))
        sample = {**sample, key: (*sample[key][:2], 2.0)}
    seed += change == "seed"
    n_boot += 100 * (change == "n_boot")
    level = 0.9 if change == "level" else level
    with memo.memo(tmp_path) as m:
        got = stats.interval(sample, n_boot, np.random.default_rng(seed), level)
    assert m.hits == 0 and m.new == 1
    assert got == stats.interval(sample, n_boot, np.random.default_rng(seed), level)
    assert (got.lo, got.hi) != (first.lo, first.hi) or change == "weight"


def test_paired_results_round_trip_exactly(tmp_path):
    a, b = _sample(0), _sample(1)
    fresh = stats.paired(a, b, rng=np.random.default_rng(3))
    for _ in range(2):  # computed and stored, then read back from the file
        with memo.memo(tmp_path):
            assert stats.paired(a, b, rng=np.random.default_rng(3)) == fresh
    disjoint = {("x", 1, 0): (np.arange(5) + 100, np.zeros(5), 1.0)}
    with memo.memo(tmp_path):
        assert stats.paired(a, disjoint, rng=np.random.default_rng(3)) is None
    with memo.memo(tmp_path) as m:
        assert stats.paired(a, disjoint, rng=np.random.default_rng(3)) is None
    assert m.hits == 1


def test_a_memo_of_other_library_versions_is_ignored(tmp_path):
    sample = _sample()
    with memo.memo(tmp_path):
        stats.interval(sample, 300, np.random.default_rng(1))
    path = tmp_path / memo.FILE
    lines = path.read_text().splitlines()
    header = json.loads(lines[0]) | {"numpy": "0.0"}
    key, _ = json.loads(lines[1])
    path.write_text("\n".join([json.dumps(header), json.dumps([key, [-1.0, -1.0]])]) + "\n")
    with memo.memo(tmp_path) as m:
        iv = stats.interval(sample, 300, np.random.default_rng(1))
    assert m.hits == 0 and iv.lo >= 0


def test_an_unwritable_folder_is_read_without_a_memo(tmp_path, monkeypatch):
    def refuse(path, write):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(memo, "atomic_write", refuse)
    with memo.memo(tmp_path) as m:
        stats.interval(_sample(), 300, np.random.default_rng(1))
    assert m.new == 1 and not (tmp_path / memo.FILE).exists()


def test_leaderboard_command_output_is_the_same_with_and_without_the_memo(tmp_path):
    store = write_store(tmp_path / "res", seeds=(0,))
    outs = []
    for flags in (["--no-cache"], [], [], ["--no-cache"]):
        out = tmp_path / f"board{len(outs)}.md"
        code, _, _ = cli("leaderboard", store.root, "--out", out, *flags)
        assert code == 0
        outs.append(out.read_text())
        # --no-cache neither reads nor writes the memo; a plain run writes it
        assert (store.root / memo.FILE).exists() == (len(outs) > 1)
    assert outs[0] == outs[1] == outs[2] == outs[3]


def test_perf_leaderboard_times_each_variant_and_flags_a_different_output(tmp_path):
    """memo and --no-cache agree; a checkout whose leaderboard writes something else is
    reported as DIFFERS and the command exits 3."""
    store = write_store(tmp_path / "res", seeds=(0,), shifts=("fog",))
    other = _fake_checkout(
        tmp_path, "import sys\nargs = sys.argv\nopen(args[args.index('--out') + 1], 'w').write('x')\n")
    code, out, err = cli("perf", "leaderboard", store.root, "--repeat", "1",
                         "--versus-code", other)
    assert code == 3, err
    rows = _last_column(out)
    assert rows["memo"] == rows["fresh (--no-cache)"] == "identical"
    assert rows[f"code {other}"] == "DIFFERS"
    assert "output differs from the memo run's" in err


def test_perf_site_compares_every_file_of_the_folders(tmp_path):
    """`perf site`: the cached and the --no-cache site are the same file for file; a
    checkout whose site folder holds other bytes is reported as DIFFERS (exit 3)."""
    store = write_store(tmp_path / "res", seeds=(0,), shifts=("fog",))
    other = _fake_checkout(
        tmp_path, "import pathlib, sys\nargs = sys.argv\nout = pathlib.Path(args[args.index('--out') + 1])"
        "\nout.mkdir(parents=True, exist_ok=True)\n(out / 'index.html').write_text('x')\n")
    code, out, err = cli("perf", "site", store.root, "--no-figures", "--repeat", "1",
                         "--versus-code", other)
    assert code == 3, err
    rows = _last_column(out)
    assert rows["memo"] == rows["fresh (--no-cache)"] == "identical"
    assert rows[f"code {other}"] == "DIFFERS"
    assert "`bench site" in out and "--no-figures" in out


def _fake_checkout(tmp_path, main_body: str):
    """A folder whose `python -m bench` runs `main_body` instead of bench."""
    other = tmp_path / "other"
    (other / "bench").mkdir(parents=True)
    (other / "bench" / "__init__.py").write_text("")
    (other / "bench" / "__main__.py").write_text(main_body)
    return other


def _last_column(out: str) -> dict[str, str]:
    """A perf table's rows: first column -> last column."""
    return {line.split(" | ")[0].strip("| "): line.split(" | ")[-1].strip(" |")
            for line in out.splitlines() if line.startswith("| ") and "---" not in line}
