"""The leaderboard's table types: a grid of `TableCell`s with a heading and notes.

A table is a grid of cells rather than strings so that each output format
(Markdown, CSV, HTML, LaTeX; see `bench.report.render`) marks the best
value, the intervals and the statuses its own way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from bench.report import stats

# the common-space diagnostics of each row (bench.engine.diagnostics.ROW_COLUMNS)
DIAGNOSTIC_MEASURES = ("uniformity_q", "gap", "intermodal_sim", "consistency")
DIAGNOSTIC_METRICS = ("uniformity_g",) + tuple(
    f"{m}_{p}" for p in ("before", "after", "clean_before", "clean_after") for m in DIAGNOSTIC_MEASURES
) + ("grad_angle",)
METRICS = ("r1", "r5", "r10", "r50", "r_mean", "map", "minp", "retention_r1") + DIAGNOSTIC_METRICS
METRIC_LABELS = {"r1": "R@1", "r5": "R@5", "r10": "R@10", "r50": "R@50",
                 "r_mean": "mean R@1/5/10",
                 "map": "mAP", "minp": "mINP", "retention_r1": "retention R@1"} | {
    m: m.replace("_", " ") for m in DIAGNOSTIC_METRICS}
# what a metric's numbers are, after its label (recall metrics: percentages, 1 decimal)
METRIC_UNITS = dict.fromkeys(DIAGNOSTIC_METRICS, "") | {"grad_angle": " (degrees)"}
METRIC_DIGITS = dict.fromkeys(DIAGNOSTIC_METRICS, 3) | {"grad_angle": 1}


def metric_unit(metric: str) -> str:
    return METRIC_UNITS.get(metric, " (%)")


AVG = "Avg."
COUNT = "shifts ok"


@dataclass
class TableCell:
    """One table entry: a seed-averaged value, a status word, or plain text."""

    value: float = math.nan
    std: float = math.nan  # over seeds, NaN for a single seed
    seeds: int = 0
    status: str = "missing"  # ok / failed / diverged / unavailable / missing / n/a / blank
    count: int = 1  # how many cells an average stands for; best is chosen among the fullest
    mark: str = ""  # appended after the value (footnote marker, "(3/4)")
    text: str = ""  # free text (counts, ranks); shown as is
    best: bool = False  # significantly better than the runner-up
    tied: bool = False  # in the best's tied group (no significant difference from the best)
    lo: float = math.nan  # 95 % interval (NaN: none, e.g. no per-query outcomes)
    hi: float = math.nan
    signed: bool = False  # a difference: shown with its sign
    sig: int = 0  # +1 / -1: significantly better / worse than source (Holm-corrected)
    p: float = math.nan  # that test's Holm-adjusted p-value
    sample: stats.Sample | None = field(default=None, repr=False)  # per-query values
    digits: int = 1  # decimals shown (METRIC_DIGITS)

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.lo) or math.isnan(self.hi))


@dataclass
class Table:
    """A rendered-format-agnostic table with its heading and notes."""

    title: str
    kind: str  # main / delta / severity / segments / ranking / compare
    columns: list[str]
    rows: list[str] = field(default_factory=list)
    cells: list[list[TableCell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reported: list[bool] = field(default_factory=list)  # published reference rows
    shift_columns: list[str] = field(default_factory=list)  # columns that enter Avg. and ranks
    refs: list[int | None] = field(default_factory=list)  # row index of each row's source row
    row_header: str = "method"  # the heading of the label column
    untested: str = ""  # why no value of the table can carry an interval (a note), if so
    key: tuple = ()  # a main table's group: (suite, dataset, direction, stream)
    ids: list[tuple] = field(default_factory=list)  # each row's identity (seeds its intervals)

    def add_row(self, label: str, cells: list[TableCell], reported: bool = False,
                ref: int | None = None, ident: tuple = ()) -> None:
        self.rows.append(label)
        self.cells.append(cells)
        self.reported.append(reported)
        self.refs.append(ref)
        self.ids.append(ident)

    def measured(self) -> list[int]:
        """Indices of the measured rows (every row but the published reference ones)."""
        return [i for i, rep in enumerate(self.reported) if not rep]

    def values(self) -> pd.DataFrame:
        """The numbers behind the table (NaN where a cell is not an ok value)."""
        data = [[c.value if c.status == "ok" else math.nan for c in line] for line in self.cells]
        return pd.DataFrame(data, index=self.rows, columns=self.columns, dtype=float)

    def cell(self, row: str, column: str) -> TableCell:
        """The cell at a row label and column name."""
        return self.cells[self.rows.index(row)][self.columns.index(column)]


@dataclass
class Leaderboard:
    metric: str
    tables: list[Table]
    messages: list[str] = field(default_factory=list)  # one-line notices for the user
