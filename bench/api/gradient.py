"""The protocol's step loop for gradient methods (`GradientTTA`) and the entropies.

Every method in `baselines/` and `methods/` is its own loss on top of these. SAM, gradient
surgery and the entropy filters live beside the loop in bench/api/blocks.py; the names
below keep them importable from here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench.api.blocks import MARGIN_MODES as MARGIN_MODES
from bench.api.blocks import angle_degrees as angle_degrees
from bench.api.blocks import check_entropies as check_entropies
from bench.api.blocks import check_finite as check_finite
from bench.api.blocks import decouple as decouple
from bench.api.blocks import entropy_threshold as entropy_threshold
from bench.api.blocks import flat_grads as flat_grads
from bench.api.blocks import masked_mean as masked_mean
from bench.api.blocks import reliable_mask as reliable_mask
from bench.api.blocks import sam_perturb as sam_perturb
from bench.api.blocks import sam_restore as sam_restore
from bench.api.blocks import set_grads as set_grads
from bench.api.blocks import tensor_dots as tensor_dots
from bench.api.contract import StepOutput, TTAMethod
from bench.api.phases import phase
from bench.api.protocol import DEFAULT_LR


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of softmax(logits) per row."""
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def entropy_of_probs(probs: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return -(probs * (probs + eps).log()).sum(dim=-1)


def effective_lr(lr: float, model) -> float:
    """The learning rate a method uses on `model`: the default (3e-4) means the protocol's
    rate for the backbone and direction, the query tower's ``default_lr`` where it has one
    (TCR: 3e-5 for BLIP t2i); a rate set away from the default is used as given."""
    own = model.default_lr
    return own if own is not None and lr == DEFAULT_LR else lr


class GradientTTA(TTAMethod):
    """The protocol's online loop for gradient methods (docs/protocol.md section 2).

    Per batch, ``steps`` times: forward (encode the batch, similarities to the gallery)
    -> `loss` -> `update`. The scored rows are the last step's forward; `adapt` is the
    only place that encodes for the loop and keeps those rows. Two hooks:

    - `loss` (required): the step's objective from that forward; None skips the update.
    - `update` (optional): how the step's loss changes the weights. The default is one
      AdamW step on the query tower's LayerNorm parameters; SAR overrides it with its
      sharpness-aware step, REST with its decoupled step.
    """

    @dataclass
    class Config:
        lr: float = DEFAULT_LR
        weight_decay: float = 1e-4
        temperature: float | None = None  # None: the dataset's value (docs/protocol.md section 6)

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        self.optimizer = self.new_optimizer()
        self.clear_terms()
        self._updated = False  # an update has changed the weights since setup
        self._keep_probe: KeepProbe | None = None
        if self.trace_grads and ctx.clean_queries is not None:
            self._keep_probe = KeepProbe.at_source(model, ctx.gallery,
                                                   ctx.clean_queries(KEEP_PROBE_SIZE))

    def new_optimizer(self) -> torch.optim.Optimizer:
        """AdamW on the query tower's LayerNorm parameters at the method's rate (a fresh
        one at setup; SAR's original variant starts a new one at each reset)."""
        return torch.optim.AdamW(self.model.params(), lr=effective_lr(self.config.lr, self.model),
                                 weight_decay=self.config.weight_decay)

    # ---- loss terms in the trace: a method only names them (`record_terms`) ---------------

    def record_terms(self, **terms: torch.Tensor | None) -> None:
        """Name this step's loss terms, each as it enters the loss (weight included; None:
        absent). Their values, and with `trace_grads` the L2 norm of each one's gradient on
        ``model.params()``, go to the cell's trace (the last step of each batch that named
        terms). A call naming a term already recorded starts a new step's record; other
        calls add to it. Gradients come from ``torch.autograd.grad`` with the graph kept and
        ``.grad`` untouched, so the method's update, and every result, stays the same."""
        terms = {k: v for k, v in terms.items() if v is not None}
        if set(terms) & set(self._terms):  # a new step: its terms only (the angles stay)
            self._terms, self.term_grads = {}, {}
        # kept as tensors and read as floats once per batch (`terms`): reading a value back
        # from a GPU waits for it, and only the batch's last step reaches the trace
        self._terms.update({k: v.detach() for k, v in terms.items()})
        if self.trace_grads:
            params = self.model.params()
            self.term_grads.update({k: grad_norm(v, params) for k, v in terms.items()})

    def clear_terms(self) -> None:
        """Forget the recorded terms and angles (the protocol calls it before each batch)."""
        self._terms: dict[str, torch.Tensor] = {}
        self.term_grads: dict[str, float] = {}
        self.grad_angles: list[float] = []

    # ---- gradient conflict in the trace (`trace_grads`) -----------------------------------

    def record_angle(self, g_update: list[torch.Tensor], g_keep: list[torch.Tensor]) -> None:
        """Add this step's conflict angle (degrees) between the gradient the update descends
        and the knowledge-keeping gradient to the batch's trace."""
        # before the first update the weights are the source, the keeping objective's minimum:
        # its gradient is zero up to rounding, and the angle to rounding noise means nothing
        self.grad_angles.append(angle_degrees(g_update, g_keep) if self._updated else math.nan)

    def trace_conflict(self, loss: torch.Tensor) -> None:
        """With `trace_grads`, this step's angle between d loss / d params and the gradient
        of the keeping objective on clean queries (`KeepProbe`), both by
        ``torch.autograd.grad`` with ``.grad`` untouched: the update is unchanged. A method
        whose update has its own keeping gradient (REST) records that one instead."""
        if self._keep_probe is None or not loss.requires_grad:
            return
        params = self.model.params()
        g_update = flat_grads(loss, params, retain_graph=True)
        self.record_angle(g_update, flat_grads(self._keep_probe.loss(self.model), params))

    @property
    def terms(self) -> dict[str, float]:
        """The recorded terms' values (see `record_terms`)."""
        return {k: float(v) for k, v in self._terms.items()}

    @property
    def temperature(self) -> float:
        return self.config.temperature or self.ctx.temperature

    def gallery_logits(self, q: torch.Tensor) -> torch.Tensor:
        """Logits of each query over the whole gallery (softmax temperature applied)."""
        return q @ self.ctx.gallery.T / self.temperature

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int,
             batch: torch.Tensor) -> torch.Tensor | None:
        """This step's loss from the loop's forward: ``q`` the (B, d) query embeddings,
        ``sims = q @ gallery.T`` (no temperature), ``step`` in ``0..steps-1``, ``batch``
        the model inputs. None: no update this step."""
        raise NotImplementedError

    def update(self, loss: torch.Tensor, batch: torch.Tensor) -> float:
        """Change the weights with this step's `loss`; return the loss value the trace
        records. Default: check it is finite (`Diverged` if not), zero the gradients,
        backward and one optimizer step (no step when the loss reaches no parameter)."""
        value = check_finite(loss)
        self.optimizer.zero_grad(set_to_none=True)
        if loss.requires_grad:
            with phase("backward"):
                loss.backward()
            with phase("optimizer"):
                self.optimizer.step()
        return value

    def adapt(self, batch: torch.Tensor) -> StepOutput:
        rows, last = None, float("nan")
        for step in range(self.ctx.steps):
            with phase("forward"):
                q = self.model.encode(batch)
                sims = q @ self.ctx.gallery.T
            if step == self.ctx.steps - 1:
                rows = sims.detach()  # the protocol scores the last step's forward
            with phase("loss"):
                loss = self.loss(q, sims, step, batch)
            if loss is None:
                continue
            if self.trace_grads:
                with phase("trace grads"):
                    self.trace_conflict(loss)
            with phase("update"):
                last = self.update(loss, batch)
            self._updated = True
        return StepOutput(rows=rows, loss=last, embeddings=q.detach())


def grad_norm(value: torch.Tensor, params: list[torch.nn.Parameter]) -> float:
    """||d value / d params||, the L2 norm over all tensors; 0 when value does not reach them.
    The graph is kept and no ``.grad`` is written."""
    if not value.requires_grad:
        return 0.0
    grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    squares = [g.detach().double().pow(2).sum() for g in grads if g is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


# ---- the knowledge-keeping objective of the conflict angle ---------------------------------

KEEP_PROBE_SIZE = 64  # clean queries in the probe (REST's queue capacity)
KEEP_TAU = 0.02  # the candidate logits' temperature (TCR's and REST's tau)


@dataclass
class KeepProbe:
    """REST's keeping objective on clean queries, for methods that have none of their own:
    KEEP = mean over the probe's queries x of KL(p_source(x) || p_adapted(x)), with
    p = softmax(x . C^T / tau) over C, each probe query's top-1 gallery item under the source
    model (as REST's queue candidates). Its gradient is zero at the source weights."""

    inputs: torch.Tensor
    candidates: torch.Tensor  # (n, d)
    source_logits: torch.Tensor  # (n, n)

    @classmethod
    def at_source(cls, model, gallery: torch.Tensor, inputs: torch.Tensor) -> KeepProbe:
        """Built at setup, while `model` still holds the source weights. Encoded with
        autograd on, as `loss` encodes (a tower may take another kernel without it): at the
        source weights both sides are the same floats and the gradient is exactly zero."""
        src = model.encode(inputs).detach()
        candidates = gallery[(src @ gallery.T).argmax(dim=1)]
        return cls(inputs, candidates, src @ candidates.T / KEEP_TAU)

    def loss(self, model) -> torch.Tensor:
        adapted = model.encode(self.inputs) @ self.candidates.T / KEEP_TAU
        return F.kl_div(F.log_softmax(adapted, dim=1), F.log_softmax(self.source_logits, dim=1),
                        log_target=True, reduction="batchmean")
