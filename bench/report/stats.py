"""Uncertainty of leaderboard numbers: bootstrap intervals, paired tests, Holm, ties.

Everything here works on a `Sample`: strata of per-query values, each with a weight.
A table cell's sample has one stratum per seed (weight 1/seeds: the cell's value is
the mean over seeds of each seed's mean over queries); an average over shifts has
one stratum per (shift, seed) with weight 1/(shifts x seeds of that shift). The
bootstrap resamples queries *within* each stratum (stratified), so an average never
borrows queries from one shift to fill another, and seeds are aggregated by
resampling seeds x queries: each seed's queries within that seed. Seeds are strata,
not resampled themselves (three seeds are too few to resample); the interval is
conditional on the seeds run, and their spread enters through their outcomes.

The bootstrap is exact and vectorised: a per-query value takes few distinct values
(a hit is 0 or 1, a paired difference -1, 0 or 1), so resampling n queries with
replacement is a multinomial draw over those values; `rng.multinomial` draws all
resamples at once. Continuous values fall back to index resampling.

Paired comparisons (two methods on the same queries: same cell, seed and stream
position) report the difference of means with a paired bootstrap interval, and an
exact two-sided sign test on the discordant queries (one method right, the other
wrong; `scipy.stats.binomtest` with p = 1/2). Significance uses the sign test; the
interval is shown beside it. Intervals are percentile intervals at `LEVEL`.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Hashable, Sequence
from dataclasses import astuple, dataclass

import numpy as np

from bench.report import memo

LEVEL = 0.95
ALPHA = 1 - LEVEL
N_BOOT = 2000
_DISCRETE = 64  # at most this many distinct values: multinomial bootstrap

# stratum key -> (stream positions, per-query values, weight); positions pair two methods
Sample = dict[Hashable, tuple[np.ndarray, np.ndarray, float]]


def rng_for(*key) -> np.random.Generator:
    """A generator seeded from a stable hash of `key`: the same table gives the same interval."""
    text = json.dumps(key, sort_keys=True, default=str)
    return np.random.default_rng(zlib.crc32(text.encode("utf-8")))


def resample_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot,) means of `values` resampled with replacement (nonparametric bootstrap)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        raise ValueError("cannot resample an empty stratum")
    uniq, counts = np.unique(values, return_counts=True)
    if len(uniq) <= _DISCRETE:
        draws = rng.multinomial(n, counts / n, size=n_boot)  # (B, k) counts per value
        return draws @ uniq / n
    return values[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)


def _weights(sample: Sample) -> dict:
    total = math.fsum(w for _, _, w in sample.values())
    return {k: w / total for k, (_, _, w) in sample.items()}


def point(sample: Sample) -> float:
    """The weighted mean of the strata means, summed exactly (`math.fsum`): the same value
    whatever order the strata come in (a plain float sum's last bit follows the order, and
    a value on a rounding edge of the table's one decimal would move with it)."""
    w = _weights(sample)
    return math.fsum(w[k] * float(np.mean(v)) for k, (_, v, _) in sample.items())


def bootstrap(sample: Sample, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot,) stratified bootstrap distribution of `point(sample)`."""
    w = _weights(sample)
    dist = np.zeros(n_boot)
    for k in sorted(sample, key=repr):  # a fixed draw order: reproducible
        dist += w[k] * resample_means(sample[k][1], n_boot, rng)
    return dist


@dataclass(frozen=True)
class Interval:
    value: float
    lo: float
    hi: float

    @property
    def half(self) -> float:
        return (self.hi - self.lo) / 2


def interval(sample: Sample, n_boot: int = N_BOOT, rng: np.random.Generator | None = None,
             level: float = LEVEL) -> Interval:
    """Point value and percentile bootstrap interval of a sample's weighted mean."""
    rng = rng if rng is not None else rng_for(sorted(map(repr, sample)))
    store = memo.active()
    key = store.key("interval", (sample,), rng, n_boot, level) if store is not None else ""
    known = store.get(key) if store is not None else None
    if known is None:
        known = _bounds(sample, n_boot, rng, level)
        if store is not None:
            store.put(key, known)
    return Interval(point(sample), *known)


def _bounds(sample: Sample, n_boot: int, rng: np.random.Generator, level: float) -> list[float]:
    """The percentile interval's [lo, hi] from `n_boot` stratified resamples."""
    dist = bootstrap(sample, n_boot, rng)
    tail = 100 * (1 - level) / 2
    return [float(x) for x in np.percentile(dist, [tail, 100 - tail])]


@dataclass(frozen=True)
class Paired:
    """a - b on the same queries: difference, its interval, the sign test."""

    delta: float
    lo: float
    hi: float
    better: int  # queries where a scores higher than b
    worse: int  # queries where b scores higher than a
    n: int  # paired queries
    p: float  # exact two-sided sign test on the discordant queries

    @property
    def half(self) -> float:
        return (self.hi - self.lo) / 2

    def significant(self, alpha: float = ALPHA) -> int:
        """+1 / -1 when a is significantly better / worse than b, else 0."""
        if self.p >= alpha:
            return 0
        return 1 if self.delta > 0 else -1 if self.delta < 0 else 0


def align(a: Sample, b: Sample) -> Sample:
    """The difference sample a - b over their common strata and common stream positions, in
    a's order (not a set's, whose order follows the process's string hashing)."""
    out: Sample = {}
    for key in (k for k in a if k in b):
        pa, va, wa = a[key]
        pb, vb, _ = b[key]
        common, ia, ib = np.intersect1d(pa, pb, assume_unique=True, return_indices=True)
        if len(common):
            out[key] = (common, np.asarray(va, float)[ia] - np.asarray(vb, float)[ib], wa)
    return out


def sign_test(better: int, worse: int) -> float:
    """Exact two-sided binomial test of better vs worse discordant counts (1.0 when none)."""
    from scipy.stats import binomtest  # imported on first use: a memoised table needs none

    n = better + worse
    return 1.0 if n == 0 else float(binomtest(better, n, 0.5).pvalue)


def p_text(p: float) -> str:
    """A p-value as tables print it; one below the smallest double the test can return
    (it underflows to 0 with tens of thousands of discordant queries) reads "< 1e-300"."""
    return "< 1e-300" if p < 1e-300 else f"{p:.2g}"


def p_clause(p: float) -> str:
    """The same in prose: "p = 0.012", "p < 1e-300"."""
    text = p_text(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def paired(a: Sample, b: Sample, n_boot: int = N_BOOT, rng: np.random.Generator | None = None,
           level: float = LEVEL) -> Paired | None:
    """Paired comparison of two samples on their common queries; None when none are common."""
    store = memo.active()
    if store is not None and rng is not None:
        key = store.key("paired", (a, b), rng, n_boot, level)
        known = store.get(key)
        if known is None:
            result = _paired(a, b, n_boot, rng, level)
            known = [] if result is None else list(astuple(result))
            store.put(key, known)
        return Paired(*known) if known else None
    return _paired(a, b, n_boot, rng, level)


def _paired(a: Sample, b: Sample, n_boot: int, rng: np.random.Generator | None,
            level: float) -> Paired | None:
    diff = align(a, b)
    if not diff:
        return None
    rng = rng if rng is not None else rng_for(sorted(map(repr, diff)))
    iv = Interval(point(diff), *_bounds(diff, n_boot, rng, level))
    values = [v for _, v, _ in diff.values()]
    better = int(sum((v > 0).sum() for v in values))
    worse = int(sum((v < 0).sum() for v in values))
    n = int(sum(len(v) for v in values))
    return Paired(iv.value, iv.lo, iv.hi, better, worse, n, sign_test(better, worse))


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def combine(samples: dict[Hashable, Sample]) -> Sample:
    """One sample giving each part equal total weight (an average over cells)."""
    out: Sample = {}
    for name, sample in samples.items():
        total = sum(w for _, _, w in sample.values())
        for key, (pos, vals, w) in sample.items():
            out[(name, key)] = (pos, vals, w / total / len(samples))
    return out


def tie_groups(order: Sequence[Hashable], differs) -> list[list[Hashable]]:
    """Group entries sorted best first: an entry joins the current group while it is not
    significantly worse than the group's leader (`differs(leader, entry)` is False)."""
    groups: list[list[Hashable]] = []
    for item in order:
        if groups and not differs(groups[-1][0], item):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def shared_ranks(groups: list[list[Hashable]]) -> dict[Hashable, float]:
    """Rank per entry: the members of a group share the mean of the positions they hold."""
    ranks, start = {}, 1
    for group in groups:
        mean = start + (len(group) - 1) / 2
        ranks.update({item: mean for item in group})
        start += len(group)
    return ranks
