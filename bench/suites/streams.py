"""Query streams: which query arrives when, and under which shift.

A stream is built from segments, each a (shift, severity) applied to a
disjoint part of the query set:

* ``single``: one segment, all queries (docs/protocol.md section 2).
* ``mixed``: K segments, then all queries shuffled together: every batch mixes
  distributions (REST's diverse shift).
* ``continual``: the same K segments one after another (each shuffled within).
* ``mixed-severity``: one shift at severities 1..5 on 5 segments, shuffled together.

Which query falls in which segment is part of the benchmark (fixed seed 0);
the arrival order is the cell's seed (``torch.randperm``, as TCR).

Segment length: a multi-segment stream can ask for at least ``min_segment`` queries
per segment (the diverse suites ask for 5 batches, so that a continual stream stays
on each shift long enough for adaptation and forgetting to show). When the query set
is too small for K disjoint segments of that length, segment k takes the queries at
positions k*m .. k*m+m-1 (mod N) of the fixed permutation: no query repeats within a
segment, and across segments each query appears under floor or ceil(K*m / N) shifts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

STREAMS = ("single", "mixed", "continual", "mixed-severity")
SEGMENT_SEED = 0


@dataclass(frozen=True)
class Segment:
    shift: str
    severity: int

    @property
    def label(self) -> str:
        return self.shift if self.shift == "clean" else f"{self.shift}@{self.severity}"


@dataclass
class StreamPlan:
    """Positions 0..P-1 each hold one query (its dataset index and segment)."""

    query_ids: np.ndarray  # (P,) dataset index of the query at each position
    segment: np.ndarray  # (P,) index into `segments`
    segments: list[Segment]
    order: np.ndarray  # (P,) positions in arrival order

    def batches(self, batch_size: int) -> list[np.ndarray]:
        return [self.order[i:i + batch_size] for i in range(0, len(self.order), batch_size)]

    def positions_of(self, k: int) -> np.ndarray:
        return np.nonzero(self.segment == k)[0]

    def clean_plan(self) -> StreamPlan:
        """Each query of the stream once (in order of first position), clean: the queries
        retention and clean-data statistics are measured on."""
        _, first = np.unique(self.query_ids, return_index=True)
        ids = self.query_ids[np.sort(first)]
        return StreamPlan(ids, np.zeros(len(ids), dtype=np.int64), [Segment("clean", 0)],
                          np.arange(len(ids)))


def randperm(n: int, seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=g).numpy()


def segment_parts(ids: np.ndarray, k: int, min_segment: int = 0) -> list[np.ndarray]:
    """The query ids of each of k segments: disjoint near-equal parts of a fixed permutation,
    or, when that gives fewer than ``min_segment`` each, k cyclic windows of
    ``min(min_segment, len(ids))`` (see the module docstring)."""
    perm = ids[randperm(len(ids), SEGMENT_SEED)]
    m = min(min_segment, len(ids))
    if k * m <= len(ids):
        return np.array_split(perm, k)
    return [perm[(j * m + np.arange(m)) % len(ids)] for j in range(k)]


def plan_stream(n_queries: int, segments: list[Segment], stream: str, seed: int,
                limit: int | None = None, min_segment: int = 0) -> StreamPlan:
    if stream not in STREAMS:
        raise ValueError(f"unknown stream '{stream}' (one of {', '.join(STREAMS)})")
    ids = np.arange(n_queries if limit is None else min(limit, n_queries))
    if stream == "single":
        if len(segments) != 1:
            raise ValueError("a single stream has exactly one segment")
        return StreamPlan(ids, np.zeros(len(ids), dtype=np.int64), list(segments),
                          randperm(len(ids), seed))
    parts = segment_parts(ids, len(segments), min_segment)
    query_ids = np.concatenate(parts)
    segment = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    if stream in ("mixed", "mixed-severity"):
        order = randperm(len(query_ids), seed)
    else:  # continual: segment after segment, shuffled within
        order, start = [], 0
        for k, p in enumerate(parts):
            order.append(start + randperm(len(p), seed + k))
            start += len(p)
        order = np.concatenate(order)
    return StreamPlan(query_ids, segment, list(segments), order)
