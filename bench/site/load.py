"""The inputs of a site: the rows, per-query outcomes and traces of one or more stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.api.errors import ConfigError, DataError
from bench.engine.store import ResultStore, read_results


@dataclass
class SiteInputs:
    """Everything read from the result stores, concatenated (cell ids are unique)."""

    rows: pd.DataFrame
    outcomes: pd.DataFrame
    traces: pd.DataFrame
    stores: list[str] = field(default_factory=list)  # the folders, as given
    store_of: dict[str, str] = field(default_factory=dict)  # cell id -> its folder


def read_stores(paths: list[str | Path], cached: bool = False) -> SiteInputs:
    """Read every store; a cell id found in two of them is an error (it would be counted
    twice in every table). `cached`: through the frame cache (bench.engine.frame_cache)."""
    rows, outcomes, traces, store_of = [], [], [], {}
    for path in paths:
        store = ResultStore(path)
        df = read_results(path, cached)
        dup = sorted(set(df["cell_id"]) & store_of.keys())
        if dup:
            raise DataError(f"cell {dup[0]} is in {store_of[dup[0]]} and in {path}",
                            "pass each results folder once, and folders that do not overlap")
        store_of.update(dict.fromkeys(df["cell_id"], str(path)))
        rows.append(df)
        outcomes.append(store.read_outcomes(cached=cached))
        traces.append(store.read_traces(cached=cached))
    return SiteInputs(pd.concat(rows, ignore_index=True),
                      pd.concat(outcomes, ignore_index=True),
                      pd.concat(traces, ignore_index=True), [str(p) for p in paths], store_of)


# folder names the site itself writes into its output folder
RESERVED = ("assets", "data", "figures", "downloads")


def nested_stores(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """(name, folder) of each nested store: a sub-folder of a results folder that holds a
    `cells/` folder of its own (e.g. results/embedded/coco), sorted by name. Each is a
    section of the site, written into OUT/<name>/."""
    found: dict[str, Path] = {}
    for path in paths:
        for sub in sorted(p for p in Path(path).iterdir() if (p / "cells").is_dir()):
            if sub.name in RESERVED or sub.name in found:
                where = found.get(sub.name, "the site's own folders")
                raise ConfigError(f"nested store {sub} would be written where {where} goes "
                                  f"(OUT/{sub.name}/)", "rename the folder, or leave out --nested")
            found[sub.name] = sub
    return sorted(found.items())
