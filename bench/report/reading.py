"""A reading of the leaderboard in words: which methods differ from source, and by how much.

It says only what the tables' tests say. A method is "better" or "worse than source" on a
table when the table marks its average so: an exact sign test on the discordant queries at
95 %, Holm-corrected across the table's methods (`bench.report.significance`). Otherwise it
reads "no significant difference". The Δ and its paired bootstrap interval come from the
table's Δ-vs-source table. `tools/update_readme.py` writes this reading into docs/results.md, so
its claims change whenever the committed results do.
"""

from __future__ import annotations

from bench.report import stats
from bench.report.paired_compare import POOLED
from bench.report.tables import AVG, Table

VERDICT = {1: "**better than source**", -1: "**worse than source**",
           0: "no significant difference from source"}


def main_delta_pairs(tables: list[Table]) -> list[tuple[Table, Table | None]]:
    """Each main table with the Δ-vs-source table that follows it (None when absent)."""
    out: list[tuple[Table, Table | None]] = []
    for table in tables:
        if table.kind == "main":
            out.append((table, None))
        elif table.kind == "delta" and out and out[-1][1] is None:
            out[-1] = (out[-1][0], table)
    return out


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def summary_column(main: Table, delta: Table | None) -> str | None:
    """The column a table's reading rests on: its average, or its one shift column."""
    if delta is None:
        return None
    if len(main.shift_columns) == 1 and main.shift_columns[0] in delta.columns:
        return main.shift_columns[0]
    if AVG in main.columns and AVG in delta.columns:
        return AVG
    return None


def table_reading(main: Table, delta: Table | None) -> list[str]:
    """One line per method of `main` (source and reported rows left out)."""
    label = main.title.split(" — ")[0]
    column = summary_column(main, delta)
    if column is None:
        return [f"- {label}: no Δ vs source (no per-query outcomes, or no method beside "
                "source): no reading."]
    what = "Avg. Δ" if column == AVG else "Δ"
    shifts = [main.columns.index(c) for c in main.shift_columns]
    deltas = dict(zip(delta.rows, delta.cells, strict=True))
    lines = [f"- {label}:"]
    for k, (name, cells) in enumerate(zip(main.rows, main.cells, strict=True)):
        if name.startswith("source") or (main.reported and main.reported[k]) or name not in deltas:
            continue
        d = deltas[name][delta.columns.index(column)]
        better = sum(cells[j].sig > 0 for j in shifts)
        worse = sum(cells[j].sig < 0 for j in shifts)
        interval = f" [{_signed(d.lo)}, {_signed(d.hi)}]" if d.has_interval else ""
        per_shift = (f"; per shift: better on {better}, worse on {worse} of {len(shifts)}"
                     if len(shifts) > 1 else "")
        lines.append(f"  - `{name}`: {what} {_signed(d.value)}{interval} R@1 points, "
                     f"{VERDICT[cells[main.columns.index(column)].sig]}{per_shift}.")
    return lines


def board_reading(tables: list[Table]) -> list[str]:
    """The reading of every main table of a leaderboard, in its order."""
    lines: list[str] = []
    for main, delta in main_delta_pairs(tables):
        lines += table_reading(main, delta)
    return lines


def compare_reading(table: Table) -> str:
    """The pooled row of a `bench compare` table in words."""
    method, baseline = table.columns[0], table.columns[1]
    cells = dict(zip(table.rows, table.cells, strict=True)).get(POOLED)
    if cells is None:
        return f"`{method}` vs `{baseline}`: no paired cells (no per-query outcomes)."
    d = cells[2]
    verdict = {1: f"**{method} better**", -1: f"**{method} worse**",
               0: "no significant difference"}[d.sig]
    shared = [c for r, c in zip(table.rows, table.cells, strict=True) if r != POOLED]
    paired = sum(c[2].status != "n/a" for c in shared)
    scope = (f"the {paired} cells they share" if paired == len(shared) else
             f"the {paired} of their {len(shared)} shared cells that have per-query outcomes")
    return (f"`{method}` vs `{baseline}`, pooled over {scope}: "
            f"Δ {_signed(d.value)} [{_signed(d.lo)}, {_signed(d.hi)}] R@1 points, {verdict} "
            f"(sign test {stats.p_clause(d.p)}; better / worse queries {cells[4].text}).")
