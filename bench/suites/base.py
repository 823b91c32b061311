"""The suite contract and the generic suite kinds every concrete suite is made of."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.api.errors import ConfigError
from bench.api.registry import SHIFTS
from bench.data.dataset import RetrievalDataset
from bench.suites.streams import Segment


@dataclass(frozen=True)
class CellSpec:
    """What a suite contributes to a cell (the runner adds model, method and seed)."""

    dataset: str  # a dataset key the suite can load
    direction: str  # i2t | t2i
    shift: str  # a shift name, "clean", or the name of a diverse mix
    severity: int
    stream: str = "single"
    segments: tuple[Segment, ...] = ()
    retention: bool = False
    # multi-segment streams: at least this many batches per segment (bench.suites.streams)
    min_segment_batches: int = 0

    def stream_segments(self) -> list[Segment]:
        return list(self.segments) if self.segments else [Segment(self.shift, self.severity)]


@dataclass
class SuiteContext:
    data_root: Path | None = None
    quiet: bool = False  # no progress bars (the embedded data's one-time generation)


Severities = str | Sequence[int] | None  # None: maximum severity; "all"; or a list


def severities_for(shift: str, chosen: Severities) -> list[int]:
    """The severities of `shift` a run covers: its maximum by default (the tables' protocol)."""
    info = SHIFTS.get(shift)
    if chosen is None:
        return [info.max_level]
    if chosen == "all":
        return list(info.levels)
    if isinstance(chosen, str):
        raise ConfigError(f"bad severity '{chosen}'", "use a list like 1,3,5 or 'all'")
    return [s for s in chosen if s in info.levels]


@dataclass
class Suite:
    """A named, versioned family of cells over one or more datasets."""

    name: str
    version: str
    description: str
    loaders: dict[str, Callable[[SuiteContext], RetrievalDataset]]
    make_cells: Callable[[Severities], list[CellSpec]]
    requires: Callable[[SuiteContext], str | None] = field(default=lambda ctx: None)
    default_model: str = "ViT-B-16"
    default_pretrained: str | None = "openai"
    embedded: bool = False
    # dataset key -> kind (captions | reid | fashion): picks the recipe of bench/data/preprocess.py
    # for real-data suites before any data is loaded. The softmax temperature follows the
    # loaded dataset's kind too (bench.api.protocol.TEMPERATURE): a suite does not set it.
    dataset_kinds: dict[str, str] = field(default_factory=dict)
    in_all: bool = True  # False: run only when named (`--suite all` leaves it out)
    # what the suite needs under --data-root, one phrase per dataset (empty: generated data)
    data_needs: tuple[str, ...] = ()

    def cells(self, severities: Severities = None) -> list[CellSpec]:
        return self.make_cells(severities)

    def single_shifts(self, direction: str, dataset: str | None = None) -> set[str]:
        """The shifts (clean included) of the suite's single-stream cells of `direction`,
        of one dataset's cells when `dataset` is given."""
        return {c.shift for c in self.cells() if c.direction == direction
                and c.stream == "single" and dataset in (None, c.dataset)}

    def missing(self, ctx: SuiteContext) -> str | None:
        """None when the suite's data can be had, else what is missing and how to get it."""
        return self.requires(ctx)

    def dataset_kind(self, key: str) -> str:
        if key not in self.dataset_kinds:
            raise ConfigError(f"suite {self.name}: dataset '{key}' has no declared kind",
                              "set Suite.dataset_kinds (captions, reid or fashion)")
        return self.dataset_kinds[key]

    def load(self, key: str, ctx: SuiteContext) -> RetrievalDataset:
        return self.loaders[key](ctx)


def shift_cells(dataset: str, direction: str, shifts: Sequence[str],
                severities: Severities) -> list[CellSpec]:
    """One single-stream cell per shift and severity."""
    return [CellSpec(dataset, direction, s, sev)
            for s in shifts for sev in severities_for(s, severities)]


def clean_cells(dataset: str, directions: Sequence[str] = ("i2t", "t2i")) -> list[CellSpec]:
    return [CellSpec(dataset, d, "clean", 0) for d in directions]


def diverse_cells(dataset: str, direction: str, name: str, shifts: Sequence[str],
                  severity: int | None = None, severity_shift: str | None = None,
                  streams: Sequence[str] = ("mixed", "continual"),
                  retention: bool = True, min_segment_batches: int = 0) -> list[CellSpec]:
    """Mixed / continual streams over `shifts` at max severity, plus a mixed-severity stream;
    each segment at least `min_segment_batches` batches long (0: the query set cut in K)."""
    out = []
    segs = tuple(Segment(s, severity or SHIFTS.get(s).max_level) for s in shifts)
    for stream in streams:
        out.append(CellSpec(dataset, direction, name, max(g.severity for g in segs), stream,
                            segs, retention, min_segment_batches))
    if severity_shift:
        levels = [lv for lv in SHIFTS.get(severity_shift).levels if lv > 0]
        segs = tuple(Segment(severity_shift, lv) for lv in levels)
        out.append(CellSpec(dataset, direction, severity_shift, max(levels), "mixed-severity",
                            segs, retention, min_segment_batches))
    return out
