"""`RetrievalModel`: an open_clip model seen as two towers, one of which adapts.

Any open_clip architecture works, with a pretrained tag (downloaded by
open_clip, so it needs network or a warm cache) or a local checkpoint path.
The query tower's LayerNorm affine parameters are the only trainable ones
(docs/protocol.md section 2); the model is kept in eval mode.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from open_clip.transformer import text_global_pool
from PIL import Image
from torch import nn

from bench.api.contract import QueryModel
from bench.api.errors import ConfigError, UnknownNameError, WeightsError
from bench.data.preprocess import ImagePrep
from bench.models.activation import (
    GELU,
    QUICK_GELU,
    activation_for,
    arch_quick_gelu,
    built_activation,
)
from bench.models.checkpoint import load_local
from bench.models.composed import COMPOSED, compose, encode_composed
from bench.models.weights import add_bench_configs, file_sha256, hub_reachable

RANDOM = "random"  # --pretrained random: untrained weights, for tests only


class RetrievalModel:
    """Two towers of a contrastive model, with preprocessing and tokenizer."""

    def __init__(self, model: nn.Module, preprocess, tokenizer, name: str, pretrained: str,
                 weights_id: str, device: torch.device, prep: ImagePrep | None = None):
        self.model = model.to(device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.name = name
        self.pretrained = pretrained
        self.weights_id = weights_id
        self.device = device
        steps = list(preprocess.transforms)
        cut = next(i for i, t in enumerate(steps) if "ToTensor" in type(t).__name__)
        self.spatial_steps = steps[:cut]
        self.tensor_steps = steps[cut:]
        # prep: the official recipe of the data (bench/data/preprocess.py) instead of open_clip's
        # own resize + centre crop (kept for the embedded suites, prep=None)
        self.prep = prep.at(self.input_size) if prep is not None else None
        if self.prep is not None:
            self.spatial_steps = self.prep.spatial()
        self.activation = built_activation(self.model)
        # composed queries: how the two embeddings become one (a frozen trained combiner, set
        # by its backbone, or the zero-shot sum); never adapted, never part of `model`
        self.combine = compose
        self._source_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    # ---- preprocessing -------------------------------------------------------------------
    @property
    def preprocess_id(self) -> str:
        """Describes the spatial preprocessing (resize/crop), part of cache keys."""
        if self.prep is not None:
            return self.prep.label
        return " | ".join(repr(t).replace("\n", " ") for t in self.spatial_steps)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model's image input."""
        size = self.model.visual.image_size
        return (size, size) if isinstance(size, int) else tuple(size)

    def resize_image(self, image: np.ndarray) -> np.ndarray:
        """Resize/crop a full-resolution HxWx3 uint8 image to the model input (uint8)."""
        im = Image.fromarray(image)
        for t in self.spatial_steps:
            im = t(im)
        return np.asarray(im.convert("RGB"))

    def image_tensor(self, resized: np.ndarray) -> torch.Tensor:
        """uint8 model-input images (N x H x W x 3) -> normalised float tensor (N x 3 x H x W)."""
        x = torch.from_numpy(np.ascontiguousarray(resized)).permute(0, 3, 1, 2).float() / 255.0
        norm = self.tensor_steps[-1]
        mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
        std = torch.tensor(norm.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        return self.tokenizer(texts)

    @property
    def context_length(self) -> int:
        """Tokens per caption the tokenizer emits (the composed query tensor carries them)."""
        return int(getattr(self.tokenizer, "context_length", None) or self.model.context_length)

    # ---- towers --------------------------------------------------------------------------
    def encode_images(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(x.to(self.device), normalize=True)

    def encode_texts(self, tokens: torch.Tensor) -> torch.Tensor:
        return _encode_text(self.model, tokens, self.device)

    def encode(self, direction: str, batch: torch.Tensor) -> torch.Tensor:
        """Encode a batch of queries of `direction` (images for i2t, tokens for t2i, packed
        reference images and modification tokens for ti2i: bench/models/composed.py)."""
        if direction == COMPOSED:
            return encode_composed(batch, self.context_length, self.encode_images,
                                   self.encode_texts, self.combine)
        return self.encode_images(batch) if direction == "i2t" else self.encode_texts(batch)

    def encode_gallery(self, direction: str, batch: torch.Tensor) -> torch.Tensor:
        """Encode a batch of gallery items of `direction` (texts for i2t, images otherwise)."""
        return self.encode_texts(batch) if direction == "i2t" else self.encode_images(batch)

    def query_tower(self, direction: str) -> nn.Module:
        if direction == "i2t":
            return self.model.visual
        if hasattr(self.model, "transformer"):
            return self.model.transformer  # CLIP: ln_final sits outside, as TCR leaves it out
        return self.model.text.transformer  # CustomTextCLIP

    def layernorm_params(self, direction: str) -> list[tuple[str, nn.Parameter]]:
        """(name, parameter) of every LayerNorm affine weight/bias in the query tower; for
        composed queries (ti2i) both query towers', named ``image.*`` and ``text.*``."""
        if direction == COMPOSED:
            return ([(f"image.{n}", p) for n, p in self.layernorm_params("i2t")]
                    + [(f"text.{n}", p) for n, p in self.layernorm_params("t2i")])
        out = []
        for mname, module in self.query_tower(direction).named_modules():
            if isinstance(module, nn.LayerNorm) and module.elementwise_affine:
                out += [(f"{mname}.{pname}", p) for pname, p in module.named_parameters()]
        if not out:
            raise ConfigError(f"model {self.name} has no LayerNorm in its {direction} query tower")
        return out

    def restore_source(self) -> None:
        """Put the source weights back and freeze everything (start of every cell)."""
        self.model.load_state_dict(self._source_state)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.model.eval()

    def query_model(self, direction: str) -> QueryTower:
        return QueryTower(self, direction)


def _encode_text(model: nn.Module, tokens: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Normalised text features on `device`: trimmed to the longest caption where that is
    exact."""
    if _can_trim(model):
        return _encode_text_trimmed(model, tokens, device)
    return model.encode_text(tokens.to(device), normalize=True)


def _can_trim(model: nn.Module) -> bool:
    """open_clip's CLIP text tower: causal attention and pooling at the end-of-text token."""
    return (isinstance(model, open_clip.CLIP) and getattr(model, "attn_mask", None) is not None
            and getattr(model, "text_pool_type", "argmax") in ("argmax", "eos"))


def _encode_text_trimmed(model: nn.Module, tokens: torch.Tensor,
                         device: torch.device) -> torch.Tensor:
    """`CLIP.encode_text(normalize=True)` on the tokens up to the batch's longest caption.

    Under the causal mask no position attends to the padding after it, so the pooled
    end-of-text features are those of the full context (to float rounding), at a cost
    that follows the captions' length instead of the context length (64 or 77). The length
    is read where the tokens are (the loader's CPU), before they move to `device`: read
    from a GPU it would wait for the device at every forward.
    """
    length = int((tokens != 0).sum(dim=1).max().clamp(min=1))
    text = tokens[:, :length].to(device)
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(text).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, text, model.text_pool_type,
                         eos_token_id=getattr(model, "text_eos_id", None))
    proj = model.text_projection
    if proj is not None:
        x = proj(x) if isinstance(proj, nn.Linear) else x @ proj
    return F.normalize(x, dim=-1)


class QueryTower(QueryModel):
    """The `QueryModel` a method adapts: one direction's tower, LayerNorms trainable."""

    def __init__(self, rm: RetrievalModel, direction: str):
        self.rm = rm
        self.direction = direction
        self._named = rm.layernorm_params(direction)
        for _, p in self._named:
            p.requires_grad_(True)
        self._source = None

    def encode(self, batch: torch.Tensor) -> torch.Tensor:
        return self.rm.encode(self.direction, batch)

    def params(self) -> list[nn.Parameter]:
        return [p for _, p in self._named]

    def named_params(self) -> list[tuple[str, nn.Parameter]]:
        return list(self._named)

    def source_encoder(self):
        """A frozen copy of the model as it is now (call at setup: the source weights)."""
        if self._source is None:
            frozen = copy.deepcopy(self.rm.model).eval()
            for p in frozen.parameters():
                p.requires_grad_(False)
            device = self.rm.device

            def images(batch: torch.Tensor) -> torch.Tensor:
                return frozen.encode_image(batch.to(device), normalize=True)

            def texts(batch: torch.Tensor) -> torch.Tensor:
                return _encode_text(frozen, batch, device)

            @torch.no_grad()
            def encode(batch: torch.Tensor) -> torch.Tensor:
                if self.direction == COMPOSED:
                    return encode_composed(batch, self.rm.context_length, images, texts,
                                           self.rm.combine)
                return images(batch) if self.direction == "i2t" else texts(batch)

            self._source = encode
        return self._source


def _check_tag(name: str, tag: str) -> None:
    if not open_clip.get_pretrained_cfg(name, tag):
        known = open_clip.list_pretrained_tags_by_model(name)
        raise WeightsError(f"unknown pretrained tag '{tag}' for model {name}",
                           f"known tags: {', '.join(known) or 'none'}; or pass --pretrained PATH")


@contextlib.contextmanager
def offline_unless_reachable():
    """Without network, make the hub client use its local cache only and fail at once
    (instead of a minute of retries)."""
    import huggingface_hub.constants as hub

    saved = hub.HF_HUB_OFFLINE
    if not hub_reachable():
        hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = saved


def _weights_id(name: str, pretrained: str, seed: int) -> str:
    if pretrained == RANDOM:
        return f"random-seed{seed}"
    path = Path(pretrained).expanduser()
    if path.is_file():
        return f"sha256:{file_sha256(path)}"
    return f"tag:{name}:{pretrained}:open_clip-{open_clip.__version__}"


def _build_kwargs(name: str, image_size: tuple[int, int] | None, prep: ImagePrep | None,
                  activation: str | None) -> dict:
    """open_clip overrides: input size (override, else the recipe's) and QuickGELU."""
    kwargs: dict = {}
    size = image_size or (prep.size if prep is not None else None)
    if size:
        native = (open_clip.get_model_config(name) or {}).get("vision_cfg", {}).get("image_size")
        native = (native, native) if isinstance(native, int) else tuple(native or ())
        if tuple(size) != native:
            kwargs["force_image_size"] = tuple(size)
    if activation == QUICK_GELU and not arch_quick_gelu(name):
        kwargs["force_quick_gelu"] = True
    elif activation == GELU and arch_quick_gelu(name):
        raise ConfigError(f"model {name} is a QuickGELU architecture: --activation gelu "
                          "does not apply", "use the architecture without -quickgelu")
    return kwargs


def load_model(name: str, pretrained: str, device: str | torch.device = "cpu",
               seed: int = 0, image_size: tuple[int, int] | None = None,
               prep: ImagePrep | None = None, activation: str | None = None) -> RetrievalModel:
    """An open_clip model by architecture name and weights (tag, local path or 'random').

    `image_size` overrides the architecture's input size (e.g. (384, 128) for person search);
    `prep` replaces open_clip's resize + crop by a recipe of bench/data/preprocess.py (its size,
    when set, is the model's input size unless `image_size` is given); `activation`
    (quick_gelu | gelu; None: the rule of bench.models.activation) builds the matching
    MLP activation.
    """
    add_bench_configs()
    if name not in open_clip.list_models():
        raise UnknownNameError("model", name, ["any open_clip architecture: see "
                                               "`python -m bench list models`"])
    device = torch.device(device)
    path = Path(pretrained).expanduser()
    looks_like_path = path.suffix in (".pt", ".pth", ".bin", ".safetensors", ".ckpt") or "/" in pretrained
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.CRITICAL)  # open_clip logs its own version of our error
    try:
        size = _build_kwargs(name, image_size, prep, activation or activation_for(name, pretrained))
        if pretrained == RANDOM:
            torch.manual_seed(seed)
            model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None,
                                                                         **size)
        elif path.is_file():
            model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None,
                                                                         **size)
            load_local(model, name, path)
        elif looks_like_path:
            raise WeightsError(f"checkpoint {path} not found", "pass an existing file to --pretrained")
        else:
            _check_tag(name, pretrained)
            with offline_unless_reachable():
                model, _, preprocess = open_clip.create_model_and_transforms(
                    name, pretrained=pretrained, **size)
    except (WeightsError, ConfigError):
        raise
    except Exception as err:
        reason = ("not in the local cache and the model hub cannot be reached"
                  if not hub_reachable() else str(err).splitlines()[0][:200])
        raise WeightsError(f"cannot load weights '{pretrained}' for model {name}: {reason}",
                           "pass a local checkpoint with --pretrained PATH") from err
    finally:
        logging.getLogger().setLevel(root_level)
    tokenizer = open_clip.get_tokenizer(name)
    weights = _weights_id(name, pretrained, seed)
    if image_size:
        weights += f"@{image_size[0]}x{image_size[1]}"
    return RetrievalModel(model, preprocess, tokenizer, name, pretrained, weights, device,
                          prep=prep)
