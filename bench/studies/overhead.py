"""The harness's overhead (`python -m bench perf overhead`): one Tent cell run by
bench against a bare, hand-written Tent loop on the same model, gallery and queries.

What is timed, in one process, on resources both sides share (the model, the dataset, the
gallery embeddings and the shifted query set are loaded once, before any round):

* bench: `execute_cell` (method from the registry, `run_cell`: seeding, the protocol's
  loop, the metrics of every query, per-segment and trace records, the row) and writing
  the row, its trace and its per-query outcomes to a fresh results store: all a local
  run does per cell once its resources are loaded.
* bare: `bare_tent`, written here without bench's method, loop or metrics code: reset the
  weights, AdamW on the query tower's LayerNorm parameters, per batch ``steps`` times
  encode, similarities, mean entropy of the whole-gallery softmax, backward, step (the
  last step's similarities are scored), and R@1 counted with the protocol's tie rule.

Rounds alternate which side goes first, after one untimed run of each; a round's ratio is
bench / bare. Both must give the same R@1, or the times are not of the same work.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class CellOverhead:
    title: str
    queries: int
    bench_s: list[float]  # per round
    bare_s: list[float]
    bench_hits: int  # queries whose best relevant item is ranked first
    bare_hits: int

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.bench_s, self.bare_s, strict=True)]

    @property
    def same_r1(self) -> bool:
        return self.bench_hits == self.bare_hits

    def r1(self, hits: int) -> float:
        return 100.0 * hits / max(self.queries, 1)


def bare_tent(model, gallery: torch.Tensor, batches: list[np.ndarray], inputs, relevant,
              steps: int, lr: float, weight_decay: float, temperature: float) -> int:
    """Tent written out by hand; returns the number of R@1 hits. ``model``: the query tower
    (``encode``, ``params``) at its source weights; ``inputs(positions)``: the model inputs
    of those stream positions; ``relevant[p]``: the gallery indices relevant to position p.
    A query is a hit when its best relevant item scores at least as high as every other
    item (optimistic ties, the protocol's rule)."""
    optimizer = torch.optim.AdamW(model.params(), lr=lr, weight_decay=weight_decay)
    hits = 0
    for positions in batches:
        x = inputs(positions)
        for _ in range(steps):
            sims = model.encode(x) @ gallery.T
            rows = sims.detach()
            logp = torch.log_softmax(sims / temperature, dim=1)
            loss = -(logp.exp() * logp).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scores = rows.float().cpu().numpy()  # one copy per batch, also from a GPU
        top = scores.max(axis=1)
        hits += sum(int(scores[i, relevant[p]].max() >= top[i]) for i, p in enumerate(positions))
    return hits


def _bench_once(cell, res, run_id: str) -> tuple[float, int]:
    """bench's side: the cell as the local executor runs it, written to a fresh store;
    returns seconds and R@1 hits (from the row's R@1 and query count)."""
    from bench.engine.guards import write_row
    from bench.engine.store import ResultStore
    from bench.studies.inprocess import execute_ok

    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp))
        start = time.perf_counter()
        result = execute_ok(cell, res, run_id)
        write_row(store, result.row, result.trace, result.outcomes)
        row = result.row
        seconds = time.perf_counter() - start
    return seconds, round(row["r1"] * row["n_queries"] / 100)


def _bare_side(cell, res):
    """The bare side, ready to time: a function running `bare_tent` once on the cell's own
    model, gallery, batches and settings (from `res`, loaded by the warm-up as
    `execute_cell` loads them) and returning (seconds, R@1 hits); and the queries scored."""
    from bench.api.gradient import effective_lr
    from bench.api.protocol import TEMPERATURE
    from bench.engine.cell_run import cell_plan
    from bench.engine.loop import stream_batches

    rm, ds, protocol, config = res.model(cell), res.dataset(cell), cell.protocol, cell.config
    plan = cell_plan(cell, ds)
    queries = res.queries(cell, plan)
    gallery = res.gallery(cell).to(rm.device)
    batches = stream_batches(plan, queries, protocol.batch_size)

    def once() -> tuple[float, int]:
        start = time.perf_counter()
        rm.restore_source()
        torch.manual_seed(cell.seed)
        model = rm.query_model(cell.spec.direction)
        hits = bare_tent(model, gallery, batches, queries.batch, queries.relevant,
                         protocol.steps, effective_lr(config.lr, model), config.weight_decay,
                         config.temperature or TEMPERATURE[ds.kind])
        seconds = time.perf_counter() - start
        rm.restore_source()
        return seconds, hits

    return once, sum(len(b) for b in batches)


def cell_overhead(cell, res, rounds: int, run_id: str) -> CellOverhead:
    """Interleaved rounds of bench and bare on one Tent cell, after an untimed run of each."""
    bench_hits = _bench_once(cell, res, run_id)[1]  # warm-up: loads the cell's resources
    bare_once, n = _bare_side(cell, res)
    bare_hits = bare_once()[1]
    bench_s, bare_s = [], []
    for k in range(rounds):
        for side in (("bench", "bare") if k % 2 == 0 else ("bare", "bench")):
            if side == "bench":
                bench_s.append(_bench_once(cell, res, run_id)[0])
            else:
                bare_s.append(bare_once()[0])
    return CellOverhead(cell.title, n, bench_s, bare_s, bench_hits, bare_hits)


def overhead_table(cells: list[CellOverhead]) -> str:
    """One line per cell and one for all: median seconds of each side, the per-round ratio
    bench / bare (median [min-max]; all cells: summed per round), and both R@1."""
    def ratio(values: list[float]) -> str:
        return f"{statistics.median(values):.3f}x [{min(values):.3f}-{max(values):.3f}]"

    w = max([len(c.title) for c in cells] + [28])
    lines = [f"{'cell':<{w}} {'queries':>7} {'bench s':>8} {'bare s':>8} {'bench / bare':>22} "
             f"{'R@1 bench':>9} {'R@1 bare':>9}"]
    for c in cells:
        lines.append(f"{c.title:<{w}} {c.queries:>7} {statistics.median(c.bench_s):>8.2f} "
                     f"{statistics.median(c.bare_s):>8.2f} {ratio(c.ratios):>22} "
                     f"{c.r1(c.bench_hits):>9.2f} {c.r1(c.bare_hits):>9.2f}")
    if len(cells) > 1:
        bench = [sum(v) for v in zip(*(c.bench_s for c in cells), strict=True)]
        bare = [sum(v) for v in zip(*(c.bare_s for c in cells), strict=True)]
        lines.append(f"{'all cells (summed per round)':<{w}} "
                     f"{sum(c.queries for c in cells):>7} {statistics.median(bench):>8.2f} "
                     f"{statistics.median(bare):>8.2f} "
                     f"{ratio([a / b for a, b in zip(bench, bare, strict=True)]):>22}")
    return "\n".join(lines)
