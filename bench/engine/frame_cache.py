"""A cache of a store folder's fragments read as one table, keyed by their content.

Reading a store's rows, per-query outcomes and traces means opening thousands of small
Parquet files (one per cell and kind); most of that time is spent on each file's footer,
not its data. The reports read the same folders again and again, so the concatenation of
one folder's fragments is kept as one Parquet file in ``<cache home>/store-frames/``,
named by a hash of everything it is made of: the schema it is read with, the pyarrow
version, and every fragment's name and bytes (the files are read whole and hashed: a
changed, added or removed cell is a new key). A table read back is the table the fragments
give, so the frames and everything computed from them are what a fresh read gives.

Only a read of every fragment in one go is stored (a folder with an unreadable fragment is
read file by file each time, with its warning). The cache keeps the KEEP most recently
used tables; deleting it is always safe, and a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.files import atomic_write, cache_home

FORMAT = 1
KEEP = 32  # tables: rows, outcomes and traces of a store and its nested stores, twice over


def cache_root() -> Path:
    return cache_home() / "store-frames"


def frames_key(files: list[Path], schema: pa.Schema) -> str:
    """The hash of the fragments' names and bytes, in their order, and the schema ('' when
    a fragment cannot be read: the caller reads without the cache)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{FORMAT}|{pa.__version__}|".encode())
    h.update(schema.serialize().to_pybytes())
    for f in files:
        try:
            data = Path(f).read_bytes()
        except OSError:
            return ""
        h.update(f"|{Path(f).name}|{len(data)}|".encode())
        h.update(data)
    return h.hexdigest()


def load(key: str) -> pa.Table | None:
    """The stored table of `key`, or None on a miss or an unreadable entry."""
    path = cache_root() / f"{key}.parquet"
    try:
        table = pq.read_table(path)
        os.utime(path)  # most recently used: kept longest
    except (OSError, pa.ArrowException):
        return None
    return table


def save(key: str, table: pa.Table) -> None:
    """Store `table` under `key` (atomically); a cache that cannot be written is skipped."""
    root = cache_root()
    try:
        atomic_write(root / f"{key}.parquet", lambda tmp: pq.write_table(table, tmp))
    except (OSError, pa.ArrowException):
        return
    _prune(root)


def _prune(root: Path) -> None:
    """Delete all but the KEEP most recently used tables."""
    try:
        entries = sorted(root.glob("*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[KEEP:]:
        try:
            old.unlink()
        except OSError:
            pass
