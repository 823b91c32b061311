"""Tent (Wang et al., ICLR 2021): mean entropy of the whole-gallery softmax.

Each query's distribution is softmax over the whole gallery (docs/protocol.md section 6).

The softmax temperature is the dataset's (0.01 for COCO/Flickr, 0.001 for
Fashion-Gen, 0.0001 for person ReID) unless ``temperature`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.api.gradient import GradientTTA, entropy


class Tent(GradientTTA):
    name = "tent"
    rank = 10

    @dataclass
    class Config(GradientTTA.Config):
        pass

    def loss(self, q: torch.Tensor, sims: torch.Tensor, step: int, batch: torch.Tensor):
        return entropy(sims / self.temperature).mean()
