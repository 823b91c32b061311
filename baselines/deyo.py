"""DeYO (Lee et al., ICLR 2024): by default as TCR's port; ``variant=original`` as the paper.

Per step (docs/protocol.md section 6), on each query's softmax over the whole gallery:

1. entropy filter (``filter_ent``):
   - ``variant="tcr"`` (default; TCR's port ``models/tta_baselines/deyo.py``, read from its
     Python 3.9 bytecode, ``deyo_margin=0.50``): k = int(0.5 B); keep entropy *strictly
     below* the k-th smallest (so at most k - 1 rows); nothing when k = 0.
   - ``variant="original"`` (Jhyun17/DeYO): entropy < ``deyo_margin`` ln C (0.5 ln 1000 in
     the paper); with ``margin_mode="fraction"``, <= the k-th smallest (bench's pre-port rule).
   No update when none is kept.
2. PLPD = p(y|x) - p(y|x') for the kept queries, y = argmax p(.|x), x' encoded without
   gradient:
   - images (i2t), both variants: the ``patch`` augmentation, the image cut into a 4 x 4 grid
     of patches put back in a random order (a new order per query and per step); a side that
     is not a multiple of 4 is resized to the next lower multiple and back.
   - captions (t2i): the port feeds the *unchanged* caption as x', so PLPD = 0 exactly (the
     model is in eval mode; bench reuses the first forward's probabilities instead of a
     second identical forward). The original has no text path; ``variant="original"`` uses
     bench's token shuffle **[bench]**: the content tokens between SOT and EOT in a random
     order, SOT, EOT and the padding in place.
3. keep PLPD > ``plpd_threshold``; None = the variant's: TCR's port 0.0 for i2t and -1 for
   t2i (no filter, as PLPD = 0 there), the original 0.2. No update when none is kept.
4. loss = mean over the kept queries of H * coeff:
   - tcr: ``1 / (exp(H - theta) + 0.1) + exp(PLPD) + 0.1`` with H and PLPD detached but
     theta not: theta = the k-th smallest entropy of the finally kept rows, taken by
     ``topk(largest=False)`` on entropies that carry the graph, k = int(``margin_e0`` n)
     (0.40), so the gradient also flows through theta into that row's entropy; theta = inf
     (a constant) when k = 0, so the entropy weight is 10. ``theta_graph=False`` detaches
     theta (the weight is then a constant of the step).
   - original (Jhyun17/DeYO): ``exp(-(H - E0)) + exp(PLPD)``, coeff detached, E0 =
     ``margin_e0`` ln C (0.4 ln 1000 in the paper), or in the fraction mode the
     ``margin_e0`` quantile entropy of the whole batch.
   ``reweight_ent`` / ``reweight_plpd`` switch the two terms off (coeff 1 when both are off).

The shuffles draw from a generator seeded at setup from ``torch.initial_seed()`` (the runner
seeds torch with the cell seed first), so a cell is reproducible; the port draws from the
global generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from baselines.variants import resolve_margin_mode
from bench.api.errors import ConfigError
from bench.api.gradient import (
    GradientTTA,
    check_entropies,
    entropy,
    entropy_threshold,
    reliable_mask,
)


def patch_shuffle(images: torch.Tensor, patch_len: int, generator: torch.Generator) -> torch.Tensor:
    """Each image's patch_len x patch_len grid of patches in a random order."""
    b, c, h, w = images.shape
    hh, ww = (h // patch_len) * patch_len, (w // patch_len) * patch_len
    x = images
    if (hh, ww) != (h, w):
        x = F.interpolate(x, size=(hh, ww), mode="bilinear", align_corners=False)
    ph, pw, n = hh // patch_len, ww // patch_len, patch_len * patch_len
    patches = x.reshape(b, c, patch_len, ph, patch_len, pw).permute(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(b, n, c, ph, pw)
    # drawn on the CPU on purpose (the generator's): the same shuffle on every device
    order = torch.argsort(torch.rand(b, n, generator=generator, device="cpu"), dim=1).to(x.device)
    patches = patches[torch.arange(b, device=x.device).unsqueeze(1), order]
    x = patches.reshape(b, patch_len, patch_len, c, ph, pw).permute(0, 3, 1, 4, 2, 5)
    x = x.reshape(b, c, hh, ww)
    if (hh, ww) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x


def token_shuffle(tokens: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shuffle each caption's tokens strictly between SOT (position 0) and EOT.

    EOT is found as the row's largest id, as open_clip pools the text (EOT = 49407 is the
    largest id of its tokenizer); everything from EOT on (EOT, zero padding) stays.
    """
    out = tokens.clone()
    eot = tokens.argmax(dim=1).tolist()
    for i, end in enumerate(eot):
        n = end - 1  # content tokens at positions 1 .. end-1
        if n > 1:
            order = torch.randperm(n, generator=generator, device="cpu").to(tokens.device) + 1
            out[i, 1:end] = tokens[i, order]
    return out


def plpd(probs: torch.Tensor, probs_prime: torch.Tensor) -> torch.Tensor:
    """Pseudo-label probability difference p(y|x) - p(y|x'), y = argmax p(.|x)."""
    y = probs.argmax(dim=1, keepdim=True)
    return (probs.gather(1, y) - probs_prime.gather(1, y)).squeeze(1)


def deyo_weights(ent: torch.Tensor, plpd_values: torch.Tensor, margin_e0: torch.Tensor | float,
                 reweight_ent: bool, reweight_plpd: bool) -> torch.Tensor:
    """The original's detached sample weight (1 when both reweightings are off)."""
    ent, plpd_values = ent.detach(), plpd_values.detach()
    if not (reweight_ent or reweight_plpd):
        return torch.ones_like(ent)
    return (float(reweight_ent) * torch.exp(-(ent - margin_e0))
            + float(reweight_plpd) * torch.exp(plpd_values))


def port_theta(ent: torch.Tensor, margin_e0: float) -> torch.Tensor:
    """The port's weight margin: the k-th smallest of `ent`, k = int(margin_e0 n); inf if k = 0.

    Taken, as the port does, by ``topk(largest=False)`` on `ent` as given: when `ent` carries
    the graph, so does theta, and the loss's gradient flows through theta into that row's
    entropy (the inf of k = 0 is a constant)."""
    k = int(ent.numel() * margin_e0)
    if k == 0:
        return ent.new_tensor(math.inf)
    return torch.topk(ent, k, largest=False).values[-1]


def port_weights(ent: torch.Tensor, plpd_values: torch.Tensor, theta: torch.Tensor | float,
                 reweight_ent: bool, reweight_plpd: bool) -> torch.Tensor:
    """TCR's port's weight 1/(exp(H - theta) + 0.1) + exp(PLPD) + 0.1.

    H and PLPD are detached; theta is used as given (`port_theta` keeps its graph), so the
    weight is not a constant of the step: its gradient reaches the loss through theta."""
    ent, plpd_values = ent.detach(), plpd_values.detach()
    if not (reweight_ent or reweight_plpd):
        return torch.ones_like(ent)
    return (float(reweight_ent) / (torch.exp(ent - theta) + 0.1)
            + float(reweight_plpd) * (torch.exp(plpd_values) + 0.1))


def port_entropy_mask(ent: torch.Tensor, deyo_margin: float) -> torch.Tensor:
    """The port's filter: entropy strictly below the k-th smallest, k = int(deyo_margin B)."""
    k = int(ent.numel() * deyo_margin)
    if k == 0:
        return torch.zeros_like(ent, dtype=torch.bool)
    return ent.detach() < ent.detach().kthvalue(k).values


def deyo_terms(ent: torch.Tensor, plpd_values: torch.Tensor, margin: torch.Tensor | float,
               reweight_ent: bool, reweight_plpd: bool,
               weights: Callable = deyo_weights) -> dict[str, torch.Tensor]:
    """The loss split by its two sample weights, which `weights` (`deyo_weights` or
    `port_weights`) adds up: mean H x entropy weight and mean H x PLPD weight; they sum
    to the loss. The plain mean entropy when both reweightings are off."""
    if not (reweight_ent or reweight_plpd):
        return {"entropy": ent.mean()}
    off = {"reweight_ent": False, "reweight_plpd": False}
    parts = {"entropy_weighted": {**off, "reweight_ent": True} if reweight_ent else None,
             "plpd_weighted": {**off, "reweight_plpd": True} if reweight_plpd else None}
    return {k: (ent * weights(ent, plpd_values, margin, **flags)).mean()
            for k, flags in parts.items() if flags is not None}


class DeYO(GradientTTA):
    name = "deyo"
    rank = 50

    @dataclass
    class Config(GradientTTA.Config):
        variant: str = "tcr"  # "tcr" (TCR's port, the published rows) or "original" (paper)
        margin_mode: str | None = None  # None: the variant's ("fraction" / "lnC")
        deyo_margin: float = 0.5  # entropy filter: fraction of the batch or multiple of ln C
        margin_e0: float = 0.4  # entropy margin of the weight: same units
        # keep PLPD > this (PLPD lies in [-1, 1]); None: the variant's
        plpd_threshold: float | None = field(default=None, metadata={"min": -1.0, "max": 1.0})
        patch_len: int = 4  # patches per image side
        filter_ent: bool = True
        filter_plpd: bool = True
        reweight_ent: bool = True
        reweight_plpd: bool = True
        # tcr: theta keeps its graph, as the port; False takes it detached (a constant of the
        # step). Recorded in every row's config, so rows of the two rules never share a cell.
        theta_graph: bool = True

        def __post_init__(self) -> None:
            self.margin_mode = resolve_margin_mode("deyo", self.variant, self.margin_mode)
            if self.variant == "original" and not self.theta_graph:
                raise ConfigError("deyo.theta_graph applies to variant=tcr only",
                                  "the original's weight has no theta")

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        self.generator = torch.Generator().manual_seed(torch.initial_seed())
        self.plpd_threshold = self.default_plpd_threshold(ctx.direction)
        self.state = {"n_entropy_kept": 0, "n_kept": 0, "plpd_threshold": self.plpd_threshold}

    def default_plpd_threshold(self, direction: str) -> float:
        cfg = self.config
        if cfg.plpd_threshold is not None:
            return cfg.plpd_threshold
        if cfg.variant == "original":
            return 0.2
        return 0.0 if direction == "i2t" else -1.0

    def shuffled(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.is_floating_point():
            return patch_shuffle(batch, self.config.patch_len, self.generator)
        return token_shuffle(batch, self.generator)

    def entropy_mask(self, ent: torch.Tensor, n_classes: int) -> torch.Tensor:
        cfg = self.config
        if not cfg.filter_ent:
            return torch.ones_like(ent, dtype=torch.bool)
        if cfg.variant == "tcr":
            return port_entropy_mask(ent, cfg.deyo_margin)
        threshold = entropy_threshold(ent, cfg.margin_mode, cfg.deyo_margin, n_classes)
        return reliable_mask(ent, threshold, cfg.margin_mode)

    def prime_probs(self, batch: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """p(.|x') of the kept rows: x' shuffled, or (the port, captions) x itself."""
        if self.config.variant == "tcr" and not batch.is_floating_point():
            return probs  # the port's x' is the unchanged caption: the same forward
        with torch.no_grad():
            q_prime = self.model.encode(self.shuffled(batch))
            return (q_prime @ self.ctx.gallery.T / self.temperature).softmax(dim=1)

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        cfg = self.config
        logits = sims / self.temperature
        ent = entropy(logits)
        check_entropies(ent)
        idx = self.entropy_mask(ent, logits.shape[1]).nonzero().squeeze(1)
        self.state["n_entropy_kept"] += idx.numel()
        if idx.numel() == 0:
            return None
        probs = logits[idx].detach().softmax(dim=1)
        pl = plpd(probs, self.prime_probs(batch[idx.to(batch.device)], probs))
        keep2 = pl > self.plpd_threshold if cfg.filter_plpd else torch.ones_like(pl).bool()
        self.state["n_kept"] += int(keep2.sum())
        if not keep2.any():
            return None
        h = ent[idx][keep2]
        if cfg.variant == "tcr":
            theta = port_theta(h if cfg.theta_graph else h.detach(), cfg.margin_e0)
            coeff = port_weights(h, pl[keep2], theta, cfg.reweight_ent, cfg.reweight_plpd)
            terms = deyo_terms(h, pl[keep2], theta, cfg.reweight_ent, cfg.reweight_plpd,
                               port_weights)
        else:
            e0 = entropy_threshold(ent, cfg.margin_mode, cfg.margin_e0, logits.shape[1])
            coeff = deyo_weights(h, pl[keep2], e0, cfg.reweight_ent, cfg.reweight_plpd)
            terms = deyo_terms(h, pl[keep2], e0, cfg.reweight_ent, cfg.reweight_plpd)
        self.record_terms(**terms)
        return (h * coeff).mean()
