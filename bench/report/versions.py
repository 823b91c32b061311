"""Suite versions in a results frame: rows of different versions of a suite ran another
model or shift strength, so they are read one version at a time."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bench.api.registry import SUITES
from bench.report.tables import Table


def version_key(version: str) -> tuple[int, str]:
    """Sorts version strings numerically where they are numbers ("9" before "10")."""
    return len(version), version


def at_version(rows: pd.DataFrame, version: str) -> pd.DataFrame:
    """The rows of one suite version (all rows where the frame records no version)."""
    if "suite_version" not in rows:
        return rows
    return rows[rows["suite_version"].astype(str) == str(version)]


def versions(df: pd.DataFrame, suite: str) -> list[str]:
    """The suite's versions the rows hold, the current one first, then newest to oldest."""
    current = str(SUITES.get(suite).version)
    if "suite_version" not in df:
        return [current]
    held = {str(v) for v in df.loc[df["suite"] == suite, "suite_version"].dropna()}
    older = sorted(held - {current}, key=version_key, reverse=True)
    return [current, *older]


def compared_versions(rows: pd.DataFrame,
                      suites) -> tuple[pd.DataFrame, dict[str, str]]:
    """Each of `suites`' rows at one version: the newest complete one (a method beside
    source, every method with as many rows as source: a rerun still under way does not
    replace the version it reruns), else the newest that holds a method beside source (a
    version whose methods are not run yet compares nothing), else the current one. Rows of
    other suites, and of suites not registered (no current version to read), pass
    unchanged."""
    if "suite_version" not in rows:
        return rows, {}
    suites = [s for s in suites if s in SUITES]
    keep = ~rows["suite"].isin(suites)
    chosen = {}
    for suite in suites:
        mine = rows["suite"] == suite
        if not mine.any():
            continue
        held = versions(rows[mine], suite)
        counts = {v: at_version(rows[mine], v)["method"].value_counts() for v in held}
        compared = [v for v in held if set(counts[v].index) - {"source"}]
        complete = [v for v in compared
                    if "source" in counts[v] and (counts[v] == counts[v]["source"]).all()]
        chosen[suite] = next(iter(complete + compared), held[0])
        keep |= mine & (rows["suite_version"].astype(str) == chosen[suite])
    return rows[keep], chosen


def suite_levels(suite: str, direction: str) -> dict[str, int]:
    """The severity a default run of the suite gives each shift of its single-stream cells
    of `direction` (clean left out)."""
    return {c.shift: c.severity for c in SUITES.get(suite).cells()
            if c.direction == direction and c.stream == "single" and c.shift != "clean"}


def with_versions(suites: Iterable[str], chosen: dict[str, str]) -> list[str]:
    """Each suite as read: "mini-c v4" where `chosen` gives its version, else its name."""
    return [f"{s} v{chosen[s]}" if chosen.get(s) else s for s in suites]


def ranked_tables(tables: list[Table], df: pd.DataFrame
                  ) -> tuple[list[Table], dict[str, str], dict[str, str]]:
    """The main tables the overall ranking reads: each suite's at one version
    (`compared_versions`: the newest whose methods have all run); each read table suite
    as read ("mini-c" -> "mini-c v4"); each table suite left out -> the one read in its
    place ("mini-c v3" -> "mini-c"). `df`: the board's rows as
    `bench.report.order.prepare` gives them (with `table_suite`)."""
    read, chosen = compared_versions(df, sorted(set(df["suite"])))
    read_as = {ts: with_versions([suite], chosen)[0] for ts, suite
               in zip(read["table_suite"], read["suite"], strict=True)}
    read_of = dict(zip(read["suite"], read["table_suite"], strict=True))
    suite_of = dict(zip(df["table_suite"], df["suite"], strict=True))
    mains = [t for t in tables if t.kind == "main"]
    older = {ts: read_of.get(suite_of.get(ts), "")
             for ts in sorted({t.key[0] for t in mains} - set(read_as))}
    ranked = [t for t in mains if t.key[0] in read_as]
    return ranked, read_as, older
