"""Local checkpoint files for open_clip architectures: open_clip's own format, OpenAI's
TorchScript archives, and training checkpoints that wrap CLIP weights (e.g. IRRA)."""

from __future__ import annotations

from pathlib import Path

import open_clip
import torch
from torch import nn

from bench.api.errors import WeightsError
from bench.models.activation import is_torchscript


def _unwrap_state_dict(obj) -> dict | None:
    """CLIP weights inside a training checkpoint: a 'state_dict'/'model' entry, with
    'module.' (DDP) and 'base_model.' (IRRA) prefixes removed."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        return None
    out = {}
    for key, value in obj.items():
        for prefix in ("module.", "base_model."):
            key = key.removeprefix(prefix)
        out[key] = value
    return out


def load_local(model: nn.Module, name: str, path: Path) -> None:
    """A local checkpoint: an OpenAI TorchScript archive, open_clip's loader, then wrapped
    checkpoints (e.g. IRRA)."""
    if is_torchscript(path):
        _load_torchscript(model, name, path)
        return
    try:
        open_clip.load_checkpoint(model, str(path))
        return
    except Exception as err:
        first = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
    try:
        state = _unwrap_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception:
        state = None
    if state is None:
        raise WeightsError(f"unreadable checkpoint {path} for model {name}: {first}")
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own}
    missing = [k for k in own if k not in state]
    if missing:
        raise WeightsError(f"checkpoint {path} lacks {len(missing)} weights of model {name} "
                           f"(e.g. {missing[0]})", "is it the right --model?")
    _load_into(model, state, f"checkpoint {path}", name,
               "a different input size? pass --image-size H,W")


def _load_torchscript(model: nn.Module, name: str, path: Path) -> None:
    """OpenAI's TorchScript ``ViT-B-16.pt`` (what ``clip.load`` downloads), read as open_clip's
    ``load_openai_model`` reads it: the archive's state dict, on the CPU, in fp32 (OpenAI
    stores fp16); the QuickGELU model is built by the caller (bench.models.activation)."""
    from open_clip.model import resize_pos_embed

    try:
        archive = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:
        raise WeightsError(f"unreadable TorchScript checkpoint {path}: "
                           f"{str(err).splitlines()[0][:160]}") from err
    state = {k: (v.float() if v.is_floating_point() else v)
             for k, v in archive.state_dict().items()
             if k not in ("input_resolution", "context_length", "vocab_size")}
    resize_pos_embed(state, model)
    _load_into(model, state, f"TorchScript checkpoint {path}", name, "is it the right --model?")


def _load_into(model: nn.Module, state: dict, what: str, name: str, hint: str) -> None:
    """load_state_dict, with torch's shape error as one WeightsError line and a hint."""
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"{what} does not fit model {name}: "
                           f"{str(err).splitlines()[-1].strip()[:160]}", hint) from err
