"""Tables of `bench.report` as view models for the templates: each cell's text (the same
`cell_text` the Markdown board prints), its sort key, its marks and the entry it opens."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from bench.report import stats
from bench.report.render import cell_text
from bench.report.tables import Table, TableCell

MISSING_SORT = "-1e9"  # non-ok cells sort below every value


@dataclass
class CellView:
    text: str
    spread: str = ""  # "± h" or "(sd s)": shown smaller after the value
    sort: str = MISSING_SORT
    css: str = ""
    tip: str = ""
    entry: str = ""  # the entry id on the cell page ('' : not a link)
    href: str = ""  # a page it links to instead


@dataclass
class RowView:
    label: str  # the leaderboard's row label (the filter's key)
    cells: list[CellView]
    reported: bool = False
    shown: str = ""  # the label as displayed


_MODEL = re.compile(r"^(?P<head>.+?) \((?P<model>[^()]+)\)(?P<tail>.*)$")


def _shown_labels(labels: list[str]) -> list[str]:
    """Row labels without their ` (model)` part when every row names the same model (the
    table's heading names it): narrower tables, nothing lost."""
    parts = [_MODEL.match(label) for label in labels]
    if not parts or not all(parts) or len({p["model"] for p in parts}) != 1:
        return labels
    return [p["head"] + p["tail"] for p in parts]


@dataclass
class TableView:
    title: str
    kind: str
    row_header: str
    columns: list[str]
    rows: list[RowView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ident: str = ""


def _tip(cell: TableCell) -> str:
    parts = []
    if cell.has_interval:
        parts.append(f"95 % interval [{cell.lo:.2f}, {cell.hi:.2f}]")
    if cell.sig:
        parts.append(f"{'better' if cell.sig > 0 else 'worse'} than source, p (Holm) "
                     f"{stats.p_text(cell.p)}")
    elif not math.isnan(cell.p):
        parts.append(f"not significant vs source, p (Holm) {stats.p_text(cell.p)}")
    if cell.best:
        parts.append("best: significantly better than the runner-up")
    elif cell.tied:
        parts.append("in the best's tied group")
    if cell.seeds > 1:
        parts.append(f"{cell.seeds} seeds")
    return "; ".join(parts)


def cell_view(cell: TableCell, entry: str = "") -> CellView:
    """A cell as the page shows it: value, its interval half-width and marker split so the
    half-width can be set smaller; sorted by value."""
    text = cell_text(cell)
    if cell.text:
        number = re.match(r"^[-+]?\d+(\.\d+)?", text)
        sort = number.group(0) if number else MISSING_SORT
        css = " ".join(c for c, on in (("best", cell.best), ("text", not number)) if on)
        return CellView(text, sort=sort, css=css)
    if cell.status != "ok":
        return CellView(text, css="status")
    value, _, rest = text.partition(" ")
    css = " ".join(c for c, on in (("best", cell.best), ("tied", cell.tied),
                                   ("up", cell.sig > 0), ("down", cell.sig < 0)) if on)
    return CellView(value, spread=rest.replace("± ", "±"), sort=f"{cell.value:.6f}", css=css,
                    tip=_tip(cell), entry=entry)


def table_view(table: Table, entries: dict[tuple[str, str, str], str] | None = None,
               kind: str = "", ident: str = "") -> TableView:
    """A table with each measured cell linked to its entry ((kind, row, column) -> id)."""
    entries = entries or {}
    view = TableView(table.title, table.kind, table.row_header, list(table.columns),
                     notes=list(table.notes), ident=ident)
    measured = [label for label, rep in zip(table.rows, table.reported, strict=True) if not rep]
    shown = dict(zip(measured, _shown_labels(measured), strict=True))
    for label, line, rep in zip(table.rows, table.cells, table.reported, strict=True):
        cells = [cell_view(c, "" if rep else entries.get((kind, label, col), ""))
                 for c, col in zip(line, table.columns, strict=True)]
        view.rows.append(RowView(label, cells, rep, shown.get(label, label)))
    return view


