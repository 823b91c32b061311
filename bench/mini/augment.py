"""Training-time noise for the mini CLIPs, standing in for the variety of web data.

A web-trained CLIP has seen badly lit, hazy, noisy photos and captions with
typos; a model trained only on clean synthetic data has not, and collapses
under shifts that real CLIPs survive (README, "The embedded benchmark"). These augmentations are
generic and deliberately milder than the benchmark's corruptions; they are not
the benchmark's corruption functions.
"""

from __future__ import annotations

import random
import string

import torch
import torch.nn.functional as F


def photometric(x: torch.Tensor, g: torch.Generator, p: float = 0.8) -> torch.Tensor:
    """Random light, contrast, saturation, haze, noise and blur on images in [0, 1] (B,3,H,W)."""
    b = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, 1, 1, 1, generator=g)

    def on(prob: float) -> torch.Tensor:
        return (torch.rand(b, 1, 1, 1, generator=g) < prob * p).float()

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    grey = x.mean(dim=1, keepdim=True)
    x = x + on(0.5) * (u(0.5, 1.5) - 1) * (x - grey)  # saturation
    x = x + on(0.5) * (u(0.35, 1.3) - 1) * (x - mean)  # contrast
    x = x + on(0.5) * u(-0.25, 0.3)  # brightness
    haze = on(0.25) * u(0.0, 0.45)
    x = x * (1 - haze) + haze * u(0.6, 1.0)  # fog-like veil
    x = x + on(0.3) * u(0.0, 0.08) * torch.randn(x.shape, generator=g)  # sensor noise
    blur = on(0.2).view(b)
    if blur.any():
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
        smooth = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=3)
        x = torch.where(blur.view(b, 1, 1, 1) > 0, smooth, x)
    return x.clamp(0, 1)


_LETTERS = string.ascii_lowercase


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    op = rng.randrange(4)
    if op == 0:
        return word[:i] + rng.choice(_LETTERS) + word[i:]
    if op == 1:
        return word[:i] + rng.choice(_LETTERS) + word[i + 1:]
    if op == 2 and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:] if len(word) > 1 else word


def noisy_caption(text: str, rng: random.Random, p_caption: float = 0.5,
                  p_typo: float = 0.08, p_drop: float = 0.04) -> str:
    """A caption with a few typos and dropped words (half of the captions stay clean)."""
    if rng.random() >= p_caption:
        return text
    out = []
    for word in text.split():
        r = rng.random()
        if r < p_drop:
            continue
        if r < p_drop + p_typo and len(word) >= 3:
            word = _typo(word, rng)
        out.append(word)
    return " ".join(out) if out else text
