"""Local checkpoint files for open_clip architectures: open_clip's own format, OpenAI's
TorchScript archives, and training checkpoints that wrap CLIP weights (e.g. IRRA)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bench.api.errors import WeightsError, describe
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
    """A local checkpoint: an OpenAI TorchScript archive, open_clip's format, then wrapped
    training checkpoints (e.g. IRRA). The weights must fit the architecture exactly: a
    missing or unexpected weight or a shape that differs is refused (no partial load)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise WeightsError(f"checkpoint {path} is empty (0 bytes)", "pass a complete checkpoint")
    if is_torchscript(path):
        _load_torchscript(model, name, path)
        return
    state, wrapped = _read_state(path, name)
    state = _open_clip_names(model, state)
    own = model.state_dict()
    if wrapped:  # a training checkpoint also holds its heads (IRRA's MLM, ...): CLIP's only
        state = {k: v for k, v in state.items() if k in own}
    problems = fit_problems(own, state)
    if problems:
        raise WeightsError(f"checkpoint {path} does not fit model {name}: {problems}",
                           "is it the right --model (and --image-size)?")
    _load_into(model, state, f"checkpoint {path}", name, "is it the right --model?")


def _read_state(path: Path, name: str) -> tuple[dict, bool]:
    """(state dict, whether it was unwrapped from a training checkpoint), in open_clip's
    naming: its own reader and format conversions first, then bench's unwrapping."""
    from open_clip.factory import load_state_dict

    try:
        state = load_state_dict(str(path), weights_only=True)
        if isinstance(state, dict) and all(torch.is_tensor(v) for v in state.values()):
            return state, False
        first = "not a dict of tensors"
    except Exception as err:  # noqa: BLE001 - any reader failure: try the wrapped formats
        first = describe(err)[:160]
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001
        raw = None
    state = _unwrap_state_dict(raw)
    if state is None:
        raise WeightsError(f"unreadable checkpoint {path} for model {name}: {first}")
    return state, True


def _open_clip_names(model: nn.Module, state: dict) -> dict:
    """open_clip's renaming of older layouts, as its `load_checkpoint` does."""
    from open_clip.factory import convert_to_custom_text_state_dict

    if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
        state = convert_to_custom_text_state_dict(state)
    position_ids = "text.transformer.embeddings.position_ids"
    if position_ids in state and position_ids not in model.state_dict():
        del state[position_ids]
    if "logit_bias" not in state and getattr(model, "logit_bias", None) is not None:
        state["logit_bias"] = torch.zeros_like(state["logit_scale"])
    return state


def fit_problems(own: dict, state: dict, show: int = 3) -> str:
    """'' when `state` has exactly the keys and shapes of `own`, else one line naming the
    first few missing and unexpected weights and shape differences."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in state and state[k].shape != own[k].shape
              and not (k == "logit_scale" and state[k].numel() == own[k].numel())]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected),
                         ("shape (checkpoint vs model)", shapes)):
        if items:
            more = f" and {len(items) - show} more" if len(items) > show else ""
            parts.append(f"{len(items)} {label}: {', '.join(items[:show])}{more}")
    return "; ".join(parts)


def _load_torchscript(model: nn.Module, name: str, path: Path) -> None:
    """OpenAI's TorchScript ``ViT-B-16.pt`` (what ``clip.load`` downloads), read as open_clip's
    ``load_openai_model`` reads it: the archive's state dict, on the CPU, in fp32 (OpenAI
    stores fp16); the QuickGELU model is built by the caller (bench.models.activation)."""
    from open_clip.model import resize_pos_embed

    try:
        archive = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:
        raise WeightsError(f"unreadable TorchScript checkpoint {path}: "
                           f"{describe(err)[:160]}") from err
    state = {k: (v.float() if v.is_floating_point() else v)
             for k, v in archive.state_dict().items()
             if k not in ("input_resolution", "context_length", "vocab_size")}
    resize_pos_embed(state, model)
    _load_into(model, state, f"TorchScript checkpoint {path}", name, "is it the right --model?")


def _load_into(model: nn.Module, state: dict, what: str, name: str, hint: str) -> None:
    """load_state_dict, with torch's shape error as one WeightsError line and a hint."""
    if "logit_scale" in state and "logit_scale" in model.state_dict():
        state["logit_scale"] = state["logit_scale"].reshape(model.state_dict()["logit_scale"].shape)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"{what} does not fit model {name}: "
                           f"{describe(err).splitlines()[-1].strip()[:160]}", hint) from err
