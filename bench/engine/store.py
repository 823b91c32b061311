"""The result store: one Parquet row per cell, written atomically.

Layout under the results folder::

    cells/<cell_id>.parquet    one row (RESULT_COLUMNS), the cell's whole record
    traces/<cell_id>.parquet   optional per-batch trace (TRACE_COLUMNS)
    outcomes/<cell_id>.parquet optional per-query outcomes (OUTCOME_COLUMNS): each scored
                               query's stream position, dataset id, batch and the rank of
                               its best relevant item; every rank metric and every paired
                               comparison (bench.report.stats) is recomputed from these

A cell is either fully in the store or absent: the trace and the outcomes are
written before the row, each through a temporary file (``.<name>.<pid>.tmp``,
never matched by the ``*.parquet`` globs) and an atomic rename. A writer
killed mid-write leaves at most such a temporary file (removed by the next
run) or a trace/outcomes file without its row (overwritten when the cell is
computed). Readers skip, with a warning, a fragment they cannot read.
Re-running skips cells whose row is finished (status ok / diverged /
unavailable); a `failed` cell is tried again.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from bench.api.errors import DataError
from bench.engine import frame_cache
from bench.engine.diagnostics import ROW_COLUMNS as DIAGNOSTIC_COLUMNS
from bench.engine.diagnostics import TRACE_COLUMNS as TRACE_MEASURES
from bench.files import atomic_write, remove_leftovers

STATUSES = ("ok", "failed", "diverged", "unavailable")
FINISHED = ("ok", "diverged", "unavailable")

# name -> arrow type; the order is the column order of every fragment.
RESULT_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("cell_id", pa.string()),
    ("suite", pa.string()),
    ("suite_version", pa.string()),
    ("dataset", pa.string()),
    ("direction", pa.string()),
    ("shift", pa.string()),
    ("severity", pa.int64()),
    ("stream", pa.string()),
    ("method", pa.string()),
    ("method_config", pa.string()),  # JSON of the method's hyperparameters
    ("method_note", pa.string()),
    ("method_state", pa.string()),  # JSON of what the method reports about its run (resets...)
    ("model", pa.string()),
    ("pretrained", pa.string()),
    ("seed", pa.int64()),
    ("inputs", pa.string()),  # JSON (real data): preprocessing, caption rule, activation, queries
    ("n_queries", pa.int64()),
    ("n_gallery", pa.int64()),
    ("r1", pa.float64()),
    ("r5", pa.float64()),
    ("r10", pa.float64()),
    ("r50", pa.float64()),  # composed queries only (FashionIQ / CIRR report it); else null
    ("r_mean", pa.float64()),
    ("map", pa.float64()),
    ("minp", pa.float64()),
    ("retention_r1", pa.float64()),
    ("segment_r1", pa.string()),  # JSON {segment name: R@1} for mixed / continual streams
    ("subset_recall", pa.string()),  # JSON {"r1", "r2", "r3"}: CIRR's Recall_subset@K, else null
    ("status", pa.string()),
    ("error", pa.string()),
    ("wall_s", pa.float64()),
    ("queries_per_s", pa.float64()),
    ("peak_mem_mb", pa.float64()),
    ("protocol", pa.string()),  # JSON: steps, batch size, tie rule, temperature, limit, text filter...
    ("bench_version", pa.string()),
    ("git_sha", pa.string()),
    ("torch_version", pa.string()),
    ("device", pa.string()),
    ("created_at", pa.string()),
    # common-space diagnostics (bench.engine.diagnostics): null in rows stored without them
    *((name, pa.float64()) for name in DIAGNOSTIC_COLUMNS),
])
RESULT_COLUMNS = RESULT_SCHEMA.names

TRACE_SCHEMA = pa.schema([
    ("cell_id", pa.string()),
    ("batch", pa.int64()),
    ("n", pa.int64()),  # queries in the batch
    ("r1", pa.float64()),  # R@1 of the batch's recorded rows (online accuracy)
    ("loss", pa.float64()),  # last step's loss (NaN for source)
    ("segment", pa.string()),  # the batch's dominant segment in a diverse stream ('' otherwise)
    ("terms", pa.string()),  # JSON {loss term: value} of the last step (methods that name terms)
    ("term_grads", pa.string()),  # JSON {loss term: gradient norm} (run --trace-grads), else null
    # the batch's scored queries against the gallery (bench.engine.diagnostics), else null
    *((name, pa.float64()) for name in TRACE_MEASURES),
    ("grad_angles", pa.string()),  # JSON [degrees per step] (run --trace-grads), else null
])

OUTCOME_SCHEMA = pa.schema([
    ("cell_id", pa.string()),
    ("position", pa.int64()),  # position in the seeded stream (the pairing key across methods)
    ("query_id", pa.int64()),  # dataset index of the query
    ("batch", pa.int64()),  # the batch it was scored in (as in the trace)
    ("best_rank", pa.int64()),  # 1-based rank of its best relevant item (bench.engine.metrics tie rule)
])
OUTCOME_COLUMNS = OUTCOME_SCHEMA.names


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def fragments(folder: Path) -> list[Path]:
    """The finished ``*.parquet`` files of a store folder (temporary files excluded)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def read_fragments(files: list[Path], schema: pa.Schema, cached: bool = False) -> pd.DataFrame:
    """Concatenate Parquet fragments; an unreadable one is skipped with a warning.
    `cached`: read them back from the frame cache (bench.engine.frame_cache) when their
    bytes were read before, and store a new read there."""
    if not files:
        return schema.empty_table().to_pandas()
    key = frame_cache.frames_key(files, schema) if cached else ""
    cached = bool(key)  # a fragment that cannot be read for its key: no cache
    table = frame_cache.load(key) if cached else None
    if table is not None:
        return table.to_pandas()
    try:  # all at once, on arrow's threads; any unreadable file: one by one, below
        table = ds.dataset([str(f) for f in files], schema=schema, format="parquet").to_table()
    except (OSError, pa.ArrowException):
        table = None
    if table is not None:
        if cached:
            frame_cache.save(key, table)
        return table.to_pandas()
    tables = []
    for f in files:
        try:
            tables.append(pq.read_table(f, schema=schema))
        except (OSError, pa.ArrowException) as err:
            print(f"warning: skipping unreadable result file {f}: {err}", file=sys.stderr)
    if not tables:
        return schema.empty_table().to_pandas()
    return pa.concat_tables(tables).to_pandas()


def _clean(value):
    """Parquet-friendly scalars: dicts/lists as JSON, inf as NaN."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isinf(value):
        return float("nan")
    return value


class ResultStore:
    """A results folder: cell rows and traces, resumable and safe to interrupt."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.traces_dir = self.root / "traces"
        self.outcomes_dir = self.root / "outcomes"

    def _row_path(self, cell_id: str) -> Path:
        return self.cells_dir / f"{cell_id}.parquet"

    def status(self, cell_id: str) -> str | None:
        """The stored status of a cell, or None when it has no row."""
        path = self._row_path(cell_id)
        if not path.exists():
            return None
        try:
            return pq.read_table(path, columns=["status"]).column("status")[0].as_py()
        except (OSError, pa.ArrowException):
            return None  # unreadable fragment: treated as absent and rewritten

    def is_finished(self, cell_id: str) -> bool:
        return self.status(cell_id) in FINISHED

    def write(self, row: dict, trace: pd.DataFrame | None = None,
              outcomes: pd.DataFrame | None = None) -> None:
        """Write one cell's row (its trace and per-query outcomes first), atomically."""
        missing = [c for c in ("cell_id", "status") if not row.get(c)]
        if missing:
            raise ValueError(f"result row lacks {missing}")
        if row["status"] not in STATUSES:
            raise ValueError(f"bad status {row['status']!r}")
        cell_id = row["cell_id"]
        if trace is not None and len(trace):
            trace = trace.assign(cell_id=cell_id)
            for optional in ("terms", "term_grads", *TRACE_MEASURES, "grad_angles"):
                if optional not in trace:
                    trace = trace.assign(**{optional: None})
            tt = pa.Table.from_pandas(trace[TRACE_SCHEMA.names], schema=TRACE_SCHEMA,
                                      preserve_index=False)
            _atomic_write_table(tt, self.traces_dir / f"{cell_id}.parquet")
        if outcomes is not None and len(outcomes):
            outcomes = outcomes.assign(cell_id=cell_id)
            ot = pa.Table.from_pandas(outcomes[OUTCOME_COLUMNS], schema=OUTCOME_SCHEMA,
                                      preserve_index=False)
            _atomic_write_table(ot, self.outcomes_dir / f"{cell_id}.parquet")
        record = {name: _clean(row.get(name)) for name in RESULT_COLUMNS}
        table = pa.Table.from_pylist([record], schema=RESULT_SCHEMA)
        _atomic_write_table(table, self._row_path(cell_id))

    def cell_ids(self) -> list[str]:
        return [p.stem for p in fragments(self.cells_dir)]

    def read(self, cached: bool = False) -> pd.DataFrame:
        """All rows as a DataFrame (empty with the right columns when there are none).
        `cached`: through the frame cache (`read_fragments`)."""
        return read_fragments(fragments(self.cells_dir), RESULT_SCHEMA, cached)

    def read_traces(self, cell_ids: list[str] | None = None, cached: bool = False) -> pd.DataFrame:
        """Per-batch traces of the given cells (all when None)."""
        return read_fragments(_cell_files(self.traces_dir, cell_ids), TRACE_SCHEMA, cached)

    def remove_leftovers(self) -> list[Path]:
        """Delete temporary files that killed writers left in the store's folders."""
        if not self.root.is_dir():
            return []
        folders = [self.root, *(p for p in self.root.iterdir() if p.is_dir())]
        return [p for d in folders for p in remove_leftovers(d)]

    def read_outcomes(self, cell_ids: list[str] | None = None,
                      cached: bool = False) -> pd.DataFrame:
        """Per-query outcomes of the given cells (all when None); cells without any (rows
        written before outcomes were stored) are simply absent."""
        return read_fragments(_cell_files(self.outcomes_dir, cell_ids), OUTCOME_SCHEMA, cached)


def _cell_files(folder: Path, cell_ids: list[str] | None) -> list[Path]:
    """The per-cell fragments of `folder` (all when `cell_ids` is None; absent ones skipped)."""
    if cell_ids is None:
        return fragments(folder)
    return [p for p in (folder / f"{c}.parquet" for c in sorted(set(cell_ids))) if p.exists()]


def trace_terms(traces: pd.DataFrame) -> pd.DataFrame:
    """Per batch, one column per loss term's value (``term:NAME``) and gradient norm
    (``grad:NAME``), from the trace's JSON columns; batches without terms give NaN."""
    out = traces.drop(columns=["terms", "term_grads"], errors="ignore").copy()
    for column, prefix in (("terms", "term:"), ("term_grads", "grad:")):
        if column not in traces:
            continue
        parsed = pd.DataFrame([json.loads(v) if isinstance(v, str) else {}
                               for v in traces[column]], index=traces.index)
        for name in parsed.columns:
            out[prefix + name] = parsed[name].astype(float)
    return out


def read_results(path: str | Path, cached: bool = False) -> pd.DataFrame:
    """Rows of a results folder; one clear error when it is missing or empty. `cached`:
    through the frame cache (`read_fragments`)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"results folder {path} does not exist",
                        "run `python -m bench run ...` first or pass the folder it wrote")
    df = ResultStore(path).read(cached)
    if df.empty:
        raise DataError(f"results folder {path} holds no results",
                        "run `python -m bench run ...` first or pass the folder it wrote")
    # A Parquet file of another schema reads as rows of nulls: refused, not shown as blanks.
    foreign = int(df[list(IDENTITY_COLUMNS)].isna().any(axis=1).sum())
    if foreign:
        raise DataError(f"results folder {path}: {foreign} of {len(df)} rows lack "
                        f"{'/'.join(IDENTITY_COLUMNS)} (Parquet files of another schema?)",
                        "pass a folder written by `python -m bench run`")
    return df


IDENTITY_COLUMNS = ("cell_id", "suite", "method", "status")  # every row `run` writes has them
