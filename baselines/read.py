"""READ (Yang et al., ICLR 2024, "Test-time Adaption against Multi-modal Reliability Bias")
for retrieval (docs/protocol.md section 6).

Our reading of the official code (``forward_and_adapt`` in its ``read.py``; the same two terms
appear in the public ports of TCR's baselines), with p = softmax(logits) per query:

- confidence-aware robust loss, ``loss_ra = mean_i p_max,i * (1 - log p_max,i + log gamma)``
  with gamma = exp(-1); that is docs/protocol.md's ``p_max (1 - log p_max - 1)`` = -p_max log p_max.
  Its gradient in p_max is log(gamma / p_max): confident predictions (p_max > gamma) are
  pushed up, unconfident ones (p_max < gamma) down, rather than all sharpened as in Tent.
- balance term, ``loss_bal = H(softmax(sum_i p_i))``: the entropy of a softmax (not a
  normalisation) of the batch-summed probability vectors; it is subtracted (weight 1), so
  the batch is kept from collapsing onto a few gallery items.
- loss = loss_ra - balance_weight * loss_bal.

The original adapts the fusion layer's attention projections of a multi-modal classifier;
here, as every baseline under this protocol, the query tower's LayerNorms, and the logits
are the whole-gallery similarities over the dataset's temperature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench.api.gradient import GradientTTA, entropy


def read_loss(logits: torch.Tensor, gamma: float = math.exp(-1),
              balance_weight: float = 1.0) -> torch.Tensor:
    """READ's objective on (B, C) logits."""
    logp = F.log_softmax(logits, dim=1)
    log_pmax = logp.max(dim=1).values
    pmax = log_pmax.exp()
    loss_ra = (pmax * (1.0 - log_pmax + math.log(gamma))).mean()
    p_sum = logp.exp().sum(dim=0)
    loss_bal = entropy(p_sum.unsqueeze(0)).squeeze(0)
    return loss_ra - balance_weight * loss_bal


class READ(GradientTTA):
    name = "read"
    rank = 40

    @dataclass
    class Config(GradientTTA.Config):
        gamma: float = math.exp(-1)  # confidence pivot of the robust loss
        balance_weight: float = 1.0  # weight of the (subtracted) balance entropy

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        return read_loss(sims / self.temperature, self.config.gamma, self.config.balance_weight)
