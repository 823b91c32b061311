"""DeYO (Lee et al., ICLR 2024) for retrieval (docs/protocol.md section 6).

Per step, following the original ``forward_and_adapt_deyo`` (Jhyun17/DeYO, methods/deyo.py):

1. entropy filter on each query's whole-gallery softmax: ``margin_mode="fraction"`` (default,
   TCR's port: ``deyo_margin=0.50``) keeps the lowest-entropy half of the batch; ``"lnC"``
   keeps entropy < ``deyo_margin * ln C`` (original: 0.5 ln 1000). No update if none is kept.
2. PLPD = p(y|x) - p(y|x') for the kept queries, y = argmax p(.|x), x' a shape-destroying
   view of x encoded without gradient:
   - images (i2t): the original's ``patch`` augmentation, the image cut into a 4 x 4 grid of
     patches put back in a random order (a new order per query and per step). When a side is
     not a multiple of 4 the image is resized to the next lower multiple and back, as the
     original does.
   - captions (t2i) [ours, no original]: the content tokens between SOT (position 0) and EOT
     are put in a random order; SOT, EOT and the zero padding stay where they are, so the
     caption keeps its words and length but loses its word order - the text analogue of
     destroying an image's shape while keeping its texture.
3. keep PLPD > ``plpd_threshold`` (0.2, strict as the original). No update if none is kept.
4. loss = mean over the kept queries of H * coeff, coeff (detached) =
   ``reweight_ent / exp(H - E0) + reweight_plpd * exp(PLPD)`` (the original's sum of the two
   weights), E0 = ``margin_e0 * ln C`` in the lnC mode (original 0.4 ln 1000) or, in the
   fraction mode, the entropy at the ``margin_e0`` (0.4) quantile of the batch [ours: TCR's
   port passes ``margin_e0=0.40``; its code is not public].

The shuffles draw from a generator seeded at setup from ``torch.initial_seed()`` (the runner
seeds torch with the cell seed first), so a cell is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench.registry import register_method
from bench.tta import GradientTTA, check_entropies, entropy, entropy_threshold, reliable_mask


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
    order = torch.argsort(torch.rand(b, n, generator=generator), dim=1).to(x.device)
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
            order = torch.randperm(n, generator=generator).to(tokens.device) + 1
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


@register_method("deyo")
class DeYO(GradientTTA):
    name = "deyo"

    @dataclass
    class Config(GradientTTA.Config):
        margin_mode: str = "fraction"  # "fraction" (TCR's port) or "lnC" (original DeYO)
        deyo_margin: float = 0.5  # entropy filter: fraction of the batch or multiple of ln C
        margin_e0: float = 0.4  # entropy margin of the weight: same units
        plpd_threshold: float = 0.2  # keep PLPD > this
        patch_len: int = 4  # patches per image side
        filter_ent: bool = True
        filter_plpd: bool = True
        reweight_ent: bool = True
        reweight_plpd: bool = True

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        self.generator = torch.Generator().manual_seed(torch.initial_seed())
        self.state = {"n_entropy_kept": 0, "n_kept": 0}

    def shuffled(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.is_floating_point():
            return patch_shuffle(batch, self.config.patch_len, self.generator)
        return token_shuffle(batch, self.generator)

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        cfg = self.config
        logits = sims / self.temperature
        ent = entropy(logits)
        check_entropies(ent)
        n_classes = logits.shape[1]
        keep1 = torch.ones_like(ent, dtype=torch.bool)
        if cfg.filter_ent:
            threshold = entropy_threshold(ent, cfg.margin_mode, cfg.deyo_margin, n_classes)
            keep1 = reliable_mask(ent, threshold, cfg.margin_mode)
        idx = keep1.nonzero().squeeze(1)
        self.state["n_entropy_kept"] += idx.numel()
        if idx.numel() == 0:
            return None
        with torch.no_grad():
            q_prime = self.model.encode(self.shuffled(batch[idx.to(batch.device)]))
            probs_prime = (q_prime @ self.ctx.gallery.T / self.temperature).softmax(dim=1)
        pl = plpd(logits[idx].detach().softmax(dim=1), probs_prime)
        keep2 = pl > cfg.plpd_threshold if cfg.filter_plpd else torch.ones_like(keep1[idx])
        self.state["n_kept"] += int(keep2.sum())
        if not keep2.any():
            return None
        h = ent[idx][keep2]
        e0 = entropy_threshold(ent, cfg.margin_mode, cfg.margin_e0, n_classes)
        coeff = deyo_weights(h, pl[keep2], e0, cfg.reweight_ent, cfg.reweight_plpd)
        return (h * coeff).mean()
