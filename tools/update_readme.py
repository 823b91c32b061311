"""Regenerate the generated sections of README.md and the docs/ pages from the registries
and the committed results.

    python tools/update_readme.py          # rewrite the files in place
    python tools/update_readme.py --check  # exit 1 if any file is not up to date

A section sits between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` in the file
`PAGES` names for it; every number in it comes from `results/` or the model cards, never
typed by hand. The docs pages are built by MkDocs, whose strict mode rejects links that
leave docs/: there, files of the repository are named as paths, not linked.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api.registry import METHODS, SUITES, load_builtins  # noqa: E402
from bench.engine.store import ResultStore  # noqa: E402
from bench.files import package_assets  # noqa: E402
from bench.report.leaderboard import build  # noqa: E402
from bench.report.memo import memo  # noqa: E402
from bench.report.published_rank import level_words  # noqa: E402
from bench.report.render import render  # noqa: E402
from bench.report.versions import at_version, compared_versions  # noqa: E402
from bench.studies.similarity import monotone, rises, wide_table  # noqa: E402

RESULTS = ROOT / "results" / "embedded"  # the committed leaderboard (`make results`)


def _first_line(text: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    paragraph = (text or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def suites_block() -> str:
    lines = ["| suite | kind | default model | cells (default) | what |", "|---|---|---|---:|---|"]
    for name, s in SUITES.items():
        kind = "embedded" if s.embedded else "needs `--data-root`"
        kind += "" if s.in_all else ", opt-in (not in `all`)"
        model = s.default_model + (f" `{s.default_pretrained}`" if s.default_pretrained else "")
        lines.append(f"| `{name}` v{s.version} | {kind} | {model} | {len(s.cells())} | "
                     f"{s.description} |")
    return "\n".join(lines)


def methods_block() -> str:
    from bench.report.order import method_key

    lines = ["| method | what |", "|---|---|"]
    for name, cls in sorted(METHODS.items(), key=lambda kv: method_key(kv[0])):
        doc = _first_line(cls.__doc__ or sys.modules[cls.__module__].__doc__)
        lines.append(f"| `{name}` | {doc} |")
    return "\n".join(lines)


def _card(model: str) -> dict:
    path = package_assets() / "models" / f"{model}.card.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _source_r1(df: pd.DataFrame, **where) -> pd.DataFrame:
    sel = df[(df["method"] == "source") & (df["status"] == "ok") & (df["stream"] == "single")]
    for k, v in where.items():
        sel = sel[sel[k] == v]
    if "suite" in where and where["suite"] in SUITES:  # the suite's current version only
        sel = at_version(sel, SUITES.get(where["suite"]).version)
    return sel.groupby(["shift", "severity"])["r1"].mean().reset_index()


def regime_lines(df: pd.DataFrame) -> list[str]:
    """Source R@1 per shift at the suite's level (current version), as % of clean (the
    benchmark's regime)."""
    out = []
    for direction, suite in (("i2t", "mini-c"), ("t2i", "mini-c")):
        # The reference is the clean cell on the same queries (t2i: first caption per image).
        ref = "mini-clean" if direction == "i2t" else suite
        clean = _source_r1(df, suite=ref, direction=direction)
        clean = clean[clean["shift"] == "clean"]
        shifted = _source_r1(df, suite=suite, direction=direction)
        shifted = shifted[shifted["shift"] != "clean"].reset_index(drop=True)
        if clean.empty or shifted.empty:
            continue
        c = float(clean["r1"].iloc[0])
        shifted["pct"] = 100 * shifted["r1"] / c
        kind = "image" if direction == "i2t" else "text"
        at = level_words(dict(zip(shifted["shift"], shifted["severity"], strict=True)))
        current = at_version(df[df["suite"] == suite], SUITES.get(suite).version)
        model = ", ".join(sorted(set(current["model"])))
        out.append(f"**{kind} shifts, {direction}** ({suite} v{SUITES.get(suite).version}, "
                   f"{model}, source, {at}; clean R@1 "
                   f"{c:.1f}): mean {shifted['r1'].mean():.1f} = {shifted['pct'].mean():.0f} % "
                   f"of clean, lowest {shifted['pct'].min():.0f} % "
                   f"({shifted.loc[shifted['pct'].idxmin(), 'shift']}).")
        out.append("")
        out.append("| " + " | ".join(shifted["shift"]) + " |")
        out.append("|" + "---:|" * len(shifted))
        out.append("| " + " | ".join(f"{r:.1f} ({p:.0f} %)" for r, p in
                                     zip(shifted["r1"], shifted["pct"], strict=True)) + " |")
        out.append("")
    pedes = _source_r1(df, suite="mini-pedes", direction="t2i")
    if len(pedes):
        a = df[(df.suite == "mini-pedes") & (df.method == "source") & (df.dataset == "mini-pedes-a")]
        b = df[(df.suite == "mini-pedes") & (df.method == "source") & (df.dataset == "mini-pedes-b")]
        if len(a) and len(b):
            ra, rb = float(a.r1.mean()), float(b.r1.mean())
            out.append(f"**mini-pedes, t2i** (mini-reid, trained on style A): style A R@1 {ra:.1f}"
                       f", style B R@1 {rb:.1f} (drop {ra - rb:.1f} points).")
            out.append("")
    return out


def similarity_lines() -> list[str]:
    """The severity check (`make similarity`): summary of both draws, the paired table."""
    out = []
    for name, label in (("similarity.csv", "the benchmark's own images, seeded per severity"),
                        ("similarity_paired.csv", "one random draw per image shared by all "
                                                  "severities (`--paired`)")):
        if not (RESULTS / name).exists():
            continue
        df = pd.read_csv(RESULTS / name)
        wide = wide_table(df)
        sevs = list(wide.columns)
        steps = [f"{shift} {row.iloc[k]:.4f} -> {row.iloc[k + 1]:.4f} at {sevs[k]} -> {sevs[k + 1]}"
                 for shift, row in wide.iterrows() for k in rises(list(row))]
        falls = sum(monotone(list(row)) for _, row in wide.iterrows())
        out.append(f"- {label}, {int(df['n_images'].min()):,} mini-scenes test images: falls "
                   f"at every step for {falls} of {len(wide)} image shifts"
                   + (f" (rises: {'; '.join(steps)})" if steps else "") + ".")
    return out


def embedded_block() -> str:
    lines = []
    for model in ("mini-clip", "mini-clip-2", "mini-reid"):
        card = _card(model)
        if not card:
            lines.append(f"- `{model}`: no card (checkpoint not trained yet).")
            continue
        cfg = card["config"]
        metrics = ", ".join(f"{d} R@1 {m['r1']:.1f} / R@5 {m['r5']:.1f} / R@10 {m['r10']:.1f}"
                            for d, m in card["test_metrics"].items())
        start = f" from `{cfg['init']}`" if cfg.get("init") else ""
        scale = f" at logit scale {cfg['logit_scale']:g}" if cfg.get("logit_scale") else ""
        wall = f"{card['train_wall_s'] / 60:.0f} min on {card['threads']} CPU thread(s)"
        if card.get("resumed_at_step"):
            wall = f"resumed at step {card['resumed_at_step']}, then {wall}"
        lines.append(f"- `{model}`: {cfg['steps']} steps x batch {cfg['batch_size']}{start}"
                     f"{scale} on {card['train_images']} training images ({wall}); clean "
                     f"test: {metrics}; checkpoint {card['checkpoint_mb']} MB.")
    lines.append("")
    if (RESULTS / "cells").exists():
        lines += regime_lines(ResultStore(RESULTS).read())
    if (RESULTS / "SEVERITY.md").exists():
        lines.append("R@1 of `source` at every severity: `results/embedded/SEVERITY.md` "
                     "(`python -m bench run --method source --suite mini-c --severity all`).")
    sim = similarity_lines()
    if sim:
        lines += ["", "**Severity check** (`make similarity`): mean cosine similarity of the mini "
                  "CLIP's embeddings of each clean test image and the same image shifted: "
                  "`results/embedded/SIMILARITY.md`, `results/embedded/SIMILARITY_PAIRED.md`.",
                  "", *sim]
        paired = RESULTS / "SIMILARITY_PAIRED.md"
        if paired.exists():
            table = [ln for ln in paired.read_text().splitlines() if ln.startswith("|")]
            lines += ["", "Paired draws (`python -m bench similarity --suite mini-c --paired`):",
                      "", *table]
    return "\n".join(lines).strip()


# The README's leaderboard tables (suites, metric), in order; smoke is CI's first contact,
# not a benchmark. The reading reads the suites of its R@1 tables.
README_BOARDS = ((["mini-c"], "r1"), (["mini-clean", "mini-pedes"], "r1"),
                 (["mini-pedes-c"], "r1"), (["mini-diverse"], "r1"),
                 (["mini-diverse"], "retention_r1"))
# the README's summary: the boards whose ranking compares one model's methods
SUMMARY_BOARDS = tuple(b for b in README_BOARDS if b[0] != ["mini-clean", "mini-pedes"])
READING_SUITES = tuple(s for suites, metric in README_BOARDS if metric == "r1" for s in suites)


@functools.cache
def _store() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The committed rows, each README suite at one version (`compared_versions`: the
    newest whose methods beside source are run), and their outcomes."""
    store = ResultStore(RESULTS)
    rows, _ = compared_versions(store.read(), READING_SUITES)
    outcomes = store.read_outcomes()
    return rows, outcomes[outcomes["cell_id"].isin(set(rows["cell_id"]))]


def _board(suites: tuple[str, ...], metric: str):
    """The leaderboard of the committed suites of `suites` present (None when none is)."""
    df, outcomes = _store()
    present = [s for s in suites if s in set(df["suite"])]
    return build(df, metric, present, outcomes=outcomes) if present else None


def leaderboard_block() -> str:
    if not (RESULTS / "cells").exists():
        return "(no committed results yet: run `make results`)"
    parts = ["Generated by `make results` (the commands are in the `Makefile`); all tables: "
             "`results/embedded/LEADERBOARD.md`.", ""]
    for suites, metric in README_BOARDS:
        board = _board(tuple(suites), metric)
        if board is not None:
            board.tables = [t for t in board.tables if t.kind in ("main", "ranking")]
            parts.append(render(board, "md").replace("\n# ", "\n### ").replace("\n## ", "\n#### ")
                         .lstrip("# ").strip())
            parts.append("")
    if (RESULTS / "ABLATION.md").exists():
        parts.append((RESULTS / "ABLATION.md").read_text().strip())
        parts.append("")
    fig = RESULTS / "figures"
    pngs = sorted(fig.glob("*heatmap*mini-c*i2t*.png")) if fig.exists() else []
    if pngs:
        parts.append(f"Figures (`make tables`): `results/embedded/figures/`, e.g. the R@1 "
                     f"heatmap `{pngs[0].name}`.")
    return "\n".join(parts).strip()


def summary_block() -> str:
    """The README's summary: each board's overall ranking, and rest vs tcr pooled."""
    from bench.report.tables import METRIC_LABELS

    if not (RESULTS / "cells").exists():
        return "(no committed results yet: run `make results`)"
    lines = ["| suites | metric | overall ranking (place; `3=`: a place shared where the pooled "
             "paired sign test does not separate the methods) |", "|---|---|---|"]
    for suites, metric in SUMMARY_BOARDS:
        board = _board(tuple(suites), metric)
        rank = [t for t in board.tables if t.kind == "ranking"] if board else []
        if rank:
            t = rank[0]
            places = ", ".join(f"{row} **{line[0].text}**" if line[0].best else
                               f"{row} {line[0].text}" for row, line in zip(t.rows, t.cells,
                                                                           strict=True))
            lines.append(f"| {', '.join(suites)} | {METRIC_LABELS[metric]} | {places} |")
    lines += ["", "† rest: a reconstruction from the paper's description (no official code is "
              "public)."]
    return "\n".join(lines)


def reading_block() -> str:
    """Which differences of the committed leaderboard are significant, in words
    (`bench.report.reading`): only what the paired tests say."""
    from bench.report.paired_compare import compare_table
    from bench.report.reading import board_reading, compare_reading

    if not (RESULTS / "cells").exists():
        return "(no committed results yet: run `make results`)"
    df, outcomes = _store()
    suites = [s for s in READING_SUITES if s in set(df["suite"])]
    lines = board_reading(_board(tuple(suites), "r1").tables)
    methods = set(df[df["suite"].isin(suites)]["method"])
    if {"rest", "tcr"} <= methods:
        pair = df[df["suite"].isin(suites)]
        lines += ["", compare_reading(compare_table(pair, outcomes, "rest", "tcr"))]
    return "\n".join(lines)


def coco_block() -> str:
    """The COCO-length read-outs (`make coco` / `make rank`, written by `make tables`):
    mini-c beside mini-coco-c, and the baselines' ranking beside the published one."""
    parts = [f"`results/embedded/{name}`: " + (RESULTS / name).read_text().strip()
             for name in ("SUITE_PAIR.md", "RANK.md") if (RESULTS / name).exists()]
    return "\n\n".join(parts) or "(not run yet: `make rank`, `make coco`)"


def prediction_block() -> str:
    """What the miniature predicts of the real benchmark, measured (`results/embedded/coco`
    beside TCR's BLIP COCO-C table): the current `mini-coco-c` version's verdict once its
    image-shift baselines are run (else its source rows), then the last earlier version's."""
    from bench.api.errors import DataError
    from bench.engine.store import read_results
    from bench.report.published_rank import compare, measured_averages, versions

    store = RESULTS / "coco"
    if not (store / "cells").is_dir():
        return "(not run yet: `make rank`)"
    rows = read_results(store)
    suite = "mini-coco-c"
    current, *older = versions(rows, suite)

    def model_of(version: str) -> str:
        return ", ".join(sorted(set(at_version(rows[rows["suite"] == suite], version)["model"])))

    def verdict(version: str, now: bool) -> str | None:
        try:
            i2t = compare(rows, suite, "i2t", version=version)
        except DataError:
            return None
        try:
            t2i = compare(rows, suite, "t2i", version=version)
        except DataError:
            t2i = None
        return _verdict(i2t, t2i, now, model_of(version))

    text = verdict(current, True)
    if text is None:
        src = {d: measured_averages(rows, suite, d, ("source",))[0].get("source")
               for d in ("i2t", "t2i")}
        done = measured_averages(rows, suite, "i2t")[0].index.tolist()
        text = (f"`{suite}` v{current}, the COCO-sized miniature on `{model_of(current)}` with its "
                "shifts at the strength of the real benchmark's regime "
                "([docs/embedded-regime.md](docs/embedded-regime.md)), has its baselines "
                f"rerun only in part so far (every image shift: {', '.join(done) or 'none'}), "
                "so what it predicts is not measured yet.")
        if all(v is not None for v in src.values()):
            text += (f" Its source rows: i2t {src['i2t']:.1f} against BLIP's 45.0, t2i "
                     f"{src['t2i']:.1f} against 40.9.")
    earlier = [e for e in (verdict(v, False) for v in older) if e is not None][:1]
    return " ".join([text, *earlier, "Full tables: [RANK.md](results/embedded/RANK.md)."])


def _verdict(i2t, t2i, current: bool, model: str) -> str:
    """One version's measured tau, sign agreement and source rows, in words (`t2i`: None)."""
    from bench.report.published_rank import sign_agreement

    def signs(cmp) -> str:
        table = sign_agreement(cmp)
        wrong = [f"{r['method']} {r['measured delta']:+.1f} against {r['published delta']:+.1f}"
                 for _, r in table.iterrows() if not r["agree"]]
        agree = f"{int(table['agree'].sum())} of {len(table)}"
        return agree + (f" (not: {'; '.join(wrong)})" if wrong else "")

    def source(cmp) -> str:
        row = cmp.table.set_index("method").loc["source"]
        return f"{row['measured']:.1f} against {row['published']:.1f}"

    which = (f"On `mini-coco-c` v{i2t.version}, the COCO-sized miniature (model `{model}`, "
             f"image shifts at {i2t.level_words})," if current else
             f"The earlier `mini-coco-c` v{i2t.version} (model `{model}`, image shifts at "
             f"{i2t.level_words}) measured:")
    text = (f"{which} the published baselines' average R@1 over the image shifts ranks "
            f"with Kendall's tau-b {i2t.tau:.2f} (p {i2t.p_value:.2f}, {len(i2t.table)} methods) "
            f"against BLIP's COCO-C table, and {i2t.tau_adapting:.2f} (p {i2t.p_adapting:.2f}) "
            "among the adapting baselines alone (source left out); a baseline's change over "
            f"source has the published sign for {signs(i2t)} on image shifts")
    text += (f", and for {signs(t2i)} on text shifts; source i2t {source(i2t)}, t2i "
             f"{source(t2i)}." if t2i is not None else
             f" (the text shifts' baselines are not all run yet); source i2t {source(i2t)}.")
    return text


BLOCKS = {"suites": suites_block, "methods": methods_block, "embedded": embedded_block,
          "leaderboard": leaderboard_block, "reading": reading_block, "coco": coco_block,
          "summary": summary_block, "prediction": prediction_block}
# the file each block lives in (relative to the repository root)
PAGES = {"README.md": ("summary", "prediction"), "docs/benchmark.md": ("suites", "methods"),
         "docs/embedded.md": ("embedded", "coco"), "docs/results.md": ("leaderboard", "reading")}


def updated(text: str, names: tuple[str, ...], where: str = "README.md") -> str:
    for name in names:
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{where} has no block {name}")
        body = BLOCKS[name]().strip()
        text = pattern.sub(lambda m, b=body: f"{m.group(1)}{b}\n{m.group(2)}", text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    load_builtins()
    stale = []
    with memo(RESULTS):  # the committed tables' statistics, read back by their inputs
        for rel, names in PAGES.items():
            path = ROOT / rel
            current = path.read_text(encoding="utf-8")
            new = updated(current, names, rel)
            if new != current:
                stale.append(rel)
                if not args.check:
                    path.write_text(new, encoding="utf-8")
    if args.check:
        for rel in stale:
            print(f"{rel} is out of date: run `python tools/update_readme.py`")
        return 1 if stale else 0
    print(f"updated: {', '.join(stale) or 'nothing (all up to date)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
