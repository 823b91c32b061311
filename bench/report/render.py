"""Render a leaderboard (`bench.report.tables`) as Markdown, CSV, HTML or LaTeX text."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from typing import Any

import pandas as pd

from bench.report.significance import BETTER, WORSE
from bench.report.tables import METRIC_LABELS, Leaderboard, Table, TableCell, metric_unit

FORMATS = ("md", "csv", "html", "latex")


def cell_text(cell: TableCell, interval: bool = True) -> str:
    """A cell as plain text, 1 decimal: `54.3 ± 0.9↑` (value ± half-width of its 95 %
    interval, marker vs source); the format adds the best / tied marks."""
    if cell.text:
        return cell.text
    if cell.status == "ok":
        d = cell.digits
        value = f"{cell.value:+.{d}f}" if cell.signed else f"{cell.value:.{d}f}"
        spread = ""
        if interval and cell.has_interval:
            spread = f" ± {(cell.hi - cell.lo) / 2:.1f}"
        elif not cell.has_interval and cell.seeds > 1 and cell.std == cell.std:
            spread = f" (sd {cell.std:.1f})"
        arrow = BETTER if cell.sig > 0 else WORSE if cell.sig < 0 else ""
        return f"{value}{spread}{arrow}{cell.mark}"
    return {"missing": "–", "blank": ""}.get(cell.status, cell.status)


def render(board: Leaderboard, fmt: str) -> str:
    """The whole leaderboard in one format."""
    return {"md": _markdown, "csv": _csv, "html": _html, "latex": _latex}[fmt](board)


def md_row(items: list[str]) -> str:
    """One Markdown table row; a `|` inside a cell is escaped."""
    return "| " + " | ".join(s.replace("|", "\\|") for s in items) + " |"


def frame_markdown(table: pd.DataFrame, text_columns: tuple[str, ...] = (),
                   fmt: Callable[[Any], str] = str) -> list[str]:
    """A DataFrame as Markdown table lines: header, alignment (`text_columns` left, the
    rest right), one row per line with each value through `fmt`."""
    cols = [str(c) for c in table.columns]
    align = "|" + "|".join("---" if c in text_columns else "---:" for c in cols) + "|"
    return [md_row(cols), align,
            *(md_row([fmt(v) for v in line]) for line in table.itertuples(index=False))]


def _markdown(board: Leaderboard) -> str:
    out = [f"# Leaderboard: {METRIC_LABELS[board.metric]}{metric_unit(board.metric)}", ""]
    for t in board.tables:
        level = "##" if t.kind in ("main", "ranking", "compare") else "###"
        out += [f"{level} {t.title}", ""]
        out.append(md_row([t.row_header] + t.columns))
        out.append("|" + "---|" + "---:|" * len(t.columns))
        for label, line in zip(t.rows, t.cells, strict=True):
            out.append(md_row([label] + [_bold(c, "**{}**", tied="*{}*") for c in line]))
        out += [""] + [f"- {n}" for n in t.notes] + ([""] if t.notes else [])
    return "\n".join(out)


def _bold(cell: TableCell, pattern: str, escape=lambda s: s, tied: str = "{}",
          interval: bool = True) -> str:
    text = escape(cell_text(cell, interval))
    if not text:
        return text
    return pattern.format(text) if cell.best else tied.format(text) if cell.tied else text


def _csv(board: Leaderboard) -> str:
    # several tables in one file: each starts with a '# title' line; '*' marks the best,
    # '~' the tied group; a table with intervals has '<column> lo' / '<column> hi' columns
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for t in board.tables:
        buf.write(f"# {t.title}\n")
        with_iv = [j for j in range(len(t.columns)) if any(line[j].has_interval for line in t.cells)]
        head = [t.row_header]
        for j, col in enumerate(t.columns):
            head += [col] + ([f"{col} lo", f"{col} hi"] if j in with_iv else [])
        writer.writerow(head)
        for label, line in zip(t.rows, t.cells, strict=True):
            items = [label]
            for j, c in enumerate(line):
                items.append(_bold(c, "{}*", tied="{}~", interval=False))
                if j in with_iv:
                    items += [f"{c.lo:.2f}", f"{c.hi:.2f}"] if c.has_interval else ["", ""]
            writer.writerow(items)
        for note in t.notes:
            buf.write(f"# {note}\n")
        buf.write("\n")
    return buf.getvalue()


def _html(board: Leaderboard) -> str:
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">',
           f"<title>Leaderboard {esc(METRIC_LABELS[board.metric])}</title>",
           "<style>td{text-align:right;padding:0 .5em}td:first-child{text-align:left}"
           "tr.reported{font-style:italic;color:#555}</style></head><body>",
           f"<h1>Leaderboard: {esc(METRIC_LABELS[board.metric] + metric_unit(board.metric))}</h1>"]
    for t in board.tables:
        tag = "h2" if t.kind in ("main", "ranking", "compare") else "h3"
        out += [f"<{tag}>{esc(t.title)}</{tag}>", "<table>",
                f"<tr><th>{esc(t.row_header)}</th>" + "".join(f"<th>{esc(c)}</th>" for c in t.columns) + "</tr>"]
        for label, line, rep in zip(t.rows, t.cells, t.reported, strict=True):
            cls = ' class="reported"' if rep else ""
            tds = "".join(f"<td>{_bold(c, '<b>{}</b>', esc, '<i>{}</i>')}</td>" for c in line)
            out.append(f"<tr{cls}><td>{esc(label)}</td>{tds}</tr>")
        out.append("</table>")
        out += [f"<p><small>{esc(n)}</small></p>" for n in t.notes]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


_LATEX = {"_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
          "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
          "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "§": r"\S{}", "¶": r"\P{}",
          "°": r"$^\circ$", "–": "--", "—": "---", "·": r"$\cdot$", "×": r"$\times$",
          "↑": r"$\uparrow$", "↓": r"$\downarrow$", "Δ": r"$\Delta$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text)


def _latex(board: Leaderboard) -> str:
    out = ["% bench leaderboard; needs \\usepackage{booktabs}",
           f"% {METRIC_LABELS[board.metric]} (%)"]
    for t in board.tables:
        out += _latex_table(t)
    return "\n".join(out) + "\n"


def _latex_table(t: Table) -> list[str]:
    head = " & ".join(latex_escape(c) for c in [t.row_header] + t.columns)
    out = ["", r"\begin{table}[ht]", r"\centering\small",
           rf"\caption{{{latex_escape(t.title)}}}",
           rf"\begin{{tabular}}{{l{'r' * len(t.columns)}}}", r"\toprule", head + r" \\",
           r"\midrule"]
    for label, line, rep in zip(t.rows, t.cells, t.reported, strict=True):
        cells = [_bold(c, r"\textbf{{{}}}", latex_escape, r"\textit{{{}}}") for c in line]
        name = latex_escape(label)
        out.append(" & ".join([rf"\textit{{{name}}}" if rep else name] + cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    out += [rf"\par\footnotesize {latex_escape(n)}" for n in t.notes]
    out.append(r"\end{table}")
    return out
