"""How the papers' official code feeds each kind of dataset to a model: one place.

Every real-data cell takes its image preprocessing and its caption rule from
`RECIPES`, by dataset kind (docs/protocol.md section 4, docs/real-data.md):

==========  =====================================  ============  ==========================
kind        image                                  captions      official code
==========  =====================================  ============  ==========================
captions    squash to (S, S), bicubic              pre_caption   TCR data/__init__.py
            (S: the model's input, 224 CLIP,       (30 words)    ``transform_test``;
            384 BLIP)                                            data/coco_dataset.py
fashion     squash to (S, S), bicubic              pre_caption   TCR data/__init__.py;
                                                   (77 words)    fashion_gen_dataset.py
reid        squash to (384, 128), bilinear         raw, cut at   IRRA datasets/build.py
            (torchvision's Resize default)         77 tokens     ``build_transforms``;
                                                                 datasets/bases.py
                                                                 ``tokenize(truncate=True)``
composed    short side to S, centre crop, bicubic  raw           CLIP4Cir src/validate.py
            (CLIP's own preprocessing)                           ``--transform clip``
==========  =====================================  ============  ==========================

"Squash" resizes the whole image to the target size (aspect ratio not kept, nothing
cut); "crop" is open_clip's own transform (short side to S, then a centre crop),
which the embedded suites keep (their images are square, so it is the identity
there) so that their committed cell ids and results stay valid.

Caption rules: ``pre_caption`` is BLIP's normalisation (lower-case, strip
``. ! " ( ) * # : ; ~``, collapse runs of two or more whitespace, keep the first 30
space-separated words), applied by TCR's
COCO / Flickr / Nocaps loaders (Fashion-Gen's keeps 77 words: ``pre_caption_77``); ``raw`` passes the caption unchanged to the
tokenizer, which keeps the start token, the first 75 text tokens and an end token
(the 77-token context), as IRRA's and TCR's person-search loaders do.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

from bench.api.errors import ConfigError

SQUASH = "squash"
CROP = "crop"  # open_clip: resize the short side, centre crop (embedded suites only)
INTERPOLATIONS = ("bicubic", "bilinear")

PRE_CAPTION = "pre_caption"
PRE_CAPTION_77 = "pre_caption_77"  # TCR's Fashion-Gen loader: max_words=77
RAW = "raw"
PRE_CAPTION_WORDS = 30
_STRIP = re.compile(r"[.!\"()*#:;~]")
_SPACE_RUNS = re.compile(r"\s{2,}")


@dataclass(frozen=True)
class ImagePrep:
    """Spatial preprocessing: target size, resize mode and interpolation."""

    size: tuple[int, int] | None = None  # (H, W); None: the model's native square input
    mode: str = SQUASH
    interpolation: str = "bicubic"

    def __post_init__(self) -> None:
        if self.mode not in (SQUASH, CROP):
            raise ConfigError(f"unknown resize mode '{self.mode}'", f"one of {SQUASH}, {CROP}")
        if self.interpolation not in INTERPOLATIONS:
            raise ConfigError(f"unknown interpolation '{self.interpolation}'",
                              f"one of {', '.join(INTERPOLATIONS)}")

    def at(self, size: tuple[int, int]) -> ImagePrep:
        """This preprocessing with its size fixed (the model's native size or an override)."""
        return replace(self, size=(int(size[0]), int(size[1])))

    @property
    def label(self) -> str:
        """E.g. ``squash 384x128 bilinear`` (recorded in rows, part of cache keys)."""
        size = "native" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        return f"{self.mode} {size} {self.interpolation}"

    def record(self) -> dict:
        out = asdict(self)
        out["size"] = list(self.size) if self.size else None
        return out

    def spatial(self) -> list:
        """The torchvision transforms (on PIL images) before ToTensor/Normalize."""
        from torchvision import transforms as T

        if self.size is None:
            raise ConfigError("ImagePrep.spatial needs a size: call .at(size) first")
        mode = getattr(T.InterpolationMode, self.interpolation.upper())
        if self.mode == SQUASH:
            return [T.Resize(self.size, interpolation=mode)]
        return [T.Resize(min(self.size), interpolation=mode), T.CenterCrop(self.size)]


def pre_caption(text: str, max_words: int = PRE_CAPTION_WORDS) -> str:
    """BLIP's ``pre_caption`` (data/utils.py), step by step.

    Lower-case; each of . ! " ( ) * # : ; ~ becomes a space; every run of two or more
    whitespace characters becomes one space (a single tab or newline stays where it is);
    a trailing newline is dropped, then the spaces at both ends; the words are what
    ``split(" ")`` gives, and the caption keeps its first `max_words` (30) of them.
    """
    text = _SPACE_RUNS.sub(" ", _STRIP.sub(" ", text.lower()))
    words = text.rstrip("\n").strip(" ").split(" ")
    return " ".join(words[:max_words])


CAPTION_RULES = {PRE_CAPTION: pre_caption, PRE_CAPTION_77: lambda text: pre_caption(text, 77),
                 RAW: lambda text: text}


def apply_caption_rule(rule: str, text: str) -> str:
    """The caption as the model's tokenizer receives it under `rule`."""
    try:
        return CAPTION_RULES[rule](text)
    except KeyError:
        raise ConfigError(f"unknown caption rule '{rule}'",
                          f"one of {', '.join(CAPTION_RULES)}") from None


def caption_cache_tag(rule: str) -> str:
    """Cache-key tag of a caption rule (``normalize-v1`` is the pre-existing name)."""
    return "normalize-v1" if rule == PRE_CAPTION else f"{rule}-v1"


@dataclass(frozen=True)
class KindRecipe:
    """Preprocessing and caption rule of one dataset kind, and where the official code has it."""

    image: ImagePrep
    caption_rule: str
    where: str


RECIPES = {
    "captions": KindRecipe(
        ImagePrep(None, SQUASH, "bicubic"), PRE_CAPTION,
        "TCR data/__init__.py create_dataset: transforms.Resize((resize, resize), BICUBIC); "
        "data/coco_dataset.py, data/flickr30k_dataset.py: pre_caption(caption, 30)"),
    "fashion": KindRecipe(
        ImagePrep(None, SQUASH, "bicubic"), PRE_CAPTION_77,
        "TCR data/__init__.py create_dataset: transforms.Resize((resize, resize), BICUBIC); "
        "data/fashion_gen_dataset.py: pre_caption(caption, max_words=77)"),
    "reid": KindRecipe(
        ImagePrep((384, 128), SQUASH, "bilinear"), RAW,
        "IRRA datasets/build.py build_transforms(is_train=False): T.Resize((384, 128)); "
        "datasets/bases.py tokenize(caption, text_length=77, truncate=True); TCR "
        "data/__init__.py transform_test_reid, data/cuhk_pedes_dataset.py tokenize"),
    "composed": KindRecipe(
        ImagePrep(None, CROP, "bicubic"), RAW,
        "CLIP4Cir src/validate.py --transform clip: CLIP's own preprocess (short side to S, "
        "centre crop, bicubic); the texts go to clip.tokenize as given"),
}


def recipe_for(kind: str) -> KindRecipe:
    try:
        return RECIPES[kind]
    except KeyError:
        raise ConfigError(f"no preprocessing recipe for dataset kind '{kind}'",
                          f"one of {', '.join(RECIPES)}") from None


@dataclass(frozen=True)
class InputSpec:
    """What a real-data cell feeds the model: recorded in its row and part of its id."""

    image: ImagePrep  # with its size resolved
    caption_rule: str
    activation: str  # quick_gelu | gelu
    queries: str = "bench"  # bench: bench's own corruption; released: TCR's pre-built files
    skip_unreadable: bool = False  # --skip-unreadable: leave unreadable images out

    def record(self) -> dict:
        out = {"preprocess": self.image.record(), "preprocess_label": self.image.label,
               "caption_rule": self.caption_rule, "activation": self.activation,
               "queries": self.queries}
        if self.skip_unreadable:
            out["skip_unreadable"] = True
        return out
