"""The overall ranking: mean rank over every shift column of every main table.

Ranks follow the tables' rule. In a column, methods are taken best first and a
method shares the rank of the current group while it is not significantly worse
than the group's leader (paired sign test on the same queries, 95 %); the members
share the mean of the positions they hold. Columns without per-query outcomes can
only tie on equal values (to 0.1). The overall place uses the same rule on the
pooled outcomes of every cell two methods have in common.

Rows of different models are never ranked together: a board whose rows ran several
models gets one ranking per model, each over the tables that hold rows of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bench.report import stats
from bench.report.order import NOT_OK, method_key
from bench.report.significance import pair_cache
from bench.report.tables import METRIC_LABELS, Table, TableCell


def _column_ranks(t: Table, j: int, pair, measured: list[int]) -> dict[int, float]:
    ok = sorted((i for i in measured if t.cells[i][j].status == "ok"),
                key=lambda i: -t.cells[i][j].value)
    if all(t.cells[i][j].sample is not None for i in ok):
        def differs(a: int, b: int) -> bool:
            p = pair(a, b, j)
            return p is not None and p.significant() > 0
    else:
        def differs(a: int, b: int) -> bool:
            return round(t.cells[a][j].value, 1) != round(t.cells[b][j].value, 1)
    return stats.shared_ranks(stats.tie_groups(ok, differs))


def ranking_tables(tables: Iterable[Table], metric: str, models: dict[str, str],
                   read_as: dict[str, str] | None = None,
                   older: dict[str, str] | None = None) -> list[Table]:
    """The overall rankings of the main tables: one per model of their rows (in the order
    the models first appear), over the tables holding rows of it. Where the labels carry
    the model (the board holds several), the title names it instead. The title ends with
    the suites read.

    `models`: row label -> model, in method order. `read_as`: a table's suite -> the suite
    as its title names it ("mini-c" -> "mini-c v4"). `older`: each table suite left
    unranked -> the table suite read in its place ("mini-c v3" -> "mini-c"); it is named in
    a note of the ranking that reads that one.
    """
    read_as, older = read_as or {}, older or {}
    mains = [t for t in tables if t.kind == "main"]
    order = list(dict.fromkeys(models.get(t.rows[i], "") for t in mains for i in t.measured()))
    out = []
    for model in order:
        labels = [label for label, m in models.items() if m == model]
        held = [t for t in mains if any(t.rows[i] in labels for i in t.measured())]
        named = model if any(f" ({model})" in label for label in labels) else ""
        rank = ranking_table(held, metric, labels, named)
        if rank is None:
            continue
        read = {t.key[0] for t in held}
        rank.title += f" ({', '.join(sorted(read_as.get(ts, ts) for ts in read))})"
        left = [ts for ts, instead in older.items() if instead in read]
        if left:
            rank.notes.append(f"not ranked: the tables of {', '.join(left)}; each suite is "
                              "ranked at one version, the newest whose methods have all run "
                              "(rows of two versions ran another model or shift strength)")
        out.append(rank)
    return out


def ranking_table(tables: Iterable[Table], metric: str, labels: list[str],
                  model: str = "") -> Table | None:
    """Mean rank per method over every shift column of every main table (1 = best), among
    the rows `labels` (one model's, in method order). `model`: named in the title and
    dropped from the labels shown (labels carry it when the board holds several).
    """
    wanted = set(labels)
    mains = [t for t in tables if t.kind == "main"]
    entries: dict[str, dict] = {}
    for ti, t in enumerate(mains):
        pair = pair_cache(t)
        measured = [i for i in t.measured() if t.rows[i] in wanted]
        for col in t.shift_columns:
            j = t.columns.index(col)
            ranks = _column_ranks(t, j, pair, measured)
            for i in measured:
                e = entries.setdefault(t.rows[i], {"ranks": [], "values": [], "bad": Counter(),
                                                   "samples": {}})
                cell = t.cells[i][j]
                if i in ranks:
                    e["ranks"].append(ranks[i])
                    e["values"].append(cell.value)
                    e["samples"][(ti, col)] = cell.sample
                else:
                    e["bad"][cell.status] += 1
    if not entries:
        return None
    _count_absent_rows(entries, mains)
    return _ranking_rows(entries, mains, metric, labels, model)


def _count_absent_rows(entries: dict, mains: list[Table]) -> None:
    """A row with no line at all in a main table holding rows of its model misses every
    shift column of it (a table of other models only could not have held it)."""
    for t in mains:
        present = {t.rows[i] for i in t.measured()} & set(entries)
        if present:
            for name, e in entries.items():
                if name not in present:
                    e["bad"]["missing"] += len(t.shift_columns)


def _places(order: list[str], entries: dict) -> dict[str, tuple[int, int, bool]]:
    """(place, group size, tested) per entry; pooled paired tests decide the ties."""
    def pooled(name: str) -> stats.Sample | None:
        samples = entries[name]["samples"]
        if not samples or any(s is None for s in samples.values()):
            return None
        return stats.combine(samples)

    def mean_rank(name: str) -> float:
        return round(sum(entries[name]["ranks"]) / len(entries[name]["ranks"]), 2)

    def differs(a: str, b: str) -> bool:
        sa, sb = pooled(a), pooled(b)
        if sa is None or sb is None:
            return mean_rank(a) != mean_rank(b)
        p = stats.paired(sa, sb, rng=stats.rng_for("ranking", a, b))
        return p is not None and p.significant() > 0

    tested = all(pooled(name) is not None for name in order)
    places, start = {}, 1
    for group in stats.tie_groups(order, differs):
        places.update({name: (start, len(group), tested) for name in group})
        start += len(group)
    return places


def _ranking_rows(entries: dict, mains: list[Table], metric: str, labels: list[str],
                  model: str) -> Table:
    """`labels`: the row labels in method order, which breaks ties of mean rank (a label
    carries its model when the rows hold several, so it is no method name to order by)."""
    bad_cols = list(NOT_OK) + ["missing"]
    label = METRIC_LABELS[metric]
    table = Table(f"Overall ranking{f' of {model}' if model else ''} — {label} at maximum "
                  f"severity over {len(mains)} table(s)",
                  "ranking", ["place", "mean rank", f"mean {label}", "cells"] + bad_cols)

    position = {name: i for i, name in enumerate(labels)}

    def order(item: tuple) -> tuple:
        ranks = item[1]["ranks"]
        mean = round(sum(ranks) / len(ranks), 9) if ranks else 0.0  # float noise apart
        return (not ranks, mean, position.get(item[0], len(position)), method_key(item[0]))

    ordered = sorted(entries.items(), key=order)
    places = _places([name for name, e in ordered if e["ranks"]], entries)
    for name, e in ordered:
        n = len(e["ranks"])
        place, size, tested = places.get(name, (0, 0, False))
        where = TableCell(place, status="ok", text=f"{place}{'=' if size > 1 else ''}",
                     best=tested and place == 1 and size == 1) if n else TableCell()
        rank = TableCell(sum(e["ranks"]) / n, status="ok", text=f"{sum(e['ranks']) / n:.2f}") \
            if n else TableCell()
        mean = TableCell(sum(e["values"]) / n, status="ok") if n else TableCell()
        counts = [TableCell(text=str(e["bad"][b])) for b in bad_cols]
        shown = name.replace(f" ({model})", "", 1) if model else name
        table.add_row(shown, [where, rank, mean, TableCell(text=str(n))] + counts)
    table.notes.append("rank per shift column among the methods that have the cell: a method "
                       "shares the rank of the column's current group while it is not "
                       "significantly worse than the group's leader (paired sign test, 95 %; "
                       "without per-query outcomes only equal values tie), members share the "
                       "mean of their positions. place: the same rule on the pooled outcomes of "
                       "all common cells (n= marks a tie; bold only when first place is not "
                       "shared and every cell has per-query outcomes). cells: ranked cells "
                       "behind each entry; failed, diverged, unavailable and missing cells "
                       "(missing includes every shift column of a table of its model that has no "
                       "row of it) are counted, never averaged in.")
    if not all(p[2] for p in places.values()):
        table.notes.append("some cells have no per-query outcomes: their ranks follow point "
                           "values and cannot tell real differences from noise.")
    return table
