"""Shared by the leaderboard and the plots: fixed orders, row labels, maximum severity.

Tables and figures regenerate without noise only if methods, shifts and streams
always come out in the same order, whatever order the cells finished in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import pandas as pd

from bench.api.registry import METHODS, load_builtins, method_rank
from bench.report.versions import version_key
from bench.shifts import book, max_level

STREAM_ORDER = ("single", "mixed", "continual", "mixed-severity")
DIVERSE_STREAMS = STREAM_ORDER[1:]
NOT_OK = ("failed", "diverged", "unavailable")
# One table row each: rows that differ in any of these are never averaged together.
# `identity` (made by `prepare`) holds the weights, the protocol (steps, batch size, limit,
# temperature, corruption seed, tie rule) and the inputs (preprocessing, caption rule,
# activation: `inputs`) or any other preprocessing / activation / weights column.
ROW_KEYS = ["method", "model", "method_config", "identity"]
# protocol fields that describe the data a cell met, not how the method was run
_NOT_IDENTITY = ("queries_left_out",)
_EXTRA_IDENTITY = re.compile(r"^(inputs|preproc|activation|weights|checkpoint|precision|dtype)")
_TEXT_COLUMNS = ("suite", "suite_version", "dataset", "direction", "shift", "stream", "method",
                 "method_config", "method_note", "model", "pretrained", "status", "segment_r1")


def method_key(name: str) -> tuple:
    """By the rank each method's class declares (`TTAMethod.rank`; bench's own: 0-70, the
    papers' order), ties by name; a method not registered now (rows of a plugin not loaded)
    ranks with the unranked plugins (1000), after the ranked ones, alphabetically."""
    return (method_rank(name), name)


def ranked_methods() -> tuple[str, ...]:
    """bench's own methods in rank order. Their place fixes their style in every figure,
    whatever plugins are loaded; plugins' methods follow them (bench/report/plots.py)."""
    load_builtins()
    return tuple(sorted((n for n in METHODS.names() if METHODS.origin(n) == "bench"),
                        key=method_key))


def shift_key(name: str) -> tuple:
    """clean, image shifts, text shifts - each in the shift book's order (bench/shifts.py:
    docs/protocol.md section 4 for bench's own, then plugins') - then the others."""
    low = name.lower()
    if low == "clean":
        return (0, 0, "")
    for group, modality in ((1, "image"), (2, "text")):
        names = book(modality)
        if low in names:
            return (group, names.index(low), "")
    return (3, 0, name)


def stream_key(name: str) -> tuple:
    name = name or "single"
    return (STREAM_ORDER.index(name), "") if name in STREAM_ORDER else (len(STREAM_ORDER), name)


def max_severity(shift: str, present: Iterable[int]) -> int | None:
    """A shift's maximum severity in the shift book (plugins' shifts included), else - for
    a name the book does not hold (mixes, a plugin not loaded now) - the highest present."""
    top = max_level(shift)
    if top is not None:
        return top
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
    df["identity"] = _identities(df)
    df["table_suite"] = _table_suites(df)
    return df


def _table_suites(df: pd.DataFrame) -> pd.Series:
    """The suite as tables group it: its name, and for the rows of a version other than the
    newest the frame holds of that suite, the name with the version ("mini-c v3"). Rows of
    two versions ran another model or shift strength, so they never share a table."""
    out = df["suite"].copy()
    if "suite_version" not in df:
        return out
    for suite, rows in df.groupby("suite"):
        held = sorted(set(rows["suite_version"]) - {""}, key=version_key)
        for version in held[:-1]:
            older = (df["suite"] == suite) & (df["suite_version"] == version)
            out[older] = f"{suite} v{version}"
    return out


def protocol_fields(text) -> dict:
    """The identity part of a row's protocol JSON ({} when absent or unreadable)."""
    try:
        proto = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return {k: v for k, v in sorted(proto.items()) if k not in _NOT_IDENTITY} \
        if isinstance(proto, dict) else {}


def _identities(df: pd.DataFrame) -> list[str]:
    """Each row's identity (JSON). A row without a protocol (a failed cell records none)
    takes the identity of its method's other rows when they all share one."""
    extra = sorted(c for c in df.columns if _EXTRA_IDENTITY.match(c))
    # only the columns read here (records of every column cost most of the time)
    used = ["pretrained", "suite", "method", "model", "method_config", *extra]
    records = df[[c for c in dict.fromkeys(used) if c in df.columns]].to_dict("records")
    base = [{"pretrained": "" if pd.isna(r.get("pretrained")) else str(r.get("pretrained"))}
            | {c: "" if pd.isna(r.get(c)) else str(r.get(c)) for c in extra}
            for r in records]
    protos = [protocol_fields(p) for p in df.get("protocol", pd.Series([""] * len(df)))]
    owner = [(r.get("suite"), r.get("method"), r.get("model"), r.get("method_config"),
              json.dumps(b, sort_keys=True)) for r, b in zip(records, base, strict=True)]
    known: dict[tuple, set] = {}
    for o, p in zip(owner, protos, strict=True):
        if p:
            known.setdefault(o, set()).add(json.dumps(p, sort_keys=True))
    out = []
    for o, b, p in zip(owner, base, protos, strict=True):
        if not p and len(known.get(o, ())) == 1:
            p = json.loads(next(iter(known[o])))
        out.append(json.dumps(b | {f"protocol.{k}": v for k, v in p.items()}, sort_keys=True))
    return out


def describe_identity(identity: str) -> str:
    """A row identity in words: `pretrained shipped, steps 3, batch_size 64, limit 32`."""
    fields = json.loads(identity) if identity else {}
    return ", ".join(f"{k.removeprefix('protocol.')} {v}" for k, v in fields.items()
                     if k != "protocol.tie_rule" and v not in ("", None))


def limits(df: pd.DataFrame) -> list[int]:
    """The --limit values of the rows (empty when every row ran the whole stream)."""
    values = {json.loads(i).get("protocol.limit") for i in df["identity"]}
    return sorted(int(v) for v in values if v is not None)


def row_labels(df: pd.DataFrame) -> dict[tuple[str, str, str, str], str]:
    """A unique label per row key (ROW_KEYS), in method order.

    The model joins the label only when the rows hold several models; a method run
    with several configs, weights or protocols gets `#k` so that different settings
    are never averaged.
    """
    keys = sorted(set(df[ROW_KEYS].itertuples(index=False, name=None)),
                  key=lambda k: (method_key(k[0]), *k[1:]))
    many_models = df["model"].nunique() > 1
    labels = {}
    for key in keys:
        method, model = key[:2]
        label = f"{method} ({model})" if many_models else method
        variants = [k for k in keys if k[:2] == (method, model)]
        if len(variants) > 1:
            label += f" #{variants.index(key) + 1}"
        labels[key] = label
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
