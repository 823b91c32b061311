"""Which activation (GELU or QuickGELU) a set of CLIP weights was trained with.

OpenAI's CLIP uses QuickGELU (``x * sigmoid(1.702 x)``); open_clip builds GELU
models unless told otherwise, and only warns on a mismatch. The rule
(docs/protocol.md section 4, docs/real-data.md):

* an open_clip pretrained tag: the tag's own ``quick_gelu`` flag (``openai``: QuickGELU),
  else the architecture's config;
* a local OpenAI TorchScript archive (``ViT-B-16.pt`` as ``clip.load`` downloads it):
  QuickGELU, as open_clip's ``load_openai_model`` builds it;
* a local IRRA-style checkpoint (weights under ``base_model.``): QuickGELU, since IRRA
  fine-tunes OpenAI's CLIP (IRRA model/clip_model.py ``QuickGELU``);
* anything else (``random``, a plain state dict): the architecture's config, unless
  ``--activation`` says otherwise.
"""

from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path

import open_clip
import torch

QUICK_GELU = "quick_gelu"
GELU = "gelu"
ACTIVATIONS = (QUICK_GELU, GELU)


def is_torchscript(path: str | Path) -> bool:
    """A TorchScript archive: a zip with a ``constants.pkl`` and compiled ``code/``."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return (any(n.endswith("/constants.pkl") for n in names)
            and any("/code/" in n for n in names))


@lru_cache(maxsize=32)
def _has_irra_prefix(path: str, mtime: float) -> bool:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return False
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
    if not isinstance(obj, dict):
        return False
    return any(str(k).removeprefix("module.").startswith("base_model.") for k in obj)


def arch_quick_gelu(name: str) -> bool:
    cfg = open_clip.get_model_config(name) or {}
    return bool(cfg.get("quick_gelu", False))


def activation_for(name: str, pretrained: str | None, override: str | None = None) -> str:
    """``quick_gelu`` or ``gelu`` for architecture `name` with weights `pretrained`."""
    if override:
        return override
    if arch_quick_gelu(name):
        return QUICK_GELU
    if not pretrained or pretrained == "random":
        return GELU
    path = Path(pretrained).expanduser()
    if path.is_file():
        if is_torchscript(path) or _has_irra_prefix(str(path), path.stat().st_mtime):
            return QUICK_GELU
        return GELU
    cfg = open_clip.get_pretrained_cfg(name, pretrained) or {}
    return QUICK_GELU if cfg.get("quick_gelu") else GELU


def built_activation(model: torch.nn.Module) -> str:
    """The activation a built model actually uses (read from its modules)."""
    from open_clip.transformer import QuickGELU

    return QUICK_GELU if any(isinstance(m, QuickGELU) for m in model.modules()) else GELU
