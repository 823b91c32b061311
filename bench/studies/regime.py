"""The adaptation regime of a cell, measured step by step (`python -m bench regime`).

For a gradient method on a cell, at every call of its loss (the protocol's 3 steps per
batch): the precision of the top-1 pseudo-labels (is the query's argmax gallery item
relevant?) over the batch and over the rows the loss trusts, the fraction of rows it trusts,
the entropy of each query's softmax over the whole gallery at the method's temperature, and
the relative size of the step's update of the adapted parameters, ||delta theta|| / ||theta||
(read around the method's `update`, so SAR's SAM step and model reset are inside it).

The rows a loss trusts are read off the loss itself: a row is kept when the loss's gradient
with respect to that query's embedding is non-zero (EATA's, SAR's first and DeYO's filters
give their dropped rows exactly zero gradient; READ's balance term reaches every row, Tent
trusts every row). A row whose softmax is saturated in float32 (entropy 0) has zero gradient
too, though a filter kept it: it teaches the model nothing. Where the method counts the
rows its filters keep in ``state["n_kept"]`` (EATA, DeYO), the per-step difference of that
counter is recorded beside it (``n_kept_state``). The
gradient is taken with ``torch.autograd.grad`` with the graph kept and no ``.grad``
written, and the weights are read, not changed: the cell's results are those of `run`.

The cell runs through the engine's own `run_cell` on resources loaded once
(`bench.studies.inprocess`); only the method instance is wrapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

STEP_COLUMNS = ["method", "shift", "direction", "batch", "step", "n", "n_gallery", "p1_all",
                "n_kept", "p1_kept", "n_kept_state", "n_confident", "p1_confident",
                "ent_mean", "ent_q10", "ent_q50", "ent_q90", "ln_c", "update_rel"]

CONFIDENT = math.exp(-1)  # READ's pivot: rows whose p_max it pushes up rather than down


def top1_correct(sims: torch.Tensor, relevant: list[np.ndarray]) -> np.ndarray:
    """Per row of (B, C) similarities: is its argmax gallery item among the relevant ones?
    (Ties go to the lowest index, torch's argmax.)"""
    top = sims.detach().argmax(dim=1).cpu().numpy()
    return np.array([int(t) in set(np.asarray(r).tolist()) for t, r in zip(top, relevant,
                                                                             strict=True)])


def softmax_entropy(sims: torch.Tensor, temperature: float) -> torch.Tensor:
    """Entropy (nats) of softmax(sims / temperature) per row."""
    logp = torch.log_softmax(sims.detach().double() / temperature, dim=1)
    return -(logp.exp() * logp).sum(dim=1)


def trusted_rows(loss: torch.Tensor | None, q: torch.Tensor) -> torch.Tensor:
    """Rows of q whose gradient of ``loss`` is non-zero (graph kept, no ``.grad`` written)."""
    if loss is None or not loss.requires_grad or not q.requires_grad:
        return torch.zeros(q.shape[0], dtype=torch.bool)
    (g,) = torch.autograd.grad(loss, q, retain_graph=True, allow_unused=True)
    if g is None:
        return torch.zeros(q.shape[0], dtype=torch.bool)
    return (g.detach() != 0).any(dim=1).cpu()


def param_vector(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().double().reshape(-1).cpu() for p in params])


@dataclass
class StepProbe:
    """Wraps one method instance's `loss` and `adapt`; collects one record per loss call."""

    method: object
    relevant: list[np.ndarray] = field(default_factory=list)  # the current batch's
    records: list[dict] = field(default_factory=list)
    batch: int = -1  # the stream's batch being adapted
    # a second temperature at which the same similarities' calibration is also read (the
    # model's own trained one, say); the method never sees it
    other_temperature: float | None = None

    def install(self) -> None:
        loss, update = self.method.loss, self.method.update

        def probed_loss(q, sims, step, batch):
            counted = self._state_kept()
            out = loss(q, sims, step, batch)  # the update, if any, follows (probed_update)
            after = self._state_kept()
            self._record(q, sims, step, out, None if counted is None else after - counted)
            return out

        def probed_update(loss_value, batch):
            before = param_vector(self.method.model.params())
            out = update(loss_value, batch)
            after = param_vector(self.method.model.params())
            self.records[-1]["update_rel"] = float((after - before).norm()
                                                   / before.norm().clamp(min=1e-30))
            return out

        self.method.loss = probed_loss
        self.method.update = probed_update

    def begin_batch(self, relevant: list[np.ndarray]) -> None:
        self.relevant = relevant
        self.batch += 1

    def _state_kept(self) -> int | None:
        state = self.method.state
        return int(state["n_kept"]) if isinstance(state, dict) and "n_kept" in state else None

    def _record(self, q, sims, step, loss, n_kept_state) -> None:
        temperature = self.method.temperature
        correct = top1_correct(sims, self.relevant)
        kept = trusted_rows(loss, q).numpy()
        ent = softmax_entropy(sims, temperature).cpu().numpy()
        pmax = torch.softmax(sims.detach().double() / temperature, dim=1).max(dim=1).values
        confident = (pmax > CONFIDENT).cpu().numpy()
        self.records.append({
            "batch": self.batch, "step": step, "n": len(correct), "n_gallery": int(sims.shape[1]),
            "p1_all": float(correct.mean()), "n_kept": int(kept.sum()),
            "p1_kept": float(correct[kept].mean()) if kept.any() else math.nan,
            "n_kept_state": n_kept_state, "n_confident": int(confident.sum()),
            "p1_confident": float(correct[confident].mean()) if confident.any() else math.nan,
            "ent_mean": float(ent.mean()), "ent_q10": float(np.quantile(ent, 0.1)),
            "ent_q50": float(np.quantile(ent, 0.5)), "ent_q90": float(np.quantile(ent, 0.9)),
            "ln_c": math.log(sims.shape[1]), "update_rel": 0.0})  # no update: 0
        if self.other_temperature is not None:
            t = self.other_temperature
            ent_t = softmax_entropy(sims, t).cpu().numpy()
            conf_t = (torch.softmax(sims.detach().double() / t, dim=1).max(dim=1).values
                      > CONFIDENT).cpu().numpy()
            self.records[-1] |= {
                "other_t": t, "other_ent_q50": float(np.quantile(ent_t, 0.5)),
                "other_n_confident": int(conf_t.sum()),
                "other_p1_confident": float(correct[conf_t].mean()) if conf_t.any() else math.nan}


def probe_cell(cell, res, other_temperature: float | None = None,
               ) -> tuple[pd.DataFrame, dict]:
    """Run ``cell`` through the engine's `run_cell` with its method wrapped by a `StepProbe`;
    returns one row per loss call (`STEP_COLUMNS`) and the cell's metrics."""
    from bench.api.registry import METHODS
    from bench.engine.cell_run import cell_plan
    from bench.engine.loop import run_cell

    rm, ds = res.model(cell), res.dataset(cell)
    s = cell.spec
    plan = cell_plan(cell, ds)
    gallery = res.gallery(cell)
    queries = res.queries(cell, plan)
    method = METHODS.get(cell.method)(cell.config)
    probe = StepProbe(method, other_temperature=other_temperature)
    probe.install()
    out = run_cell(method, rm, s.direction, ds.kind, gallery, plan, _Announcing(queries, probe),
                   cell.protocol.steps, cell.protocol.batch_size, cell.seed)
    steps = pd.DataFrame(probe.records)
    steps.insert(0, "direction", s.direction)
    steps.insert(0, "shift", s.shift)
    steps.insert(0, "method", cell.label)
    other = [c for c in steps.columns if c.startswith("other_")]
    return steps[STEP_COLUMNS + other], out.metrics | {"state": out.method_state}


class _Announcing:
    """A query set that tells the probe which batch (its relevant items) comes next."""

    def __init__(self, queries, probe: StepProbe):
        self.queries, self.probe = queries, probe
        self.usable, self.relevant = queries.usable, queries.relevant

    def batch(self, positions):
        self.probe.begin_batch([self.queries.relevant[p] for p in positions])
        return self.queries.batch(positions)

    def __getattr__(self, name):
        # every other part of the query set (its scoring, its cut-offs) is the wrapped one's
        return getattr(self.queries, name)


def summary(steps: pd.DataFrame, metrics: dict[tuple[str, str, str], dict]) -> pd.DataFrame:
    """One row per (direction, shift, method): means over the stream's steps (first and last
    fifth apart for the precisions and the kept fraction), pooled entropy quantiles, the
    median relative update."""
    rows = []
    for (direction, shift, method), g in steps.groupby(["direction", "shift", "method"],
                                                       sort=False):
        n = g["n"].to_numpy()
        kept = g["n_kept"].to_numpy()
        fifth = max(1, len(g) // 5)
        first, last = g.iloc[:fifth], g.iloc[-fifth:]
        state = g["n_kept_state"].dropna()
        rows.append({
            "direction": direction, "shift": shift, "method": method,
            "r1": metrics[(direction, shift, method)]["r1"],
            "p1_all": 100 * float((g["p1_all"] * n).sum() / n.sum()),
            "p1_all_first": 100 * _weighted(first, "p1_all", "n"),
            "p1_all_last": 100 * _weighted(last, "p1_all", "n"),
            "kept": float(kept.sum() / n.sum()),
            "kept_last": float(last["n_kept"].sum() / last["n"].sum()),
            "kept_state": math.nan if state.empty else float(state.sum() / n[state.index
                                                                             - g.index[0]].sum()),
            "p1_kept": 100 * _weighted(g, "p1_kept", "n_kept"),
            "p1_kept_first": 100 * _weighted(first, "p1_kept", "n_kept"),
            "p1_kept_last": 100 * _weighted(last, "p1_kept", "n_kept"),
            "confident": float(g["n_confident"].sum() / n.sum()),
            "p1_confident": 100 * _weighted(g, "p1_confident", "n_confident"),
            "ent_mean_over_lnc": float((g["ent_mean"] * n).sum() / n.sum() / g["ln_c"].iloc[0]),
            "ent_q10": float(g["ent_q10"].median()), "ent_q50": float(g["ent_q50"].median()),
            "ent_q90": float(g["ent_q90"].median()), "ln_c": float(g["ln_c"].iloc[0]),
            "update_rel": float(g["update_rel"].median()),
            "update_rel_total": float(g["update_rel"].sum()),
            "steps": len(g),
        } | ({} if "other_t" not in g else {
            "other_t": float(g["other_t"].iloc[0]),
            "other_ent_q50": float(g["other_ent_q50"].median()),
            "other_confident": float(g["other_n_confident"].sum() / n.sum()),
            "other_p1_confident": 100 * _weighted(g, "other_p1_confident", "other_n_confident"),
        }))
    return pd.DataFrame(rows)


def _weighted(g: pd.DataFrame, value: str, weight: str) -> float:
    w = g[weight].to_numpy(dtype=float)
    v = g[value].to_numpy(dtype=float)
    ok = w > 0
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else math.nan


def markdown(table: pd.DataFrame) -> str:
    """The summary as a Markdown table (percentages to one decimal)."""
    head = ("| dir | shift | method | R@1 | P@1 all (first / last fifth) | kept (last fifth) "
            "| filter kept (state) | P@1 kept (first / last fifth) | p_max>1/e: frac, P@1 | H/lnC | H q10 / q50 / q90 "
            "| ln C | step norm(Δθ)/norm(θ) (median; sum) |")
    lines = [head, "|" + "---|" * 13]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.direction} | {r.shift} | {r.method} | {r.r1:.1f} | {r.p1_all:.1f} "
            f"({r.p1_all_first:.1f} / {r.p1_all_last:.1f}) | {r.kept:.2f} ({r.kept_last:.2f}) "
            f"| {'-' if r.kept_state != r.kept_state else f'{r.kept_state:.2f}'} | {_pct(r.p1_kept)} ({_pct(r.p1_kept_first)} / {_pct(r.p1_kept_last)}) "
            f"| {r.confident:.2f}, {_pct(r.p1_confident)} | {r.ent_mean_over_lnc:.2f} "
            f"| {r.ent_q10:.2f} / {r.ent_q50:.2f} / {r.ent_q90:.2f} | {r.ln_c:.2f} "
            f"| {r.update_rel:.1e}; {r.update_rel_total:.1e} |")
    if "other_t" in table:
        lines += ["", "| dir | shift | method | temperature | p_max>1/e: frac, P@1 | H q50 |",
                  "|---|---|---|---|---|---|"]
        for r in table.itertuples(index=False):
            for t, frac, p1, q50 in ((0.0, r.confident, r.p1_confident, r.ent_q50),
                                     (r.other_t, r.other_confident, r.other_p1_confident,
                                      r.other_ent_q50)):
                label = "the method's" if t == 0.0 else f"{t:g}"
                lines.append(f"| {r.direction} | {r.shift} | {r.method} | {label} "
                             f"| {frac:.2f}, {_pct(p1)} | {q50:.2f} |")
    return "\n".join(lines)


def _pct(v: float) -> str:
    return "-" if v != v else f"{v:.1f}"
