"""TCR (Li et al., ICLR 2025, "Test-time Adaptation for Cross-modal Retrieval with Query Shift"),
as docs/protocol.md section 6 states it, checked against the official code
(XLearning-SCU/2025-ICLR-TCR: models/clip_model.py ``forward_tta``, losses.py,
models/tta_baselines/tcr.py, main.py).

Per step, with q the (B, d) query embeddings and G the frozen gallery:

1. candidates g_i = G[argmax_j q_i . G_j]; two queries with the same nearest item share it,
   and the B x B candidate matrix then has duplicate columns (the code indexes G by the
   argmax; it does not deduplicate).
2. queue (`SourceLikeQueue`): at step 0 of each of the first 10 batches, without gradient:
   indicator I_i = 2||q_i - g_i|| - ||q_i - mean q|| - ||g_i - mean g||; the int(0.3 B)
   rows with the smallest I are pushed with their entropy; the queue keeps the 64 entries
   of smallest I. The stored entropy is the row's entropy of softmax(q_i . g^T / tau) over
   the batch's B candidates (the REM entropy of step 0), not over the whole gallery. The
   batch's own pairs enter before Delta and E are read. In the code the capacity is the total
   batch size (``max_queue_size = batch_size_total = 64``); here a separate field.
   Delta = ||mean q_queue - mean g_queue|| (both re-normalised), E = max entropy in the queue.
3. REM: h_i = entropy of row i of q g^T / tau (tau 0.02, TCR's own ``--temperature``; the
   dataset temperature is not used by TCR); w_i = max(0, 1 - h_i / (E + 1e-3)), detached;
   loss = mean of w_i h_i over h_i <= E. The code's mean over an empty set is NaN (its
   gradient is still zero); `rem_loss` returns a graph-attached 0 instead, same gradient.
4. UNI = mean exp(-t ||q_i - mean q||), t = 0.1; EMG = (||mean q - mean g|| - Delta)^2.
5. loss = REM + UNI + EMG (weights 1, ``forward_and_adapt``).

[ours] Before the queue has any entry (a first batch with int(0.3 B) = 0, i.e. B < 4), REM and
EMG have no Delta/E and contribute 0; the code would fail there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from bench.api.gradient import GradientTTA, entropy, masked_mean
from bench.api.phases import phase


def nearest_candidates(q: torch.Tensor, gallery: torch.Tensor,
                       sims: torch.Tensor | None = None) -> torch.Tensor:
    """Each query's top-1 gallery item (duplicates kept)."""
    sims = q @ gallery.T if sims is None else sims
    return gallery[sims.detach().argmax(dim=1)]


def modality_gap(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||mean(normalize(a)) - mean(normalize(b))|| (the code re-normalises its inputs)."""
    return torch.linalg.vector_norm(F.normalize(a, dim=1).mean(0) - F.normalize(b, dim=1).mean(0))


def rem_loss(logits: torch.Tensor, bound: torch.Tensor | float, eps: float = 1e-3) -> torch.Tensor:
    """Noise-robust entropy over (B, B) candidate logits, with entropy bound E."""
    h = entropy(logits)
    weight = torch.clamp(1.0 - h.detach() / (bound + eps), min=0.0)
    return masked_mean(h * weight, h.detach() <= bound)


def uniformity_loss(q: torch.Tensor, t: float = 0.1) -> torch.Tensor:
    """Mean exp(-t ||q_i - mean q||): small when the queries spread around their centre."""
    return torch.exp(-t * torch.linalg.vector_norm(q - q.mean(0), dim=1)).mean()


def gap_loss(q: torch.Tensor, g: torch.Tensor, delta: torch.Tensor | float) -> torch.Tensor:
    """(query-candidate modality gap - Delta)^2."""
    return (modality_gap(q, g) - delta) ** 2


def pair_indicator(q: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """TCR's source-likeness indicator (smaller = more source-like pair)."""
    gap = torch.linalg.vector_norm(q - g, dim=1)
    return (2 * gap - torch.linalg.vector_norm(q - q.mean(0), dim=1)
            - torch.linalg.vector_norm(g - g.mean(0), dim=1))


@dataclass
class SourceLikeQueue:
    """The queue of source-like (query, candidate) pairs that gives Delta and E."""

    capacity: int = 64
    ratio: float = 0.3
    tau: float = 0.02
    max_batches: int = 10
    batches_seen: int = 0
    indicator: torch.Tensor | None = None
    queries: torch.Tensor | None = None
    candidates: torch.Tensor | None = None
    entropies: torch.Tensor | None = None
    FIELDS: ClassVar[tuple[str, ...]] = ("indicator", "queries", "candidates", "entropies")

    def __len__(self) -> int:
        return 0 if self.indicator is None else int(self.indicator.numel())

    @property
    def open(self) -> bool:
        return self.batches_seen < self.max_batches

    @torch.no_grad()
    def update(self, q: torch.Tensor, g: torch.Tensor) -> None:
        """Call once per batch (at step 0): pushes while the queue is open, then counts."""
        if self.open:
            self.push(q.detach(), g.detach())
        self.batches_seen += 1

    @torch.no_grad()
    def push(self, q: torch.Tensor, g: torch.Tensor) -> None:
        ind = pair_indicator(q, g)
        ent = entropy(q @ g.T / self.tau)
        top = torch.argsort(ind)[:int(self.ratio * q.shape[0])]
        new = {"indicator": ind[top], "queries": q[top], "candidates": g[top],
               "entropies": ent[top]}
        for name in self.FIELDS:
            old = getattr(self, name)
            setattr(self, name, new[name] if old is None else torch.cat([old, new[name]]))
        keep = torch.argsort(self.indicator)[:self.capacity]  # the smallest indicators
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name)[keep])

    def delta(self) -> torch.Tensor:
        return modality_gap(self.queries, self.candidates)

    def entropy_bound(self) -> torch.Tensor:
        return self.entropies.max()


class TCR(GradientTTA):
    name = "tcr"
    rank = 60

    @dataclass
    class Config(GradientTTA.Config):  # `temperature` is unused: TCR has its own tau
        tau: float = 0.02  # temperature of the B x B candidate logits
        queue_ratio: float = 0.3  # share of each batch pushed into the queue
        queue_capacity: int = 64
        queue_batches: int = 10  # the queue is filled from the first batches only
        uniformity_t: float = 0.1
        rem_eps: float = 1e-3
        w_rem: float = 1.0
        w_uni: float = 1.0
        w_gap: float = 1.0

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        cfg = self.config
        self.queue = SourceLikeQueue(capacity=cfg.queue_capacity, ratio=cfg.queue_ratio,
                                     tau=cfg.tau, max_batches=cfg.queue_batches)

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        cfg = self.config
        g = nearest_candidates(q, self.ctx.gallery, sims)
        if step == 0:
            with phase("queue"):
                self.queue.update(q, g)
        uni = uniformity_loss(q, cfg.uniformity_t)
        if len(self.queue) == 0:
            rem = gap = q.sum() * 0.0
        else:
            rem = rem_loss(q @ g.T / cfg.tau, self.queue.entropy_bound(), cfg.rem_eps)
            gap = gap_loss(q, g, self.queue.delta())
        self.record_terms(rem=cfg.w_rem * rem, uni=cfg.w_uni * uni, gap=cfg.w_gap * gap)
        return cfg.w_rem * rem + cfg.w_uni * uni + cfg.w_gap * gap
