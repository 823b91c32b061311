"""BLIP through transformers, with a tiny random model: towers, adapted LayerNorms, cells,
and original checkpoints converted on load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_blip import tiny_config, tiny_spec, write_vocab
from PIL import Image

from baselines.tent import Tent
from bench.api.contract import AdaptContext
from bench.api.errors import WeightsError
from bench.api.registry import METHODS, load_builtins
from bench.data.dataset import RetrievalDataset
from bench.engine.cache import Cache
from bench.engine.inputs import InputOptions, build_queries, gallery_embeddings
from bench.engine.loop import run_cell
from bench.models import blip_convert
from bench.suites.streams import Segment, plan_stream


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return tiny_spec(write_vocab(tmp_path_factory.mktemp("vocab")))


@pytest.fixture(scope="module")
def rm(spec):
    return spec.load("random", "cpu", seed=0)


def _state(rm):
    return {k: v.clone() for k, v in rm.model.state_dict().items()}


def test_adapted_parameters_are_tcrs_layernorms(rm):
    vision = {n for n, _ in rm.query_model("i2t").named_params()}
    assert vision == {f"encoder.layers.{i}.layer_norm{j}.{p}" for i in range(2) for j in (1, 2)
                      for p in ("weight", "bias")} | {"post_layernorm.weight", "post_layernorm.bias"}
    text = {n for n, _ in rm.query_model("t2i").named_params()}
    assert text == {f"embeddings.LayerNorm.{p}" for p in ("weight", "bias")} | {
        f"encoder.layer.{i}.{part}.LayerNorm.{p}" for i in range(2)
        for part in ("attention.output", "output") for p in ("weight", "bias")}
    rm.restore_source()


def test_learning_rate_is_tcrs_for_blip_text(rm):
    ctx = AdaptContext(gallery=torch.zeros(3, 16), direction="t2i", temperature=0.01)
    for direction, config, lr in (("t2i", Tent.Config(), 3e-5), ("i2t", Tent.Config(), 3e-4),
                                  ("t2i", Tent.Config(lr=1e-3), 1e-3)):
        method = Tent(config)
        method.setup(rm.query_model(direction), ctx)
        assert method.optimizer.param_groups[0]["lr"] == lr
        rm.restore_source()


def test_scores_are_blips_itc_similarities(rm):
    pixels = torch.randn(2, 3, 32, 32)
    tokens = rm.tokenize(["a dog on the grass", "two cats"])
    mask = (tokens != 0).long()
    with torch.no_grad():
        ours = rm.encode_images(pixels) @ rm.encode_texts(tokens).T
        theirs = rm.model(input_ids=tokens, pixel_values=pixels, attention_mask=mask,
                          use_itm_head=False).itm_score
    assert tokens.shape == (2, 35) and tokens[0, 0] == 2  # [CLS] first, padded to 35
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_squash_resize_bicubic(rm):
    out = rm.resize_image(np.zeros((40, 70, 3), dtype=np.uint8))
    assert out.shape == (32, 32, 3)
    assert "bicubic" in rm.preprocess_id and "Crop" not in rm.preprocess_id


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenes")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    words = ["dog", "cat", "man", "woman", "bus", "car"]
    captions = [f"a {words[i % 6]} with a {c} bag" for i in range(12) for c in ("red", "blue")]
    return RetrievalDataset("scenes", "captions", paths, captions, np.repeat(np.arange(12), 2))


@pytest.mark.parametrize("direction", ["i2t", "t2i"])
@pytest.mark.parametrize("method_name", ["source", "tent", "tcr"])
def test_cells_run_and_adapt_only_the_query_layernorms(rm, scenes, direction, method_name):
    load_builtins()
    build = InputOptions(cache=Cache(enabled=False), quiet=True)
    rm.restore_source()
    before = _state(rm)
    gallery = gallery_embeddings(scenes, direction, rm, build)
    n = scenes.n_images if direction == "i2t" else scenes.n_captions
    plan = plan_stream(n, [Segment("clean", 0)], "single", seed=0)
    queries = build_queries(scenes, direction, plan, rm, build)
    cls = METHODS.get(method_name)
    method = cls(cls.Config(lr=1e-2)) if method_name == "tent" else cls(cls.Config())
    out = run_cell(method, rm, direction, "captions", gallery, plan, queries, steps=2,
                   batch_size=8, seed=0)
    assert out.n_queries == n and 0 <= out.metrics["r1"] <= 100
    tower = "vision_model." if direction == "i2t" else "text_encoder."
    trainable = {tower + name for name, _ in rm.query_model(direction).named_params()}
    rm.restore_source()  # query_model above made them trainable again; restore freezes
    changed = {k for k, v in rm.model.state_dict().items() if not torch.equal(before[k], v)}
    assert not changed  # restore_source put the source weights back
    if method_name == "tent":
        method = Tent(Tent.Config(lr=1e-2))
        run_cell(method, rm, direction, "captions", gallery, plan, queries, steps=2,
                 batch_size=8, seed=0)
        changed = {k for k, v in rm.model.state_dict().items() if not torch.equal(before[k], v)}
        assert changed and changed <= trainable
        rm.restore_source()


# ---- original BLIP checkpoints ------------------------------------------------------------

def _blip_vision_names(depth: int) -> set[str]:
    """The vision encoder's parameter names in salesforce/BLIP's models/vit.py."""
    names = {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
             "norm.weight", "norm.bias"}
    for i in range(depth):
        for part in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"):
            names |= {f"blocks.{i}.{part}.weight", f"blocks.{i}.{part}.bias"}
    return {f"visual_encoder.{n}" for n in names}


def _original_checkpoint(model) -> dict[str, torch.Tensor]:
    """The model's weights in BLIP's layout, with the training-only entries BLIP saves."""
    state = {blip_convert.original_key(k): v.clone() for k, v in model.state_dict().items()}
    extra = {"temp": torch.tensor(0.07), "image_queue": torch.zeros(16, 8),
             "text_queue": torch.zeros(16, 8), "idx_queue": torch.zeros(1, 8),
             "ptr_queue": torch.zeros(1, dtype=torch.long),
             "text_encoder.embeddings.position_ids": torch.arange(64)[None],
             "text_decoder.cls.predictions.bias": torch.zeros(160)}
    for k, v in list(state.items()):
        if k.startswith(("visual_encoder.", "text_encoder.", "vision_proj.", "text_proj.")):
            head, rest = k.split(".", 1)
            extra[f"{head}_m.{rest}"] = v.clone()
    return state | extra


def test_original_layout_uses_blips_names(rm):
    converted = {blip_convert.original_key(k) for k in rm.model.state_dict()
                 if k.startswith("vision_model.")}
    assert converted == _blip_vision_names(depth=2)
    for k in rm.model.state_dict():
        assert blip_convert.hf_key(blip_convert.original_key(k)) == k


def test_original_checkpoint_converts_and_loads(spec, tmp_path):
    source = spec.load("random", "cpu", seed=7)
    original = _original_checkpoint(source.model)
    state = blip_convert.convert_state_dict(original)
    own = source.model.state_dict()
    assert set(state) == set(own)  # no missing or unexpected keys, training entries dropped
    path = tmp_path / "model_tiny_retrieval.pth"
    torch.save({"model": original, "config": {}}, path)
    loaded = spec.load(str(path), "cpu")
    for k, v in own.items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    assert loaded.weights_id.startswith("sha256:")
    assert spec.weights_identity(str(path)) == loaded.weights_id


def test_checkpoint_missing_a_tower_weight_is_refused(spec, tmp_path):
    original = _original_checkpoint(spec.load("random", "cpu").model)
    del original["visual_encoder.blocks.1.norm2.weight"]
    path = tmp_path / "broken.pth"
    torch.save({"model": original}, path)
    with pytest.raises(WeightsError, match="lacks 1 weights"):
        spec.load(str(path), "cpu")


def test_position_embedding_of_another_size_is_resized():
    pos = torch.randn(1, 1 + 4, 6)
    pos[:, 1:] = 2.5  # a constant grid stays constant under bicubic resizing
    out = blip_convert.resize_pos_embed(pos, 1 + 16)
    assert out.shape == (1, 17, 6)
    assert torch.equal(out[:, 0], pos[:, 0])
    assert torch.allclose(out[:, 1:], torch.full((1, 16, 6), 2.5), atol=1e-6)
    cfg_224 = tiny_config(image_size=16)  # a 2x2 grid, as model_base.pth's 224 px
    from transformers import BlipForImageTextRetrieval
    small = BlipForImageTextRetrieval(cfg_224)
    big = BlipForImageTextRetrieval(tiny_config(image_size=32))
    original = {blip_convert.original_key(k): v for k, v in small.state_dict().items()}
    blip_convert.load_converted(big, original, "test")
    assert torch.equal(big.vision_model.embeddings.position_embedding[:, 0],
                       small.vision_model.embeddings.position_embedding[:, 0])


def test_missing_weights_say_where_to_put_them(monkeypatch, tmp_path):
    from bench.api.registry import MODELS
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))
    load_builtins()
    reason = MODELS.get("blip-base").missing()
    assert "model_base.pth" in reason and str(tmp_path) in reason
    (tmp_path / "blip").mkdir()
    (tmp_path / "blip" / "model_base.pth").write_bytes(b"x")
    assert MODELS.get("blip-base").missing() is None
