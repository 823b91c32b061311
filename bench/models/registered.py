"""Named models with shipped weights: the embedded mini CLIPs and the mini combiner.

A registered model is an open_clip architecture (a JSON config in
bench/assets/models/) plus a default checkpoint; a combiner model is a registered CLIP
whose composed queries go through a trained combiner (bench/models/combiner.py).
Third-party packages can register more through the ``bench.models`` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from bench.api.errors import WeightsError
from bench.api.interfaces import Backbone
from bench.api.registry import MODELS
from bench.data.preprocess import ImagePrep
from bench.files import package_assets

if TYPE_CHECKING:  # open_clip loads with the first model, not with the registry
    from bench.models.openclip import RetrievalModel


def shipped_file(checkpoint: str) -> Path:
    """A checkpoint named by its file under bench/assets/models/, or an absolute path."""
    path = Path(checkpoint)
    return path if path.is_absolute() else package_assets() / "models" / path


@dataclass(frozen=True)
class RegisteredModel(Backbone):
    """An architecture with a default checkpoint (its input size: the architecture's)."""

    name: str
    arch: str
    checkpoint: str  # file name under bench/assets/models/ (or an absolute path)
    description: str
    train_command: str = ""

    def default_weights(self) -> Path:
        return shipped_file(self.checkpoint)

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

    def weights_identity(self, pretrained: str | None, seed: int = 0, memo: bool = True) -> str:
        """The shipped checkpoint's (or `pretrained`'s) identity, without loading it."""
        return weights_identity(self.name, pretrained if pretrained is not None
                                else str(self.default_weights()), seed, memo)

    def load(self, pretrained: str | None, device: str | torch.device,
             seed: int = 0, prep: ImagePrep | None = None,
             activation: str | None = None) -> RetrievalModel:
        reason = self.missing(pretrained)
        if reason:
            raise WeightsError(reason)
        from bench.models.openclip import load_model

        weights = pretrained or str(self.default_weights())
        rm = load_model(self.arch, weights, device=device, seed=seed, prep=prep,
                        activation=activation)
        rm.name = self.name
        return rm


def weights_identity(model: str, pretrained: str | None, seed: int, memo: bool = True) -> str:
    """Weights named by a file (its sha256), by a tag of `model`, or untrained (the seed)."""
    from bench.models.openclip import RANDOM
    from bench.models.weights import file_sha256

    if pretrained == RANDOM:
        return f"random-seed{seed}"
    path = Path(pretrained).expanduser() if pretrained else None
    if path is not None and path.is_file():
        return f"sha256:{file_sha256(path, memo=memo)}"
    return f"tag:{model}:{pretrained}"


MODELS.add("mini-clip", RegisteredModel(
    name="mini-clip", arch="mini-clip", checkpoint="mini-clip.pt",
    description="embedded mini CLIP trained by bench on mini-scenes (64 px ViT + text transformer)",
    train_command="python -m bench mini train --model mini-clip"))

MODELS.add("mini-clip-2", RegisteredModel(
    name="mini-clip-2", arch="mini-clip", checkpoint="mini-clip-2.pt",
    description="mini-clip trained further at the protocol's temperature (logit scale 100): "
                "the source model of the embedded suites in the real benchmark's regime",
    train_command="python -m bench mini train --model mini-clip-2"))

MODELS.add("mini-reid", RegisteredModel(
    name="mini-reid", arch="mini-reid", checkpoint="mini-reid.pt",
    description="embedded mini CLIP trained by bench on mini-pedes style A (person search)",
    train_command="python -m bench mini train --model mini-reid"))


@dataclass(frozen=True)
class CombinerModel(Backbone):
    """A registered CLIP (its shipped weights) plus a trained combiner of composed queries.

    ``--pretrained`` names the combiner checkpoint (the CLIP is always `clip`'s shipped one,
    the one the combiner was trained on; ``random``: untrained CLIP and combiner, for tests).
    The combiner is frozen: methods adapt the CLIP's query towers that feed it.
    """

    name: str
    clip: str  # a registered model (RegisteredModel)
    arch: str  # its open_clip architecture
    checkpoint: str  # the combiner's file under bench/assets/models/ (or an absolute path)
    description: str
    train_command: str = ""

    def default_weights(self) -> Path:
        return shipped_file(self.checkpoint)

    def missing(self, pretrained: str | None = None) -> str | None:
        """Why the weights cannot be had, or None."""
        reason = MODELS.get(self.clip).missing("random" if pretrained == "random" else None)
        if reason or pretrained == "random":
            return reason
        if pretrained:
            return None if Path(pretrained).is_file() else f"checkpoint {pretrained} not found"
        if not self.default_weights().is_file():
            return (f"the shipped combiner of model {self.name} is missing "
                    f"(make it with `{self.train_command}`)")
        return None

    def weights_identity(self, pretrained: str | None, seed: int = 0, memo: bool = True) -> str:
        """The CLIP's identity and the combiner's (sha256 of each file)."""
        if pretrained == "random":
            return f"random-seed{seed}"
        clip = MODELS.get(self.clip).weights_identity(None, seed, memo)
        combiner = weights_identity(self.name, pretrained or str(self.default_weights()), seed,
                                    memo)
        return f"{clip}+combiner:{combiner}"

    def load(self, pretrained: str | None, device: str | torch.device, seed: int = 0,
             prep: ImagePrep | None = None, activation: str | None = None) -> RetrievalModel:
        reason = self.missing(pretrained)
        if reason:
            raise WeightsError(reason)
        from bench.models.combiner import Combiner, CombinerConfig, load_combiner

        random = pretrained == "random"
        rm = MODELS.get(self.clip).load("random" if random else None, device, seed, prep=prep,
                                        activation=activation)
        if random:
            torch.manual_seed(seed)
            combiner = Combiner(CombinerConfig()).eval().requires_grad_(False)
        else:
            clip_sha = rm.weights_id.removeprefix("sha256:")
            combiner = load_combiner(Path(pretrained or self.default_weights()), clip_sha)
        rm.combine = combiner.to(rm.device)
        rm.name = self.name
        rm.weights_id = self.weights_identity(pretrained, seed)
        return rm


MODELS.add("mini-cir-combiner", CombinerModel(
    name="mini-cir-combiner", clip="mini-clip", arch="mini-clip",
    checkpoint="mini-cir-combiner.pt",
    description="mini-clip with a combiner of composed queries (CLIP4Cir's design) trained by "
                "bench on mini-cir's training split",
    train_command="python -m bench mini train --model mini-cir-combiner"))


def resolve_model(name: str, pretrained: str | None, device: str | torch.device,
                  seed: int = 0, image_size: tuple[int, int] | None = None,
                  prep: ImagePrep | None = None, activation: str | None = None) -> RetrievalModel:
    """A registered model by name, else any open_clip architecture (`prep`, `activation`:
    the real-data recipe, bench/data/preprocess.py and bench/models/activation.py)."""
    if name in MODELS:
        if image_size:
            raise WeightsError(f"--image-size does not apply to the registered model {name}")
        return MODELS.get(name).load(pretrained, device, seed, prep=prep, activation=activation)
    if not pretrained:
        raise WeightsError(f"model {name} needs weights", "pass --pretrained TAG or PATH")
    from bench.models.openclip import load_model

    return load_model(name, pretrained, device=device, seed=seed, image_size=image_size,
                      prep=prep, activation=activation)


def architecture(name: str) -> str:
    """The open_clip architecture behind a model name (registered or not)."""
    return MODELS.get(name).arch if name in MODELS else name


def native_input_size(name: str) -> tuple[int, int]:
    """(H, W) of an architecture's own input, without building it."""
    import open_clip

    own = MODELS.get(name).input_size if name in MODELS else None
    if own is not None:
        return tuple(own)  # BLIP: 384 px
    from bench.models.weights import add_bench_configs

    add_bench_configs()
    size = (open_clip.get_model_config(architecture(name)) or {}).get("vision_cfg", {}).get(
        "image_size", 224)
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
