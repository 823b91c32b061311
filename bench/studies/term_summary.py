"""Which loss term drives a method's update over a stream (`python -m bench terms`): a
summary of the traces' terms, and beside it the rows' common-space diagnostics per stream.

Every cell's trace holds, per batch, each loss term's value (and, with `run --trace-grads`,
the L2 norm of its gradient on the adapted parameters; `bench.engine.store.trace_terms`),
and the batch's common-space diagnostics (bench.engine.diagnostics) and, with
`--trace-grads`, its conflict angles (``angle``: their mean over the batch's steps).
This condenses them per (suite, direction, stream, shift, severity) of one method: the mean
of each term over the stream's batches and its largest absolute value, averaged (means)
or maximised (maxima) over the seeds. Cells without a trace or without terms are left out.

`summarise_diagnostics` condenses the rows' own columns per stream the same way: each
measure on the source model (``before``) and as the adapted model scored the queries
(``after``), and the cell's mean conflict angle (``grad_angle``, with `--trace-grads`),
averaged over the seeds.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from bench.api.errors import DataError
from bench.engine.diagnostics import MEASURES
from bench.engine.diagnostics import TRACE_COLUMNS as TRACE_MEASURES
from bench.engine.store import trace_terms
from bench.report.render import frame_markdown

KEYS = ["suite", "direction", "stream", "shift", "severity"]


def picked_rows(rows: pd.DataFrame, method: str, suite: str | None = None) -> pd.DataFrame:
    """The finished rows of `method` (on `suite`) that the summary reads: their traces are
    the only ones it needs (`ResultStore.read_traces(cell_ids)`)."""
    picked = rows[(rows["method"] == method) & (rows["status"] == "ok")]
    return picked if suite is None else picked[picked["suite"] == suite]


# the rows' diagnostic columns summarised per stream: before -> after per measure, the angle
DIAGNOSTIC_COLUMNS = tuple(f"{m}_{p}" for m in MEASURES for p in ("before", "after")) \
    + ("grad_angle",)


def summarise_terms(rows: pd.DataFrame, traces: pd.DataFrame, method: str,
                    suite: str | None = None) -> pd.DataFrame:
    """One row per cell group of `method` (and `suite`): seeds, batches, and per traced
    quantity Q (``term:NAME``, ``grad:NAME``) the columns ``Q mean`` and ``Q max abs``.
    Empty (no rows) when the method's traces hold no terms."""
    picked = picked_rows(rows, method, suite)
    wide = trace_terms(traces[traces["cell_id"].isin(picked["cell_id"])])
    quantities = [c for c in wide.columns if c.startswith(("term:", "grad:"))]
    if picked.empty or not quantities:
        return pd.DataFrame(columns=KEYS)
    # beside the terms: the batch's common-space diagnostics and its mean conflict angle
    if "grad_angles" in wide:
        wide["angle"] = [_mean_angle(v) for v in wide["grad_angles"]]
    quantities += [c for c in (*TRACE_MEASURES, "angle") if c in wide and wide[c].notna().any()]
    per_cell = wide.groupby("cell_id")[quantities].agg(["mean", lambda s: s.abs().max()])
    per_cell.columns = [f"{q} {'mean' if agg == 'mean' else 'max abs'}"
                        for q, agg in per_cell.columns]
    per_cell["batches"] = wide.groupby("cell_id").size()
    cells = picked[KEYS + ["seed", "cell_id"]].merge(per_cell, left_on="cell_id",
                                                     right_index=True)
    value_cols = [c for c in per_cell.columns if c != "batches"]
    agg = {c: ("max" if c.endswith("max abs") else "mean") for c in value_cols}
    agg |= {"batches": "max", "seed": "nunique"}
    out = cells.groupby(KEYS, dropna=False).agg(agg).reset_index()
    out = out.rename(columns={"seed": "seeds"})
    return out[KEYS + ["seeds", "batches"] + value_cols]


def summarise_diagnostics(rows: pd.DataFrame, method: str,
                          suite: str | None = None) -> pd.DataFrame:
    """One row per cell group of `method` (and `suite`) whose rows hold diagnostics: seeds and
    the mean over them of each column of DIAGNOSTIC_COLUMNS that any of them measured."""
    picked = picked_rows(rows, method, suite)
    present = [c for c in DIAGNOSTIC_COLUMNS if c in picked and picked[c].notna().any()]
    if not present:
        return pd.DataFrame(columns=KEYS)
    picked = picked[picked[present].notna().any(axis=1)]
    agg = dict.fromkeys(present, "mean") | {"seed": "nunique"}
    out = picked.groupby(KEYS, dropna=False).agg(agg).reset_index()
    return out.rename(columns={"seed": "seeds"})[KEYS + ["seeds"] + present]


def report(rows: pd.DataFrame, traces: pd.DataFrame, method: str,
           suite: str | None = None) -> str:
    """The terms table and the diagnostics table of `method` as Markdown; a `DataError` when
    the method has neither traced terms nor diagnostics."""
    terms = summarise_terms(rows, traces, method, suite)
    diagnostics = summarise_diagnostics(rows, method, suite)
    if terms.empty and diagnostics.empty:
        raise DataError(f"no traced loss terms and no diagnostics for method '{method}'"
                        + (f" on suite '{suite}'" if suite else ""),
                        "run the method first; tcr, rest, eata, sar and deyo record terms")
    parts = []
    if not terms.empty:
        parts.append(markdown(terms, method))
    else:
        parts.append(f"`{method}` traces no loss terms.")
    if not diagnostics.empty:
        parts += ["", diagnostics_markdown(diagnostics, method)]
    return "\n".join(parts)


def diagnostics_markdown(table: pd.DataFrame, method: str) -> str:
    """The diagnostics summary as a Markdown table (4 significant digits; angles in degrees)."""
    head = (f"Common-space diagnostics of `{method}` per stream (mean over seeds): each "
            "measure on the source model (before) and as adapted (after); grad_angle: the "
            "mean conflict angle in degrees (`--trace-grads`)")
    return "\n".join([head, "", *frame_markdown(table, tuple(KEYS), _fmt)])


def _mean_angle(value: object) -> float:
    """The mean of a batch's traced angles (JSON list, nulls left out); NaN when none."""
    angles = [a for a in json.loads(value) if a is not None] if isinstance(value, str) else []
    return sum(angles) / len(angles) if angles else math.nan


def markdown(table: pd.DataFrame, method: str) -> str:
    """The summary as a Markdown table (values to 4 significant digits)."""
    head = (f"Loss terms of `{method}` per stream (mean over batches, then seeds; "
            "max abs over batches and seeds)")
    return "\n".join([head, "", *frame_markdown(table, tuple(KEYS), _fmt)])


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
