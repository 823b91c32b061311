"""Ablations: a method's full config and each of its components removed in turn, and the table.

A method opts in with a class attribute ``ablation = {component: overrides that remove it}``
(see `methods.rest.REST`). Each variant is an ordinary config of the method, so its cells carry
the usual `config_label` (``rest[consistency=False]``) and are the very cells that
``bench run --set ...`` would produce: the two commands share results.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bench.api.errors import ConfigError
from bench.api.registry import METHODS
from bench.engine.cells import Cell
from bench.engine.method_configs import config_label, make_config
from bench.report.render import frame_markdown


@dataclass(frozen=True)
class Variant:
    name: str  # "full" or "-component"
    label: str  # the cells' method label (`config_label`)
    overrides: dict[str, Any]  # the method's overrides, the base config's included


def variants(method: str, base: dict[str, Any] | None = None) -> list[Variant]:
    """The full config (defaults + `base`), then one variant per component that it uses."""
    cls = METHODS.get(method)
    components = cls.ablation
    if not components:
        raise ConfigError(f"method '{method}' declares no ablation components",
                          "a method opts in with a class attribute `ablation`")
    base = dict(base or {})
    full = make_config(method, base)
    out = [Variant("full", config_label(method, full), base)]
    for component, removal in components.items():
        overrides = base | removal
        config = make_config(method, overrides)
        if dataclasses.asdict(config) == dataclasses.asdict(full):
            continue  # already off (or at its neutral value) in the full config
        out.append(Variant(f"-{component}", config_label(method, config), overrides))
    return out


def column_name(cell: Cell, several_datasets: bool) -> str:
    s = cell.spec
    shift = s.shift if s.shift == "clean" else f"{s.shift}@{s.severity}"
    name = f"{s.direction} {shift}" + ("" if s.stream == "single" else f" {s.stream}")
    return f"{s.dataset} {name}" if several_datasets else name


def _fmt(values: list[float], n: int) -> str:
    if not values:
        return "—"
    text = f"{sum(values) / len(values):.1f}"
    return text if len(values) == n else f"{text} ({len(values)}/{n})"


def _variant_line(cells: list[Cell], by_id: pd.DataFrame, several: bool) -> dict[str, Any]:
    """R@1 per column (mean over seeds), mean R@1 over columns, mean retention of one variant."""
    per_col: dict[str, list[float]] = {}
    expected: dict[str, int] = {}
    status: dict[str, str] = {}
    retention: list[float] = []
    for cell in cells:
        col = column_name(cell, several)
        per_col.setdefault(col, [])
        expected[col] = expected.get(col, 0) + 1
        row = by_id.loc[cell.cell_id] if cell.cell_id in by_id.index else None
        if row is None or row["status"] != "ok":
            status[col] = "missing" if row is None else str(row["status"])
            continue
        per_col[col].append(float(row["r1"]))
        if row["retention_r1"] is not None and not math.isnan(row["retention_r1"]):
            retention.append(float(row["retention_r1"]))
    line: dict[str, Any] = {
        col: _fmt(v, expected[col]) if v else status.get(col, "—") for col, v in per_col.items()}
    means = [sum(v) / len(v) for v in per_col.values() if v]
    line["mean R@1"] = _fmt(means, len(per_col))
    line["_mean"] = sum(means) / len(means) if means else None
    line["mean retention"] = _fmt(retention, len(retention)) if retention else "—"
    return line


def table_rows(cells_by_variant: dict[str, list[Cell]], rows: pd.DataFrame) -> pd.DataFrame:
    """One line per variant (the first is the full method): R@1 per column, mean R@1, its
    difference to the full method's, mean retention where measured."""
    by_id = rows.set_index("cell_id") if len(rows) else rows
    first = next(iter(cells_by_variant.values()), [])
    several = len({c.spec.dataset for c in first}) > 1
    lines, full_mean = [], None
    for k, (name, cells) in enumerate(cells_by_variant.items()):
        line = {"variant": name, "method": cells[0].label if cells else ""}
        line |= _variant_line(cells, by_id, several)
        mean = line.pop("_mean")
        full_mean = mean if k == 0 else full_mean
        retention = line.pop("mean retention")
        ok = mean is not None and full_mean is not None
        line["Δ mean"] = f"{mean - full_mean:+.1f}" if ok else "—"
        line["mean retention"] = retention
        lines.append(line)
    return pd.DataFrame(lines)


def markdown(table: pd.DataFrame, title: str) -> str:
    return "\n".join([f"### {title}", "", *frame_markdown(table, ("variant", "method"))])
