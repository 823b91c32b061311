"""Composed queries (a reference image and a modification text) as one tensor, and their
zero-shot embedding.

A composed query enters a method as a single float tensor (B, 4, H, W), so that every
method handles it as it handles any batch (indexing, ``torch.cat``, ``.to``): channels 0-2
are the normalised reference image; channel 3 carries the modification's token ids
(exact in float32: ids < 2**24). The ids fill the first positions (row-major) of a T x T
tile, the smallest square tile with T*T >= context length whose side divides H and W,
and the tile repeats over the whole plane. Any permutation of aligned blocks whose side
is a multiple of T leaves channel 3 unchanged: a method that shuffles image patches
(DeYO's augmentation, 4 x 4 patches of 16 px at 64 px or 56 px at 224 px) shuffles the
reference image and keeps the text.

The embedding is the published zero-shot "image + text" baseline (CLIP4Cir's
``element_wise_sum``, the Pic2Word / CLIP4Cir papers' "Image + Text" row): the L2-normalised
sum of the L2-normalised reference image and modification text embeddings; a model may
replace it by a trained combiner (bench/models/combiner.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from bench.api.contract import COMPOSED
from bench.api.errors import ConfigError

__all__ = ["COMPOSED", "Combine", "compose", "encode_composed", "pack_composed", "token_tile",
           "unpack_composed"]


def token_tile(height: int, width: int, context_length: int) -> int:
    """The side T of the token tile: the smallest with T*T >= context_length, T | H, T | W."""
    for side in range(1, min(height, width) + 1):
        if side * side >= context_length and height % side == 0 and width % side == 0:
            return side
    raise ConfigError(f"a {height}x{width} image cannot carry {context_length} tokens",
                      "composed queries need H*W >= the tokenizer's context length")


def pack_composed(images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) normalised images and (B, L) token ids -> the (B, 4, H, W) query tensor."""
    b, _, h, w = images.shape
    length = tokens.shape[1]
    side = token_tile(h, w, length)
    tile = torch.zeros(b, side * side, dtype=images.dtype, device=images.device)
    tile[:, :length] = tokens.to(device=images.device, dtype=images.dtype)
    plane = tile.view(b, 1, side, side).repeat(1, 1, h // side, w // side)
    return torch.cat([images, plane], dim=1)


def unpack_composed(batch: torch.Tensor, context_length: int) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
    """The (B, 3, H, W) images and (B, L) int64 token ids of a packed query tensor."""
    if batch.dim() != 4 or batch.shape[1] != 4:
        raise ValueError(f"a composed query tensor is (B, 4, H, W), got {tuple(batch.shape)}")
    _, _, h, w = batch.shape
    side = token_tile(h, w, context_length)
    tokens = batch[:, 3, :side, :side].reshape(batch.shape[0], -1)[:, :context_length]
    return batch[:, :3], tokens.round().long()


def compose(image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
    """normalize(normalize(image) + normalize(text)): the zero-shot image + text query."""
    return F.normalize(F.normalize(image_features, dim=-1) + F.normalize(text_features, dim=-1),
                       dim=-1)


Combine = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def encode_composed(batch: torch.Tensor, context_length: int,
                    encode_images: Callable[[torch.Tensor], torch.Tensor],
                    encode_texts: Callable[[torch.Tensor], torch.Tensor],
                    combine: Combine = compose) -> torch.Tensor:
    """The composed embedding of a packed batch with the given towers; `combine` maps the
    normalised image and text embeddings to the query (default: the zero-shot sum; a
    trained combiner: bench/models/combiner.py)."""
    images, tokens = unpack_composed(batch, context_length)
    return combine(encode_images(images), encode_texts(tokens.cpu()))
