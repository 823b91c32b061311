"""Leaderboard tables from result rows: pure pandas, no printing.

A table is a grid of `Cell`s rather than strings so that each output format
(Markdown, CSV, HTML, LaTeX; see `bench.commands.leaderboard`) marks the best
value and the statuses its own way. Non-ok cells are shown and counted, never
averaged in. Published reference rows (`--reported`) are appended unranked.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from bench import reported as ref
from bench.errors import ConfigError, DataError
from bench.ordering import (
    DIVERSE_STREAMS,
    NOT_OK,
    ROW_KEYS,
    columns_at_max_severity,
    method_key,
    note_markers,
    prepare,
    row_labels,
    shift_key,
    stream_key,
)

METRICS = ("r1", "r5", "r10", "r_mean", "map", "minp", "retention_r1")
METRIC_LABELS = {"r1": "R@1", "r5": "R@5", "r10": "R@10", "r_mean": "mean R@1/5/10",
                 "map": "mAP", "minp": "mINP", "retention_r1": "retention R@1"}
GROUP_KEYS = ["suite", "dataset", "direction", "stream"]
AVG = "Avg."
COUNT = "shifts ok"


@dataclass
class Cell:
    """One table entry: a seed-averaged value, a status word, or plain text."""

    value: float = math.nan
    std: float = math.nan  # over seeds, NaN for a single seed
    seeds: int = 0
    status: str = "missing"  # ok / failed / diverged / unavailable / missing / n/a / blank
    count: int = 1  # how many cells an average stands for; best is chosen among the fullest
    mark: str = ""  # appended after the value (footnote marker, "(3/4)")
    text: str = ""  # free text (counts, ranks); shown as is
    best: bool = False


@dataclass
class Table:
    """A rendered-format-agnostic table with its heading and notes."""

    title: str
    kind: str  # main / severity / segments / ranking
    columns: list[str]
    rows: list[str] = field(default_factory=list)
    cells: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reported: list[bool] = field(default_factory=list)  # published reference rows
    shift_columns: list[str] = field(default_factory=list)  # columns that enter Avg. and ranks

    def add_row(self, label: str, cells: list[Cell], reported: bool = False) -> None:
        self.rows.append(label)
        self.cells.append(cells)
        self.reported.append(reported)

    def values(self) -> pd.DataFrame:
        """The numbers behind the table (NaN where a cell is not an ok value)."""
        data = [[c.value if c.status == "ok" else math.nan for c in line] for line in self.cells]
        return pd.DataFrame(data, index=self.rows, columns=self.columns, dtype=float)

    def cell(self, row: str, column: str) -> Cell:
        """The cell at a row label and column name."""
        return self.cells[self.rows.index(row)][self.columns.index(column)]


@dataclass
class Leaderboard:
    metric: str
    tables: list[Table]
    messages: list[str] = field(default_factory=list)  # one-line notices for the user


def cell_of(rows: pd.DataFrame | None, metric: str) -> Cell:
    """Average a cell's seeds: ok seeds give the value; otherwise the status word."""
    if rows is None or rows.empty:
        return Cell()
    ok = rows.loc[rows["status"] == "ok", metric].dropna()
    if len(ok):
        std = float(ok.std()) if len(ok) > 1 else math.nan
        # some seeds failed: the value stands for the others only, say so
        mark = "°" if len(ok) < len(rows) else ""
        return Cell(float(ok.mean()), std, len(ok), "ok", mark=mark)
    statuses = set(rows["status"])
    status = next((s for s in NOT_OK if s in statuses), "n/a")  # n/a: ok but metric not measured
    return Cell(status=status, seeds=len(rows))


def _mean_cell(cells: list[Cell], show_count: bool) -> Cell:
    oks = [c.value for c in cells if c.status == "ok"]
    if not oks:
        statuses = [c.status for c in cells]
        return Cell(status=next((s for s in NOT_OK if s in statuses), "missing"), count=0)
    mark = f" ({len(oks)}/{len(cells)})" if show_count and len(oks) < len(cells) else ""
    return Cell(sum(oks) / len(oks), status="ok", count=len(oks), mark=mark)


def mark_best(table: Table, column: str) -> None:
    """Bold the best measured value of a column, among the rows whose average is fullest."""
    j = table.columns.index(column)
    cand = [line[j] for line, rep in zip(table.cells, table.reported, strict=True)
            if not rep and line[j].status == "ok"]
    if not cand:
        return
    fullest = max(c.count for c in cand)
    top = max(round(c.value, 1) for c in cand if c.count == fullest)
    for c in cand:
        c.best = c.count == fullest and round(c.value, 1) == top


def _heading(key: tuple, group: pd.DataFrame, metric: str, what: str) -> str:
    suite, dataset, direction, stream = key
    pairs = zip(group["model"], group["pretrained"], strict=True)
    models = sorted({f"{m}/{p}" if p else m for m, p in pairs})
    versions = sorted(v for v in set(group["suite_version"]) if v)
    seeds = group.groupby(ROW_KEYS + ["shift", "severity"])["seed"].nunique()
    lo, hi = int(seeds.min()), int(seeds.max())
    suite_txt = f"{suite} v{'/'.join(versions)}" if versions else suite
    return (f"{suite_txt} · {dataset} · {direction} · {stream or 'single'} — "
            f"{METRIC_LABELS[metric]} (%) {what}; model {', '.join(models) or '?'}; "
            f"{group['method'].nunique()} methods, {len(group)} result rows, "
            f"seeds per cell {lo if lo == hi else f'{lo}-{hi}'}")


def _row_notes(table: Table, keys: Iterable[tuple], labels: dict, notes: dict) -> None:
    """Notes for the rows of a table: reconstructions and config variants."""
    for key in keys:
        if "#" in labels[key]:
            table.notes.append(f"{labels[key]}: method_config {key[2] or '{}'}")
        if key in notes and notes[key] not in table.notes:
            table.notes.append(notes[key])


def _row_keys(group: pd.DataFrame, labels: dict) -> list[tuple]:
    keys = set(group[ROW_KEYS].itertuples(index=False, name=None))
    return sorted(keys, key=lambda k: list(labels).index(k))


def main_table(key: tuple, group: pd.DataFrame, metric: str, labels: dict,
               notes: dict | None = None) -> Table:
    """Methods x shifts at maximum severity, plus Avg. over shifts and the ok count."""
    cols = columns_at_max_severity(group)
    avg_cols = [c for c in cols if c[1] != "clean"] or cols  # clean is a reference, not a shift
    names = [c[0] for c in cols]
    table = Table(_heading(key, group, metric, "at maximum severity"), "main",
                  names + [AVG, COUNT], shift_columns=[c[0] for c in avg_cols])
    by_cell = dict(iter(group.groupby(ROW_KEYS + ["shift", "severity"])))
    keys = _row_keys(group, labels)
    for rk in keys:
        line = [cell_of(by_cell.get((*rk, shift, sev)), metric) for _, shift, sev in cols]
        in_avg = [c for c, col in zip(line, cols, strict=True) if col in avg_cols]
        avg = _mean_cell(in_avg, show_count=False)
        table.add_row(labels[rk], line + [avg, Cell(text=f"{avg.count}/{len(avg_cols)}")])
    for name in names + [AVG]:
        mark_best(table, name)
    _main_notes(table, cols, avg_cols)
    _row_notes(table, keys, labels, notes or {})
    return table


def _main_notes(table: Table, cols: list[tuple], avg_cols: list[tuple]) -> None:
    for label, shift, sev in cols:
        if label != shift:
            table.notes.append(f"{label}: highest severity run ({sev}); the protocol maximum "
                               "has no rows")
    cells = [c for line in table.cells for c in line]
    if len(avg_cols) < len(cols):
        table.notes.append(f"{AVG} excludes clean: plain mean over the shift columns.")
    if any(c.status not in ("ok", "blank") and not c.text for c in cells):
        table.notes.append(f"{AVG} leaves out failed, diverged, unavailable and missing cells "
                           f"('{COUNT}' says how many are in); the best is marked among the "
                           "methods with the most shifts.")
    if any(c.seeds > 1 for c in cells):
        table.notes.append("a±b: mean ± std over seeds.")
    if any(c.mark == "°" for c in cells):
        table.notes.append("°: some seeds of the cell did not finish ok; the value averages "
                           "the others.")


def severity_table(key: tuple, group: pd.DataFrame, metric: str, labels: dict,
                   notes: dict | None = None) -> Table | None:
    """Methods x severities, each a plain mean over the shifts run at that severity."""
    shifted = group[group["shift"] != "clean"]
    sevs = sorted(int(s) for s in shifted["severity"].unique())
    if len(sevs) < 2:
        return None
    table = Table(_heading(key, shifted, metric, "per severity, mean over shifts"), "severity",
                  [str(s) for s in sevs])
    shifts_at = {s: sorted(set(shifted.loc[shifted["severity"] == s, "shift"])) for s in sevs}
    by_cell = dict(iter(shifted.groupby(ROW_KEYS + ["severity", "shift"])))
    keys = _row_keys(shifted, labels)
    for rk in keys:
        line = [_mean_cell([cell_of(by_cell.get((*rk, s, sh)), metric) for sh in shifts_at[s]],
                           show_count=True) for s in sevs]
        table.add_row(labels[rk], line)
    for name in table.columns:
        mark_best(table, name)
    table.notes.append("(k/m): mean over the k of m shifts the method finished at that severity; "
                       "columns: " + "; ".join(f"{s}: {len(shifts_at[s])} shifts" for s in sevs))
    _row_notes(table, keys, labels, notes or {})
    return table


def segment_table(key: tuple, group: pd.DataFrame, labels: dict) -> Table | None:
    """R@1 per segment of a diverse stream (from segment_r1), averaged over seeds."""
    ok = group[(group["status"] == "ok") & (group["segment_r1"] != "")]
    recs = []
    for r in ok.to_dict("records"):
        try:
            segments = json.loads(r["segment_r1"])
        except ValueError as err:
            raise DataError(f"cell {r['cell_id']}: segment_r1 is not JSON ({err})") from err
        row = labels[tuple(r[k] for k in ROW_KEYS)]
        recs += [(row, r["shift"], seg, float(v)) for seg, v in segments.items()]
    if not recs:
        return None
    seg = pd.DataFrame(recs, columns=["row", "shift", "segment", "r1"])
    means = seg.groupby(["row", "shift", "segment"])["r1"].mean()
    mixes = sorted(set(seg["shift"]), key=shift_key)
    cols = [(m, s) for m in mixes
            for s in sorted(set(seg.loc[seg["shift"] == m, "segment"]), key=shift_key)]
    names = [s if len(mixes) == 1 else f"{m}: {s}" for m, s in cols]
    table = Table(_heading(key, ok, "r1", "per segment of the stream"), "segments", names)
    for row in dict.fromkeys(labels[k] for k in _row_keys(ok, labels)):
        table.add_row(row, [Cell(means[(row, m, s)], status="ok") if (row, m, s) in means.index
                            else Cell() for m, s in cols])
    for name in names:
        mark_best(table, name)
    return table


def add_reported(table: Table, key: tuple, metric: str) -> bool:
    """Append published points as unranked `(reported)` rows; False when none apply."""
    points = ref.points_for(key[0], key[2], metric)
    for p in points:
        line = [Cell(status="blank") for _ in table.columns]
        line[table.columns.index(p.column)] = Cell(p.value, status="ok")
        table.add_row(f"{p.method} (reported)", line, reported=True)
    for model, scope in dict.fromkeys((p.model, p.scope) for p in points):
        table.notes.append(f"(reported): {METRIC_LABELS[metric]} published in {ref.SOURCE}; "
                           f"{model}, {scope}; {ref.NOTE}. Not ranked, not bolded.")
    return bool(points)


def ranking_table(tables: Iterable[Table], metric: str) -> Table | None:
    """Mean rank per method over every shift column of every main table (1 = best)."""
    mains = [t for t in tables if t.kind == "main"]
    stats: dict[str, dict] = {}
    for t in mains:
        measured = [i for i, rep in enumerate(t.reported) if not rep]
        for col in t.shift_columns:
            j = t.columns.index(col)
            ok = {t.rows[i]: round(t.cells[i][j].value, 1) for i in measured
                  if t.cells[i][j].status == "ok"}
            ranks = pd.Series(ok, dtype=float).rank(ascending=False, method="average")
            for i in measured:
                s = stats.setdefault(t.rows[i], {"ranks": [], "values": [], "bad": Counter()})
                if t.rows[i] in ok:
                    s["ranks"].append(ranks[t.rows[i]])
                    s["values"].append(t.cells[i][j].value)
                else:
                    s["bad"][t.cells[i][j].status] += 1
    if not stats:
        return None
    return _ranking_rows(stats, mains, metric)


def _ranking_rows(stats: dict, mains: list[Table], metric: str) -> Table:
    bad_cols = list(NOT_OK) + ["missing"]
    label = METRIC_LABELS[metric]
    table = Table(f"Overall ranking — {label} at maximum severity over {len(mains)} table(s)",
                  "ranking", ["mean rank", f"mean {label}", "cells"] + bad_cols)

    def order(item: tuple) -> tuple:
        ranks = item[1]["ranks"]
        return (not ranks, sum(ranks) / len(ranks) if ranks else 0.0, method_key(item[0]))

    for name, s in sorted(stats.items(), key=order):
        n = len(s["ranks"])
        rank = Cell(sum(s["ranks"]) / n, status="ok", text=f"{sum(s['ranks']) / n:.2f}") \
            if n else Cell()
        mean = Cell(sum(s["values"]) / n, status="ok") if n else Cell()
        counts = [Cell(text=str(s["bad"][b])) for b in bad_cols]
        table.add_row(name, [rank, mean, Cell(text=str(n))] + counts)
    ranked = [line[0] for line in table.cells if line[0].status == "ok"]
    if ranked:
        low = min(round(c.value, 2) for c in ranked)
        for c in ranked:
            c.best = round(c.value, 2) == low
    table.notes.append("rank per shift column among the methods that have the cell (ties share "
                       "the mean rank); cells: ranked cells behind each entry; failed, diverged, "
                       "unavailable and missing cells are counted, never averaged in.")
    return table


def build(df: pd.DataFrame, metric: str = "r1", suites: list[str] | None = None,
          reported: bool = False) -> Leaderboard:
    """All leaderboard tables of a results DataFrame (RESULT_SCHEMA columns)."""
    if metric not in METRICS:
        raise ConfigError(f"unknown metric '{metric}'", f"known: {', '.join(METRICS)}")
    df = prepare(df)
    if suites:
        absent = [s for s in suites if s not in set(df["suite"])]
        if absent:
            raise ConfigError(f"no results for suite(s) {', '.join(absent)}",
                              f"present: {', '.join(sorted(set(df['suite'])))}")
        df = df[df["suite"].isin(suites)]
    labels = row_labels(df)
    notes = note_markers(df, labels)
    board = Leaderboard(metric, [])
    groups = sorted(df.groupby(GROUP_KEYS), key=lambda kv: (*kv[0][:3], stream_key(kv[0][3])))
    applied = False
    for key, group in groups:
        ok = group[group["status"] == "ok"]
        if len(ok) and ok[metric].isna().all():
            board.messages.append(f"{' · '.join(key)}: {metric} not measured; table skipped")
            continue
        table = main_table(key, group, metric, labels, notes)
        if reported:
            applied = add_reported(table, key, metric) or applied
        board.tables.append(table)
        extra = [severity_table(key, group, metric, labels, notes)]
        if metric == "r1" and key[3] in DIVERSE_STREAMS:
            extra.append(segment_table(key, group, labels))
        board.tables += [t for t in extra if t is not None]
    if not board.tables:
        raise ConfigError(f"no result row measures {metric}", "pick another --metric")
    rank = ranking_table(board.tables, metric)
    if rank is not None:
        rank.title += f" ({', '.join(sorted(set(df['suite'])))})"
        rank.notes += list(dict.fromkeys(notes.values()))
        board.tables.append(rank)
    if reported and not applied:
        board.messages.append(
            f"no published reference points apply to {', '.join(sorted(set(df['suite'])))} "
            f"({METRIC_LABELS[metric]}); they exist for {', '.join(ref.reported_suites())}")
    return board
