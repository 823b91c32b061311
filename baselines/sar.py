"""SAR (Niu et al., ICLR 2023) for retrieval (docs/protocol.md sections 2 and 6).

Each of the protocol's steps is one SAR update, as in the original's ``forward_and_adapt_sar``
(mr-eggplant/SAR, sar.py):

1. first forward -> entropy of each query's softmax over the whole gallery -> keep the
   reliable queries -> mean entropy -> backward;
2. SAM: move the LayerNorm parameters to w + rho g/||g|| (``sam_perturb``);
3. second forward -> keep the queries kept in 1 whose entropy is still below the margin
   -> mean entropy -> backward; restore w; AdamW step with these gradients;
4. EMA (0.9) of the second loss (only when that loss exists, i.e. is not NaN in the
   original); when the EMA is below ``reset_constant`` (0.2), reset: the LayerNorm
   parameters go back to their values at setup (the source) and AdamW starts fresh.

The scored rows are the first forward of the last step (the original returns those).

Margins: ``margin_mode="fraction"`` (default, TCR's port: ``margin_e0=0.40``) keeps the
lowest-entropy 40 % of the batch in the first forward (<= the k-th smallest entropy) and
re-filters the second forward with that same threshold value (strict <), as the public ports
of TCR's baselines do; ``"lnC"`` uses ``e_margin * ln C`` for both (strict <, original SAR).

Empty filters: the original's mean over an empty set is NaN, whose backward gives zero
gradients, so AdamW still steps (moments decay) and the EMA is left alone; here the empty
mean is a graph-attached 0 with the same zero gradients, and the step is taken likewise.

Reset and the EMA: the original's ``reset()`` sets ``ema = None`` but its forward loop then
writes the pre-reset EMA back (``self.ema = ema`` after ``self.reset()``), so the EMA carries
over a reset. ``clear_ema_on_reset=False`` (default) follows the code; True follows the
paper's wording.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.api import StepOutput
from bench.registry import register_method
from bench.tta import (
    GradientTTA,
    check_entropies,
    check_finite,
    entropy,
    entropy_threshold,
    masked_mean,
    reliable_mask,
    sam_perturb,
    sam_restore,
)


@register_method("sar")
class SAR(GradientTTA):
    name = "sar"

    @dataclass
    class Config(GradientTTA.Config):
        margin_mode: str = "fraction"  # "fraction" (TCR's port) or "lnC" (original SAR)
        e_margin: float = 0.4  # fraction of the batch, or multiple of ln C
        rho: float = 0.05  # SAM neighbourhood radius
        ema_momentum: float = 0.9  # moving average of the second loss
        reset_constant: float = 0.2  # reset when the moving average falls below this
        clear_ema_on_reset: bool = False  # the original code keeps the EMA over a reset

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        # The runner restored the source weights before setup: these are the reset target.
        self.initial = [p.detach().clone() for p in model.params()]
        self.ema: float | None = None
        self.state = {"resets": 0}

    def _new_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.model.params(), lr=self.config.lr,
                                 weight_decay=self.config.weight_decay)

    @torch.no_grad()
    def reset_to_source(self) -> None:
        for p, p0 in zip(self.model.params(), self.initial, strict=True):
            p.copy_(p0)
        self.optimizer = self._new_optimizer()
        self.state["resets"] += 1
        if self.config.clear_ema_on_reset:
            self.ema = None

    def _entropies(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sims = self.model.encode(batch) @ self.ctx.gallery.T
        ent = entropy(sims / self.temperature)
        check_entropies(ent)
        return sims, ent

    def adapt(self, batch: torch.Tensor) -> StepOutput:
        cfg = self.config
        params = self.model.params()
        rows, last = None, float("nan")
        for step in range(self.ctx.steps):
            sims, ent = self._entropies(batch)
            if step == self.ctx.steps - 1:
                rows = sims.detach()
            threshold = entropy_threshold(ent, cfg.margin_mode, cfg.e_margin, sims.shape[1])
            kept1 = reliable_mask(ent, threshold, cfg.margin_mode)
            self.optimizer.zero_grad(set_to_none=True)
            masked_mean(ent, kept1).backward()
            offsets = sam_perturb(params, cfg.rho)
            self.optimizer.zero_grad(set_to_none=True)

            _, ent2 = self._entropies(batch)
            kept2 = kept1 & (ent2.detach() < threshold)
            loss2 = masked_mean(ent2, kept2)
            last = check_finite(loss2)
            if kept2.any():
                self.ema = last if self.ema is None else (
                    cfg.ema_momentum * self.ema + (1 - cfg.ema_momentum) * last)
            loss2.backward()
            sam_restore(params, offsets)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            if self.ema is not None and self.ema < cfg.reset_constant:
                self.reset_to_source()
        return StepOutput(rows=rows, loss=last)
