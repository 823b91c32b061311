"""Intervals, paired tests vs source, honest best marks and the MDD on leaderboard tables.

`bench.report.leaderboard` builds cells that carry a `Sample` of per-query values (from the
store's per-query outcomes); `annotate` then turns them into what a reader needs:

* each cell and each average: its 95 % bootstrap interval (`bench.report.stats`), seeded by
  the row's identity and the cell's strata (`seed_key`), so a table regenerates identically
  and a row's intervals stay the same whatever other runs the folder holds;
* each method vs the source row of the same model, weights and protocol, on the same
  queries: Δ with its paired interval, and a marker (↑ / ↓) when the exact sign test
  is significant at 95 % after Holm correction across the table's methods (per column);
* bold only when the best is significantly better than the runner-up (paired sign test);
  otherwise the best's tied group (not significantly worse than the best) is marked;
* the minimum detectable difference: the typical half-width of the paired intervals.

Cells without per-query outcomes (rows written before they were stored) keep their
point value, get no interval, no marker and no bold: nothing about them can be tested.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import numpy as np
import pandas as pd

from bench.report import stats
from bench.report.tables import AVG, Table, TableCell

# metrics recomputable per query from the best relevant item's rank
OUTCOME_KS = {"r1": (1,), "r5": (5,), "r10": (10,), "r50": (50,), "r_mean": (1, 5, 10)}
BETTER, WORSE = "↑", "↓"


def per_query(metric: str, best_rank: np.ndarray) -> np.ndarray | None:
    """Per-query value of a metric in percent (None when it is not a rank metric)."""
    ks = OUTCOME_KS.get(metric)
    if ks is None:
        return None
    best = np.asarray(best_rank)
    return 100.0 * np.mean([best <= k for k in ks], axis=0)


class OutcomeOrder:
    """Per-query outcomes sorted by cell, then stream position (unique within a cell): each
    cell's positions and best ranks. Sorting is most of the cost of `Outcomes`, and it is
    the same for every metric: one order serves the `Outcomes` of them all."""

    def __init__(self, outcomes: pd.DataFrame | None):
        self.slices: dict[str, tuple[int, int]] = {}  # cell id -> its rows [start, end)
        self.position: dict[str, np.ndarray] = {}  # cell id -> its positions, in order
        self.best_rank = np.empty(0, dtype=np.int64)
        if outcomes is None or outcomes.empty:
            return
        codes, cells = pd.factorize(outcomes["cell_id"])
        position = outcomes["position"].to_numpy()
        best_rank = outcomes["best_rank"].to_numpy()
        if not _sorted(codes, position):
            order = np.lexsort((position, codes))
            codes, position, best_rank = codes[order], position[order], best_rank[order]
        names = cells.tolist()
        bounds = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist(), len(codes)]
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            cell = names[codes[start]]
            self.slices[cell] = (start, end)
            self.position[cell] = position[start:end]
        self.best_rank = best_rank


class Outcomes:
    """Per-query values of one metric for each cell id that has stored outcomes (from the
    outcomes frame, or from its `OutcomeOrder` when several metrics share one)."""

    def __init__(self, outcomes: pd.DataFrame | OutcomeOrder | None, metric: str):
        self.by_cell: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if outcomes is None or metric not in OUTCOME_KS:
            return
        order = outcomes if isinstance(outcomes, OutcomeOrder) else OutcomeOrder(outcomes)
        if not order.slices:
            return
        values = per_query(metric, order.best_rank)  # element by element: any slice is alike
        self.by_cell = {cell: (order.position[cell], values[start:end])
                        for cell, (start, end) in order.slices.items()}

    def sample(self, ok_rows: pd.DataFrame) -> stats.Sample | None:
        """One stratum per seed of a cell's ok rows; None unless every one has outcomes."""
        columns = (ok_rows[c].tolist() for c in ("shift", "severity", "seed", "cell_id"))
        return self.sample_of(list(zip(*columns, strict=True)))

    def sample_of(self, rows: list[tuple]) -> stats.Sample | None:
        """`sample` of rows given as (shift, severity, seed, cell id) tuples."""
        if not rows or not all(cell in self.by_cell for *_, cell in rows):
            return None
        return {(shift, int(sev), int(seed)): (*self.by_cell[cell], 1.0)
                for shift, sev, seed, cell in rows}


def _sorted(codes: np.ndarray, position: np.ndarray) -> bool:
    """Whether rows are already in (cell code, position) order, as the stable sort puts them."""
    step, forward = np.diff(codes), np.diff(position)
    return bool(np.all((step > 0) | ((step == 0) & (forward >= 0))))


def seed_key(table: Table, i: int, sample: stats.Sample) -> tuple:
    """What seeds the bootstrap of row i's `sample`: the row's identity (suite, dataset,
    direction, stream, method, model, method config, weights and protocol) and the sample's
    strata (shift, severity, seed), so that a value's interval is a function of that row's
    own identity and data. Not the table's title nor the row's label: both change when other
    runs join the folder (a second limit renames rows `#1`, `#2`). A row added without an
    identity falls back to the title and label."""
    row = table.ids[i] if i < len(table.ids) and table.ids[i] else (table.title, table.rows[i])
    return (*row, *sorted(map(repr, sample)))


def _sample_of(cell) -> stats.Sample | None:
    return cell.sample if cell.status == "ok" and not cell.text else None


def pair_cache(table: Table) -> Callable[[int, int, int], stats.Paired | None]:
    cache: dict[tuple, stats.Paired | None] = {}

    def pair(i: int, k: int, j: int) -> stats.Paired | None:
        """Row i vs row k in column j."""
        if (i, k, j) not in cache:
            a, b = _sample_of(table.cells[i][j]), _sample_of(table.cells[k][j])
            cache[(i, k, j)] = None if a is None or b is None else stats.paired(
                a, b, rng=stats.rng_for("paired", seed_key(table, i, a), seed_key(table, k, b)))
        return cache[(i, k, j)]

    return pair


def annotate(table: Table, delta_kind: str = "delta") -> Table | None:
    """Intervals, markers vs source, best / tied marks and MDD; returns the Δ table or None."""
    measured = table.measured()
    for i in measured:
        for c in table.cells[i]:
            if _sample_of(c) is not None:
                iv = stats.interval(c.sample, rng=stats.rng_for(seed_key(table, i, c.sample)))
                c.lo, c.hi = iv.lo, iv.hi
    pair = pair_cache(table)
    deltas: dict[tuple[int, int], stats.Paired] = {}
    for j in range(len(table.columns)):
        tests = [(i, pair(i, table.refs[i], j)) for i in measured
                 if table.refs[i] is not None and table.refs[i] != i]
        tests = [(i, p) for i, p in tests if p is not None]
        adjusted = stats.holm([p.p for _, p in tests])
        for (i, p), p_adj in zip(tests, adjusted, strict=True):
            deltas[(i, j)] = p
            sig = 0 if p_adj >= stats.ALPHA else (1 if p.delta > 0 else -1 if p.delta < 0 else 0)
            table.cells[i][j].sig = sig
            table.cells[i][j].p = float(p_adj)
        mark_best(table, j, pair)
    _notes(table, deltas)
    if not deltas or not delta_kind:
        return None
    cols = sorted({j for _, j in deltas})
    delta = Table(f"Δ vs source, paired on the same queries — {table.title.split(' — ')[0]}",
                  delta_kind, [table.columns[j] for j in cols],
                  shift_columns=[c for c in table.shift_columns
                                 if table.columns.index(c) in cols])
    for i in measured:
        if table.refs[i] is None or table.refs[i] == i:
            continue
        line = []
        for j in cols:
            p = deltas.get((i, j))
            line.append(TableCell() if p is None else
                        TableCell(p.delta, status="ok", lo=p.lo, hi=p.hi, signed=True,
                             sig=table.cells[i][j].sig, p=table.cells[i][j].p))
        delta.add_row(table.rows[i], line)
    delta.notes = [n for n in table.notes if n.startswith(("minimum detectable", "↑"))]
    return delta


def mark_best(table: Table, j: int, pair) -> None:
    """Bold the best only when it is significantly better than the runner-up; else mark
    the tied group. Cells without per-query outcomes are never marked, nor a column with
    one measured value."""
    cand = [i for i, rep in enumerate(table.reported)
            if not rep and table.cells[i][j].status == "ok" and not table.cells[i][j].text]
    if len(cand) < 2:  # one method (a source-only severity table): nothing to be best among
        return
    fullest = max(table.cells[i][j].count for i in cand)
    cand = [i for i in cand if table.cells[i][j].count == fullest]
    if any(_sample_of(table.cells[i][j]) is None for i in cand):
        return
    cand.sort(key=lambda i: -table.cells[i][j].value)
    top = cand[0]
    if len(cand) == 1:
        table.cells[top][j].best = True
        return
    runner = pair(top, cand[1], j)
    if runner is not None and runner.significant() > 0:
        table.cells[top][j].best = True
        return
    for i in cand:
        p = pair(top, i, j) if i != top else None
        if i == top or p is None or p.significant() <= 0:
            table.cells[i][j].tied = True


def _notes(table: Table, deltas: dict) -> None:
    cells = [c for i in table.measured() for c in table.cells[i]
             if c.status == "ok" and not c.text]
    with_iv = [c for c in cells if not math.isnan(c.lo)]
    if not cells:
        return
    if table.untested:
        table.notes.append(table.untested)
    elif len(with_iv) < len(cells):
        some = "all" if not with_iv else f"{len(cells) - len(with_iv)} of {len(cells)}"
        table.notes.append(f"{some} values without per-query outcomes (rows written before bench "
                           "stored them): point values, no interval, no test, never bold; "
                           "differences between them may be noise.")
    if not with_iv:
        return
    table.notes.append("a ± h: value and half-width of its 95 % bootstrap interval over queries "
                       "(stratified per shift and seed; seeds: mean over seeds, interval over "
                       "seeds × queries). Bold: the best, significantly better than the "
                       "runner-up (paired sign test, 95 %); italic: the best's tied group, "
                       "no method in it significantly worse than the best.")
    if deltas:
        table.notes.append(f"{BETTER} / {WORSE}: significantly better / worse than source on the "
                           "same queries (exact sign test on discordant queries, 95 %, Holm "
                           "across the column's methods).")
        shift_cols = {table.columns.index(c) for c in table.shift_columns} or \
            set(range(len(table.columns)))
        per_shift = [p.half for (_, j), p in deltas.items() if j in shift_cols]
        avg = [p.half for (_, j), p in deltas.items() if table.columns[j] == AVG]
        n = [p.n for (_, j), p in deltas.items() if j in shift_cols]
        text = (f"minimum detectable difference (median half-width of the paired 95 % intervals "
                f"vs source): {statistics.median(per_shift):.1f} points on one column"
                f" (~{int(statistics.median(n))} paired queries)" if per_shift else
                "minimum detectable difference: no paired column")
        if avg:
            text += f", {statistics.median(avg):.1f} on {AVG}"
        table.notes.append(text + "; smaller differences are not evidence.")
