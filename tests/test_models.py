"""Model loading: local checkpoints (plain and wrapped, as IRRA's), clear errors."""

from __future__ import annotations

import pytest
import torch

from bench.api.errors import WeightsError
from bench.models.openclip import load_model


def test_wrapped_checkpoint_with_prefixes_loads(tmp_path):
    source = load_model("mini-clip", "random", seed=3)
    state = {f"base_model.{k}": v for k, v in source.model.state_dict().items()}
    state["classifier.weight"] = torch.zeros(2, 2)  # extra heads of the training model
    path = tmp_path / "irra_like.pth"
    torch.save({"model": state, "epoch": 7}, path)
    loaded = load_model("mini-clip", str(path))
    for k, v in source.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v)
    assert loaded.weights_id.startswith("sha256:")


def test_input_size_override_and_mismatch(tmp_path):
    tall = load_model("mini-clip", "random", image_size=(96, 48))
    assert tall.input_size == (96, 48) and tall.weights_id.endswith("@96x48")
    path = tmp_path / "tall.pth"
    torch.save({"model": {f"base_model.{k}": v for k, v in tall.model.state_dict().items()}},
               path)
    with pytest.raises(WeightsError, match="--image-size"):
        load_model("mini-clip", str(path))
    assert load_model("mini-clip", str(path), image_size=(96, 48)).input_size == (96, 48)


def test_checkpoint_of_another_model_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"visual.proj": torch.zeros(3)}, path)
    with pytest.raises(WeightsError,
                       match="does not fit model mini-clip: 109 missing: positional_embedding"):
        load_model("mini-clip", str(path))


def test_trimmed_text_encoding_equals_full_context():
    model = load_model("mini-clip", "random", seed=1)
    tokens = model.tokenize(["a red circle", "a big blue striped square to the left of a small "
                             "green star on a grey wooden background", ""])
    with torch.no_grad():
        full = model.model.encode_text(tokens, normalize=True)
        trimmed = model.encode_texts(tokens)
    assert trimmed.shape == full.shape
    assert torch.allclose(trimmed, full, atol=1e-5)
