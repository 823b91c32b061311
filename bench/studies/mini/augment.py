"""Training-time noise for the mini CLIPs, standing in for the variety of web data.

A web-trained CLIP has seen dim, washed-out, hazy, noisy photos and captions with
typos; a model trained only on clean synthetic data has not, and collapses under
shifts that real CLIPs survive (a first mini CLIP trained with milder noise kept
1 % of its clean R@1 under contrast and 8 % under character insertion). These
augmentations are generic photometric and typing noise; they are not the
benchmark's corruption functions.
"""

from __future__ import annotations

import random
import string

import torch
import torch.nn.functional as F


def _smooth_field(b: int, h: int, w: int, g: torch.Generator) -> torch.Tensor:
    """A low-frequency random field in [0, 1] per image (B, 1, H, W): uneven haze."""
    coarse = torch.rand(b, 1, 4, 4, generator=g)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    lo = field.amin(dim=(2, 3), keepdim=True)
    hi = field.amax(dim=(2, 3), keepdim=True)
    return (field - lo) / (hi - lo + 1e-6)


def photometric(x: torch.Tensor, g: torch.Generator, p: float = 0.8) -> torch.Tensor:
    """Random light, contrast, saturation, haze, noise and blur on images in [0, 1] (B,3,H,W)."""
    b, _, h, w = x.shape

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, 1, 1, 1, generator=g)

    def on(prob: float) -> torch.Tensor:
        return (torch.rand(b, 1, 1, 1, generator=g) < prob * p).float()

    grey = x.mean(dim=1, keepdim=True)
    x = x + on(0.5) * (u(0.3, 1.5) - 1) * (x - grey)  # saturation
    mean = x.mean(dim=(2, 3), keepdim=True)
    # contrast: mostly mild, often very flat (dim, overexposed or washed-out photos)
    strong = (torch.rand(b, 1, 1, 1, generator=g) < 0.4).float()
    factor = strong * torch.exp(u(-3.5, -1.0)) + (1 - strong) * u(0.4, 1.4)
    x = x + on(0.6) * (factor - 1) * (x - mean)
    x = x + on(0.5) * u(-0.3, 0.45)  # brightness
    haze = on(0.35) * u(0.0, 0.85) * (0.5 + 0.5 * _smooth_field(b, h, w, g))
    x = x * (1 - haze) + haze * u(0.55, 1.0)  # uneven veil: fog, mist, glare
    x = x + on(0.3) * u(0.0, 0.1) * torch.randn(x.shape, generator=g)  # sensor noise
    blur = on(0.2).view(b)
    if blur.any():
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
        smooth = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=3)
        x = torch.where(blur.view(b, 1, 1, 1) > 0, smooth, x)
    return x.clamp(0, 1)


_LETTERS = string.ascii_lowercase


def _edit(word: str, rng: random.Random) -> str:
    """One random character edit: insert, substitute, swap with the next, or delete."""
    i = rng.randrange(len(word))
    op = rng.randrange(4)
    if op == 0:
        return word[:i] + rng.choice(_LETTERS) + word[i:]
    if op == 1:
        return word[:i] + rng.choice(_LETTERS) + word[i + 1:]
    if op == 2 and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:] if len(word) > 1 else word


def noisy_caption(text: str, rng: random.Random, p_caption: float = 0.6,
                  max_word_rate: float = 0.4, p_drop: float = 0.05) -> str:
    """A caption typed badly: a random share of its words (up to `max_word_rate`) get one
    to a few character edits, a few words are dropped; the other captions stay clean."""
    if rng.random() >= p_caption:
        return text
    rate = rng.uniform(0.0, max_word_rate)
    out = []
    for word in text.split():
        r = rng.random()
        if r < p_drop:
            continue
        if r < p_drop + rate and len(word) >= 3:
            for _ in range(1 + int(rng.random() * 0.35 * len(word))):
                word = _edit(word, rng)
        out.append(word)
    return " ".join(out) if out else text
