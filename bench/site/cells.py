"""Which store cells stand behind each number of a table, and their provenance.

A number of a main table (and of its Δ table) averages the seeds of one row at one shift
and severity; a number of a severity table averages every shift run at that severity. An
*entry* is such a set of store cells. The site writes, per table page, one data script
holding each entry and each cell's provenance as HTML fragments; `cell.html` shows the
entry named in its URL fragment, so a few thousand cells cost one page, not thousands.
"""

from __future__ import annotations

import functools
import json
import math
import shlex
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.report.order import ROW_KEYS, columns_at_max_severity, max_severity
from bench.report.tables import DIAGNOSTIC_METRICS

# fields shown once per entry (every distinct value when the entry's cells differ)
SHARED = ("suite", "suite_version", "dataset", "direction", "stream", "method", "method_config",
          "method_note", "model", "pretrained", "protocol", "inputs", "bench_version", "git_sha",
          "torch_version", "device", "n_queries", "n_gallery")
JSON_FIELDS = ("method_config", "protocol", "inputs", "method_state")
TRACE_POINTS = 60  # a trace is drawn from at most this many points (means of batch runs)


@dataclass
class Entry:
    """The store cells behind one number: (kind, row label, column) -> cell ids."""

    ident: str
    title: str
    cell_ids: list[str] = field(default_factory=list)


def table_entries(group: pd.DataFrame, labels: dict) -> dict[tuple[str, str, str], list[str]]:
    """(kind, row label, column) -> cell ids, for a group's main table ('main': the shift
    columns at maximum severity) and severity table ('severity': each severity's shifts)."""
    out: dict[tuple[str, str, str], list[str]] = {}
    by_row = dict(iter(group.groupby(ROW_KEYS)))
    cols = columns_at_max_severity(group)
    for rk, rows in by_row.items():
        label = labels[rk]
        for col, shift, sev in cols:
            ids = rows.loc[(rows["shift"] == shift) & (rows["severity"] == sev), "cell_id"]
            if len(ids):
                out[("main", label, col)] = sorted(ids)
        shifted = rows[rows["shift"] != "clean"]
        for sev, at in shifted.groupby("severity"):
            out[("severity", label, str(int(sev)))] = sorted(at["cell_id"])
    return out


@functools.lru_cache(maxsize=4096)
def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(", ", ": "))
    except ValueError:
        return text


def pretty_json(text) -> str:
    """A JSON field on one line, keys sorted ('' when empty); the page lets it wrap."""
    if not isinstance(text, str) or not text:
        return ""
    return _pretty(text)  # the same few configs and protocols recur in every entry


def plain(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def shared_fields(rows: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """Each SHARED field with its distinct values over the rows (JSON pretty-printed)."""
    out = []
    for name in SHARED:
        values = [pretty_json(v) if name in JSON_FIELDS else plain(v) for v in rows[name]]
        distinct = [v for v in dict.fromkeys(values) if v]
        if distinct:
            out.append((name, distinct))
    return out


def reproduce(rows: pd.DataFrame, store: str) -> str:
    """The `bench run` command that computes these cells again into `store` (finished cells
    are skipped there: add --overwrite to recompute them). One command per distinct run."""
    lines = []
    keys = ["suite", "method", "model", "method_config", "protocol"]
    # the rows as Python values, grouped by run in sorted key order (a pandas groupby per
    # entry costs milliseconds, and a site has hundreds of entries)
    texts = {k: [_text(v) for v in rows[k]] for k in keys + ["pretrained"]}
    raw = {k: rows[k].tolist() for k in ("severity", "shift", "seed")}
    runs: dict[tuple, list[int]] = {}
    for i, run in enumerate(zip(*(texts[k] for k in keys), strict=True)):
        runs.setdefault(run, []).append(i)
    for run in sorted(runs):
        at = runs[run]
        r = {k: texts[k][at[0]] for k in texts}
        g = {k: [raw[k][i] for i in at] for k in raw}
        method = base_method(r["method"])
        args = ["python", "-m", "bench", "run", "--method", method, "--suite", r["suite"],
                "--model", r["model"]]
        if r["pretrained"]:
            args += ["--pretrained", str(r["pretrained"])]
        proto = json.loads(r["protocol"]) if r["protocol"] else {}
        for flag, name in (("--batch-size", "batch_size"), ("--steps", "steps"),
                           ("--limit", "limit"), ("--corruption-seed", "corruption_seed")):
            if proto.get(name) is not None:
                args += [flag, str(proto[name])]
        sevs = sorted({int(s) for s in g["severity"]} - {0})
        tops = {max_severity(sh, [s]) for sh, s in zip(g["shift"], g["severity"], strict=True)
                if sh != "clean"}
        if sevs and set(sevs) - tops:
            args += ["--severity", ",".join(map(str, sevs))]
        config = json.loads(r["method_config"]) if r["method_config"] else {}
        for name, value in sorted(config.items()):  # every field, so defaults may change
            text = value if isinstance(value, str) else json.dumps(value)
            args += ["--set", f"{method}.{name}={text}"]
        args += ["--seed", ",".join(str(int(s)) for s in sorted(set(g["seed"]))), "--out", store]
        lines.append(shlex.join(args))
    return "\n".join(lines)


def _text(value) -> str:
    """A field as `fillna("").astype(str)` writes it."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def base_method(name: str) -> str:
    """The registered method of a row's method column (`tent[lr=0.01]` -> `tent`: a run with
    a changed config is stored under a name that says what changed)."""
    return name.split("[", 1)[0]


def _pair_means(values: np.ndarray) -> np.ndarray:
    """np.nanmean of each run of two values (the last run may hold one), all at once: the
    NaN-free values' sum over their count, as nanmean computes it. (Runs of one value are
    the values themselves.)"""
    runs = np.append(values, np.nan) if len(values) % 2 else values
    runs = runs.reshape(-1, 2)
    missing = np.isnan(runs)
    kept = np.where(missing, 0.0, runs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (kept[:, 0] + kept[:, 1]) / (~missing).sum(axis=1)


def trace_svg(trace: pd.DataFrame | None, width: int = 140, height: int = 32) -> str:
    """A cell's online R@1 per batch as an inline SVG line (batches averaged in runs of
    equal length down to TRACE_POINTS points; 0-100 % bottom to top); '' without a trace."""
    if trace is None or trace.empty or trace["r1"].isna().all():
        return ""
    # numpy's argsort with the algorithm sort_values uses: the same order, without a frame
    order = np.argsort(trace["batch"].to_numpy(), kind="quicksort")
    r1 = trace["r1"].to_numpy(dtype=float)[order]
    step = max(1, math.ceil(len(r1) / TRACE_POINTS))
    pts = r1 if step == 1 else _pair_means(r1) if step == 2 else \
        np.array([np.nanmean(r1[i:i + step]) for i in range(0, len(r1), step)])
    xs = np.linspace(1, width - 1, len(pts)) if len(pts) > 1 else np.array([width / 2])
    ys = height - 1 - (height - 2) * np.clip(pts, 0, 100) / 100
    path = " ".join(f"{x:.0f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (f'<svg class="trace" width="{width}" height="{height}" viewBox="0 0 {width} '
            f'{height}" role="img"><title>online R@1 per batch ({len(r1)} batches), 0-100 %'
            f'</title><rect width="{width}" height="{height}"/><polyline points="{path}"/>'
            "</svg>")


# the common-space measures of a row, each before (source model) and after (adapted)
MEASURES = tuple(m.removesuffix("_before") for m in DIAGNOSTIC_METRICS
                 if m.endswith("_before") and not m.endswith("_clean_before"))


def present_diagnostics(rows: pd.DataFrame) -> list[str]:
    """The diagnostics columns that some of the rows measure ([] for rows stored without
    them: their cell pages show no diagnostics column)."""
    return [m for m in DIAGNOSTIC_METRICS if m in rows and rows[m].notna().any()]


def _measure(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def diagnostics_lines(row, present: list[str]) -> list[str]:
    """A cell's common-space measures as lines: `gap 0.660 → 0.690 (clean 0.640 → 0.650)`
    (source model → adapted model; – where the row lacks one), the gallery's uniformity and
    the mean gradient conflict angle. Only the columns in `present` are shown."""
    lines = []
    for m in MEASURES:
        pair = [f"{m}_before", f"{m}_after"]
        clean = [f"{m}_clean_before", f"{m}_clean_after"]
        if not any(c in present for c in pair + clean):
            continue
        text = f"{m.replace('_', ' ')} " + " → ".join(_measure(row.get(c)) for c in pair)
        if any(c in present for c in clean):
            text += " (clean " + " → ".join(_measure(row.get(c)) for c in clean) + ")"
        lines.append(text)
    if "uniformity_g" in present:
        lines.append(f"uniformity g (gallery) {_measure(row.get('uniformity_g'))}")
    if "grad_angle" in present:
        lines.append(f"grad angle {_measure(row.get('grad_angle'), 1)}°")
    return lines
