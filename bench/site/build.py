"""Write the site: index, one page per table, per method, the cell page, compare, figures,
downloads. Numbers come from `bench.report` (leaderboard `build`, `compare_table`,
`table_reading`, `plots`); this module lays them out."""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path

import pandas as pd

from bench import __version__
from bench.api.errors import ConfigError
from bench.api.registry import load_builtins
from bench.report.leaderboard import GROUP_KEYS, build
from bench.report.order import (
    NOT_OK,
    ROW_KEYS,
    describe_identity,
    method_key,
    note_markers,
    prepare,
    row_labels,
)
from bench.report.paired_compare import compare_table
from bench.report.reading import main_delta_pairs, summary_column, table_reading
from bench.report.render import render
from bench.report.significance import OutcomeOrder, Outcomes
from bench.report.tables import (
    AVG,
    COUNT,
    DIAGNOSTIC_METRICS,
    METRIC_LABELS,
    Leaderboard,
    Table,
    TableCell,
)
from bench.site import cells as cellmod
from bench.site.figures import site_figures
from bench.site.load import SiteInputs
from bench.site.text import environment, markdown_line, method_doc, slug
from bench.site.timing import SiteReport
from bench.site.view import table_view

SITE_METRICS = ("r1", "r5", "r10", "map")
STATIC = ("site.css", "site.js", "tablesort.min.js", "tablesort.number.min.js",
          "tablesort-LICENCE.txt")
CELL_METRICS = ("r1", "r5", "r10", "map", "retention_r1")


def _groups(board: Leaderboard) -> dict[tuple, dict[str, Table]]:
    """Each main table's key -> its tables by kind (main, delta, severity, segments)."""
    out: dict[tuple, dict[str, Table]] = {}
    current = None
    for t in board.tables:
        if t.kind == "main":
            current = out.setdefault(t.key, {})
        elif t.kind == "ranking":
            current = None
            continue
        if current is not None:
            current[t.kind] = t
    return out


def _metrics(df: pd.DataFrame) -> list[str]:
    """The rank metrics, then the common-space diagnostics, that some ok row measures."""
    ok = df[df["status"] == "ok"]
    return [m for m in SITE_METRICS + DIAGNOSTIC_METRICS if m in ok and ok[m].notna().any()]


class SiteWriter:
    """Holds the boards and the row labels while the pages are written."""

    def __init__(self, inputs: SiteInputs, out: Path, reported: bool = False,
                 figures: bool = True, pairs: list[tuple[str, str]] | None = None,
                 cache: bool = True, section: str = "", sections: list[dict] | None = None):
        self.inputs, self.out, self.reported, self.with_figures = inputs, out, reported, figures
        self.pairs, self.cache = pairs, cache
        self.section, self.sections = section, sections or []
        self.env = environment()
        self.df = prepare(inputs.rows)
        self.labels = row_labels(self.df)
        note_markers(self.df, self.labels)
        self.row_of = {v: k for k, v in self.labels.items()}
        self.report = SiteReport(out)
        self.meta = self._meta()
        unknown = sorted({m for pair in pairs or [] for m in pair} - set(self.df["method"]))
        if unknown:
            raise ConfigError(f"--compare names method(s) with no results: {', '.join(unknown)}",
                              f"present: {', '.join(self.meta['methods'])}")

    # ----------------------------------------------------------------- whole site
    def write(self) -> SiteReport:
        for sub in ("assets", "data", "figures", "downloads"):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        for name in STATIC:
            src = resources.files("bench.site") / "static" / name
            (self.out / "assets" / name).write_bytes(src.read_bytes())
        self.boards: dict[str, Leaderboard] = {}
        with self.report.timed("outcomes by cell"):
            self.order = OutcomeOrder(self.inputs.outcomes)  # one sort for every metric
        for m in _metrics(self.df):
            try:
                with self.report.timed(f"tables {m}"):
                    self.boards[m] = build(self.df, m, reported=self.reported,
                                           per_query=Outcomes(self.order, m), prepared=True)
                # a diagnostic measured on some suites only: its absence elsewhere is no news
                self.report.messages += [line for line in self.boards[m].messages
                                         if line not in self.report.messages and not (
                                             m in DIAGNOSTIC_METRICS and "not measured" in line)]
            except ConfigError as err:
                self.report.messages.append(f"{METRIC_LABELS[m]}: {err}")
        if "r1" not in self.boards:
            raise ConfigError("no result row measures R@1", "the site's pages are built on R@1")
        self.groups = {m: _groups(b) for m, b in self.boards.items()}
        with self.report.timed("figures"):
            figs = site_figures(self.df, self.inputs, self.groups["r1"], self.out,
                                self.report, self.cache) if self.with_figures else {}
        pages = []
        with self.report.timed("table pages and cells"):
            for key in self.groups["r1"]:
                pages.append(self._table_page(key, figs.get(key, [])))
        with self.report.timed("downloads"):
            self._downloads()
        with self.report.timed("method pages"):
            self._method_pages()
        with self.report.timed("compare"):
            self._compare_page()
        with self.report.timed("index"):
            self._page("cell.html", "cell.html", title="cell")
            self._index(pages)
        return self.report

    def _page(self, template: str, filename: str, **context) -> None:
        text = self.env.get_template(template).render(meta=self.meta, **context)
        (self.out / filename).write_text(text, encoding="utf-8")
        self.report.pages.append(filename)

    # ----------------------------------------------------------------- provenance
    def _meta(self) -> dict:
        df = self.df
        created = sorted(v for v in df["created_at"].dropna().astype(str) if v)

        def counted(col: str) -> str:
            counts = df[col].fillna("").astype(str).replace("", "?").value_counts()
            return "; ".join(f"{v} ({n} cells)" for v, n in sorted(counts.items()))

        models = sorted({f"{m}/{p}" if p else m for m, p in zip(df["model"], df["pretrained"],
                                                                  strict=True)})
        made = [("cells", f"{len(df)} ({(df['status'] == 'ok').sum()} ok)"),
                ("created", f"{created[0]} to {created[-1]}" if created else "?"),
                ("models", ", ".join(models)), ("bench version", counted("bench_version")),
                ("git sha", counted("git_sha")), ("torch", counted("torch_version")),
                ("device", counted("device")), ("run ids", str(df["run_id"].nunique())),
                ("stores", ", ".join(self.inputs.stores))]
        return {"stores": self.inputs.stores, "bench": __version__, "made": made,
                "n_cells": len(df), "n_ok": int((df["status"] == "ok").sum()),
                "methods": sorted(set(df["method"]), key=method_key),
                "section": self.section, "sections": self.sections}

    def _entries(self, key: tuple, page: str) -> dict[tuple[str, str, str], str]:
        """Write the page's data script; returns (kind, row, column) -> entry id."""
        group = self.df[(self.df[GROUP_KEYS] == pd.Series(key, index=GROUP_KEYS)).all(axis=1)]
        # Python strings instead of Arrow-backed ones (the same values, NaN for missing):
        # the entries below select, group and iterate these rows hundreds of times
        group = group.astype({c: object for c, t in group.dtypes.items()
                              if isinstance(t, pd.StringDtype)})
        sets = cellmod.table_entries(group, self.labels)
        by_id = group.set_index("cell_id", drop=False)
        diagnostics = cellmod.present_diagnostics(group)
        traces = dict(iter(self.inputs.traces[self.inputs.traces["cell_id"].isin(group["cell_id"])]
                           .groupby("cell_id")))
        row_tpl, entry_tpl = self.env.get_template("cell_row.html"), \
            self.env.get_template("entry.html")
        cells_html = {}
        for cid, r in by_id.iterrows():
            trace = traces.get(cid)
            view = {k: r[k] for k in ("cell_id", "shift", "seed", "status", "run_id",
                                      "created_at")}
            view |= {"severity": int(r["severity"]) if r["shift"] != "clean" else 0,
                     "error": str(r["error"]) if isinstance(r["error"], str) else "",
                     "wall_s": cellmod.plain(r["wall_s"]),
                     "state": r["method_state"] if isinstance(r["method_state"], str) else "",
                     "trace": cellmod.trace_svg(trace)}
            view |= {m: cellmod.plain(r[m]) for m in CELL_METRICS}
            view["diagnostics"] = cellmod.diagnostics_lines(r, diagnostics)
            cells_html[cid] = row_tpl.render(r=view, metrics=CELL_METRICS,
                                             diagnostics=bool(diagnostics))
        head = ("<div class=\"scroll\"><table class=\"board\"><thead><tr><th>cell id</th>"
                "<th>shift</th><th>seed</th><th>status</th>"
                + "".join(f"<th>{METRIC_LABELS[m]}</th>" for m in CELL_METRICS)
                + "<th>wall s</th><th>created</th><th>run id</th><th>online R@1 trace</th>"
                + ("<th>common space: source → adapted</th>" if diagnostics else "")
                + "</tr></thead><tbody>")
        entries, ids = {}, {}
        for n, ((kind, label, col), cell_ids) in enumerate(sorted(sets.items())):
            ident = f"{kind[0]}{n}"
            ids[(kind, label, col)] = ident
            rows = by_id.loc[cell_ids]
            what = (f"{label} at {col}" if kind == "main" else
                    f"{label} at severity {col}, mean over the shifts run at it")
            title = f"{label} · {col} · {' · '.join(key)}"
            store = self.inputs.store_of.get(cell_ids[0], "RESULTS")
            text = entry_tpl.render(title=title, what=what, n=len(cell_ids), page=page,
                                    shared=cellmod.shared_fields(rows),
                                    command=cellmod.reproduce(rows, store))
            entries[ident] = {"title": title, "html": text, "cells": cell_ids}
        data = {"head": head, "foot": "</tbody></table></div>", "entries": entries,
                "cells": cells_html}
        script = "window.BENCH_CELLS = " + json.dumps(data, ensure_ascii=False,
                                                      separators=(",", ":")) + ";\n"
        (self.out / "data" / f"{page}.js").write_text(script, encoding="utf-8")
        # Δ tables link like their main table; the same ids serve every metric
        return ids

    # ----------------------------------------------------------------- table pages
    def _table_page(self, key: tuple, figures: list[dict]) -> dict:
        page = slug(key)
        ids = self._entries(key, page)
        variants, labels = [], []
        # the rank metrics on every page; a diagnostic where this table's rows measure it
        metrics = [m for m, groups in self.groups.items()
                   if m not in DIAGNOSTIC_METRICS or key in groups]
        for m in metrics:
            tables = self.groups[m].get(key, {})
            absolute = [table_view(tables["main"], ids, "main", f"{page}-{m}-main")] \
                if "main" in tables else []
            if "severity" in tables:
                absolute.append(table_view(tables["severity"], ids, "severity"))
            if "segments" in tables:
                absolute.append(table_view(tables["segments"]))
            delta = [table_view(tables["delta"], ids, "main", f"{page}-{m}-delta")] \
                if "delta" in tables else []
            mdd = next((n for n in tables["main"].notes if n.startswith("minimum detectable")),
                       "") if "main" in tables else ""
            for view, shown in (("abs", absolute), ("delta", delta)):
                variants.append({"metric": m, "view": view, "tables": shown, "mdd": mdd,
                                 "empty": f"No Δ vs source for {METRIC_LABELS[m]} here (no "
                                          "per-query outcomes for it, or no source row)."
                                 if view == "delta" else f"{METRIC_LABELS[m]} not measured."})
            labels += [r.label for v in absolute + delta for r in v.rows]
        main = self.groups["r1"][key]["main"]
        self._page("table.html", f"{page}.html", title=" · ".join(key), page=page,
                   metrics=[(m, METRIC_LABELS[m]) for m in metrics
                            if m not in DIAGNOSTIC_METRICS],
                   diagnostics=[(m, METRIC_LABELS[m]) for m in metrics
                                if m in DIAGNOSTIC_METRICS],
                   variants=variants, row_labels=list(dict.fromkeys(labels)), figures=figures)
        return {"page": page, "key": key, "title": " · ".join(key), "main": main}

    # ----------------------------------------------------------------- downloads
    def _downloads(self) -> None:
        down = self.out / "downloads"
        self.inputs.rows.to_parquet(down / "rows.parquet", index=False)
        for m, groups in self.groups.items():
            (down / f"leaderboard.{m}.csv").write_text(render(self.boards[m], "csv"),
                                                       encoding="utf-8")
            for key, tables in groups.items():
                (down / f"{slug(key)}.{m}.csv").write_text(
                    render(Leaderboard(m, list(tables.values())), "csv"), encoding="utf-8")

    # ----------------------------------------------------------------- methods
    def _method_pages(self) -> None:
        load_builtins()
        self.method_cards = []
        for method in dict.fromkeys(cellmod.base_method(m) for m in self.meta["methods"]):
            doc = method_doc(method)
            keys = [k for k in self.labels if cellmod.base_method(k[0]) == method]
            variants = [{"label": self.labels[k], "model": k[1],
                         "config": cellmod.pretty_json(k[2]) or "{}",
                         "identity": describe_identity(k[3]),
                         "note": _note(self.df, k)} for k in keys]
            rows = Table("rows", "method", ["table", "row", AVG, f"Δ {AVG}", COUNT],
                         row_header="#")
            pages = []
            for key, tables in self.groups["r1"].items():
                main, delta = tables["main"], tables.get("delta")
                column = summary_column(main, delta)
                for label in main.rows:
                    if cellmod.base_method(self.row_of.get(label, ("",))[0]) != method:
                        continue
                    avg = main.cell(label, AVG) if AVG in main.columns else TableCell()
                    d = delta.cell(label, column) if delta is not None and column and \
                        label in delta.rows else TableCell(status="n/a")
                    count = main.cell(label, COUNT) if COUNT in main.columns else TableCell()
                    rows.add_row(str(len(rows.rows) + 1),
                                 [TableCell(text=" · ".join(key)), TableCell(text=label), avg, d,
                                  count])
                    pages.append(f"{slug(key)}.html")
            view = table_view(rows)
            for r, href in zip(view.rows, pages, strict=True):
                r.cells[0].href = href
            self._page("method.html", f"method-{method}.html", title=method, name=method,
                       doc=doc, variants=variants, rows=view, metric_label="R@1")
            self.method_cards.append({"name": method, "summary": doc.split(". ")[0] if doc
                                      else f"{len(keys)} variant(s)"})

    # ----------------------------------------------------------------- compare
    def _compare_page(self) -> None:
        from bench.report.reading import compare_reading

        methods = self.meta["methods"]
        pairs = self.pairs if self.pairs is not None else \
            [(m, "source") for m in methods if m != "source" and "source" in methods]
        shown, skipped = [], []
        outcomes = self.inputs.outcomes
        # the outcomes grouped by cell once for every pair (the grouping is most of the cost)
        per_query = Outcomes(self.order, "r1") if pairs else None
        for method, baseline in pairs:
            try:
                t = compare_table(self.df, outcomes, method, baseline, per_query=per_query,
                                  prepared=True)
            except ConfigError as err:
                if self.pairs is not None:  # asked for by name: say so, do not skip
                    raise
                skipped.append(f"{method} vs {baseline}: {err}")
                continue
            shown.append({"ident": f"{method}-vs-{baseline}", "method": method,
                          "baseline": baseline, "table": table_view(t),
                          "reading": markdown_line(compare_reading(t))})
        self._page("compare.html", "compare.html", title="compare", pairs=shown,
                   skipped=skipped, metric_label="R@1")

    # ----------------------------------------------------------------- index
    def _index(self, pages: list[dict]) -> None:
        findings = []
        for main, delta in main_delta_pairs(self.boards["r1"].tables):
            lines = table_reading(main, delta)
            better = [self._plain_label(line) for line in lines if "better than source" in line]
            worse = [self._plain_label(line) for line in lines if "worse than source" in line]
            findings.append({"page": slug(main.key), "table": " · ".join(main.key),
                             "better": better, "worse": worse,
                             "lines": [markdown_line(x) for x in lines[1:] or lines]})
        rankings = [t for t in self.boards["r1"].tables if t.kind == "ranking"]
        suites_rows = []
        for p in pages:
            g = self.df[(self.df[GROUP_KEYS] == pd.Series(p["key"], index=GROUP_KEYS)).all(axis=1)]
            suites_rows.append({"suite": p["key"][0], "dataset": p["key"][1],
                                "direction": p["key"][2], "stream": p["key"][3],
                                "version": "/".join(sorted(set(g["suite_version"]) - {""})),
                                "methods": g["method"].nunique(), "cells": len(g),
                                "not_ok": int(g["status"].isin(NOT_OK).sum()),
                                "page": p["page"], "title": "open"})
        board_csv = [(METRIC_LABELS[m], f"downloads/leaderboard.{m}.csv") for m in self.boards]
        self._page("index.html", "index.html", title="bench leaderboard", findings=findings,
                   rankings=[table_view(t, ident="ranking-table" + (f"-{k + 1}" if k else ""))
                             for k, t in enumerate(rankings)],
                   suites=sorted(set(self.df["suite"])), suites_rows=suites_rows,
                   methods=self.method_cards, board_csv=board_csv, metric_label="R@1")

    @staticmethod
    def _plain_label(line: str) -> str:
        m = re.search(r"`(.+?)`", line)
        return m.group(1) if m else line


def _note(df: pd.DataFrame, key: tuple) -> str:
    rows = df[(df[ROW_KEYS] == pd.Series(key, index=ROW_KEYS)).all(axis=1)]
    notes = [n for n in dict.fromkeys(rows["method_note"]) if n]
    return "; ".join(notes)


def section_summary(name: str, inputs: SiteInputs) -> dict:
    """What the main index says of a nested store's section: its link, suites and counts."""
    rows = inputs.rows
    return {"name": name, "page": f"{name}/index.html", "stores": ", ".join(inputs.stores),
            "suites": ", ".join(sorted(set(rows["suite"].dropna()))),
            "methods": int(rows["method"].nunique()), "cells": len(rows),
            "ok": int((rows["status"] == "ok").sum())}


def build_site(inputs: SiteInputs, out: str | Path, reported: bool = False,
               figures: bool = True, pairs: list[tuple[str, str]] | None = None,
               cache: bool = True, section: str = "",
               sections: list[dict] | None = None) -> SiteReport:
    """Write the whole site into `out` (its previous pages, data and figures replaced).
    `cache`: reuse the figure cache's drawings of the same inputs (bench.site.figure_cache).
    `section`: the name of the nested store this site is the section of (written into
    OUT/<name>/; its pages link back to ../index.html); `sections`: the nested stores'
    `section_summary`s, listed on the index of the main site."""
    out = Path(out)
    for sub in ("data", "figures", "downloads", "assets"):
        shutil.rmtree(out / sub, ignore_errors=True)
    for old in out.glob("*.html"):
        old.unlink()
    return SiteWriter(inputs, out, reported, figures, pairs, cache, section, sections).write()
