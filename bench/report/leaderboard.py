"""Leaderboard tables from result rows: pure pandas, no printing.

A row is one method run one way (`bench.report.order.ROW_KEYS`: method, config, model,
weights, protocol incl. limit, preprocessing) aggregated over seeds; cells carry the
per-query outcomes behind them so that `bench.report.significance` adds intervals, paired
tests vs source and honest best marks. Non-ok cells are shown and counted, never
averaged in. Published reference rows (`--reported`) are appended unranked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.api.errors import ConfigError, DataError
from bench.api.registry import SUITES
from bench.report import reported as ref
from bench.report import stats
from bench.report.order import (
    DIVERSE_STREAMS,
    NOT_OK,
    ROW_KEYS,
    columns_at_max_severity,
    describe_identity,
    limits,
    note_markers,
    prepare,
    row_labels,
    shift_key,
    stream_key,
)
from bench.report.ranking import ranking_tables
from bench.report.significance import OUTCOME_KS, Outcomes, annotate
from bench.report.tables import (
    AVG,
    COUNT,
    METRIC_DIGITS,
    METRIC_LABELS,
    METRICS,
    Leaderboard,
    Table,
    TableCell,
    metric_unit,
)
from bench.report.versions import ranked_tables, suite_levels

__all__ = ["AVG", "COUNT", "METRICS", "METRIC_LABELS", "TableCell", "Leaderboard", "Table", "build"]
# a table per suite version (`table_suite`), dataset, direction and stream
GROUP_KEYS = ["table_suite", "dataset", "direction", "stream"]


@dataclass
class CellRows:
    """One cell's rows (its seeds), as `cell_of` reads them: status and metric value per
    row, and the (shift, severity, seed, cell id) that names each row's outcomes."""

    status: list[str]
    value: np.ndarray
    strata: list[tuple]


def cell_of(rows: CellRows | None, metric: str, outcomes: Outcomes | None = None) -> TableCell:
    """Average a cell's seeds: ok seeds give the value; otherwise the status word."""
    if rows is None or not rows.status:
        return TableCell()
    keep = [i for i, (status, v) in enumerate(zip(rows.status, rows.value, strict=True))
            if status == "ok" and not math.isnan(v)]
    if keep:
        ok = pd.Series(rows.value[keep])
        std = float(ok.std()) if len(ok) > 1 else math.nan
        # some seeds failed: the value stands for the others only, say so
        mark = "°" if len(keep) < len(rows.status) else ""
        sample = outcomes.sample_of([rows.strata[i] for i in keep]) \
            if outcomes is not None else None
        return TableCell(float(ok.mean()), std, len(ok), "ok", mark=mark, sample=sample,
                         digits=METRIC_DIGITS.get(metric, 1))
    statuses = set(rows.status)
    status = next((s for s in NOT_OK if s in statuses), "n/a")  # n/a: ok but metric not measured
    return TableCell(status=status, seeds=len(rows.status))


def _cell_rows(group: pd.DataFrame, metric: str, by: list[str]) -> dict[tuple, CellRows]:
    """The rows of each cell (grouped by `by`) as plain Python values: selecting rows of a
    frame, cell after cell, would cost most of a table's time."""
    status = group["status"].tolist()
    value = group[metric].to_numpy(dtype=float, na_value=np.nan)
    strata = list(zip(*(group[c].tolist() for c in ("shift", "severity", "seed", "cell_id")),
                      strict=True))
    return {key: CellRows([status[i] for i in at], value[at], [strata[i] for i in at])
            for key, at in group.groupby(by).indices.items()}


def _mean_cell(cells: list[TableCell], show_count: bool) -> TableCell:
    """Plain mean over cells; its sample gives each cell equal weight (stratified)."""
    oks = [c for c in cells if c.status == "ok"]
    if not oks:
        statuses = [c.status for c in cells]
        return TableCell(status=next((s for s in NOT_OK if s in statuses), "missing"), count=0)
    mark = f" ({len(oks)}/{len(cells)})" if show_count and len(oks) < len(cells) else ""
    sample = None
    if all(c.sample for c in oks):
        # each cell named by its (shift, severity): the same name in every row, so that
        # two rows' averages pair cell by cell even when one of them misses a cell
        sample = stats.combine({next(iter(c.sample))[:2]: c.sample for c in oks})
    return TableCell(sum(c.value for c in oks) / len(oks), status="ok", count=len(oks), mark=mark,
                sample=sample, digits=oks[0].digits)


def _heading(key: tuple, group: pd.DataFrame, metric: str, what: str) -> str:
    _, dataset, direction, stream = key
    suite = group["suite"].iloc[0]
    pairs = zip(group["model"], group["pretrained"], strict=True)
    models = sorted({f"{m}/{p}" if p else m for m, p in pairs})
    versions = sorted(v for v in set(group["suite_version"]) if v)
    suite_txt = f"{suite} v{'/'.join(versions)}" if versions else suite
    limited = limits(group)
    skipped = _images_skipped(group)
    flag = (f"LIMITED RUN (--limit {', '.join(map(str, limited))}: first queries only, not "
            "comparable with full runs); ") if limited else ""
    return (f"{suite_txt} · {dataset} · {direction} · {stream or 'single'} — "
            f"{METRIC_LABELS[metric]}{metric_unit(metric)} {what}; {flag}model {', '.join(models) or '?'}; "
            f"{group['method'].nunique()} methods, {len(group)} result rows, {_seeds(group)}"
            + (f"; {skipped} unreadable images left out (--skip-unreadable)" if skipped else ""))


def _seeds(group: pd.DataFrame) -> str:
    """What the heading says about seeds: which were aggregated per cell."""
    per_cell = group.groupby(ROW_KEYS + ["shift", "severity"])["seed"].nunique()
    lo, hi = int(per_cell.min()), int(per_cell.max())
    seeds = sorted({int(s) for s in group["seed"].dropna()})
    if hi <= 1:
        return f"one seed per cell (seed {', '.join(map(str, seeds))}), not aggregated"
    count = str(lo) if lo == hi else f"{lo}-{hi}"
    return f"{count} seeds per cell (seeds {', '.join(map(str, seeds))}), mean over seeds"


def _outcome_clause(table: Table, metric: str) -> None:
    """Say in the heading whether the values carry intervals."""
    cells = [c for line, rep in zip(table.cells, table.reported, strict=True) if not rep
             for c in line if c.status == "ok" and not c.text]
    with_sample = sum(c.sample is not None for c in cells)
    if metric not in OUTCOME_KS:
        table.untested = (f"{METRIC_LABELS[metric]} is not recomputable per query (only the "
                          "best relevant rank is stored): point values, no interval, no test, "
                          "never bold.")
        table.title += "; point values only (no per-query values for this metric)"
    elif cells and with_sample == 0:
        table.title += "; point values only (no per-query outcomes stored: no intervals, no tests)"
    elif with_sample < len(cells):
        table.title += (f"; 95 % intervals where per-query outcomes exist ({with_sample} of "
                        f"{len(cells)} values)")
    elif cells:
        table.title += "; 95 % bootstrap intervals (queries resampled per shift and seed)"


def _images_skipped(group: pd.DataFrame) -> int:
    """The most images any row of `group` left out as unreadable (protocol JSON)."""
    counts = [json.loads(p).get("images_skipped", 0) for p in group.get("protocol", [])
              if isinstance(p, str) and p.startswith("{")]
    return max(counts, default=0)


def _row_notes(table: Table, keys: Iterable[tuple], labels: dict, notes: dict) -> None:
    """Notes for the rows of a table: reconstructions, config / weights / protocol variants."""
    for key in keys:
        if "#" in labels[key]:
            table.notes.append(f"{labels[key]}: method_config {key[2] or '{}'}; "
                               f"{describe_identity(key[3])}")
        if key in notes and notes[key] not in table.notes:
            table.notes.append(notes[key])


def _row_keys(group: pd.DataFrame, labels: dict) -> list[tuple]:
    keys = set(group[ROW_KEYS].itertuples(index=False, name=None))
    return sorted(keys, key=lambda k: list(labels).index(k))


def _refs(keys: list[tuple]) -> list[int | None]:
    """Each row's source row: method source, same model and identity (weights, protocol)."""
    source = {(k[1], k[3]): i for i, k in enumerate(keys) if k[0] == "source"}
    return [source.get((k[1], k[3])) for k in keys]


def main_table(key: tuple, group: pd.DataFrame, metric: str, labels: dict,
               notes: dict | None = None, outcomes: Outcomes | None = None) -> Table:
    """Methods x shifts at maximum severity, plus Avg. over shifts and the ok count."""
    cols = columns_at_max_severity(group)
    avg_cols = [c for c in cols if c[1] != "clean"] or cols  # clean is a reference, not a shift
    names = [c[0] for c in cols]
    own = _suite_level_labels(key, group, cols)
    what = ("at maximum severity" if all("@" not in c[0] for c in cols)
            else "at the suite's severity (shift@N: level N, the level its suite file sets)"
            if all(c[0] in own for c in cols if "@" in c[0])
            else "at the severity run (shift@N: level N, below the shift's maximum)")
    table = Table(_heading(key, group, metric, what), "main",
                  names + [AVG, COUNT], shift_columns=[c[0] for c in avg_cols], key=key)
    by_cell = _cell_rows(group, metric, ROW_KEYS + ["shift", "severity"])
    keys = _row_keys(group, labels)
    for rk, ref_row in zip(keys, _refs(keys), strict=True):
        line = [cell_of(by_cell.get((*rk, shift, sev)), metric, outcomes)
                for _, shift, sev in cols]
        in_avg = [c for c, col in zip(line, cols, strict=True) if col in avg_cols]
        avg = _mean_cell(in_avg, show_count=False)
        table.add_row(labels[rk], line + [avg, TableCell(text=f"{avg.count}/{len(avg_cols)}")],
                      ref=ref_row, ident=(*key, *rk))
    _outcome_clause(table, metric)
    _main_notes(table, cols, avg_cols, own)
    not_run = _shifts_not_run(key, cols)
    if not_run:
        table.notes.append(f"not run yet (no rows): {', '.join(not_run)}, the suite's other "
                           f"shifts of this table; {AVG} covers the columns shown.")
    _row_notes(table, keys, labels, notes or {})
    return table


def _shifts_not_run(key: tuple, cols: list[tuple]) -> list[str]:
    """The shifts a registered suite defines for this table's dataset and direction (single
    streams) that have no column: a suite run only in part says so where its numbers are."""
    suite, dataset, direction, stream = key
    if (stream or "single") != "single" or suite not in SUITES:
        return []
    planned = SUITES.get(suite).single_shifts(direction, dataset)
    return sorted(planned - {c[1] for c in cols})


def _suite_level_labels(key: tuple, group: pd.DataFrame, cols: list[tuple]) -> set[str]:
    """The labelled columns (`fog@3`) at the level the suite's current version sets for the
    shift (its file's default_severity): the suite's own level, not a stand-in for a
    maximum that was not run, so they need no note."""
    suite, _, direction, stream = key
    if ((stream or "single") != "single" or suite not in SUITES
            or "suite_version" not in group
            or set(group["suite_version"].astype(str)) != {str(SUITES.get(suite).version)}):
        return set()
    level = suite_levels(suite, direction)
    return {label for label, shift, sev in cols if label != shift and level.get(shift) == sev}


def _main_notes(table: Table, cols: list[tuple], avg_cols: list[tuple],
                own: set[str]) -> None:
    for label, shift, sev in cols:
        if label != shift and label not in own:
            table.notes.append(f"{label}: highest severity run ({sev}); the protocol maximum "
                               "has no rows")
    cells = [c for line in table.cells for c in line]
    if len(avg_cols) < len(cols):
        table.notes.append(f"{AVG} excludes clean: plain mean over the shift columns.")
    if any(c.status not in ("ok", "blank") and not c.text for c in cells):
        table.notes.append(f"{AVG} leaves out failed, diverged, unavailable and missing cells "
                           f"('{COUNT}' says how many are in); the best is marked among the "
                           "methods with the most shifts.")
    if any(c.seeds > 1 and c.sample is None for c in cells):
        table.notes.append("a (sd b): mean and standard deviation over seeds (no per-query "
                           "outcomes, so no interval).")
    if any(c.mark == "°" for c in cells):
        table.notes.append("°: some seeds of the cell did not finish ok; the value averages "
                           "the others.")


def severity_table(key: tuple, group: pd.DataFrame, metric: str, labels: dict,
                   notes: dict | None = None, outcomes: Outcomes | None = None) -> Table | None:
    """Methods x severities, each a plain mean over the shifts run at that severity."""
    shifted = group[group["shift"] != "clean"]
    sevs = sorted(int(s) for s in shifted["severity"].unique())
    if len(sevs) < 2:
        return None
    table = Table(_heading(key, shifted, metric, "per severity, mean over shifts"), "severity",
                  [str(s) for s in sevs])
    shifts_at = {s: sorted(set(shifted.loc[shifted["severity"] == s, "shift"])) for s in sevs}
    by_cell = _cell_rows(shifted, metric, ROW_KEYS + ["severity", "shift"])
    keys = _row_keys(shifted, labels)
    for rk, ref_row in zip(keys, _refs(keys), strict=True):
        line = [_mean_cell([cell_of(by_cell.get((*rk, s, sh)), metric, outcomes)
                            for sh in shifts_at[s]], show_count=True) for s in sevs]
        table.add_row(labels[rk], line, ref=ref_row, ident=(*key, *rk))
    _outcome_clause(table, metric)
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
        table.add_row(row, [TableCell(means[(row, m, s)], status="ok") if (row, m, s) in means.index
                            else TableCell() for m, s in cols])
    table.notes.append("per segment: point values (mean over seeds), no intervals and no best "
                       "mark; the tables above say which differences are significant.")
    return table


def add_reported(table: Table, key: tuple, metric: str,
                 models: Iterable[tuple[str, str]] | None = None) -> bool:
    """Append published points as unranked `(reported)` rows; False when none apply.
    With `models` (the measured rows' (model, pretrained)), only points of those backbones."""
    points = ref.points_for(key[0], key[2], metric, models)
    for p in points:
        line = [TableCell(status="blank") for _ in table.columns]
        line[table.columns.index(p.column)] = TableCell(p.value, status="ok")
        table.add_row(f"{p.method} (reported)", line, reported=True)
    for model, scope in dict.fromkeys((p.model, p.scope) for p in points):
        table.notes.append(f"(reported): {METRIC_LABELS[metric]} published in {ref.SOURCE}; "
                           f"{model}, {scope}; {ref.NOTE}. Not ranked, not bolded.")
    return bool(points)


def absent_suites(df: pd.DataFrame, suites: list[str]) -> list[str]:
    """The suites of `suites` with no row in `df`, in their order."""
    present = set(df["suite"])
    return [s for s in suites if s not in present]


def build(df: pd.DataFrame, metric: str = "r1", suites: list[str] | None = None,
          reported: bool = False, outcomes: pd.DataFrame | None = None,
          per_query: Outcomes | None = None, prepared: bool = False) -> Leaderboard:
    """All leaderboard tables of a results DataFrame (RESULT_SCHEMA columns).

    `outcomes` (the store's per-query outcomes, OUTCOME_COLUMNS) give the intervals and
    paired tests; rows without them are shown as point values. `per_query`: the metric's
    per-query values when the caller has them already (else made from `outcomes`).
    `prepared`: `df` is `bench.report.order.prepare`'s output already (a caller building
    several boards of one frame prepares it once).
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown metric '{metric}'", f"known: {', '.join(METRICS)}")
    df = df if prepared else prepare(df)
    if suites:
        absent = absent_suites(df, suites)
        if absent:
            raise ConfigError(f"no results for suite(s) {', '.join(absent)}",
                              f"present: {', '.join(sorted(set(df['suite'])))}")
        df = df[df["suite"].isin(suites)]
    labels = row_labels(df)
    notes = note_markers(df, labels)
    per_query = per_query if per_query is not None else Outcomes(outcomes, metric)
    board = Leaderboard(metric, [])
    groups = sorted(df.groupby(GROUP_KEYS), key=lambda kv: (*kv[0][:3], stream_key(kv[0][3])))
    applied = False
    for key, group in groups:
        ok = group[group["status"] == "ok"]
        if len(ok) and ok[metric].isna().all():
            board.messages.append(f"{' · '.join(key)}: {metric} not measured; table skipped")
            continue
        table = main_table(key, group, metric, labels, notes, per_query)
        if reported:
            models = set(zip(group["model"], group["pretrained"], strict=True))
            applied = add_reported(table, key, metric, models) or applied
        board.tables += [t for t in (table, annotate(table)) if t is not None]
        severity = severity_table(key, group, metric, labels, notes, per_query)
        if severity is not None:
            annotate(severity, delta_kind="")  # markers and intervals; no separate Δ table
        extra = [severity]
        if metric == "r1" and key[3] in DIVERSE_STREAMS:
            extra.append(segment_table(key, group, labels))
        board.tables += [t for t in extra if t is not None]
    if not board.tables:
        raise ConfigError(f"no result row measures {metric}", "pick another --metric")
    ranked, read_as, older = ranked_tables(board.tables, df)
    for rank in ranking_tables(ranked, metric, {label: key[1] for key, label in labels.items()},
                               read_as, older):
        rank.notes += list(dict.fromkeys(notes.values()))
        board.tables.append(rank)
    if reported and not applied:
        board.messages.append(
            f"no published reference points apply to {', '.join(sorted(set(df['suite'])))} "
            f"({METRIC_LABELS[metric]}) with these models; they exist for "
            f"{ref.reported_backbones()}")
    return board
