"""Two suites side by side: per method and direction, the average R@1 over the shifts and
its Δ vs source, with the paired interval and the verdict of each suite's own table.

It answers whether the real stream length changes what the benchmark
says: `mini-c` (Flickr-length streams) beside `mini-coco-c` (COCO-length streams). Every
number is read from the leaderboard's tables (`bench.report.leaderboard.build`), so the
verdicts are the tables' own: an exact sign test on the discordant queries at 95 %,
Holm-corrected across each table's methods (`bench.report.significance`). Nothing is tested
across the two suites: their queries differ. `common_shifts` first keeps, per direction, the
shifts both suites ran, so that the two averages cover the same shifts while one suite is
only partly run.
"""

from __future__ import annotations

import pandas as pd

from bench.api.errors import DataError
from bench.report.reading import main_delta_pairs, summary_column
from bench.report.tables import AVG, COUNT, Table, TableCell

VERDICT = {1: "better", -1: "worse", 0: "no difference"}


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def _entry(avg: TableCell, delta: TableCell | None, count: str, full: bool) -> str:
    """`48.2, Δ +0.6 [+0.5, +0.8] better`; a row short of shifts says how many it has."""
    if avg.status != "ok":
        return {"missing": "–"}.get(avg.status, avg.status)
    text = f"{avg.value:.1f}"
    if not full:
        text += f" ({count} shifts)"
    if delta is not None and delta.status == "ok":
        interval = f" [{_signed(delta.lo)}, {_signed(delta.hi)}]" if delta.has_interval else ""
        text += f", Δ {_signed(delta.value)}{interval} {VERDICT[avg.sig]}"
    return text


def _explains_a_label(note: str, rows: list[str]) -> bool:
    """A footnote (`† rest: ...`, `[5] m: ...`) whose marker ends one of the row labels."""
    marker = note.split(" ", 1)[0]
    return not marker[:1].isalnum() and any(row.endswith(marker) for row in rows)


def _column(main: Table, delta: Table | None) -> dict[str, str]:
    """Method label -> its entry in one table (published reference rows left out)."""
    column = summary_column(main, delta)
    if column is None:  # no Δ table: the average alone, when the table has one
        column = AVG if AVG in main.columns else main.shift_columns[0]
    deltas = {} if delta is None else dict(zip(delta.rows, delta.cells, strict=True))
    out = {}
    for k, name in enumerate(main.rows):
        if main.reported and main.reported[k]:
            continue
        count = main.cell(name, COUNT).text if COUNT in main.columns else ""
        d = deltas.get(name)
        d_cell = d[delta.columns.index(column)] if d is not None else None
        full = not count or count.split("/")[0] == count.split("/")[-1]
        out[name] = _entry(main.cell(name, column), d_cell, count, full)
    return out


def common_shifts(rows: pd.DataFrame, suites: tuple[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """`rows` of `suites` without the shifts only one suite ran in a direction both ran, and
    a note per direction that lost some (which, and what both averages then cover)."""
    keep = pd.Series(True, index=rows.index)
    notes = []
    for direction, d in rows.groupby("direction", sort=True):
        ran = {s: set(d.loc[d["suite"] == s, "shift"]) for s in suites}
        if not all(ran.values()):
            continue  # one suite has no column in this direction: nothing to line up
        both = ran[suites[0]] & ran[suites[1]]
        left = {s: sorted(ran[s] - both) for s in suites}
        for s, shifts in left.items():
            keep &= ~((rows["suite"] == s) & (rows["direction"] == direction)
                      & rows["shift"].isin(shifts))
        if any(left.values()):
            out = "; ".join(f"{s}'s {', '.join(v)}" for s, v in left.items() if v)
            notes.append(f"{direction}: averages over the shifts both suites ran "
                         f"({', '.join(sorted(both - {'clean'}))}); left out: {out}")
    return rows[keep], notes


def suite_pair(tables: list[Table], suites: tuple[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per method, one column per (direction, suite) of the single-stream tables
    of `suites`, in the order direction, then `suites`' order; and the tables' notes that
    explain a row label's marker (a reconstruction's †)."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    notes: list[str] = []
    for main, delta in main_delta_pairs(tables):
        if not main.key:
            continue
        suite, _, direction, stream = main.key
        if suite in suites and (stream or "single") == "single":
            found[(direction, suite)] = _column(main, delta)
            notes += [n for n in main.notes if n not in notes and _explains_a_label(n, main.rows)]
    if not found:
        raise DataError(f"no single-stream table of {' or '.join(suites)} in these results",
                        f"run `python -m bench run --suite {','.join(suites)}` first")
    keys = sorted(found, key=lambda k: (k[0], suites.index(k[1])))
    methods = list(dict.fromkeys(m for k in keys for m in found[k]))
    data = {f"{direction} {suite}": [found[(direction, suite)].get(m, "–") for m in methods]
            for direction, suite in keys}
    return pd.DataFrame({"method": methods} | data), notes
