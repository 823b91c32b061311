"""Original BLIP checkpoints (salesforce/BLIP ``*.pth``) in the Hugging Face layout.

The original retrieval and pre-training checkpoints hold ``{"model": state_dict}``
with the towers under ``visual_encoder.*`` (a timm-style ViT) and ``text_encoder.*``
(BLIP's BERT, ``med.py``), the projections ``vision_proj`` / ``text_proj``, the ITM
head, and training-only entries (momentum copies ``*_m``, queues, ``temp``, the
captioning decoder of the pre-trained model). `convert_state_dict` renames the
towers to `transformers.BlipForImageTextRetrieval` and drops the training-only
entries; `original_key` is its inverse (used by the tests to build original-layout
state dicts). The text encoder's names are the same in both layouts.

As BLIP's own ``load_checkpoint``, a position embedding trained at another input
size (the pre-trained ``model_base.pth`` is 224 px) is resized bicubically to the
model's grid.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from bench.api.errors import WeightsError

# original vision name (under visual_encoder.) -> transformers name (under vision_model.)
_VISION_FIXED = {
    "cls_token": "embeddings.class_embedding",
    "pos_embed": "embeddings.position_embedding",
    "patch_embed.proj.weight": "embeddings.patch_embedding.weight",
    "patch_embed.proj.bias": "embeddings.patch_embedding.bias",
    "norm.weight": "post_layernorm.weight",
    "norm.bias": "post_layernorm.bias",
}
_BLOCK_PARTS = {
    "norm1": "layer_norm1", "norm2": "layer_norm2", "attn.qkv": "self_attn.qkv",
    "attn.proj": "self_attn.projection", "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2",
}
_BLOCK = re.compile(r"blocks\.(\d+)\.(.+)\.(weight|bias)$")
_HF_LAYER = re.compile(r"encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")
_KEPT_HEADS = ("vision_proj.", "text_proj.", "itm_head.")
# Entries of the original checkpoints that only training uses.
_TRAINING_ONLY = re.compile(r"^(visual_encoder_m|text_encoder_m|vision_proj_m|text_proj_m|"
                            r"text_decoder)\.|^(image_queue|text_queue|idx_queue|ptr_queue|temp)$")


def _vision_key(rest: str) -> str | None:
    if rest in _VISION_FIXED:
        return _VISION_FIXED[rest]
    m = _BLOCK.match(rest)
    if m and m.group(2) in _BLOCK_PARTS:
        return f"encoder.layers.{m.group(1)}.{_BLOCK_PARTS[m.group(2)]}.{m.group(3)}"
    return None


def hf_key(key: str) -> str | None:
    """The transformers name of an original BLIP key; None for training-only entries."""
    if _TRAINING_ONLY.search(key) or key == "text_encoder.embeddings.position_ids":
        return None
    if key.startswith("visual_encoder."):
        new = _vision_key(key.removeprefix("visual_encoder."))
        if new is None:
            raise WeightsError(f"unknown key '{key}' in the BLIP checkpoint's vision encoder")
        return f"vision_model.{new}"
    if key.startswith("text_encoder.") or key.startswith(_KEPT_HEADS):
        return key
    return None


def original_key(key: str) -> str:
    """The original BLIP name of a transformers `BlipForImageTextRetrieval` key."""
    if not key.startswith("vision_model."):
        return key
    rest = key.removeprefix("vision_model.")
    for old, new in _VISION_FIXED.items():
        if rest == new:
            return f"visual_encoder.{old}"
    m = _HF_LAYER.match(rest)
    if m:
        old = {v: k for k, v in _BLOCK_PARTS.items()}[m.group(2)]
        return f"visual_encoder.blocks.{m.group(1)}.{old}.{m.group(3)}"
    raise KeyError(key)


def unwrap(checkpoint: object) -> dict[str, torch.Tensor]:
    """The state dict inside an original checkpoint (``{"model": ...}``) or a bare one."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict):
        checkpoint = checkpoint["model"]
    if not isinstance(checkpoint, dict) or not all(torch.is_tensor(v) for v in checkpoint.values()):
        raise WeightsError("not a BLIP checkpoint: expected a dict with a 'model' state dict")
    return {k.removeprefix("module."): v for k, v in checkpoint.items()}


def resize_pos_embed(pos: torch.Tensor, n_positions: int) -> torch.Tensor:
    """(1, 1 + g*g, D) -> (1, n_positions, D): the patch grid resized bicubically (BLIP's
    ``interpolate_pos_embed``), the class position kept."""
    old = int(round((pos.shape[1] - 1) ** 0.5))
    new = int(round((n_positions - 1) ** 0.5))
    if old * old + 1 != pos.shape[1] or new * new + 1 != n_positions:
        raise WeightsError(f"cannot resize a position embedding of {pos.shape[1]} to {n_positions}")
    if old == new:
        return pos
    dim = pos.shape[-1]
    grid = pos[:, 1:].reshape(1, old, old, dim).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new * new, dim).to(pos.dtype)
    return torch.cat([pos[:, :1], grid], dim=1)


def convert_state_dict(original: dict[str, torch.Tensor],
                       n_positions: int | None = None) -> dict[str, torch.Tensor]:
    """An original BLIP state dict renamed to the transformers layout (training-only
    entries dropped; the position embedding resized to `n_positions` when given)."""
    out = {}
    for key, value in original.items():
        new = hf_key(key)
        if new is not None:
            out[new] = value
    pos = "vision_model.embeddings.position_embedding"
    if n_positions is not None and pos in out:
        out[pos] = resize_pos_embed(out[pos], n_positions)
    return out


def load_converted(model: torch.nn.Module, original: dict[str, torch.Tensor], source: str) -> None:
    """Load an original BLIP state dict into a `BlipForImageTextRetrieval`; every weight
    of the retrieval towers and projections must be present and fit."""
    own = model.state_dict()
    pos = own.get("vision_model.embeddings.position_embedding")
    state = convert_state_dict(original, None if pos is None else pos.shape[1])
    needed = [k for k in own if not k.startswith("itm_head.")]
    missing = [k for k in needed if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        what = (f"lacks {len(missing)} weights (e.g. {missing[0]})" if missing
                else f"has {len(unexpected)} weights the model lacks (e.g. {unexpected[0]})")
        raise WeightsError(f"BLIP checkpoint {source} {what}", "is it the right --model "
                           "(base or large)?")
    bad = [k for k in state if state[k].shape != own[k].shape]
    if bad:
        raise WeightsError(f"BLIP checkpoint {source}: {bad[0]} has shape "
                           f"{tuple(state[bad[0]].shape)}, the model {tuple(own[bad[0]].shape)}",
                           "is it the right --model (base or large)?")
    model.load_state_dict(state, strict=False)
