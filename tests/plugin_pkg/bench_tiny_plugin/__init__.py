"""A third-party method: entropy minimisation with a sharper temperature.

It knows nothing of bench's internals beyond the public contract
(`bench.api.gradient.GradientTTA`) and reaches bench only through its entry point.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api import GradientTTA, entropy


class TinyTent(GradientTTA):
    """tiny-tent: Tent at half the dataset temperature (a plugin installed by entry point)."""

    name = "tiny-tent"

    @dataclass
    class Config(GradientTTA.Config):
        sharpen: float = 0.5

    def loss(self, q, sims, step, batch):
        return entropy(sims / (self.temperature * self.config.sharpen)).mean()
