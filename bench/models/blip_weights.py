"""Named BLIP retrieval models and where their weights come from.

``--model blip-base-coco`` (and the others below) takes its weights, in order:

1. ``--pretrained PATH``: an original BLIP checkpoint (``model_base_retrieval_coco.pth``,
   converted on load, bench/models/blip_convert.py) or a Hugging Face model folder
   (``config.json`` + weights + tokenizer files); ``--pretrained random`` gives untrained
   weights (tests only); ``--pretrained Owner/name`` a hub repository (cached or online).
2. The original checkpoint under ``$BENCH_WEIGHTS/blip/`` (default ``~/.cache/bench/weights``;
   TCR's ``weights/blip/`` layout), else
3. the model's Hugging Face repository in the local hub cache (or downloaded when the hub
   can be reached): ``Salesforce/blip-itm-base-coco`` etc.

Original checkpoints carry no tokenizer: BERT's uncased WordPiece is read from
``$BENCH_BLIP_TOKENIZER`` (a folder with ``vocab.txt``) or the hub's ``bert-base-uncased``.
Needs the optional extra ``pip install -e ".[blip]"`` (transformers).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from bench.api.errors import WeightsError, describe
from bench.api.interfaces import Backbone
from bench.api.registry import MODELS
from bench.files import cache_home
from bench.models.weights import file_sha256

if TYPE_CHECKING:  # the model classes load with the first model, not with the registry
    from bench.models.blip import BlipRetrievalModel

RANDOM = "random"
TOKENIZER = "bert-base-uncased"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_VISION = {"base": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                        num_attention_heads=12),
           "large": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                         num_attention_heads=16)}


def weights_home() -> Path:
    """Where original checkpoints are looked for: ``$BENCH_WEIGHTS`` or ``<cache>/weights``."""
    root = os.environ.get("BENCH_WEIGHTS")
    return Path(root).expanduser() if root else cache_home() / "weights"


def blip_config(vit: str = "base", image_size: int = 384):
    """The `BlipConfig` of BLIP's retrieval models (salesforce/BLIP configs, med_config.json):
    ViT-B/16 or ViT-L/16 with LayerNorm eps 1e-6, BERT-base text encoder with cross-attention."""
    from transformers import BlipConfig

    vision = dict(_VISION[vit], image_size=image_size, patch_size=16, layer_norm_eps=1e-6)
    text = dict(vocab_size=30524, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, max_position_embeddings=512, layer_norm_eps=1e-12,
                encoder_hidden_size=vision["hidden_size"], is_decoder=True)
    return BlipConfig(vision_config=vision, text_config=text, image_text_hidden_size=256)


def _hub_cached(repo: str) -> Path | None:
    """The local snapshot folder of a hub repository, if its config is cached."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def _looks_like_repo(text: str) -> bool:
    return text.count("/") == 1 and not Path(text).expanduser().exists() and \
        not text.startswith((".", "/", "~"))


def _folder_id(folder: Path) -> str:
    for name in _WEIGHT_FILES:
        if (folder / name).is_file():
            return f"sha256:{file_sha256(folder / name)}"
    return f"folder:{folder.resolve()}"


@dataclass(frozen=True)
class BlipModel(Backbone):
    """A BLIP retrieval model: architecture, original checkpoint name and hub repository."""

    name: str
    vit: str  # base | large
    checkpoint: str  # original file name (salesforce/BLIP), looked for under weights_home()/blip
    hub: str | None  # Hugging Face repository of the same weights, if any
    description: str
    config: Callable[[], object] | None = None  # tests: a tiny BlipConfig
    tokenizer_source: str | None = None  # tests: a folder with vocab.txt

    @property
    def arch(self) -> str:
        return f"blip-{self.vit}"

    found_label = "weights found"  # the weights are fetched, not shipped

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the model's image input, without building it (384 px as BLIP)."""
        size = self.config().vision_config.image_size if self.config else 384
        return (size, size)

    # ---- where the weights are ----------------------------------------------------------
    def default_weights(self) -> Path:
        local = weights_home() / "blip" / self.checkpoint
        if local.is_file() or not self.hub:
            return local
        return _hub_cached(self.hub) or Path(self.hub)

    def _source(self, pretrained: str | None) -> str:
        return pretrained or str(self.default_weights())

    def missing(self, pretrained: str | None = None) -> str | None:
        """Why the weights cannot be had, or None."""
        try:
            import transformers  # noqa: F401
        except ImportError:
            return 'BLIP needs transformers: pip install -e ".[blip]"'
        if pretrained == RANDOM:
            return None
        source = self._source(pretrained)
        path = Path(source).expanduser()
        if path.is_file() or (path.is_dir() and (path / "config.json").is_file()):
            return None
        if path.is_dir():
            return f"{path} has no config.json (not a Hugging Face model folder)"
        if _looks_like_repo(source):
            from bench.models.weights import hub_reachable
            if _hub_cached(source) or hub_reachable():
                return None
        if pretrained:
            return f"checkpoint {source} not found"
        hub = f", or cache the hub repository {self.hub}" if self.hub else ""
        return (f"weights of {self.name} not found: put {self.checkpoint} in "
                f"{weights_home() / 'blip'}{hub}, or pass --pretrained PATH")

    def weights_identity(self, pretrained: str | None, seed: int = 0, memo: bool = True) -> str:
        """Identify the weights without loading them (part of cell ids and cache keys); the
        file hash is always memoised (`memo` is the `Backbone` signature's)."""
        if pretrained == RANDOM:
            return f"random-seed{seed}"
        source = self._source(pretrained)
        path = Path(source).expanduser()
        if path.is_file():
            return f"sha256:{file_sha256(path)}"
        if path.is_dir():
            return _folder_id(path)
        cached = _hub_cached(source) if _looks_like_repo(source) else None
        return _folder_id(cached) if cached else f"hub:{source}"

    # ---- loading ------------------------------------------------------------------------
    def load(self, pretrained: str | None, device: str | torch.device, seed: int = 0,
             prep=None, activation: str | None = None) -> BlipRetrievalModel:
        """The model. `prep` (the real-data recipe, bench/data/preprocess.py) is sized to BLIP's
        input (384 px); BLIP's MLPs are GELU, so another `activation` is an error."""
        if activation not in (None, "gelu"):
            raise WeightsError(f"{self.name} uses GELU: --activation {activation} does not apply")
        reason = self.missing(pretrained)
        if reason:
            raise WeightsError(reason)
        from transformers import BlipForImageTextRetrieval
        from transformers.utils import logging as hf_logging

        from bench.models.blip import BlipRetrievalModel

        hf_logging.set_verbosity_error()
        source = self._source(pretrained)
        path = Path(source).expanduser()
        if pretrained == RANDOM or path.is_file():
            torch.manual_seed(seed)
            config = self.config() if self.config else blip_config(self.vit)
            model = BlipForImageTextRetrieval(config)
            if path.is_file():
                from bench.models.blip_convert import load_converted, unwrap
                try:
                    state = torch.load(path, map_location="cpu", weights_only=True)
                except Exception as err:
                    raise WeightsError(f"unreadable BLIP checkpoint {path}: "
                                       f"{str(err).splitlines()[0][:160]}") from err
                load_converted(model, unwrap(state), str(path))
            tokenizer = self._tokenizer(None)
        else:
            folder = path if path.is_dir() else None
            model = self._from_hub(BlipForImageTextRetrieval, folder or source)
            tokenizer = self._tokenizer(str(folder or source))
        weights = self.weights_identity(pretrained, seed)
        return BlipRetrievalModel(model.float(), tokenizer, self.name, pretrained or source,
                                  weights, torch.device(device), prep=prep)

    def _from_hub(self, cls, source):
        from bench.models.openclip import offline_unless_reachable
        try:
            with offline_unless_reachable():
                return cls.from_pretrained(str(source))
        except Exception as err:
            raise WeightsError(f"cannot load BLIP weights {source}: "
                               f"{str(err).splitlines()[0][:200]}",
                               "pass an original checkpoint or a model folder with --pretrained")\
                from err

    def _tokenizer(self, folder: str | None):
        from transformers import AutoTokenizer, BertTokenizer

        from bench.models.openclip import offline_unless_reachable
        sources = ([folder] if folder else []) + [
            self.tokenizer_source or os.environ.get("BENCH_BLIP_TOKENIZER") or TOKENIZER]
        first = None
        for src in sources:
            try:
                with offline_unless_reachable():
                    if Path(src).is_dir() and (Path(src) / "vocab.txt").is_file() \
                            and not (Path(src) / "tokenizer_config.json").is_file():
                        return BertTokenizer(str(Path(src) / "vocab.txt"), do_lower_case=True)
                    return AutoTokenizer.from_pretrained(src)
            except Exception as err:  # try the next source
                first = first or err
        raise WeightsError(f"no BERT tokenizer for {self.name}: {describe(first)[:200]}",
                           "set BENCH_BLIP_TOKENIZER to a folder holding bert-base-uncased's "
                           "vocab.txt, or cache bert-base-uncased from the hub")


_REPO = "Salesforce/blip-itm-{}-{}"
for _vit in ("base", "large"):
    for _data, _label in (("coco", "COCO"), ("flickr", "Flickr30K")):
        MODELS.add(f"blip-{_vit}-{_data}", BlipModel(
            name=f"blip-{_vit}-{_data}", vit=_vit,
            checkpoint=f"model_{_vit}_retrieval_{_data}.pth", hub=_REPO.format(_vit, _data),
            description=f"BLIP ViT-{_vit[0].upper()}/16 (384 px) fine-tuned for retrieval on "
                        f"{_label} (transformers; ITC embeddings)"))
    MODELS.add(f"blip-{_vit}", BlipModel(
        name=f"blip-{_vit}", vit=_vit, checkpoint=f"model_{_vit}.pth", hub=None,
        description=f"BLIP ViT-{_vit[0].upper()}/16 pre-trained (not fine-tuned), run at 384 px "
                    "as TCR's query-gallery-shift configs (original checkpoint only)"))
