"""One cell of the online query-shift protocol (docs/protocol.md sections 2-3).

Source weights -> method.setup -> for each batch of the seeded stream,
``method.adapt`` returns the rows that are scored -> metrics (overall and per
segment) -> optional retention: the adapted model's R@1 on the clean queries.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from bench.api.contract import AdaptContext, StepOutput, TTAMethod
from bench.api.phases import phase
from bench.api.protocol import TEMPERATURE, TIE_RULE, Protocol
from bench.engine.diagnostics import MEASURES, GallerySummary, chunks, row_values
from bench.engine.inputs import QuerySet
from bench.engine.metrics import RankAccumulator
from bench.models.openclip import RetrievalModel
from bench.suites.streams import StreamPlan


@dataclass
class CellOutcome:
    metrics: dict[str, float]
    segment_r1: dict[str, float]
    retention_r1: float
    trace: pd.DataFrame
    n_queries: int
    method_state: dict | None = None
    outcomes: pd.DataFrame | None = None  # per query: position, query_id, batch, best_rank
    diagnostics: dict[str, float] | None = None  # bench.engine.diagnostics.ROW_COLUMNS


@dataclass
class DiagnosticInputs:
    """What the common-space diagnostics need beyond the stream (bench.engine.diagnostics):
    the source model's embeddings of every position of the stream's queries and of their
    clean versions (each (P, d), built when read; None: not available).

    With ``scored_are_source`` (a method whose scored embeddings are the source model's, in
    the stream's batches: `TTAMethod.scores_source`) the stream's "before" measures are its
    "after" ones and `source` is not called; ``keep_source(scored, embeddings)`` hands those
    embeddings on, to be reused as the source pass of the same queries by other cells."""

    source: Callable[[], torch.Tensor]
    clean_source: Callable[[], torch.Tensor] | None = None
    scored_are_source: bool = False
    keep_source: Callable[[np.ndarray, torch.Tensor], None] | None = None


def _segment_label(plan: StreamPlan, positions: np.ndarray) -> str:
    if len(plan.segments) == 1:
        return ""
    counts = np.bincount(plan.segment[positions], minlength=len(plan.segments))
    return plan.segments[int(counts.argmax())].label


def stream_batches(plan: StreamPlan, queries: QuerySet, batch_size: int) -> list[np.ndarray]:
    """The stream's batches of positions: usable queries only, empty batches dropped."""
    batches = [b[queries.usable[b]] for b in plan.batches(batch_size)]
    return [b for b in batches if len(b)]


TRACE_COLUMNS = ["batch", "n", "r1", "loss", "segment", "terms", "term_grads", *MEASURES,
                 "grad_angles"]


def run_stream(method: TTAMethod, plan: StreamPlan, queries: QuerySet, batch_size: int,
               progress: str | None = None, gallery: GallerySummary | None = None,
               ) -> tuple[RankAccumulator, pd.DataFrame, np.ndarray, list[torch.Tensor]]:
    """Feed the stream batch by batch; returns the accumulator, the trace, the scored
    positions and, with `gallery` (diagnostics on), the scored query embeddings per batch."""
    acc = RankAccumulator(ks=queries.ks)
    trace, scored, embedded = [], [], []
    batches = stream_batches(plan, queries, batch_size)
    for k, positions in enumerate(tqdm(batches, desc=progress, disable=progress is None,
                                       leave=False, dynamic_ncols=True)):
        method.clear_terms()
        out: StepOutput = method.adapt(queries.batch(positions))
        with phase("metrics"):
            r1 = acc.add(out.rows, **queries.scoring(positions))
        record = {"batch": k, "n": len(positions), "r1": r1, "loss": out.loss,
                  "segment": _segment_label(plan, positions),
                  "terms": _json_or_none(method.terms),
                  "term_grads": _json_or_none(dict(method.term_grads)),
                  "grad_angles": _angles_json(list(method.grad_angles))}
        if gallery is not None and out.embeddings is not None:
            with phase("diagnostics"):
                record |= gallery.measures(out.embeddings, [len(positions)], out.rows)
                embedded.append(out.embeddings.detach())
        trace.append(record)
        scored.append(positions)
    scored = np.concatenate(scored) if scored else np.zeros(0, dtype=np.int64)
    return acc, pd.DataFrame(trace, columns=TRACE_COLUMNS), scored, embedded


def _angles_json(angles: list[float] | None) -> str | None:
    """A batch's per-step conflict angles as a JSON list (null for an undefined angle)."""
    if not angles:
        return None
    return json.dumps([a if math.isfinite(a) else None for a in angles])


def _json_or_none(values: dict[str, float] | None) -> str | None:
    """A trace cell's loss terms ({name: value}) as JSON; None when there are none."""
    return json.dumps(values, sort_keys=True) if values else None


def query_outcomes(acc: RankAccumulator, plan: StreamPlan, scored: np.ndarray,
                   trace: pd.DataFrame) -> pd.DataFrame:
    """One record per scored query (the store's OUTCOME_COLUMNS less cell_id)."""
    sizes = trace["n"].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "position": scored.astype(np.int64),
        "query_id": np.asarray(plan.query_ids, dtype=np.int64)[scored],
        "batch": np.repeat(trace["batch"].to_numpy(dtype=np.int64), sizes),
        "best_rank": acc.best_ranks(),
    })


@torch.no_grad()
def evaluate_frozen(rm: RetrievalModel, direction: str, gallery: torch.Tensor,
                    queries: QuerySet, batch_size: int = 256,
                    embedded: list[torch.Tensor] | None = None) -> dict[str, float]:
    """Metrics of the model as it is now (no adaptation) on a query set; the query
    embeddings are appended to `embedded` when given."""
    acc = RankAccumulator(ks=queries.ks)
    positions = np.nonzero(queries.usable)[0]
    for i in range(0, len(positions), batch_size):
        pos = positions[i:i + batch_size]
        q = rm.encode(direction, queries.batch(pos)).float()
        acc.add(q @ gallery.T, **queries.scoring(pos))
        if embedded is not None:
            embedded.append(q)
    return acc.summary()


@torch.no_grad()
def source_embeddings(rm: RetrievalModel, direction: str, queries: QuerySet,
                      batches: list[np.ndarray]) -> torch.Tensor:
    """The source model's embeddings (P, d; CPU) of a query set's positions, encoded in the
    given batches (the stream's, so that the source method's scored embeddings are the same
    floats); positions in no batch stay zero."""
    rm.restore_source()
    out = None
    for positions in batches:
        q = rm.encode(direction, queries.batch(positions)).float().cpu()
        if out is None:
            out = torch.zeros(len(queries.usable), q.shape[1])
        out[torch.as_tensor(positions)] = q
    return out if out is not None else torch.zeros(len(queries.usable), 0)


CleanQueries = QuerySet | Callable[[], QuerySet] | None  # a set, or a builder called when read


def _first_n(get: Callable[[], QuerySet]):
    def first(n: int) -> torch.Tensor:
        queries = get()
        return queries.batch(np.nonzero(queries.usable)[0][:n])
    return first


def run_cell(method: TTAMethod, rm: RetrievalModel, direction: str, dataset_kind: str,
             gallery: torch.Tensor, plan: StreamPlan, queries: QuerySet, steps: int,
             batch_size: int, seed: int, clean_queries: CleanQueries = None,
             retention: bool = False, progress: str | None = None,
             temperature: float | None = None,
             diagnostics: DiagnosticInputs | None = None) -> CellOutcome:
    def get_clean() -> QuerySet:  # built only when a method or the retention reads it
        return clean_queries() if callable(clean_queries) else clean_queries

    rm.restore_source()
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    gallery = gallery.to(rm.device)
    ctx = AdaptContext(
        gallery=gallery, direction=direction,
        temperature=temperature or TEMPERATURE[dataset_kind], steps=steps,
        dataset_kind=dataset_kind, n_queries=len(plan.order),
        clean_queries=None if clean_queries is None else _first_n(get_clean),
    )
    method.setup(rm.query_model(direction), ctx)
    summary = None if diagnostics is None else GallerySummary.of(gallery)
    acc, trace, scored, embedded = run_stream(method, plan, queries, batch_size, progress,
                                              summary)
    metrics = acc.summary()
    subset_recall = acc.subset_summary()
    if subset_recall is not None:  # composed queries with subsets (CIRR)
        metrics["subset_recall"] = subset_recall
    segment_r1 = {}
    if len(plan.segments) > 1:
        seg_of_scored = plan.segment[scored]
        for k, seg in enumerate(plan.segments):
            segment_r1[seg.label] = acc.summary(seg_of_scored == k)["r1"]
    retention_r1 = math.nan
    clean_after: list[torch.Tensor] | None = [] if diagnostics is not None else None
    if retention and clean_queries is not None:
        retention_r1 = evaluate_frozen(rm, direction, gallery, get_clean(),
                                       embedded=clean_after)["r1"]
    state = dict(method.state or {}) or None
    method.reset()
    measured = None
    if summary is not None:
        with phase("diagnostics"):
            measured = cell_diagnostics(summary, diagnostics, trace, scored, embedded,
                                        clean_after, batch_size)
    return CellOutcome(metrics, segment_r1, retention_r1, trace, len(acc), state,
                       query_outcomes(acc, plan, scored, trace), measured)


def cell_diagnostics(summary: GallerySummary, inputs: DiagnosticInputs, trace: pd.DataFrame,
                     scored: np.ndarray, embedded: list[torch.Tensor],
                     clean_after: list[torch.Tensor] | None, batch_size: int) -> dict[str, float]:
    """The row's diagnostic columns: the stream's queries on the source model (before) and as
    scored (after), in the stream's batches; their clean versions on the source model and,
    when retention re-encoded them, on the adapted one (in chunks of the batch size)."""
    sizes = trace["n"].astype(int).tolist()
    phases = {}
    if embedded and len(embedded) == len(sizes):
        after = torch.cat(embedded)
        phases["after"] = summary.measures(after, sizes)
        if inputs.scored_are_source:
            phases["before"] = phases["after"]
            if inputs.keep_source is not None:
                inputs.keep_source(scored, after)
    if "before" not in phases:
        phases["before"] = summary.measures(inputs.source()[scored], sizes)
    if inputs.clean_source is not None:
        clean = inputs.clean_source()[scored]
        phases["clean_before"] = summary.measures(clean, sizes)
    if clean_after:
        clean = torch.cat(clean_after)
        phases["clean_after"] = summary.measures(clean, chunks(len(clean), batch_size))
    angles = [a for v in trace["grad_angles"].dropna() for a in json.loads(v)
              if a is not None]
    return row_values(phases, summary, angles)


@functools.cache
def shared_protocol_record(protocol: Protocol) -> Mapping[str, Any]:
    """What every row of a run records of its protocol (made once per protocol): steps,
    batch size, query limit, corruption seed, the tie rule and the optimizer's source."""
    return MappingProxyType({"steps": protocol.steps, "batch_size": protocol.batch_size,
                             "limit": protocol.limit,
                             "corruption_seed": protocol.corruption_seed,
                             "tie_rule": TIE_RULE, "optimizer": "per method config"})


def protocol_record(shared: Mapping[str, Any], temperature: float, n_unusable: int,
                    images_skipped: int | None = None) -> str:
    """A row's protocol record (JSON): the run's shared part and the cell's own facts - its
    dataset's temperature, the queries left out as unusable and, with ``--skip-unreadable``,
    the images left out."""
    own = {"temperature": temperature, "queries_left_out": n_unusable}
    if images_skipped is not None:
        own["images_skipped"] = images_skipped
    return json.dumps({**shared, **own}, sort_keys=True)
