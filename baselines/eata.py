"""EATA (Niu et al., ICML 2022): by default as TCR's port; ``variant=original`` as the paper.

Per step, on each query's softmax over the whole gallery (docs/protocol.md section 6):

1. reliability filter: keep the low-entropy queries. ``margin_mode="fraction"`` keeps the
   rows with entropy <= the k-th smallest, k = int(``e_margin`` B) (at least 1; TCR's port
   passes ``e_margin=0.40``); ``"lnC"`` keeps entropy < ``e_margin`` ln C, C the gallery size
   (original EATA: ``0.4 ln 1000``).
2. redundancy filter: drop a kept query whose probability vector has |cosine| >=
   ``d_margin`` to the moving average of recent predictions, taken *before* this step; the
   average is then updated with the mean prediction of the queries that passed both filters
   (the first time: the entropy filter), momentum 0.9, on every step; unchanged when none
   passed. The port and the original agree here.
3. loss = mean over the kept queries of H / exp(H - offset) (weight detached):
   - ``variant="tcr"`` (default, TCR's port ``models/tta_baselines/eata.py``, read from its
     Python 3.9 bytecode): offset = ``e_margin`` itself (0.40), the batch fraction reused as
     an entropy margin. When no query is kept the port still calls ``backward`` on the NaN
     mean and steps AdamW with zero gradients, so its moments and weight decay still move
     the weights; bench takes that step too (with a zero-valued loss of zero gradient: the
     recorded loss is 0 where the port logs NaN).
   - ``variant="original"`` (mr-eggplant/EATA): offset = the entropy threshold
     (``e_margin`` ln C; in the fraction mode the batch's threshold entropy, bench's
     pre-port behaviour). No optimizer step at all when no query is kept.
4. optional EWC term ``fisher_alpha * sum F (theta - theta_0)^2`` with the diagonal Fisher
   estimated at setup on ``fisher_size`` clean queries, as EATA's main.py: per batch, the
   cross-entropy against the model's own argmax, squared gradients summed over batches and
   divided by their number. Off by default (``fisher_size=0``; TCR's port passes
   ``fishers=None``; the paper uses 2,000 clean samples). When it is asked for and the cell
   has no clean queries, the method proceeds without it and says so in ``self.state``.

Deliberate differences from the port: k = 0 (a batch of 1 or 2) keeps one row where the
port fails on an empty top-k.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from baselines.variants import resolve_margin_mode
from bench.api.gradient import (
    GradientTTA,
    check_entropies,
    entropy,
    entropy_threshold,
    masked_mean,
    reliable_mask,
)


def redundancy_mask(probs: torch.Tensor, ema_probs: torch.Tensor | None,
                    d_margin: float) -> torch.Tensor:
    """True for rows whose prediction is not redundant with the moving average."""
    if ema_probs is None:
        return torch.ones(probs.shape[0], dtype=torch.bool, device=probs.device)
    cos = F.cosine_similarity(ema_probs.unsqueeze(0), probs, dim=1)
    return cos.abs() < d_margin


def update_ema_probs(ema_probs: torch.Tensor | None, new_probs: torch.Tensor,
                     momentum: float) -> torch.Tensor | None:
    """EATA's moving average of the mean prediction (unchanged when nothing is new)."""
    if new_probs.shape[0] == 0:
        return ema_probs
    mean = new_probs.detach().mean(0)
    return mean if ema_probs is None else momentum * ema_probs + (1 - momentum) * mean


def eata_select(logits: torch.Tensor, mode: str, e_margin: float, ema_probs: torch.Tensor | None,
                d_margin: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(kept mask, entropy threshold, entropy-filter mask) of one step's (B, C) logits."""
    ent = entropy(logits.detach())
    threshold = entropy_threshold(ent, mode, e_margin, logits.shape[1])
    reliable = reliable_mask(ent, threshold, mode)
    kept = reliable & redundancy_mask(logits.detach().softmax(dim=1), ema_probs, d_margin)
    return kept, threshold, reliable


def eata_weights(ent: torch.Tensor, offset: torch.Tensor | float) -> torch.Tensor:
    """EATA's detached sample weight 1 / exp(H - offset)."""
    return 1.0 / torch.exp(ent.detach() - offset)


class EATA(GradientTTA):
    name = "eata"
    rank = 20

    @dataclass
    class Config(GradientTTA.Config):
        variant: str = "tcr"  # "tcr" (TCR's port, the published rows) or "original" (paper)
        margin_mode: str | None = None  # None: the variant's ("fraction" / "lnC")
        e_margin: float = 0.4  # fraction of the batch, or multiple of ln C
        d_margin: float = 0.05  # cosine threshold of the redundancy filter
        ema_momentum: float = 0.9  # moving average of recent mean predictions
        fisher_alpha: float = 2000.0  # weight of the EWC term
        fisher_size: int = 0  # clean queries for the Fisher estimate; 0 = no EWC term
        fisher_batch_size: int = 64

        def __post_init__(self) -> None:
            self.margin_mode = resolve_margin_mode("eata", self.variant, self.margin_mode)

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        self.ema_probs: torch.Tensor | None = None
        self.fishers: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self.state: dict[str, Any] = {"fisher": "off", "n_reliable": 0, "n_kept": 0,
                                      "empty_steps": 0}
        if self.config.fisher_size > 0:
            if ctx.clean_queries is None:
                self.state["fisher"] = "not used: the cell provides no clean queries"
                warnings.warn("eata: fisher_size > 0 but no clean queries; running without EWC",
                              stacklevel=2)
            else:
                self.fishers = self._estimate_fisher(ctx.clean_queries(self.config.fisher_size))
                self.state["fisher"] = f"used: {self.config.fisher_size} clean queries"

    def _estimate_fisher(self, clean: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        params = self.model.params()
        total = [torch.zeros_like(p) for p in params]
        n_batches = 0
        for start in range(0, clean.shape[0], self.config.fisher_batch_size):
            logits = self.gallery_logits(self.model.encode(
                clean[start:start + self.config.fisher_batch_size]))
            loss = F.cross_entropy(logits, logits.detach().argmax(dim=1))
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            for acc, g in zip(total, grads, strict=True):
                if g is not None:
                    acc.add_(g.detach() ** 2)
            n_batches += 1
        # (Fisher diagonal, anchor = the source value of the parameter)
        return [(acc / max(n_batches, 1), p.detach().clone())
                for acc, p in zip(total, params, strict=True)]

    def ewc_loss(self) -> torch.Tensor | None:
        if self.fishers is None:
            return None
        terms = [(f * (p - p0) ** 2).sum()
                 for (f, p0), p in zip(self.fishers, self.model.params(), strict=True)]
        return self.config.fisher_alpha * torch.stack(terms).sum()

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        cfg = self.config
        logits = sims / self.temperature
        ent = entropy(logits)
        check_entropies(ent)
        kept, threshold, reliable = eata_select(logits, cfg.margin_mode, cfg.e_margin,
                                                self.ema_probs, cfg.d_margin)
        # The average is built from the reliable rows the first time (no average to compare
        # with yet) and from the reliable, non-redundant rows afterwards.
        self.ema_probs = update_ema_probs(
            self.ema_probs, logits.detach()[kept].softmax(dim=1), cfg.ema_momentum)
        self.state["n_reliable"] += int(reliable.sum())
        self.state["n_kept"] += int(kept.sum())
        if kept.any():
            offset = cfg.e_margin if cfg.variant == "tcr" else threshold
            h = ent[kept]
            loss = (h * eata_weights(h, offset)).mean()
        elif cfg.variant == "original":
            return None  # the original takes no optimizer step without a kept query
        else:
            self.state["empty_steps"] += 1
            loss = masked_mean(ent, kept)  # 0, zero gradients: AdamW still steps (the port)
        ewc = self.ewc_loss()
        self.record_terms(entropy=loss, ewc=ewc)
        return loss if ewc is None else loss + ewc
