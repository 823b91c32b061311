"""The figures of `bench.report.plots` as PNG files, each placed on the table pages it
belongs to: severity curves and the heatmap on their table's page, stream traces and the
retention scatter on the pages of the diverse streams they show."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.report.tables import Table
from bench.site import figure_cache
from bench.site.load import SiteInputs
from bench.site.timing import SiteReport


def _measured_only(table: Table) -> Table:
    """The table without its published reference rows (the heatmap shows measured rows)."""
    out = Table(table.title, table.kind, table.columns, key=table.key)
    for i in table.measured():
        out.add_row(table.rows[i], table.cells[i])
    return out


def site_figures(df: pd.DataFrame, inputs: SiteInputs, groups: dict[tuple, dict[str, Table]],
                 out: Path, report: SiteReport, cache: bool = True) -> dict[tuple, list[dict]]:
    """Write the figures into out/figures; returns table key -> [{file, caption}]. `df`: the
    prepared rows; `groups`: the R@1 board's tables by key and kind (the heatmaps are drawn
    from them, so they show the page's numbers). With `cache`, a drawing of the same inputs
    is copied from the figure cache (bench.site.figure_cache) and a new one is stored."""
    if not cache:
        return _draw(df, inputs, groups, out, report)
    key = figure_cache.figures_key(df, inputs.outcomes, inputs.traces, groups)
    hit = figure_cache.load(key, out / "figures")
    if hit is not None:
        report.figures += hit[1]
        return hit[0]
    before = report.figures
    placed = _draw(df, inputs, groups, out, report)
    figure_cache.save(key, out / "figures", placed, report.figures - before)
    return placed


def _draw(df: pd.DataFrame, inputs: SiteInputs, groups: dict[tuple, dict[str, Table]],
          out: Path, report: SiteReport) -> dict[tuple, list[dict]]:
    import matplotlib

    from bench.report import plots
    from bench.report.significance import Outcomes

    # figures are named and placed by table key, whose suite part is the table's suite
    # version (`table_suite`): rows of two versions never share a figure
    rows = plots.with_rows(df.assign(suite=df["table_suite"]))
    per_query = Outcomes(inputs.outcomes, "r1")
    made: list[tuple[str, object, list[tuple]]] = []
    keys = list(groups)
    with matplotlib.rc_context(plots.STYLE):
        shifted = rows[rows["shift"] != "clean"]
        several = shifted.groupby(plots.GROUP + ["stream"])["severity"].nunique()
        curves = plots.severity_curves(rows, per_query) if (several > 1).any() else []
        for name, fig in curves:  # (their interval bands cost seconds: only when drawn)
            made.append((name, fig, [k for k in keys if name == plots._name("severity", *k)]))
        for key in keys:
            tables = groups[key]
            made.append((plots._name("heatmap", *key),
                         plots.heatmap_figure(key, _measured_only(tables["main"]),
                                              tables.get("delta")), [key]))
        diverse = [k for k in keys if k[3] != "single"]
        for kind, figs in (("stream", plots.stream_traces(rows, inputs.traces, inputs.outcomes)),
                           ("retention", plots.retention_scatter(rows))):
            for name, fig in figs:
                mine = [k for k in keys if name == plots._name(kind, *k[:3])]
                made.append((name, fig, [k for k in mine if k in diverse] or mine[:1]))
        placed: dict[tuple, list[dict]] = {}
        for name, fig, where in made:
            if not where:
                continue
            fig.savefig(out / "figures" / f"{name}.png", dpi=100, metadata=plots.METADATA["png"])
            report.figures += 1
            caption = fig.get_suptitle() or name.replace("_", " · ")
            for key in where:
                placed.setdefault(key, []).append({"file": f"{name}.png", "caption": caption})
    return placed
