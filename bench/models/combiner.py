"""A trained combiner of composed queries: CLIP4Cir's Combiner network (Baldrati et al.).

It maps the reference image's and the modification text's embeddings to one query
embedding. Each input is projected (Linear + ReLU + dropout) to ``projection_dim``; the
two projections, text first, are concatenated and feed two branches:

* an MLP (Linear + ReLU + dropout, then Linear back to the feature size), and
* a dynamic scalar ``s`` in (0, 1) (Linear + ReLU + dropout + Linear + sigmoid),

and the query is ``normalize(mlp + s * text + (1 - s) * image)``: the MLP learns a
correction to a learned, per-query mix of the two inputs. It is trained with a batch
classification (contrastive) loss: logits ``logit_scale * query @ normalize(target).T``
against the batch's target images, with the CLIP towers frozen
(bench/studies/mini/combiner.py). At test time it stays frozen: a method adapts the CLIP
towers that feed it.

The inputs are the towers' L2-normalised embeddings (bench's towers emit those);
CLIP4Cir feeds the unnormalised CLIP features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bench.api.errors import WeightsError

LOGIT_SCALE = 100.0  # CLIP4Cir's fixed scale of the training logits


@dataclass(frozen=True)
class CombinerConfig:
    """Sizes of a combiner (CLIP4Cir's defaults scale as 4x and 8x the feature size)."""

    feature_dim: int = 128
    projection_dim: int = 512
    hidden_dim: int = 1024
    dropout: float = 0.5


class Combiner(nn.Module):
    """(image features, text features) -> an L2-normalised query embedding."""

    def __init__(self, cfg: CombinerConfig):
        super().__init__()
        self.cfg = cfg
        d, p, h = cfg.feature_dim, cfg.projection_dim, cfg.hidden_dim
        self.text_projection = nn.Linear(d, p)
        self.image_projection = nn.Linear(d, p)
        self.combiner_layer = nn.Linear(2 * p, h)
        self.output_layer = nn.Linear(h, d)
        self.scalar_hidden = nn.Linear(2 * p, h)
        self.scalar_out = nn.Linear(h, 1)
        self.dropout = nn.Dropout(cfg.dropout)

    def mixing_scalar(self, joint: torch.Tensor) -> torch.Tensor:
        """The dynamic scalar (B, 1): the weight of the text in the mix of the inputs."""
        return torch.sigmoid(self.scalar_out(self.dropout(F.relu(self.scalar_hidden(joint)))))

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        text = self.dropout(F.relu(self.text_projection(text_features)))
        image = self.dropout(F.relu(self.image_projection(image_features)))
        joint = torch.cat([text, image], dim=-1)
        mlp = self.output_layer(self.dropout(F.relu(self.combiner_layer(joint))))
        s = self.mixing_scalar(joint)
        return F.normalize(mlp + s * text_features + (1 - s) * image_features, dim=-1)

    def logits(self, image_features: torch.Tensor, text_features: torch.Tensor,
               targets: torch.Tensor) -> torch.Tensor:
        """The training logits: scaled cosine of each query with every target (B x T)."""
        return LOGIT_SCALE * self(image_features, text_features) @ F.normalize(targets, dim=-1).T


def combiner_state(combiner: Combiner, clip_sha256: str) -> dict:
    """What a combiner checkpoint holds: its sizes, the CLIP it was trained on, fp16 weights."""
    return {"config": asdict(combiner.cfg), "clip_sha256": clip_sha256,
            "state": {k: v.detach().half() for k, v in combiner.state_dict().items()}}


def load_combiner(path: Path, clip_sha256: str | None = None) -> Combiner:
    """A frozen combiner (eval mode, float32) from a checkpoint; `clip_sha256`, when given,
    must be the hash of the CLIP checkpoint it was trained on (its inputs are that CLIP's)."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        combiner = Combiner(CombinerConfig(**saved["config"]))
        combiner.load_state_dict({k: v.float() for k, v in saved["state"].items()})
    except Exception as err:
        raise WeightsError(f"unreadable combiner checkpoint {path}: "
                           f"{str(err).splitlines()[0][:160]}") from err
    if clip_sha256 is not None and saved.get("clip_sha256") != clip_sha256:
        raise WeightsError(f"combiner {path} was trained on another CLIP checkpoint "
                           f"(sha256 {str(saved.get('clip_sha256'))[:12]}, not {clip_sha256[:12]})",
                           "retrain it: python -m bench mini train --model mini-cir-combiner")
    combiner.eval()
    for p in combiner.parameters():
        p.requires_grad_(False)
    return combiner
