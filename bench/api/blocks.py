"""Reusable pieces of TTA losses and updates, beside the protocol's step loop
(bench/api/gradient.py): the finiteness check behind `Diverged`, SAM around any optimizer,
gradient surgery between two objectives, and the entropy filters of EATA, SAR and DeYO.
Methods import them from here or, as before, from bench.api.gradient."""

from __future__ import annotations

import math

import torch

from bench.api.contract import Diverged


def check_finite(loss: torch.Tensor) -> float:
    value = float(loss.detach())
    if not math.isfinite(value):
        raise Diverged(f"loss became {value}")
    return value


# ---- SAM (sharpness-aware minimisation) around any optimizer --------------------------------

@torch.no_grad()
def sam_perturb(params: list[torch.nn.Parameter], rho: float) -> list[torch.Tensor | None]:
    """Move each parameter to w + rho * g / ||g|| (global norm); returns the offsets."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return [None] * len(params)
    norm = torch.norm(torch.stack([g.norm(2) for g in grads]), 2)
    scale = rho / (norm + 1e-12)
    offsets = []
    for p in params:
        if p.grad is None:
            offsets.append(None)
            continue
        e = p.grad * scale
        p.add_(e)
        offsets.append(e)
    return offsets


@torch.no_grad()
def sam_restore(params: list[torch.nn.Parameter], offsets: list[torch.Tensor | None]) -> None:
    for p, e in zip(params, offsets, strict=True):
        if e is not None:
            p.sub_(e)


# ---- gradient surgery between two objectives ------------------------------------------------

def flat_grads(loss: torch.Tensor, params: list[torch.nn.Parameter],
               retain_graph: bool = False) -> list[torch.Tensor]:
    """d loss / d params as a list (zeros for parameters the loss does not reach)."""
    grads = torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def tensor_dots(g_a: list[torch.Tensor], g_b: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per parameter tensor, ``sum(a * b)`` as a 0-d tensor on the gradients' device."""
    return [torch.sum(a * b) for a, b in zip(g_a, g_b, strict=True)]


def _project_out(g: torch.Tensor, direction: torch.Tensor, dot: torch.Tensor) -> torch.Tensor:
    """g minus its component along `direction` when the two conflict (``dot`` < 0).

    The choice is made on the device (`torch.where`), not by a Python ``if`` on ``dot``,
    which on a GPU waits for the device once per parameter tensor; the values are, bit for
    bit, the ones the branch would pick."""
    projected = g - dot / (direction.pow(2).sum() + 1e-20) * direction
    return torch.where(dot >= 0, g, projected)


def decouple(g_main: list[torch.Tensor], g_keep: list[torch.Tensor], mode: str = "project",
             dots: list[torch.Tensor] | None = None,
             ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Gradient surgery, per parameter tensor.

    - ``none``: both unchanged.
    - ``project``: where g_main conflicts with g_keep (dot < 0), remove from
      g_main its component along g_keep; g_keep unchanged.
    - ``pcgrad``: project both ways (each onto the normal plane of the other,
      using the original gradients), as in PCGrad (Yu et al., 2020).

    ``dots``: `tensor_dots(g_main, g_keep)` when the caller already has them.
    """
    if mode == "none":
        return list(g_main), list(g_keep)
    if mode not in ("project", "pcgrad"):
        raise ValueError(f"unknown decouple mode {mode!r} (none, project, pcgrad)")
    dots = tensor_dots(g_main, g_keep) if dots is None else dots
    main = [_project_out(a, b, d) for a, b, d in zip(g_main, g_keep, dots, strict=True)]
    if mode == "project":
        return main, list(g_keep)
    # a * b and b * a are the same floats, so the dot serves both directions
    return main, [_project_out(b, a, d) for a, b, d in zip(g_main, g_keep, dots, strict=True)]


def angle_degrees(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """The angle between two gradients (lists of tensors, flattened together), in degrees;
    NaN when either is zero (no direction)."""
    dot = sum(float((x.double() * y.double()).sum()) for x, y in zip(a, b, strict=True))
    norm_a = math.sqrt(sum(float(x.double().pow(2).sum()) for x in a))
    norm_b = math.sqrt(sum(float(y.double().pow(2).sum()) for y in b))
    if norm_a == 0.0 or norm_b == 0.0:
        return math.nan
    return math.degrees(math.acos(max(-1.0, min(1.0, dot / (norm_a * norm_b)))))


def set_grads(params: list[torch.nn.Parameter], grads: list[torch.Tensor]) -> None:
    for p, g in zip(params, grads, strict=True):
        p.grad = g.detach().clone()


# ---- sample selection shared by the entropy-filtering baselines (EATA, SAR, DeYO) -----------

MARGIN_MODES = ("fraction", "lnC")


def check_entropies(ent: torch.Tensor) -> None:
    """Raise `Diverged` when a prediction is NaN/inf: a filter would silently drop it."""
    check_finite(ent.detach().sum())


def entropy_threshold(ent: torch.Tensor, mode: str, value: float, n_classes: int) -> torch.Tensor:
    """The entropy margin of a batch, as a 0-d tensor.

    - ``fraction``: the k-th smallest entropy, k = max(1, int(value * B)) (TCR's ports of
      the baselines keep the lowest-entropy fraction of each batch).
    - ``lnC``: ``value * ln(n_classes)``, the originals' fixed margin.
    """
    ent = ent.detach()
    if mode == "fraction":
        k = max(1, int(value * ent.numel()))
        return ent.kthvalue(min(k, ent.numel())).values
    if mode == "lnC":
        return ent.new_tensor(value * math.log(n_classes))
    raise ValueError(f"unknown margin mode {mode!r} ({', '.join(MARGIN_MODES)})")


def reliable_mask(ent: torch.Tensor, threshold: torch.Tensor, mode: str) -> torch.Tensor:
    """Rows kept by the entropy filter: ``<=`` the batch quantile, ``<`` the ln C margin
    (the fraction mode keeps exactly k rows unless entropies tie)."""
    ent = ent.detach()
    return ent <= threshold if mode == "fraction" else ent < threshold


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` over `mask`; 0 (still attached to the graph, zero gradient) when the
    mask is empty, where ``values[mask].mean()`` would be NaN."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)
