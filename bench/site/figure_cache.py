"""A cache of the site's figures, keyed by a hash of everything they are drawn from.

Drawing and rasterising the figures is most of a site build's time, yet between two builds
of the same results nothing they show changes. The key hashes exactly the figures' inputs:
the result rows, per-query outcomes and traces (every value, column name and dtype), the
tables the heatmaps draw (every displayed field of every cell), the method order and
shift levels of the methods and shifts present, the drawing code (the source of every
module of the `bench` package) and the versions of the libraries that draw and rasterise
(matplotlib, numpy, pandas, scipy, Pillow). A hit copies the stored PNG files, which are
byte for byte the files a fresh drawing writes; any changed input is a different key and
draws afresh. The cache lives in ``<cache home>/site-figures/<key>/`` (bench.files):
deleting it is always safe, and a folder that cannot be written caches nothing. It keeps
the KEEP most recently used drawings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from bench.files import cache_home
from bench.report.tables import Table

FORMAT = 1
MANIFEST = "figures.json"
KEEP = 8  # drawings kept (most recently used first): each edit of bench's code is a new key


def cache_root() -> Path:
    return cache_home() / "site-figures"


def _frame_digest(h, df: pd.DataFrame) -> None:
    h.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(str(len(df)).encode())
    if len(df):
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())


def _table_digest(h, table: Table | None) -> None:
    if table is None:
        h.update(b"|none")
        return
    h.update(repr((table.title, table.kind, table.columns, table.key, table.rows,
                   table.measured())).encode())
    for line in table.cells:
        h.update(repr(line).encode())  # every displayed field (the sample is repr=False)


def _code_digest(h) -> None:
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())


def _versions() -> dict[str, str]:
    import importlib.metadata

    import numpy
    import scipy

    # the installed distributions' versions: a build that finds its figures cached does
    # not import matplotlib or Pillow at all
    return {"format": str(FORMAT), "matplotlib": importlib.metadata.version("matplotlib"),
            "numpy": numpy.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
            "pillow": importlib.metadata.version("pillow")}


def figures_key(rows: pd.DataFrame, outcomes: pd.DataFrame, traces: pd.DataFrame,
                groups: dict[tuple, dict[str, Table]]) -> str:
    """The hash of every input of `site_figures` (see the module's docstring)."""
    from bench.api.registry import method_rank
    from bench.shifts import max_level

    h = hashlib.blake2b(digest_size=20)
    h.update(json.dumps(_versions(), sort_keys=True).encode())
    for df in (rows, outcomes, traces):
        h.update(b"|frame")
        _frame_digest(h, df)
    for key, tables in groups.items():
        h.update(repr(key).encode())
        for kind in sorted(tables):
            h.update(kind.encode())
            _table_digest(h, tables[kind])
    methods = sorted({str(m) for m in rows.get("method", [])})
    shifts = sorted({str(s) for s in rows.get("shift", [])})
    h.update(repr([(m, method_rank(m)) for m in methods]).encode())
    h.update(repr([(s, max_level(s)) for s in shifts]).encode())
    _code_digest(h)
    return h.hexdigest()


def load(key: str, figures: Path) -> tuple[dict[tuple, list[dict]], int] | None:
    """Copy a cached drawing's files into `figures`; (placement, count) or None on a miss."""
    folder = cache_root() / key
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        for name in manifest["files"]:
            shutil.copyfile(folder / name, figures / name)
        os.utime(folder)  # most recently used: kept longest
    except (OSError, ValueError, KeyError, TypeError):
        return None
    placed = {tuple(k): v for k, v in manifest["placed"]}
    return placed, int(manifest["count"])


def save(key: str, figures: Path, placed: dict[tuple, list[dict]], count: int) -> None:
    """Store the files of one drawing (written into a temporary folder, then renamed, so a
    reader never sees half of them); a cache that cannot be written is skipped."""
    root = cache_root()
    folder = root / key
    if folder.exists():
        return
    files = sorted({f["file"] for entries in placed.values() for f in entries})
    tmp = root / f".{key}.{os.getpid()}.tmp"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in files:
            shutil.copyfile(figures / name, tmp / name)
        manifest = {"files": files, "count": count,
                    "placed": [[list(k), v] for k, v in placed.items()]}
        (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # read-only, full or raced: the next build draws
        return
    _prune(root)


def _prune(root: Path) -> None:
    """Delete all but the KEEP most recently used drawings."""
    try:
        entries = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
