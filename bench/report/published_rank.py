"""Measured ranking of the baselines beside the published one, with Kendall's tau.

The published ranking is BLIP ViT-B/16 on COCO-C image shift (average R@1 of 16 shifts
at severity 5, docs/protocol.md section 7, `bench.report.reported`). The measured one is the
same average from a results folder, by default on the COCO-sized embedded suite
(`mini-coco-c`, i2t), one suite version at a time (rows of another version are another
model or shift strength). Only methods with every shift of that version at its level (the
suite file's for the current version: each shift's maximum unless it sets a
``default_severity``; the highest the rows hold for an earlier one) count, in their default config (row label = method name); seeds are averaged per
shift first. Kendall's tau is `scipy.stats.kendalltau` (tau-b) over the methods both
sides have; it is reported as it comes out. A second tau-b over the adapting baselines alone
(source left out) says whether their order holds whichever side of source they fall on.

Each baseline's delta against source is set beside the published one, and whether their
signs agree: whether the miniature says "helps" where the published table does, the
question a user asks it first. Image shifts (i2t) compare all six baselines; the published
text-shift (t2i) table has source, Tent and EATA only, averaged over 15 text shifts where
the embedded suite has 10 (the five sentence-level ones need models).

With the cells' per-query outcomes, each method also gets its place by the leaderboard's
rule (`bench.report.ranking`: neighbours tie while the pooled paired sign test finds no
difference at 95 %), and a second tau-b over those places: a measured order that rests on
gaps below the minimum detectable difference then counts as a tie, not as agreement or
disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.api.errors import DataError
from bench.api.registry import SHIFTS, SUITES
from bench.report.reported import points_for
from bench.report.versions import at_version, suite_levels, versions

__all__ = ["BASELINES", "compare", "markdown", "measured_averages", "paired_places",
           "sign_agreement", "suite_levels", "versions"]

BASELINES = ("source", "tent", "eata", "sar", "read", "deyo")


@dataclass
class RankComparison:
    table: pd.DataFrame  # method, measured, published, measured rank, published rank
    tau: float
    p_value: float
    suite: str
    direction: str
    n_shifts: int
    version: str = ""  # the suite version the measured rows are of
    level_words: str = "maximum severity"  # the level the measured shifts ran at
    places: bool = False  # the table has "place" (paired ties) and tau_places is set
    tau_places: float = float("nan")
    p_places: float = float("nan")
    cells: pd.DataFrame | None = None  # the measured rows the comparison averages
    # tau-b among the adapting baselines alone (source left out): their order, whatever
    # side of source they fall on; nan with fewer than 3 of them
    tau_adapting: float = float("nan")
    p_adapting: float = float("nan")


def _rows_at_level(df: pd.DataFrame, suite: str, direction: str, version: str | None,
                   methods) -> tuple[pd.DataFrame, dict[str, int]]:
    """The ok single-stream rows of one version of the suite (rows of another version are
    another model or shift strength and never join), at the version's level per shift: the
    suite file's for the current version, the highest the rows hold for an earlier one."""
    current = str(SUITES.get(suite).version)
    version = current if version is None else str(version)
    rows = df[(df["suite"] == suite) & (df["direction"] == direction)
              & (df["stream"] == "single") & (df["status"] == "ok") & (df["shift"] != "clean")
              & df["method"].isin(methods)]
    rows = at_version(rows, version)
    if version == current:
        level = suite_levels(suite, direction)
    else:
        level = {sh: int(g.max()) for sh, g in rows.groupby("shift")["severity"]}
    keep = [level.get(sh) == int(sev)
            for sh, sev in zip(rows["shift"], rows["severity"], strict=True)]
    return rows[pd.Series(keep, index=rows.index, dtype=bool)], level


def level_words(level: dict[str, int]) -> str:
    """How the measured side's severity reads: 'maximum severity' or 'severity N'."""
    if all(SHIFTS.get(sh).max_level == lv for sh, lv in level.items() if sh in SHIFTS):
        return "maximum severity"
    return "severity " + "/".join(str(v) for v in sorted(set(level.values())))


def measured_averages(df: pd.DataFrame, suite: str, direction: str,
                      methods: tuple[str, ...] = BASELINES,
                      version: str | None = None) -> tuple[pd.Series, int]:
    """Per method, mean R@1 over one version's single-stream shift cells of `direction`
    (default: the suite's current version, at the levels its file sets: each shift's
    maximum unless a default severity is given; mean over seeds per shift first); methods
    missing a shift are left out. Returns (averages, number of shifts)."""
    return _averages(*_rows_at_level(df, suite, direction, version, methods))


def _averages(rows: pd.DataFrame, level: dict[str, int]) -> tuple[pd.Series, int]:
    """Per method, the mean over `level`'s shifts of each shift's mean over seeds; methods
    missing a shift are left out."""
    shifts = sorted(level)
    per_shift = rows.groupby(["method", "shift"])["r1"].mean().unstack("shift")
    complete = per_shift.dropna().reindex(columns=shifts).dropna()
    return complete.mean(axis=1), len(shifts)


def paired_places(df: pd.DataFrame, outcomes: pd.DataFrame, suite: str, direction: str,
                  methods: list[str], version: str | None = None) -> dict[str, str]:
    """Place of each of `methods` on the suite's `direction` cells by the leaderboard's
    ranking rule (ties where the pooled paired sign test finds no difference), e.g. "3="."""
    from bench.report.leaderboard import build

    rows = df[(df["suite"] == suite) & (df["direction"] == direction)
              & (df["stream"] == "single") & df["method"].isin(methods)]
    rows = at_version(rows, SUITES.get(suite).version if version is None else version)
    board = build(rows, "r1", [suite], outcomes=outcomes)
    rank = next(t for t in board.tables if t.kind == "ranking")
    return {label: rank.cell(label, "place").text for label in rank.rows}


def compare(df: pd.DataFrame, suite: str = "mini-coco-c", direction: str = "i2t",
            published_suite: str = "coco-c", outcomes: pd.DataFrame | None = None,
            version: str | None = None) -> RankComparison:
    """The measured (one version of the suite, default the current) vs published ranking;
    `outcomes` (the store's per-query outcomes of these cells) add the paired-test places
    and their tau."""
    from scipy.stats import kendalltau

    version = str(SUITES.get(suite).version if version is None else version)
    rows, level = _rows_at_level(df, suite, direction, version, BASELINES)
    measured, n_shifts = _averages(rows, level)
    published = pd.Series({p.method: p.value for p in points_for(published_suite, direction)})
    common = [m for m in BASELINES if m in measured.index and m in published.index]
    if len(common) < 2:
        raise DataError(f"{len(common)} method(s) of {', '.join(BASELINES)} have every "
                        f"{direction} shift of {suite} v{version} and a published "
                        f"{published_suite} "
                        "number: need at least 2",
                        f"run `python -m bench run --method {','.join(BASELINES)} "
                        f"--suite {suite}` first")
    table = pd.DataFrame({"method": common, "measured": [measured[m] for m in common],
                          "published": [published[m] for m in common]})
    table["measured rank"] = table["measured"].rank(ascending=False, method="average")
    table["published rank"] = table["published"].rank(ascending=False, method="average")
    table = table.sort_values("published rank", kind="stable").reset_index(drop=True)
    if "source" in common:
        src = table.set_index("method").loc["source"]
        table["measured delta"] = table["measured"] - src["measured"]
        table["published delta"] = table["published"] - src["published"]
    tau, p = kendalltau(table["measured"], table["published"])
    cmp = RankComparison(table, float(tau), float(p), suite, direction, n_shifts, version,
                         level_words(level), cells=rows[rows["method"].isin(common)])
    adapting = table[table["method"] != "source"]
    if len(adapting) >= 3:
        tau_a, p_a = kendalltau(adapting["measured"], adapting["published"])
        cmp.tau_adapting, cmp.p_adapting = float(tau_a), float(p_a)
    if outcomes is not None and not outcomes.empty:
        places = paired_places(df, outcomes, suite, direction, common, version)
        if set(places) == set(common):  # row labels are plain method names
            table["place"] = [places[m] for m in table["method"]]
            numeric = [-int(str(x).rstrip("=")) for x in table["place"]]
            tau_places, p_places = kendalltau(numeric, table["published"])
            cmp.places, cmp.tau_places, cmp.p_places = True, float(tau_places), float(p_places)
    return cmp


def sign_agreement(cmp: RankComparison) -> pd.DataFrame:
    """The baselines other than source: measured and published delta vs source and whether
    their signs agree (a zero delta agrees only with a zero)."""
    if "measured delta" not in cmp.table:
        return pd.DataFrame(columns=["method", "measured delta", "published delta", "agree"])
    out = cmp.table[cmp.table["method"] != "source"][["method", "measured delta",
                                                      "published delta"]].copy()
    signs = [(m > 0) - (m < 0) == (q > 0) - (q < 0)
             for m, q in zip(out["measured delta"], out["published delta"], strict=True)]
    out["agree"] = signs
    return out.reset_index(drop=True)


def markdown(cmp: RankComparison) -> str:
    version = f" v{cmp.version}" if cmp.version else ""
    head = (f"Measured `{cmp.suite}`{version} {cmp.direction} (mean R@1 over {cmp.n_shifts} "
            f"shifts at {cmp.level_words}) vs published BLIP ViT-B/16 COCO-C (TCR's table, "
            "third-party transcription)")
    if cmp.direction == "t2i":
        head += "; the published text-shift average is over 15 shifts"
    place = " measured place (paired) |" if cmp.places else ""
    lines = [head, "", f"| method | measured | published | measured rank |{place} published rank |",
             "|---|---:|---:|---:|" + ("---:|" if cmp.places else "") + "---:|"]
    for _, r in cmp.table.iterrows():
        cell = f" {r['place']} |" if cmp.places else ""
        lines.append(f"| {r['method']} | {r['measured']:.1f} | {r['published']:.1f} | "
                     f"{r['measured rank']:g} |{cell} {r['published rank']:g} |")
    lines += ["", f"Kendall's tau-b = {cmp.tau:.3f} (p = {cmp.p_value:.3f}, "
                  f"{len(cmp.table)} methods) on the measured averages"]
    if cmp.tau_adapting == cmp.tau_adapting:  # not nan
        lines += ["", f"Kendall's tau-b = {cmp.tau_adapting:.3f} (p = {cmp.p_adapting:.3f}, "
                      f"{len(cmp.table) - ('source' in set(cmp.table['method']))} methods) "
                      "among the adapting baselines alone (source left out): their order, "
                      "whichever side of source they fall on"]
    if cmp.places:
        lines += ["", f"Kendall's tau-b = {cmp.tau_places:.3f} (p = {cmp.p_places:.3f}) on the "
                      "measured places, where neighbours tie (n=) unless the pooled paired "
                      "sign test over all the suite's cells separates them (95 %; the "
                      "leaderboard's overall-ranking rule)"]
    signs = sign_agreement(cmp)
    if len(signs):
        lines += ["", "Delta vs source, measured and published, and whether the signs agree:", "",
                  "| method | measured Δ | published Δ | signs agree |", "|---|---:|---:|---|"]
        lines += [f"| {r['method']} | {r['measured delta']:+.1f} | {r['published delta']:+.1f} | "
                  f"{'yes' if r['agree'] else 'no'} |" for _, r in signs.iterrows()]
        lines += ["", f"Sign agreement: {int(signs['agree'].sum())} of {len(signs)} baselines"]
    return "\n".join(lines)
