"""Real data as the papers ran it: activation, squash resize, caption rule, TorchScript weights."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from open_clip.transformer import QuickGELU
from PIL import Image
from torch import nn
from torchvision import transforms as T

from bench.data.preprocess import RAW, RECIPES, apply_caption_rule, pre_caption
from bench.models.activation import GELU, QUICK_GELU, activation_for, built_activation
from bench.models.openclip import load_model


def _has_quick_gelu(model: nn.Module) -> bool:
    return any(isinstance(m, QuickGELU) for m in model.modules())


def test_openai_tag_builds_quick_gelu(monkeypatch):
    made = {}
    original = open_clip.create_model_and_transforms

    def offline(name, pretrained=None, **kwargs):  # the same build, without the download
        made.update(kwargs, pretrained=pretrained)
        return original(name, pretrained=None, **kwargs)

    monkeypatch.setattr(open_clip, "create_model_and_transforms", offline)
    rm = load_model("ViT-B-32", "openai")
    assert made["pretrained"] == "openai" and made["force_quick_gelu"] is True
    assert _has_quick_gelu(rm.model) and rm.activation == QUICK_GELU
    assert activation_for("ViT-B-16", "openai") == QUICK_GELU
    assert activation_for("ViT-B-16", "laion2b_s34b_b88k") == GELU  # open_clip-trained: GELU


def test_irra_style_checkpoint_builds_quick_gelu(tmp_path):
    source = load_model("mini-clip", "random", seed=3)
    assert source.activation == GELU
    path = tmp_path / "irra_cuhk.pth"
    torch.save({"model": {f"base_model.{k}": v for k, v in source.model.state_dict().items()}},
               path)
    assert activation_for("mini-clip", str(path)) == QUICK_GELU
    loaded = load_model("mini-clip", str(path))
    assert _has_quick_gelu(loaded.model) and built_activation(loaded.model) == QUICK_GELU
    plain = tmp_path / "plain.pth"
    torch.save(source.model.state_dict(), plain)
    assert not _has_quick_gelu(load_model("mini-clip", str(plain)).model)


def _scriptable(state: dict[str, torch.Tensor]) -> nn.Module:
    """A module whose TorchScript state dict is `state` (OpenAI's archive layout)."""
    class Holder(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    root = Holder()
    for key, value in state.items():
        *parents, leaf = key.split(".")
        module = root
        for part in parents:
            if not hasattr(module, part):
                module.add_module(part, Holder())
            module = getattr(module, part)
        module.register_buffer(leaf, value.clone())
    return root


def test_torchscript_archive_loads_in_fp32_with_quick_gelu(tmp_path):
    source = load_model("mini-clip", "random", seed=5)
    state = {k: (v.half() if v.is_floating_point() else v)
             for k, v in source.model.state_dict().items()}  # OpenAI ships fp16
    state["input_resolution"] = torch.tensor(64)
    state["context_length"] = torch.tensor(64)
    state["vocab_size"] = torch.tensor(49408)
    path = tmp_path / "ViT-mini.pt"
    torch.jit.save(torch.jit.script(_scriptable(state)), str(path))
    with pytest.raises(RuntimeError):
        torch.load(path, weights_only=True)  # what refused it before
    loaded = load_model("mini-clip", str(path))
    assert _has_quick_gelu(loaded.model)
    for k, v in loaded.model.state_dict().items():
        assert v.dtype == source.model.state_dict()[k].dtype  # fp32 on the CPU
        assert torch.equal(v, state[k].float())


def _marked(h: int, w: int) -> np.ndarray:
    """A grey image whose four edges carry coloured bands (8% of each side)."""
    img = np.full((h, w, 3), 128, dtype=np.uint8)
    bh, bw = max(1, h // 12), max(1, w // 12)
    img[:bh] = (255, 0, 0)
    img[-bh:] = (0, 255, 0)
    img[:, :bw] = (0, 0, 255)
    img[:, -bw:] = (255, 255, 0)
    return img


@pytest.mark.parametrize("kind,size,image_hw,official", [
    ("captions", (64, 64), (60, 140),
     T.Resize((64, 64), interpolation=T.InterpolationMode.BICUBIC)),  # TCR transform_test
    ("reid", (384, 128), (128, 64), T.Resize((384, 128))),  # IRRA / TCR transform_test_reid
])
def test_squash_resize_is_the_official_transform(kind, size, image_hw, official):
    recipe = RECIPES[kind].image
    rm = load_model("mini-clip", "random", prep=recipe)
    assert rm.input_size == size and rm.preprocess_id.startswith(f"squash {size[0]}x{size[1]}")
    image = _marked(*image_hw)
    ours = rm.resize_image(image)
    theirs = np.asarray(official(Image.fromarray(image)))
    assert ours.shape == (*size, 3)
    assert np.array_equal(ours, theirs)
    # every edge marker survives (open_clip's centre crop cuts the long side's ends)
    mid_r, mid_c = size[0] // 2, size[1] // 2
    assert tuple(ours[0, mid_c]) == (255, 0, 0) and tuple(ours[-1, mid_c]) == (0, 255, 0)
    assert tuple(ours[mid_r, 0]) == (0, 0, 255) and tuple(ours[mid_r, -1]) == (255, 255, 0)
    cropped = load_model("mini-clip", "random").resize_image(image)  # the embedded default
    assert not np.array_equal(cropped, np.asarray(
        T.Resize(size, interpolation=T.InterpolationMode.BICUBIC)(Image.fromarray(image))))


def test_caption_rules():
    long = " ".join(f"Word{k}." for k in range(40))
    assert apply_caption_rule(RAW, long) == long
    assert pre_caption(long) == " ".join(f"word{k}" for k in range(30))
    assert pre_caption('A "dog": runs!  (fast)') == "a dog runs fast"
    assert RECIPES["reid"].caption_rule == RAW and RECIPES["captions"].caption_rule != RAW



def test_pre_caption_collapses_only_runs_of_two_or_more_whitespace():
    # BLIP: a run of >= 2 whitespace becomes one space, a single tab or newline stays inside
    # its word, and the 30 words are counted on single spaces.
    words = [f"w{k}" for k in range(40)]
    text = "w0 w1\tw2 w3\nw4 " + " ".join(words[5:]) + "\n"
    assert pre_caption(text) == "w0 w1\tw2 w3\nw4 " + " ".join(words[5:32])
    assert pre_caption("\tA dog.\t\truns\n") == "\ta dog runs"  # the edges: ' ' and one '\n'
    assert pre_caption(" x \n\t y  ") == "x y"

# ---- planned real-data cells: recorded inputs, cell ids, the caption reaching the tokenizer ----

def _irra_checkpoint(tmp_path, size=(384, 128)):
    source = load_model("mini-clip", "random", seed=2, image_size=size)
    path = tmp_path / "irra_mini.pth"
    torch.save({"model": {f"base_model.{k}": v for k, v in source.model.state_dict().items()}},
               path)
    return path


def test_real_cells_record_inputs_and_ids_depend_on_them(tmp_path, monkeypatch):
    from bench.api.registry import load_builtins
    from bench.engine.planning import plan_run
    from bench.engine.settings import RunSettings
    from tests.helpers_realdata import coco_karpathy, pedes

    load_builtins()
    monkeypatch.setattr("bench.engine.planning.tag_missing", lambda name, tag: None)  # as if cached
    coco_karpathy(tmp_path)
    pedes(tmp_path, "cuhk")
    opts = dict(methods=["source"], data_root=tmp_path, log=lambda m: None)
    coco = plan_run(RunSettings.of(suites=["base2coco"], model="ViT-B-16", pretrained="openai",
                               **opts))
    inputs = coco[0].inputs.record()
    assert inputs["preprocess_label"] == "squash 224x224 bicubic"
    assert inputs["activation"] == "quick_gelu" and inputs["caption_rule"] == "pre_caption"
    ckpt = str(_irra_checkpoint(tmp_path))
    reid = plan_run(RunSettings.of(suites=["icfg2cuhk"], model="mini-clip", pretrained=ckpt, **opts))
    rec = reid[0].inputs.record()
    assert rec["preprocess"] == {"size": [384, 128], "mode": "squash",
                                 "interpolation": "bilinear"}
    assert rec["caption_rule"] == "raw" and rec["activation"] == "quick_gelu"
    other = plan_run(RunSettings.of(suites=["icfg2cuhk"], model="mini-clip", pretrained=ckpt,
                                activation="gelu", **opts))
    assert other[0].cell_id != reid[0].cell_id
    assert "inputs" in reid[0].describe() and "inputs" not in plan_run(RunSettings.of(
        suites=["smoke"], **opts))[0].describe()


def test_forty_word_reid_caption_reaches_the_tokenizer_whole(tmp_path, monkeypatch):
    from bench.engine.store import ResultStore
    from bench.models.openclip import RetrievalModel
    from tests.helpers_realdata import pedes
    from tests.helpers_run import cli

    long = " ".join(f"{WORD}{k}," for k, WORD in enumerate(["The"] + ["very"] * 39))
    records = [{"id": p + 1, "file_path": f"cam_a/{p}.jpg", "split": "test",
                "captions": [long if p == 0 else f"person {p} in a coat."]} for p in range(3)]
    pedes(tmp_path, "cuhk", records)
    seen: list[str] = []
    original = RetrievalModel.tokenize
    monkeypatch.setattr(RetrievalModel, "tokenize",
                        lambda self, texts: (seen.extend(texts), original(self, texts))[1])
    code, out, err = cli("run", "--method", "source", "--suite", "icfg2cuhk", "--model",
                         "mini-clip", "--pretrained", _irra_checkpoint(tmp_path), "--data-root",
                         tmp_path, "--out", tmp_path / "res", "--workers", "1", "--quiet")
    assert code == 0, err
    assert long in seen and len(long.split()) == 40
    tokens = original(load_model("mini-clip", "random"), [long])
    assert int((tokens[0] != 0).sum()) > 40  # nothing cut before the tokenizer
    row = ResultStore(tmp_path / "res").read().iloc[0]
    assert row.status == "ok" and '"caption_rule": "raw"' in row.inputs
    assert '"preprocess_label": "squash 384x128 bilinear"' in row.inputs


def test_gelu_override_on_a_quickgelu_architecture_is_refused():
    from bench.api.errors import ConfigError

    with pytest.raises(ConfigError, match="QuickGELU architecture"):
        load_model("ViT-B-16-quickgelu", "random", activation=GELU)
