"""Shared by the leaderboard and the plots: fixed orders, row labels, maximum severity.

Tables and figures regenerate without noise only if methods, shifts and streams
always come out in the same order, whatever order the cells finished in.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

import corruptions

METHOD_ORDER = ("source", "tent", "eata", "sar", "read", "deyo", "tcr", "rest")
IMAGE_SHIFTS = tuple(corruptions.IMAGE_SHIFTS)  # protocol order (docs/protocol.md section 4)
TEXT_SHIFTS = tuple(corruptions.TEXT_SHIFTS)
STREAM_ORDER = ("single", "mixed", "continual", "mixed-severity")
DIVERSE_STREAMS = STREAM_ORDER[1:]
NOT_OK = ("failed", "diverged", "unavailable")
ROW_KEYS = ["method", "model", "method_config"]  # one table row each
_TEXT_COLUMNS = ("suite", "suite_version", "dataset", "direction", "shift", "stream", "method",
                 "method_config", "method_note", "model", "pretrained", "status", "segment_r1")


def method_key(name: str) -> tuple:
    """Known methods in the papers' order, then the others alphabetically."""
    if name in METHOD_ORDER:
        return (0, METHOD_ORDER.index(name), "")
    return (1, 0, name)


def shift_key(name: str) -> tuple:
    """clean, image shifts (docs/protocol.md section 4 order), text shifts, then the others."""
    low = name.lower()
    if low == "clean":
        return (0, 0, "")
    if low in IMAGE_SHIFTS:
        return (1, IMAGE_SHIFTS.index(low), "")
    if low in TEXT_SHIFTS:
        return (2, TEXT_SHIFTS.index(low), "")
    return (3, 0, name)


def stream_key(name: str) -> tuple:
    name = name or "single"
    return (STREAM_ORDER.index(name), "") if name in STREAM_ORDER else (len(STREAM_ORDER), name)


def max_severity(shift: str, present: Iterable[int]) -> int | None:
    """The protocol's maximum severity of a shift, else the highest one present."""
    try:
        import corruptions

        return int(corruptions.spec(shift).max_level)
    except Exception:  # package absent or unfinished, or a name it does not know (clean, mixes)
        levels = [int(s) for s in present]
        return max(levels) if levels else None


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Empty strings for missing text fields, so that grouping never drops a row."""
    df = df.copy()
    for col in _TEXT_COLUMNS:
        if col in df:
            df[col] = df[col].fillna("").astype(str)
    df["stream"] = df["stream"].replace("", "single")
    df["severity"] = df["severity"].fillna(0).astype(int)
    return df


def row_labels(df: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """A unique label per (method, model, method_config), in method order.

    The model joins the label only when the rows hold several models; a method run
    with several configs gets `#k` so that different settings are never averaged.
    """
    keys = sorted(set(df[ROW_KEYS].itertuples(index=False, name=None)),
                  key=lambda k: (method_key(k[0]), k[1], k[2]))
    many_models = df["model"].nunique() > 1
    labels = {}
    for method, model, config in keys:
        label = f"{method} ({model})" if many_models else method
        variants = [k for k in keys if k[:2] == (method, model)]
        if len(variants) > 1:
            label += f" #{variants.index((method, model, config)) + 1}"
        labels[(method, model, config)] = label
    return labels


def note_markers(df: pd.DataFrame, labels: dict) -> dict[tuple, str]:
    """Append a footnote marker to the labels of reconstructions (method_note), globally.

    Returns row key -> note line; one marker per distinct note, the same in every table.
    """
    markers = iter("†‡§¶" + "".join(f"[{i}]" for i in range(5, 50)))
    seen: dict[str, str] = {}
    lines = {}
    for key, note in df.groupby(ROW_KEYS)["method_note"].first().items():
        if note:
            if note not in seen:
                seen[note] = next(markers)
            labels[key] += seen[note]
            lines[key] = f"{seen[note]} {key[0]}: {note}"
    return lines


def columns_at_max_severity(group: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(column label, shift, severity) per shift at its maximum severity, in protocol order.

    When the protocol's maximum was not run, the highest severity run stands in and
    the label says which (`fog@3`).
    """
    cols = []
    for shift in sorted(set(group["shift"]), key=shift_key):
        present = sorted({int(s) for s in group.loc[group["shift"] == shift, "severity"]})
        sev = max_severity(shift, present)
        label = shift
        if sev not in present:
            sev = present[-1]
            label = f"{shift}@{sev}"
        cols.append((label, shift, sev))
    return cols
