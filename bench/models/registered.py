"""Named models with shipped weights: the embedded mini CLIPs.

A registered model is an open_clip architecture (a JSON config in
bench/assets/models/) plus a default checkpoint. Third-party packages can
register more through the ``bench.models`` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from bench.errors import WeightsError
from bench.models.openclip import RetrievalModel, load_model
from bench.paths import package_assets
from bench.registry import MODELS


@dataclass(frozen=True)
class RegisteredModel:
    """An architecture with a default checkpoint."""

    name: str
    arch: str
    checkpoint: str  # file name under bench/assets/models/ (or an absolute path)
    description: str
    train_command: str = ""

    def default_weights(self) -> Path:
        path = Path(self.checkpoint)
        return path if path.is_absolute() else package_assets() / "models" / path

    def missing(self, pretrained: str | None = None) -> str | None:
        """Why the weights cannot be had, or None."""
        if pretrained == "random":
            return None
        if pretrained:
            return None if Path(pretrained).is_file() else f"checkpoint {pretrained} not found"
        if not self.default_weights().is_file():
            hint = f" (make it with `{self.train_command}`)" if self.train_command else ""
            return f"the shipped checkpoint of model {self.name} is missing{hint}"
        return None

    def load(self, pretrained: str | None, device: str | torch.device,
             seed: int = 0) -> RetrievalModel:
        reason = self.missing(pretrained)
        if reason:
            raise WeightsError(reason)
        weights = pretrained or str(self.default_weights())
        rm = load_model(self.arch, weights, device=device, seed=seed)
        rm.name = self.name
        return rm


MODELS.add("mini-clip", RegisteredModel(
    name="mini-clip", arch="mini-clip", checkpoint="mini-clip.pt",
    description="embedded mini CLIP trained by bench on mini-scenes (64 px ViT + text transformer)",
    train_command="python -m bench mini train --model mini-clip"))

MODELS.add("mini-reid", RegisteredModel(
    name="mini-reid", arch="mini-reid", checkpoint="mini-reid.pt",
    description="embedded mini CLIP trained by bench on mini-pedes style A (person search)",
    train_command="python -m bench mini train --model mini-reid"))


def resolve_model(name: str, pretrained: str | None, device: str | torch.device,
                  seed: int = 0, image_size: tuple[int, int] | None = None) -> RetrievalModel:
    """A registered model by name, else any open_clip architecture."""
    if name in MODELS:
        if image_size:
            raise WeightsError(f"--image-size does not apply to the registered model {name}")
        return MODELS.get(name).load(pretrained, device, seed)
    if not pretrained:
        raise WeightsError(f"model {name} needs weights", "pass --pretrained TAG or PATH")
    return load_model(name, pretrained, device=device, seed=seed, image_size=image_size)
