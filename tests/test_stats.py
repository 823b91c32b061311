"""bench.report.stats: bootstrap intervals cover, paired tests find planted differences, Holm, ties."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import binomtest

from bench.report import stats


def _sample(values, key="s", positions=None, weight=1.0) -> stats.Sample:
    values = np.asarray(values, dtype=float)
    pos = np.arange(len(values)) if positions is None else np.asarray(positions)
    return {key: (pos, values, weight)}


def test_interval_covers_true_value_at_nominal_rate():
    """100 synthetic streams of 1,000 queries with a true R@1 of 62 %: >= 90 intervals cover."""
    rng = np.random.default_rng(123)
    covered = 0
    for trial in range(100):
        hits = (rng.random(1000) < 0.62).astype(float)
        iv = stats.interval(_sample(hits), n_boot=1000, rng=np.random.default_rng(trial))
        covered += iv.lo <= 0.62 <= iv.hi
    assert covered >= 90


def test_stratified_average_covers_and_never_mixes_strata():
    """An average over 3 shifts x 2 seeds (true mean 0.5): covers at about the nominal rate."""
    rng = np.random.default_rng(7)
    truth = {"a": 0.2, "b": 0.5, "c": 0.8}
    covered = 0
    for trial in range(100):
        sample = {(s, seed): (np.arange(300), (rng.random(300) < p).astype(float), 1.0)
                  for s, p in truth.items() for seed in (0, 1)}
        iv = stats.interval(sample, n_boot=500, rng=np.random.default_rng(trial))
        covered += iv.lo <= 0.5 <= iv.hi
    assert covered >= 90
    # a stratum with no variance contributes none: constant strata give a zero-width interval
    const = {"x": (np.arange(5), np.ones(5), 1.0), "y": (np.arange(5), np.zeros(5), 1.0)}
    iv = stats.interval(const, n_boot=200, rng=np.random.default_rng(0))
    assert (iv.value, iv.lo, iv.hi) == (0.5, 0.5, 0.5)


def test_point_and_weights_hand_computed():
    sample = {"a": (np.arange(4), np.array([1, 1, 0, 0.0]), 1.0),  # mean 0.5
              "b": (np.arange(2), np.array([1, 1.0]), 3.0)}  # mean 1.0
    assert stats.point(sample) == pytest.approx(0.25 * 0.5 + 0.75 * 1.0)
    parts = stats.combine({"x": {"s": (np.arange(2), np.array([0, 0.0]), 5.0)},
                           "y": sample})
    assert stats.point(parts) == pytest.approx(0.5 * 0 + 0.5 * 0.875)


def test_point_is_exact_whatever_the_strata_order():
    # equal weights 1/3; strata means 1e16, 1, -1e16: the exact mean is 1/3, where a plain
    # float sum gives 0.5 in this order (1/3 rounds onto 1e16/3's grid) and 1/3 with the
    # two large ones first
    strata = [(f"s{i}", (np.arange(1), np.array([m]), 1.0)) for i, m in
              enumerate([1e16, 1.0, -1e16])]
    assert sum(m / 3 for m in [1e16, 1.0, -1e16]) != sum(m / 3 for m in [1e16, -1e16, 1.0])
    assert stats.point(dict(strata)) == stats.point(dict(strata[::-1])) == pytest.approx(1 / 3)


def test_paired_statistics_do_not_follow_string_hashing():
    """The same paired comparison under three hash seeds (a set of str keys is ordered by
    them) gives the same output, and the aligned strata keep a's order."""
    code = """
import numpy as np
from bench.report import stats
rng = np.random.default_rng(0)
a = {f"shift{i}": (np.arange(50), (rng.random(50) < 0.3 + i / 100).astype(float), 1.0 + i)
     for i in range(12)}
b = {k: (p, (rng.random(50) < 0.3).astype(float), w) for k, (p, v, w) in a.items()}
r = stats.paired(a, b)
print(list(stats.align(a, b)) == list(a), repr(r.delta), repr(r.lo), repr(r.hi), r.p)
"""
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "3")}
    assert len(outs) == 1 and outs.pop().startswith("True "), outs


def test_interval_is_reproducible():
    hits = np.random.default_rng(0).random(500) < 0.4
    a = stats.interval(_sample(hits), rng=stats.rng_for("t", "col"))
    b = stats.interval(_sample(hits), rng=stats.rng_for("t", "col"))
    assert a == b


def test_multinomial_bootstrap_matches_index_resampling():
    values = np.random.default_rng(1).random(400) < 0.3
    fast = stats.resample_means(values, 20000, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    slow = values[rng.integers(0, 400, size=(20000, 400))].mean(axis=1)
    assert fast.mean() == pytest.approx(slow.mean(), abs=0.002)
    assert fast.std() == pytest.approx(slow.std(), rel=0.05)


def test_paired_finds_planted_two_point_difference():
    """1,000 queries; the method fixes 40 of source's misses and breaks 20 of its hits."""
    rng = np.random.default_rng(5)
    source = (rng.random(1000) < 0.5).astype(float)
    method = source.copy()
    misses, hits = np.nonzero(source == 0)[0], np.nonzero(source == 1)[0]
    method[rng.choice(misses, 40, replace=False)] = 1
    method[rng.choice(hits, 20, replace=False)] = 0
    res = stats.paired(_sample(method), _sample(source), rng=np.random.default_rng(0))
    assert res.delta == pytest.approx(0.02)
    assert (res.better, res.worse, res.n) == (40, 20, 1000)
    assert res.p == pytest.approx(binomtest(40, 60, 0.5).pvalue) and res.p < 0.05
    assert res.lo > 0 and res.significant() == 1
    # the same difference the other way round is significantly worse
    assert stats.paired(_sample(source), _sample(method)).significant() == -1


def test_paired_finds_nothing_between_identical_methods():
    hits = (np.random.default_rng(9).random(1000) < 0.5).astype(float)
    res = stats.paired(_sample(hits), _sample(hits.copy()))
    assert (res.delta, res.lo, res.hi, res.better, res.worse, res.p) == (0, 0, 0, 0, 0, 1.0)
    assert res.significant() == 0


def test_paired_aligns_on_stream_positions_and_common_strata():
    a = {"s0": (np.array([3, 1, 2]), np.array([1.0, 0, 1]), 1.0),
         "s1": (np.array([0]), np.array([1.0]), 1.0)}
    b = {"s0": (np.array([1, 2, 3, 9]), np.array([1.0, 1, 0, 1]), 1.0)}
    diff = stats.align(a, b)
    assert list(diff) == ["s0"]
    pos, d, _ = diff["s0"]
    assert list(pos) == [1, 2, 3] and list(d) == [-1, 0, 1]
    assert stats.paired(a, {"other": b["s0"]}) is None


def test_holm_hand_computed():
    adj = stats.holm([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01, 0.03, 0.04, 0.2 -> x4, x3, x2, x1, running max
    assert adj == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_tie_groups_and_shared_ranks():
    values = {"a": 60, "b": 59.8, "c": 55, "d": 54.9, "e": 40}
    differs = lambda x, y: abs(values[x] - values[y]) > 1  # noqa: E731
    groups = stats.tie_groups(list(values), differs)
    assert groups == [["a", "b"], ["c", "d"], ["e"]]
    assert stats.shared_ranks(groups) == {"a": 1.5, "b": 1.5, "c": 3.5, "d": 3.5, "e": 5.0}


def test_a_p_value_below_the_smallest_double_is_printed_as_a_bound():
    from bench.report.stats import p_clause, p_text, sign_test

    tiny = sign_test(15372, 8426)  # the pooled rest vs tcr counts on mini-coco-diverse
    assert tiny == 0.0 and p_text(tiny) == "< 1e-300" and p_clause(tiny) == "p < 1e-300"
    assert p_text(sign_test(30, 10)) == "0.0022" and p_clause(0.0123) == "p = 0.012"
