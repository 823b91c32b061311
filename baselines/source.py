"""source: the frozen source model, no adaptation (one forward per batch)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.api.contract import StepOutput, TTAMethod
from bench.api.phases import phase


class Source(TTAMethod):
    name = "source"
    rank = 0
    scores_source = True  # no update: its scored embeddings are the source pass

    @dataclass
    class Config:
        pass

    @torch.no_grad()
    def adapt(self, batch: torch.Tensor) -> StepOutput:
        with phase("forward"):
            q = self.model.encode(batch)
            return StepOutput(rows=q @ self.ctx.gallery.T, embeddings=q)
