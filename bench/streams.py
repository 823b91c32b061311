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


def randperm(n: int, seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=g).numpy()


def plan_stream(n_queries: int, segments: list[Segment], stream: str, seed: int,
                limit: int | None = None) -> StreamPlan:
    if stream not in STREAMS:
        raise ValueError(f"unknown stream '{stream}' (one of {', '.join(STREAMS)})")
    ids = np.arange(n_queries if limit is None else min(limit, n_queries))
    if stream == "single":
        if len(segments) != 1:
            raise ValueError("a single stream has exactly one segment")
        return StreamPlan(ids, np.zeros(len(ids), dtype=np.int64), list(segments),
                          randperm(len(ids), seed))
    # disjoint segments: a fixed permutation of the queries cut into K near-equal parts
    parts = np.array_split(ids[randperm(len(ids), SEGMENT_SEED)], len(segments))
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
