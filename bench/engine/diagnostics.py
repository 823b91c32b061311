"""Diagnostics of the common space: how queries sit against the frozen gallery.

The first three measures are those TCR's official evaluation prints (its ``evaluation.py``
and ``losses.compute_modality_gap``), on L2-normalised embeddings, queries Q (n x d),
gallery G (m x d):

- uniformity(X) = mean_i || x_i - mean(X) ||: the intra-modality uniformity, the mean
  distance to the modality's centroid (higher: more spread out);
- gap(Q, G) = || mean(Q) - mean(G) ||: the modality gap, the distance between the centroids
  of the normalised embeddings (the centroids themselves are not renormalised);
- intermodal_sim(Q, G) = mean_ij q_i . g_j: the mean inter-modality similarity, equal to
  mean(Q) . mean(G), which is how it is computed here (no n x m matrix).

REST's query-gallery consistency is not public; bench's measure follows the batch structure
of REST's consistency term (methods/rest.py): within a batch of B queries, each query i has
its top-1 gallery candidate c_i; the batch's candidate logits are L_ij = q_i . c_j, and query
j is *consistent* when candidate j's most similar query in the batch is j itself
(argmax_i L_ij = j, ties to the first index): query -> candidate -> query comes back. The
consistency of a set is the fraction of its queries that are consistent in their batch
(the stream's batches, or consecutive chunks of the protocol batch size).

All are computed in float64 and are read-only: nothing here touches a model or an RNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MEASURES = ("uniformity_q", "gap", "intermodal_sim", "consistency")
# result-row columns: per measure, the stream's queries on the source model (before) and as
# the adapted model scored them (after), and the clean versions of the same queries
PHASES = ("before", "after", "clean_before", "clean_after")
ROW_COLUMNS = ("uniformity_g",) + tuple(f"{m}_{p}" for p in PHASES for m in MEASURES) \
    + ("grad_angle",)
TRACE_COLUMNS = MEASURES


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.detach().double(), dim=1)


def uniformity(x: torch.Tensor) -> float:
    """Mean distance of the normalised rows to their centroid (TCR's intra uniformity)."""
    x = _unit(x)
    return float((x - x.mean(dim=0)).norm(dim=1).mean())


def modality_gap(q: torch.Tensor, g: torch.Tensor) -> float:
    """Distance between the centroids of the normalised queries and gallery (TCR's gap)."""
    return float((_unit(q).mean(dim=0) - _unit(g).mean(dim=0)).norm())


def intermodal_similarity(q: torch.Tensor, g: torch.Tensor) -> float:
    """Mean cosine similarity over all query-gallery pairs (TCR's inter sim)."""
    return float(_unit(q).mean(dim=0) @ _unit(g).mean(dim=0))


def consistent(q: torch.Tensor, g: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Per query of one batch, whether its top-1 candidate's nearest query in the batch is
    itself (module docstring). ``rows``: ``q @ g.T`` when the caller has it (the scores)."""
    q = q.detach().float()
    rows = q @ g.T if rows is None else rows.detach()
    candidates = g[rows.argmax(dim=1)]  # (B, d): c_j, query j's top-1 gallery item
    logits = q @ candidates.T  # L_ij = q_i . c_j
    return logits.argmax(dim=0) == torch.arange(len(q), device=q.device)


def consistency(q: torch.Tensor, g: torch.Tensor, batch_sizes: list[int]) -> float:
    """Fraction of consistent queries, each judged within its batch (consecutive rows)."""
    hits, start = 0, 0
    for size in batch_sizes:
        hits += int(consistent(q[start:start + size], g).sum())
        start += size
    return hits / start if start else math.nan


def chunks(n: int, size: int) -> list[int]:
    """Batch sizes that cut n rows into consecutive chunks of `size` (the last one shorter)."""
    return [min(size, n - i) for i in range(0, n, size)]


@dataclass
class GallerySummary:
    """What every measure needs of the frozen gallery, computed once per cell."""

    embeddings: torch.Tensor  # (m, d) as the methods see it
    centroid: torch.Tensor  # float64 mean of the normalised rows
    uniformity: float

    @classmethod
    def of(cls, gallery: torch.Tensor) -> GallerySummary:
        return cls(gallery, _unit(gallery).mean(dim=0), uniformity(gallery))

    def measures(self, q: torch.Tensor, batch_sizes: list[int],
                 rows: torch.Tensor | None = None) -> dict[str, float]:
        """The four measures of queries `q` (batched by `batch_sizes`; ``rows`` = their
        scores against the gallery when there is one batch and the caller has them)."""
        if len(q) == 0:
            return dict.fromkeys(MEASURES, math.nan)
        u = _unit(q)
        centroid = u.mean(dim=0)
        g = self.embeddings.to(q.device)
        if rows is not None and len(batch_sizes) == 1:
            cons = float(consistent(q, g, rows).double().mean())
        else:
            cons = consistency(q, g, batch_sizes)
        return {
            "uniformity_q": float((u - centroid).norm(dim=1).mean()),
            "gap": float((centroid - self.centroid.to(q.device)).norm()),
            "intermodal_sim": float(centroid @ self.centroid.to(q.device)),
            "consistency": cons,
        }


def row_values(prefix_values: dict[str, dict[str, float]], gallery: GallerySummary,
               angles: list[float]) -> dict[str, float]:
    """The result row's diagnostic columns from {phase: measures}; absent phases are NaN."""
    out = {"uniformity_g": gallery.uniformity}
    for p in PHASES:
        values = prefix_values.get(p, {})
        out |= {f"{m}_{p}": values.get(m, math.nan) for m in MEASURES}
    finite = [a for a in angles if a is not None and math.isfinite(a)]
    out["grad_angle"] = float(np.mean(finite)) if finite else math.nan
    return out
