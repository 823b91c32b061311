"""SAR (Niu et al., ICLR 2023): by default as TCR's port; ``variant=original`` as the paper.

Each of the protocol's steps is one SAR update (docs/protocol.md sections 2 and 6), as in
``forward_and_adapt_sar`` (mr-eggplant/SAR; TCR's port models/tta_baselines/sar.py):

1. first forward -> entropy of each query's softmax over the whole gallery -> keep the
   reliable queries -> mean entropy -> backward;
2. SAM: move the LayerNorm parameters to w + rho g/||g|| (``sam_perturb``);
3. second forward -> keep the queries kept in 1 whose entropy is still below the margin
   (strict <) -> mean entropy -> backward; restore w; AdamW step with these gradients;
4. EMA (0.9) of the second loss; when it is below ``reset_constant`` (0.2), reset the
   LayerNorm parameters to their values at setup (the source).

The scored rows are the first forward of the last step (both codes return those). Step 1 is
SAR's `loss` on the protocol loop's forward; steps 2-4 are its `update` (the loop's hook).

Margins: ``margin_mode="fraction"`` (TCR's port: ``margin_e0=0.40``) keeps the lowest-entropy
40 % of the batch in the first forward (<= the k-th smallest entropy, k = int(0.4 B), at least
1) and re-filters the second forward with that same threshold value; ``"lnC"`` (the original:
0.4 ln 1000) uses ``e_margin`` ln C for both.

The variants differ in two places:

- ``variant="tcr"`` (default, the port): the reset reloads the model's and SAM's saved
  states; SAM's state does not hold the inner AdamW's moments and step count, so they carry
  over the reset (``optimizer.state`` is kept here too). An empty second filter gives the
  port a constant loss 0.0, which is not NaN, so the EMA is updated with 0 (and a reset
  soon follows).
- ``variant="original"`` (the paper): the reset starts a fresh AdamW; the mean over an empty
  second filter is NaN, so the EMA is left alone.

Empty second filter, both variants: the weights are restored and AdamW steps with zero
gradients (moments decay, weight decay applies), as under torch 1.x, where ``zero_grad``
leaves zero tensors. [Under torch >= 2.0 the port's constant loss reaches no parameter, its
``second_step`` skips the restore and AdamW skips the update, leaving the SAM-perturbed
weights; bench does not copy that.]

Reset and the EMA: both codes' ``reset()`` set ``ema = None`` but the forward loop then
writes the pre-reset EMA back (``self.ema = ema`` after ``self.reset()``), so the EMA carries
over a reset. ``clear_ema_on_reset=False`` (default) follows the code; True follows the
paper's wording.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from baselines.variants import resolve_margin_mode
from bench.api.gradient import (
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


class SAR(GradientTTA):
    name = "sar"
    rank = 30

    @dataclass
    class Config(GradientTTA.Config):
        variant: str = "tcr"  # "tcr" (TCR's port, the published rows) or "original" (paper)
        margin_mode: str | None = None  # None: the variant's ("fraction" / "lnC")
        e_margin: float = 0.4  # fraction of the batch, or multiple of ln C
        rho: float = 0.05  # SAM neighbourhood radius
        ema_momentum: float = 0.9  # moving average of the second loss
        reset_constant: float = 0.2  # reset when the moving average falls below this
        clear_ema_on_reset: bool = False  # both codes keep the EMA over a reset

        def __post_init__(self) -> None:
            self.margin_mode = resolve_margin_mode("sar", self.variant, self.margin_mode)

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        # The runner restored the source weights before setup: these are the reset target.
        self.initial = [p.detach().clone() for p in model.params()]
        self.ema: float | None = None
        self.state = {"resets": 0, "empty_second_filter": 0}
        # the first filter of the current step, from `loss` to `update`
        self.threshold = torch.tensor(0.0, device=ctx.gallery.device)
        self.kept1 = torch.zeros(0, dtype=torch.bool, device=ctx.gallery.device)

    @torch.no_grad()
    def reset_to_source(self) -> None:
        for p, p0 in zip(self.model.params(), self.initial, strict=True):
            p.copy_(p0)
        if self.config.variant == "original":
            self.optimizer = self.new_optimizer()
        self.state["resets"] += 1
        if self.config.clear_ema_on_reset:
            self.ema = None

    def _entropies(self, sims: torch.Tensor) -> torch.Tensor:
        """Entropy of each query's softmax over the whole gallery (both forwards)."""
        ent = entropy(sims / self.temperature)
        check_entropies(ent)
        return ent

    def update_ema(self, loss: float, empty: bool) -> None:
        """The EMA of the second loss; an empty filter counts as 0 in the port, not at all in
        the original."""
        if empty:
            self.state["empty_second_filter"] += 1
            if self.config.variant == "original":
                return
            loss = 0.0
        m = self.config.ema_momentum
        self.ema = loss if self.ema is None else m * self.ema + (1 - m) * loss

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        """Step 1: the first forward's entropies, the reliable queries, their mean entropy."""
        cfg = self.config
        ent = self._entropies(sims)
        self.threshold = entropy_threshold(ent, cfg.margin_mode, cfg.e_margin, sims.shape[1])
        self.kept1 = reliable_mask(ent, self.threshold, cfg.margin_mode)
        loss1 = masked_mean(ent, self.kept1)
        self.record_terms(entropy=loss1)  # at w; sam_entropy in `update`: at w + e
        return loss1

    def update(self, loss: torch.Tensor, batch: torch.Tensor) -> float:
        """Steps 2-4: SAM perturbation, second forward and filter, restore, AdamW step, EMA
        and reset. Returns the second loss (the one the EMA follows)."""
        cfg = self.config
        params = self.model.params()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        offsets = sam_perturb(params, cfg.rho)
        self.optimizer.zero_grad(set_to_none=True)

        ent2 = self._entropies(self.model.encode(batch) @ self.ctx.gallery.T)
        kept2 = self.kept1 & (ent2.detach() < self.threshold)
        loss2 = masked_mean(ent2, kept2)
        value = check_finite(loss2)
        self.update_ema(value, empty=not kept2.any())
        self.record_terms(sam_entropy=loss2)
        loss2.backward()
        sam_restore(params, offsets)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None and self.ema < cfg.reset_constant:
            self.reset_to_source()
        return value
