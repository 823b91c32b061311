"""REST (Li, Yang, Peng, "Toward Robust and Harmonious Adaptation for Cross-modal Retrieval",
arXiv 2511.14416): a reconstruction from the paper's description. No official code is public
and the paper's equations were not available; docs/rest.md lists what the paper
states and what is ours. Every component is a `REST.Config` switch, recorded in each result row.

Per step, with q the (B, d) query embeddings, G the frozen gallery and tau = 0.02:

1. refine (TCR's query prediction): g_i = G[argmax_j q_i . G_j] (top-1, duplicates kept);
   TCR's `SourceLikeQueue` of top-1 pairs gives the gap target Delta and the entropy bound E.
   Candidate logits L (B x B): with ``candidates=1``, L = q g^T / tau, exactly TCR's. With
   ``candidates=k > 1``, column j is query j's candidate *set* (its top-k gallery items) and
   L_ij = logsumexp_r(q_i . c_jr / tau): query i's probability of set j is the sum of its
   probabilities of the set's items. We keep L square (not B x kB) so that query i and its own
   set share index i (the consistency term needs that) and so that entropies keep the support
   size B that the queue's bound E was measured on. The queue and the gap stay on top-1 pairs.
2. QS-robust objective = w_rem REM(L; E) + w_uni UNI(q) + w_gap EMG(q, g; Delta)
   + w_cons CONS(L), each term behind its switch; REM, UNI, EMG are TCR's functions.
   CONS = mean_i [KL(P_i || C_i) + KL(C_i || P_i)], P = row softmax of L (query -> candidate),
   C = row softmax of L^T (candidate -> query, i.e. L's column softmax transposed).
3. decouple (``project`` / ``pcgrad``; ``none`` = the module is off, plain backward of step 2):
   g_adapt = grad of step 2's objective; g_keep = grad of KEEP = mean over the queue's queries
   of KL(p_source || p_adapted), where p = softmax(x . Q_cand^T / tau) over the queue's stored
   candidates, x encoded by the source tower (frozen copy taken at setup; once per entry) and
   by the adapted one. The queue's query inputs are kept aligned with its entries (at most its capacity).
   Per parameter tensor, where g_adapt . g_keep < 0, g_adapt loses its component along g_keep
   (`bench.api.gradient.decouple`); the step uses g_adapt + lam * g_keep. Without queue inputs g_keep = 0.

With ``consistency=False, decouple="none"`` this is TCR step for step (tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from baselines.tcr import (
    SourceLikeQueue,
    gap_loss,
    nearest_candidates,
    rem_loss,
    uniformity_loss,
)
from bench.api.contract import Diverged
from bench.api.errors import ConfigError
from bench.api.gradient import (
    GradientTTA,
    check_finite,
    decouple,
    flat_grads,
    set_grads,
    tensor_dots,
)
from bench.api.phases import phase

DECOUPLE_MODES = ("none", "project", "pcgrad")
ENCODE_ROWS = 8  # the fewest rows the source tower encodes at once (`QueueInputs.encode_source`)
NOTE = ("reconstruction from the paper's description (arXiv 2511.14416); no official code is "
        "public, components and defaults are ours where the paper was not available")


def candidate_logits(q: torch.Tensor, gallery: torch.Tensor, sims: torch.Tensor, k: int,
                     tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B x B candidate logits, top-1 candidates); k = 1 gives TCR's ``q g^T / tau``."""
    top1 = nearest_candidates(q, gallery, sims)
    if k == 1:
        return q @ top1.T / tau, top1
    k = min(k, gallery.shape[0])
    sets = gallery[sims.detach().topk(k, dim=1).indices]  # (B, k, d): row j = query j's set
    return torch.logsumexp(torch.einsum("id,jrd->ijr", q, sets) / tau, dim=2), top1


def consistency_loss(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric KL between query->candidate rows and candidate->query rows (L^T), mean."""
    log_p = F.log_softmax(logits, dim=1)
    log_c = F.log_softmax(logits.T, dim=1)
    return ((log_p.exp() - log_c.exp()) * (log_p - log_c)).sum(dim=1).mean()


def keep_loss(adapted_logits: torch.Tensor, source_logits: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(softmax(source) || softmax(adapted))."""
    return F.kl_div(F.log_softmax(adapted_logits, dim=1), F.log_softmax(source_logits, dim=1),
                    log_target=True, reduction="batchmean")


@dataclass
class QueueInputs:
    """The model inputs of a `SourceLikeQueue`'s entries, row-aligned with ``queue.queries``,
    and their source-tower embeddings (``source``; rows of entries not encoded yet are flagged
    in ``missing``)."""

    inputs: torch.Tensor | None = None
    source: torch.Tensor | None = None
    missing: torch.Tensor | None = None  # bool per entry: its source embedding is not known
    version: int = 0  # bumped whenever the entries change (the source logits follow it)
    _small: bool = False  # ``source`` came from a batch of fewer than ENCODE_ROWS rows
    _cut: int | None = None  # token inputs: the longest caption when ``source`` was encoded

    def realign(self, queue: SourceLikeQueue, before: torch.Tensor | None, q: torch.Tensor,
                batch: torch.Tensor) -> None:
        """After ``queue.update(q, ...)``: every entry's embedding is, bit for bit, a row of the
        old entries or of q (the queue stores copies), so its input is found by equality; two
        equal embeddings come from interchangeable inputs. When the queue kept exactly its old
        entries in their order, nothing changes (and the source logits need no re-encoding).
        An old entry keeps its source embedding; a new one is flagged ``missing``."""
        if len(queue) == 0:
            return
        pool_q = q if before is None else torch.cat([before, q])
        equal = (queue.queries[:, None, :] == pool_q[None]).all(dim=2)
        if not bool(equal.any(dim=1).all()):
            raise RuntimeError("a queue entry matches no query of the pool")
        pick = equal.int().argmax(dim=1)
        old = 0 if self.inputs is None else len(self.inputs)
        if old and torch.equal(pick, torch.arange(old, device=pick.device)):
            return  # the old entries, in the same order: the same inputs
        pool_x = batch if self.inputs is None else torch.cat([self.inputs, batch])
        self.inputs = pool_x[pick.to(pool_x.device)]  # inputs stay where the loader put them
        kept = pick < old
        if self.source is None or not bool(kept.any()):
            self.source, self.missing = None, None
        else:
            rows = pick.clamp(max=old - 1).to(self.source.device)
            carried = False if self.missing is None else self.missing[rows]
            self.source = self.source[rows]
            self.missing = ~kept.to(self.source.device) | carried
        self.version += 1

    def encode_source(self, encoder) -> torch.Tensor:
        """The entries' source embeddings: only the entries without one are encoded.

        The frozen source tower never changes, so an entry's source embedding is computed once
        (before, the whole queue was re-encoded whenever an entry changed). So that every
        result equals the whole-queue encoding bit for bit on the CPU (tests/test_rest.py),
        the new entries are encoded among kept ones as the whole queue would be: text towers
        cut a batch to its longest caption (padding is 0), so token inputs take the longest
        kept entry along, and a change of the queue's longest caption re-encodes all; batches
        of fewer than `ENCODE_ROWS` rows are filled up with kept entries, and embeddings from
        a smaller queue are re-encoded at its next change (measured here: 1 image, or up to 5
        captions, take a matrix kernel that rounds some rows differently). A GPU library may
        still round a row differently among other companions (float rounding only).
        """
        tokens = not self.inputs.is_floating_point()
        lengths = (self.inputs != 0).flatten(1).sum(dim=1) if tokens else None
        cut = int(lengths.max()) if tokens else None
        if self.source is not None and (self._small or cut != self._cut):
            self.source = None
        encoded = None
        if self.source is None:
            self.source, encoded = encoder(self.inputs), len(self.inputs)
        elif self.missing is not None and bool(self.missing.any()):
            rows = self.missing.nonzero().squeeze(1)
            kept = (~self.missing).nonzero().squeeze(1)
            if tokens:  # the longest kept captions first
                lengths = lengths.to(kept.device)
                kept = kept[lengths[kept].argsort(descending=True, stable=True)]
            fill = kept[:max(int(tokens), ENCODE_ROWS - len(rows))]
            x = self.inputs[torch.cat([rows, fill]).to(self.inputs.device)]
            self.source[rows] = encoder(x)[:len(rows)].to(self.source.dtype)
            encoded = len(x)
        if encoded is not None:
            self._small = encoded < ENCODE_ROWS
        self._cut, self.missing = cut, None
        return self.source


class REST(GradientTTA):
    """REST: TCR's refinement + QS-robust objective + gradient decoupling (reconstruction).

    A reconstruction from the paper's description (arXiv 2511.14416), with no official code;
    see the module docstring for the loss and docs/rest.md for what is ours.
    """

    name = "rest"
    rank = 70
    note = NOTE
    # component -> the overrides that remove it (read by `bench.studies.ablation`)
    ablation: ClassVar[dict[str, dict]] = {
        "rem": {"rem": False}, "uniformity": {"uniformity": False}, "gap": {"gap": False},
        "consistency": {"consistency": False}, "keep": {"lam": 0.0},  # projection, no g_keep step
        "decouple": {"decouple": "none"},
        "candidates": {"candidates": 1},
    }

    @dataclass
    class Config(GradientTTA.Config):  # `temperature` is unused: the candidate logits use tau
        candidates: int = 1  # k: each query's candidate set = its top-k gallery items
        rem: bool = True
        uniformity: bool = True
        gap: bool = True
        consistency: bool = True
        decouple: str = "project"  # none | project | pcgrad
        w_rem: float = 1.0
        w_uni: float = 1.0
        w_gap: float = 1.0
        w_cons: float = 1.0
        tau: float = 0.02
        lam: float = 1.0  # weight of g_keep in the decoupled step
        queue_ratio: float = 0.3
        queue_capacity: int = 64
        queue_batches: int = 10
        uniformity_t: float = 0.1
        rem_eps: float = 1e-3

        def __post_init__(self) -> None:
            if self.decouple not in DECOUPLE_MODES:
                raise ConfigError(f"rest.decouple must be one of {', '.join(DECOUPLE_MODES)}, "
                                  f"got {self.decouple!r}")
            if not isinstance(self.candidates, int) or self.candidates < 1:
                raise ConfigError(f"rest.candidates must be an integer >= 1, "
                                  f"got {self.candidates!r}")

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        cfg = self.config
        self.queue = SourceLikeQueue(capacity=cfg.queue_capacity, ratio=cfg.queue_ratio,
                                     tau=cfg.tau, max_batches=cfg.queue_batches)
        self.kept = QueueInputs()
        # the frozen source tower is needed only by the keep loss; copy it before any update
        self.source = model.source_encoder() if cfg.decouple != "none" else None
        self._source_logits: torch.Tensor | None = None
        self._source_version = -1
        self.state = {"decoupled_steps": 0, "conflicting_tensors": 0, "tensors": 0}
        if cfg.decouple == "none":
            self.state = {}

    # ---- the QS-robust objective ---------------------------------------------------------

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        cfg = self.config
        logits, top1 = candidate_logits(q, self.ctx.gallery, sims, cfg.candidates, cfg.tau)
        if step == 0:
            with phase("queue"):
                self._update_queue(q, top1, batch)
        terms: dict[str, tuple[float, torch.Tensor]] = {}
        empty = len(self.queue) == 0  # no Delta / E yet: REM and EMG contribute 0, as TCR
        if cfg.rem:
            terms["rem"] = (cfg.w_rem, q.sum() * 0.0 if empty else
                            rem_loss(logits, self.queue.entropy_bound(), cfg.rem_eps))
        if cfg.uniformity:
            terms["uni"] = (cfg.w_uni, uniformity_loss(q, cfg.uniformity_t))
        if cfg.gap:
            terms["gap"] = (cfg.w_gap, q.sum() * 0.0 if empty else
                            gap_loss(q, top1, self.queue.delta()))
        if cfg.consistency:
            terms["cons"] = (cfg.w_cons, consistency_loss(logits))
        self.record_terms(**{k: w * v for k, (w, v) in terms.items()})
        total = None  # summed in TCR's order (rem, uni, gap) so that the identity is exact
        for weight, value in terms.values():
            total = weight * value if total is None else total + weight * value
        return q.sum() * 0.0 if total is None else total

    def _update_queue(self, q: torch.Tensor, top1: torch.Tensor, batch: torch.Tensor) -> None:
        if not bool(torch.isfinite(q).all()):  # NaN rows would match no queue entry below
            raise Diverged("query embeddings became NaN or infinite")
        was_open, before = self.queue.open, self.queue.queries
        self.queue.update(q, top1)
        if was_open and self.source is not None:
            self.kept.realign(self.queue, before, q.detach(), batch)

    # ---- knowledge retention and gradient decoupling -------------------------------------

    def keep_loss(self) -> torch.Tensor | None:
        """KL(source || adapted) on the queue's queries; None while the queue has no inputs."""
        x = self.kept.inputs
        if x is None:
            return None
        cands, tau = self.queue.candidates, self.config.tau
        adapted = self.model.encode(x) @ cands.T / tau
        if self._source_version != self.kept.version:  # the source side changes with the queue
            with torch.no_grad(), phase("source encode"):
                src = self.kept.encode_source(self.source).to(adapted.dtype)
            self._source_logits = src @ cands.T / tau
            self._source_version = self.kept.version
        return keep_loss(adapted, self._source_logits)

    def decoupled_step(self, g_adapt: list[torch.Tensor], keep: torch.Tensor | None) -> None:
        """The step from the adaptation gradient and the keep loss (module docstring, 3)."""
        params = self.model.params()
        with phase("keep backward"):
            g_keep = ([torch.zeros_like(p) for p in params] if keep is None
                      else flat_grads(keep, params))
        if self.trace_grads and keep is not None:  # the conflict REST's surgery resolves
            self.record_angle(g_adapt, g_keep)
        with phase("surgery"):
            dots = tensor_dots(g_adapt, g_keep)
            conflicts = int(torch.stack(dots).lt(0).sum())  # the step's one wait for the device
            g_adapt, g_keep = decouple(g_adapt, g_keep, self.config.decouple, dots=dots)
            lam = self.config.lam
            set_grads(params, [a + lam * b for a, b in zip(g_adapt, g_keep, strict=True)])
        with phase("optimizer"):
            self.optimizer.step()
        self.state["decoupled_steps"] += 1
        self.state["conflicting_tensors"] += conflicts
        self.state["tensors"] += len(params)

    def trace_conflict(self, loss: torch.Tensor) -> None:
        """With decoupling, the traced angle is REST's own g_adapt vs g_keep (`decoupled_step`);
        without it, the keeping objective on clean queries, as for the other methods."""
        if self.config.decouple == "none":
            super().trace_conflict(loss)

    def update(self, loss: torch.Tensor, batch: torch.Tensor) -> float:
        """The decoupled step (module docstring, 3); with ``decouple="none"`` the plain
        protocol update (TCR's). The batch's gradient is taken before the keep loss's
        forward, so the batch's graph is freed first and the two graphs are never held
        together (the same values as the other order: nothing changes the weights between)."""
        if self.config.decouple == "none":
            return super().update(loss, batch)
        with phase("backward"):
            g_adapt = flat_grads(loss, self.model.params())
        with phase("keep forward"):
            keep = self.keep_loss()
        if keep is not None:
            self.record_terms(keep=self.config.lam * keep)  # NaN: Diverged on the next line
        value = check_finite(loss if keep is None else loss + self.config.lam * keep)
        self.decoupled_step(g_adapt, keep)
        return value
