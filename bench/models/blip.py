"""BLIP as a two-tower retrieval model, through `transformers.BlipForImageTextRetrieval`.

Scoring uses BLIP's image-text contrastive (ITC) embeddings, as TCR's protocol:
the normalised ``vision_proj`` of the vision encoder's [CLS] output and the
normalised ``text_proj`` of the text encoder's [CLS] output (text-only mode). The
ITM head (re-ranking) is not used.

Query-side parameters (TCR's ``blip_tta.collect_params``): the affine weight and
bias of every LayerNorm of the vision encoder for i2t (each layer's
``layer_norm1``/``layer_norm2`` and ``post_layernorm``) and of the text encoder for
t2i (``embeddings.LayerNorm`` and each layer's attention-output and output
``LayerNorm``). TCR's list also holds the text encoder's cross-attention LayerNorms,
which the text-only forward never reaches (they get no gradient, so AdamW never
moves them); bench leaves them out. TCR adapts BLIP's text side at lr 3e-5
(``default_lr`` of the t2i query tower).

Inputs: a 384x384 squash resize (bicubic, no crop) and CLIP's mean/std, as BLIP's
and TCR's test transform (the real-data recipe of bench/data/preprocess.py, when the runner
passes one, sized to the model's input: the same squash); captions tokenised by BERT's uncased WordPiece with at
most 35 tokens (BLIP's ``max_length``), after bench's caption normalisation
(BLIP's ``pre_caption``, bench/data/preprocess.py).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from bench.models.composed import COMPOSED, encode_composed
from bench.models.openclip import QueryTower, RetrievalModel

MEAN = (0.48145466, 0.4578275, 0.40821073)  # BLIP's (and CLIP's) normalisation
STD = (0.26862954, 0.26130258, 0.27577711)
MAX_TOKENS = 35  # BLIP's tokenizer max_length for retrieval
TEXT_LR = 3e-5  # TCR's learning rate for BLIP t2i (main.py); i2t keeps the protocol's 3e-4


def blip_preprocess(size: int) -> transforms.Compose:
    """BLIP's test transform: squash resize to size x size (bicubic), CLIP normalisation."""
    return transforms.Compose([
        transforms.Resize((size, size), interpolation=InterpolationMode.BICUBIC),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


def image_features(model: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """Normalised ITC image embeddings: vision_proj of the [CLS] output."""
    hidden = model.vision_model(pixel_values=pixels).last_hidden_state
    return F.normalize(model.vision_proj(hidden[:, 0, :]), dim=-1)


def text_features(model: nn.Module, tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Normalised ITC text embeddings: text_proj of the [CLS] output, text-only mode.

    The tokens are cut to the batch's longest caption: the padding is masked out of
    the (bidirectional) attention, so the [CLS] output is that of the padded input.
    """
    mask = (tokens != pad_id).long()
    length = int(mask.sum(dim=1).max().clamp(min=1))
    out = model.text_encoder(input_ids=tokens[:, :length], attention_mask=mask[:, :length],
                             is_decoder=False)
    return F.normalize(model.text_proj(out.last_hidden_state[:, 0, :]), dim=-1)


class BlipRetrievalModel(RetrievalModel):
    """A `BlipForImageTextRetrieval` seen as the two towers bench adapts and scores."""

    def __init__(self, model: nn.Module, tokenizer, name: str, pretrained: str,
                 weights_id: str, device: torch.device, prep=None):
        size = model.config.vision_config.image_size
        super().__init__(model, blip_preprocess(size), tokenizer, name, pretrained,
                         weights_id, device, prep=prep)
        self.pad_id = int(tokenizer.pad_token_id or 0)

    @property
    def input_size(self) -> tuple[int, int]:
        size = self.model.config.vision_config.image_size
        return (size, size) if isinstance(size, int) else tuple(size)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenizer(list(texts), padding="max_length", truncation=True,
                             max_length=MAX_TOKENS, return_tensors="pt")
        return enc["input_ids"]

    @property
    def context_length(self) -> int:
        return MAX_TOKENS

    def encode_images(self, x: torch.Tensor) -> torch.Tensor:
        return image_features(self.model, x.to(self.device))

    def encode_texts(self, tokens: torch.Tensor) -> torch.Tensor:
        return text_features(self.model, tokens.to(self.device), self.pad_id)

    def query_tower(self, direction: str) -> nn.Module:
        return self.model.vision_model if direction == "i2t" else self.model.text_encoder

    def layernorm_params(self, direction: str) -> list[tuple[str, nn.Parameter]]:
        """The query tower's LayerNorms, without the text encoder's cross-attention ones
        (ITM only: the ITC text forward never uses them)."""
        return [(n, p) for n, p in super().layernorm_params(direction)
                if ".crossattention." not in f".{n}"]

    def query_model(self, direction: str) -> BlipQueryTower:
        return BlipQueryTower(self, direction)


class BlipQueryTower(QueryTower):
    """The adapted BLIP tower; `default_lr` is TCR's learning rate for its direction."""

    def __init__(self, rm: BlipRetrievalModel, direction: str):
        super().__init__(rm, direction)
        self.default_lr = TEXT_LR if direction == "t2i" else None

    def source_encoder(self):
        if self._source is None:
            frozen = copy.deepcopy(self.rm.model).eval()
            for p in frozen.parameters():
                p.requires_grad_(False)
            device, pad_id = self.rm.device, self.rm.pad_id

            @torch.no_grad()
            def encode(batch: torch.Tensor) -> torch.Tensor:
                batch = batch.to(device)
                if self.direction == COMPOSED:
                    return encode_composed(batch, MAX_TOKENS, lambda x: image_features(frozen, x),
                                           lambda t: text_features(frozen, t.to(device), pad_id))
                if self.direction == "i2t":
                    return image_features(frozen, batch)
                return text_features(frozen, batch, pad_id)

            self._source = encode
        return self._source

