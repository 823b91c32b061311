"""Run one cell: the resources a run shares (models, datasets, galleries, query sets) and
the row each cell yields (ok, failed, diverged or unavailable)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench.api.contract import Diverged
from bench.api.errors import DataError, UnavailableError
from bench.api.protocol import TEMPERATURE
from bench.api.registry import METHODS, SHIFTS, SUITES
from bench.data.check import checked
from bench.data.dataset import RetrievalDataset
from bench.data.preprocess import PRE_CAPTION
from bench.data.released import missing_released
from bench.engine.cells import Cell
from bench.engine.inputs import InputOptions, QuerySet, build_queries, gallery_embeddings
from bench.engine.loop import (
    DiagnosticInputs,
    protocol_record,
    run_cell,
    shared_protocol_record,
    source_embeddings,
    stream_batches,
)
from bench.engine.provenance import peak_memory_mb, provenance
from bench.engine.settings import Runtime
from bench.models.openclip import RANDOM, RetrievalModel
from bench.models.registered import resolve_model
from bench.suites.base import SuiteContext
from bench.suites.streams import StreamPlan, plan_stream


class Resources:
    """Models, datasets, galleries and query sets, each made once per run, as the run's
    runtime says (its cache, workers, plugins and folders)."""

    def __init__(self, runtime: Runtime, device: torch.device):
        self.runtime = runtime
        self.device = device
        self.build = InputOptions(cache=runtime.cache, workers=runtime.workers,
                                  quiet=runtime.quiet, plugins=tuple(runtime.plugins),
                                  built_dir=runtime.built_dir)
        self._models: dict[tuple, RetrievalModel] = {}
        self._datasets: dict[tuple, RetrievalDataset] = {}
        self._galleries: dict[tuple, torch.Tensor] = {}
        self._queries: dict[tuple, QuerySet] = {}
        self._source_q: dict[tuple, torch.Tensor] = {}
        self.images_skipped: dict[tuple, int] = {}  # (suite, dataset) -> images left out

    def model(self, cell: Cell) -> RetrievalModel:
        inputs = cell.inputs
        key = (cell.model, cell.pretrained, cell.seed if cell.pretrained == RANDOM else 0,
               cell.image_size, inputs and inputs.image, inputs and inputs.activation)
        if key not in self._models:
            self._models.clear()  # one model in memory at a time
            self._galleries.clear()
            self._queries.clear()
            self._source_q.clear()
            self._models[key] = resolve_model(
                cell.model, cell.pretrained or None, self.device, seed=key[2],
                image_size=cell.image_size, prep=inputs and inputs.image,
                activation=inputs and inputs.activation)
        return self._models[key]

    def dataset(self, cell: Cell) -> RetrievalDataset:
        key = (cell.suite, cell.spec.dataset)
        if key not in self._datasets:
            suite = SUITES.get(cell.suite)
            ds = suite.load(cell.spec.dataset, SuiteContext(data_root=self.runtime.data_root,
                                                          quiet=self.runtime.quiet))
            if cell.inputs is not None:  # real data: every image opens, or exit 2 / skip
                ds, self.images_skipped[key] = checked(ds, cell.inputs.skip_unreadable)
            self._datasets[key] = ds
        return self._datasets[key]

    def gallery(self, cell: Cell) -> torch.Tensor:
        key = (cell.suite, cell.spec.dataset, cell.spec.direction)
        if key not in self._galleries:
            self._galleries[key] = gallery_embeddings(self.dataset(cell), cell.spec.direction,
                                                      self.model(cell), self.build,
                                                      caption_rule=_caption_rule(cell))
        return self._galleries[key]

    def queries(self, cell: Cell, plan, clean: bool = False) -> QuerySet:
        s = cell.spec
        key = (cell.suite, s.dataset, s.direction, s.stream, s.segments, s.shift, s.severity,
               cell.protocol.limit, clean, cell.inputs and cell.inputs.queries,
               cell.protocol.corruption_seed)
        if key not in self._queries:
            build = dataclasses.replace(self.build,
                                        corruption_seed=cell.protocol.corruption_seed)
            if cell.inputs is not None and cell.inputs.queries == "released":
                build = dataclasses.replace(build, released_root=self.runtime.data_root)
            self._queries[key] = build_queries(self.dataset(cell), s.direction, plan,
                                               self.model(cell), build, clean=clean,
                                               caption_rule=_caption_rule(cell))
        return self._queries[key]


    def source_queries(self, cell: Cell, queries: QuerySet, batches: list[np.ndarray],
                       known: torch.Tensor | None = None) -> torch.Tensor:
        """The source model's embeddings of a query set (`loop.source_embeddings`), kept for
        the run and cached on disk under the model, the inputs' bytes and the batches: every
        method of a shift shares one encoding pass. ``known``: those embeddings as a cell of
        a `scores_source` method scored them, stored instead of encoding (same floats)."""
        rm = self.model(cell)
        raw = queries.raw.numpy() if isinstance(queries.raw, torch.Tensor) else queries.raw
        order = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
        parts = {"model": rm.name, "weights": rm.weights_id, "preprocess": rm.preprocess_id,
                 "activation": rm.activation, "direction": cell.spec.direction,
                 "inputs": hashlib.sha256(np.ascontiguousarray(raw).tobytes()).hexdigest(),
                 "batches": hashlib.sha256(np.asarray([len(b) for b in batches]).tobytes()
                                           + order.astype(np.int64).tobytes()).hexdigest()}
        key = tuple(sorted(parts.items()))
        if key not in self._source_q:
            self._source_q[key] = self.build.cache.tensor(
                "source-queries", parts,
                lambda: source_embeddings(rm, cell.spec.direction, queries, batches)
                if known is None else known)
        return self._source_q[key]

    def forget_diagnostic_inputs(self) -> None:
        """Drop the source passes and clean query sets held for the run, so that the next
        cell builds its own (`perf diagnostics` times a lone cell this way)."""
        self._source_q.clear()
        clean = [key for key in self._queries if key[8]]  # the key's `clean` flag
        for key in clean:
            del self._queries[key]

    def diagnostic_inputs(self, cell: Cell, plan: StreamPlan, queries: QuerySet
                          ) -> DiagnosticInputs:
        """The source embeddings the diagnostics read, each built when first read; a
        `scores_source` method's cell reads none and leaves its scored embeddings as the
        source pass of its queries (in its stream's batches) for the cells after it."""
        size = cell.protocol.batch_size
        clean_plan = plan if cell.spec.shift == "clean" else plan.clean_plan()

        def source() -> torch.Tensor:
            return self.source_queries(cell, queries, stream_batches(plan, queries, size))

        def keep_source(scored: np.ndarray, embedded: torch.Tensor) -> None:
            known = torch.zeros(len(queries.usable), embedded.shape[1])
            known[torch.as_tensor(scored)] = embedded.detach().float().cpu()
            self.source_queries(cell, queries, stream_batches(plan, queries, size), known)

        def clean_source() -> torch.Tensor:
            if clean_plan is plan:
                return source()
            clean = self.queries(cell, clean_plan, clean=True)
            where = {int(q): k for k, q in enumerate(clean_plan.query_ids)}
            at = np.asarray([where[int(q)] for q in plan.query_ids], dtype=np.int64)
            # the clean version of each stream batch: the batches a `source` cell of the clean
            # shift encodes (same seed, same order), so that its scored embeddings serve here
            batches = [b[clean.usable[b]] for b in (at[p] for p in
                                                     stream_batches(plan, queries, size))]
            embedded = self.source_queries(cell, clean, [b for b in batches if len(b)])
            return embedded[at]

        scored_are_source = METHODS.get(cell.method).scores_source
        return DiagnosticInputs(source, clean_source, scored_are_source,
                                keep_source if scored_are_source else None)


def _caption_rule(cell: Cell) -> str:
    return cell.inputs.caption_rule if cell.inputs is not None else PRE_CAPTION


def _unavailable_reason(cell: Cell) -> str | None:
    if cell.inputs is not None and cell.inputs.queries == "released":
        return None  # the released files hold every shift (checked before the first cell)
    for seg in cell.spec.stream_segments():
        ok, reason = SHIFTS.get(seg.shift).is_available()
        if not ok:
            return f"shift {seg.shift}: {reason}"
    return None


def segment_minimum(cell: Cell) -> int:
    """Queries per segment a multi-segment stream needs at least (bench.suites.streams); none
    under ``--limit``, which takes the first N queries for a quick look."""
    if cell.protocol.limit is not None:
        return 0
    return cell.spec.min_segment_batches * cell.protocol.batch_size


def cell_plan(cell: Cell, ds: RetrievalDataset) -> StreamPlan:
    """The cell's stream plan: which queries, in which seeded order, in which segments."""
    s = cell.spec
    n = ds.n_images if s.direction == "i2t" else ds.n_captions
    return plan_stream(n, s.stream_segments(), s.stream, cell.seed, cell.protocol.limit,
                       min_segment=segment_minimum(cell))


def _base_row(cell: Cell, device: torch.device) -> dict:
    s = cell.spec
    return {
        "cell_id": cell.cell_id, "suite": cell.suite, "suite_version": cell.suite_version,
        "dataset": s.dataset, "direction": s.direction, "shift": s.shift,
        "severity": s.severity, "stream": s.stream, "method": cell.label,
        "method_config": METHODS.get(cell.method).config_dict(cell.config),
        "method_note": METHODS.get(cell.method).note, "model": cell.model,
        "pretrained": cell.pretrained or "shipped", "seed": cell.seed,
        "inputs": None if cell.inputs is None else cell.inputs.record(),
        **provenance(device),
    }


@dataclasses.dataclass
class CellResult:
    """What one cell yields: its row (status ok, failed, diverged or unavailable), and for
    a cell that ran, its per-batch trace and per-query outcomes (the store's three tables)."""

    row: dict
    trace: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None


def execute_cell(cell: Cell, res: Resources, run_id: str, progress: bool) -> CellResult:
    """Run one cell; always returns a row (ok, failed, diverged or unavailable)."""
    row = _base_row(cell, res.device) | {"run_id": run_id}
    reason = _unavailable_reason(cell)
    if reason:
        return CellResult(row | {"status": "unavailable", "error": reason})
    start = time.perf_counter()
    trace = outcomes = None
    try:
        rm, ds = res.model(cell), res.dataset(cell)
        s = cell.spec
        plan = cell_plan(cell, ds)
        gallery = res.gallery(cell)
        queries = res.queries(cell, plan)
        retention = s.retention or cell.retention
        clean = queries if s.shift == "clean" else (  # built only when read (lazily)
            lambda: res.queries(cell, plan.clean_plan(), clean=True))
        method = METHODS.get(cell.method)(cell.config)
        method.trace_grads = cell.trace_grads
        if res.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(res.device)
        t0 = time.perf_counter()
        out = run_cell(method, rm, s.direction, ds.kind, gallery, plan, queries,
                       cell.protocol.steps, cell.protocol.batch_size, cell.seed,
                       clean_queries=clean, retention=retention,
                       progress=None if not progress else cell.title,
                       diagnostics=res.diagnostic_inputs(cell, plan, queries)
                       if cell.diagnostics else None)
        adapt_s = time.perf_counter() - t0
        row |= out.metrics | {
            "status": "ok", "n_queries": out.n_queries, "n_gallery": int(gallery.shape[0]),
            "retention_r1": out.retention_r1, "segment_r1": out.segment_r1 or None,
            "method_state": out.method_state, **(out.diagnostics or {}),
            "queries_per_s": out.n_queries / max(adapt_s, 1e-9),
            "protocol": protocol_record(
                shared_protocol_record(cell.protocol), TEMPERATURE[ds.kind],
                int((~queries.usable).sum()),
                images_skipped=res.images_skipped.get((cell.suite, s.dataset), 0)
                if cell.inputs is not None and cell.inputs.skip_unreadable else None),
        }
        trace, outcomes = out.trace, out.outcomes
    except Diverged as err:
        row |= {"status": "diverged", "error": str(err)}
    except UnavailableError as err:
        row |= {"status": "unavailable", "error": str(err)}
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a failing cell is recorded and the run goes on
        where = traceback.extract_tb(err.__traceback__)[-1]
        row |= {"status": "failed",
                "error": f"{type(err).__name__}: {err} (at {Path(where.filename).name}:{where.lineno})"}
    row["wall_s"] = time.perf_counter() - start
    row["peak_mem_mb"] = peak_memory_mb(res.device)
    return CellResult(row, trace, outcomes)


def check_released(cells: list[Cell], res: Resources) -> None:
    """With `--queries released`, every released file the cells need exists (else exit 2)."""
    problems, seen = [], set()
    for cell in cells:
        if cell.inputs is None or cell.inputs.queries != "released":
            continue
        for seg in cell.spec.stream_segments():
            key = (cell.suite, cell.spec.dataset, seg.shift, seg.severity)
            if seg.shift == "clean" or key in seen:
                continue
            seen.add(key)
            why = missing_released(res.dataset(cell), res.runtime.data_root, seg.shift,
                                   seg.severity, SHIFTS.get(seg.shift).modality)
            if why:
                problems.append(why)
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise DataError(f"--queries released: {problems[0]}{more}",
                        "TCR's coco-IP/, coco-TP/, flickr-IP/, flickr-TP/ go beside coco/ and "
                        "flickr30k/ under --data-root")
