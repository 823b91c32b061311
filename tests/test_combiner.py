"""The trained combiner of composed queries: its forward on hand-computed tensors (the
dynamic scalar's mix, the MLP branch, the normalisation), the shipped checkpoint (its card's
sha256, the CLIP it belongs to), the registered backbone (the combiner frozen, the CLIP's
LayerNorms adapted), its training split (no test scene) and a smoke-sized run of source and
tent on mini-cir-c with it."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
from helpers_run import cli

from bench.api.errors import WeightsError
from bench.api.registry import MODELS, load_builtins
from bench.models.combiner import LOGIT_SCALE, Combiner, CombinerConfig, load_combiner
from bench.models.composed import COMPOSED, pack_composed
from bench.studies.inprocess import torch_threads

load_builtins()
BACKBONE = MODELS.get("mini-cir-combiner")
CARD = json.loads(BACKBONE.default_weights().with_suffix(".card.json").read_text())


def _tiny(scalar_bias: float, mlp_bias=(0.0, 0.0)) -> Combiner:
    """d=2, p=h=1, no dropout: the MLP branch is its output bias, the scalar a constant."""
    c = Combiner(CombinerConfig(feature_dim=2, projection_dim=1, hidden_dim=1, dropout=0.0))
    with torch.no_grad():
        for p in c.parameters():
            p.zero_()
        c.scalar_out.bias.fill_(scalar_bias)
        c.output_layer.bias.copy_(torch.tensor(mlp_bias))
    return c.eval()


IMAGE = torch.tensor([[1.0, 0.0]])
TEXT = torch.tensor([[0.0, 1.0]])


def test_dynamic_scalar_mixes_text_and_image():
    # s = sigmoid(0) = 1/2: the normalised mean of the two inputs
    out = _tiny(0.0)(IMAGE, TEXT)
    assert torch.allclose(out, torch.tensor([[1.0, 1.0]]) / math.sqrt(2), atol=1e-6)
    # s = sigmoid(ln 3) = 3/4: 3/4 text + 1/4 image = (0.25, 0.75), norm sqrt(0.625)
    out = _tiny(math.log(3))(IMAGE, TEXT)
    assert torch.allclose(out, torch.tensor([[0.25, 0.75]]) / math.sqrt(0.625), atol=1e-6)


def test_mlp_branch_adds_before_the_normalisation():
    # mlp = (1, 0), s = 3/4: (1 + 0.25, 0.75) / sqrt(1.5625 + 0.5625)
    out = _tiny(math.log(3), (1.0, 0.0))(IMAGE, TEXT)
    assert torch.allclose(out, torch.tensor([[1.25, 0.75]]) / math.sqrt(2.125), atol=1e-6)
    assert torch.allclose(out.norm(dim=-1), torch.ones(1))


def test_scalar_reads_the_projected_inputs_text_first():
    c = _tiny(0.0)
    with torch.no_grad():  # joint = [relu(t_1), relu(i_0)]; s = sigmoid(2 * relu(t_1))
        c.text_projection.weight.copy_(torch.tensor([[0.0, 1.0]]))
        c.scalar_hidden.weight.copy_(torch.tensor([[1.0, 0.0]]))
        c.scalar_out.weight.fill_(2.0)
    s = 1 / (1 + math.exp(-2.0))
    out = c(IMAGE, TEXT)
    want = torch.tensor([[1 - s, s]]) / math.hypot(1 - s, s)
    assert torch.allclose(out, want, atol=1e-6)
    # a text with t_1 = 0 gives s = 1/2 whatever the image
    assert torch.allclose(c.mixing_scalar(torch.zeros(1, 2)), torch.tensor([[0.5]]))


def test_logits_are_scaled_cosines_with_normalised_targets():
    c = _tiny(0.0)
    targets = torch.tensor([[2.0, 0.0], [0.0, -3.0]])
    got = c.logits(IMAGE, TEXT, targets)
    assert torch.allclose(got, LOGIT_SCALE * torch.tensor([[1.0, -1.0]]) / math.sqrt(2),
                          atol=1e-4)


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    c = Combiner(CombinerConfig(feature_dim=4, projection_dim=8, hidden_dim=8, dropout=0.5))
    x, t = torch.randn(3, 4), torch.randn(3, 4)
    c.train()
    assert not torch.allclose(c(x, t), c(x, t))
    c.eval()
    assert torch.equal(c(x, t), c(x, t))


def test_shipped_checkpoint_matches_its_card_and_its_clip():
    path = BACKBONE.default_weights()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == CARD["checkpoint_sha256"]
    clip_sha = hashlib.sha256(MODELS.get("mini-clip").default_weights().read_bytes()).hexdigest()
    assert CARD["clip_sha256"] == clip_sha
    combiner = load_combiner(path, clip_sha)
    assert not combiner.training and not any(p.requires_grad for p in combiner.parameters())
    assert combiner.cfg.feature_dim == 128
    with pytest.raises(WeightsError, match="another CLIP"):
        load_combiner(path, "0" * 64)
    # the card's test metrics: the trained combiner above the zero-shot sum on clean mini-cir
    metrics = CARD["test_metrics"]
    assert metrics["combiner"]["r10"] > metrics["zero-shot"]["r10"]


def test_backbone_adapts_the_clip_towers_and_keeps_the_combiner_frozen():
    rm = BACKBONE.load(None, "cpu")
    clip = MODELS.get("mini-clip").load(None, "cpu")
    assert isinstance(rm.combine, Combiner) and rm.name == "mini-cir-combiner"
    assert rm.weights_id == (f"sha256:{CARD['clip_sha256']}+combiner:"
                             f"sha256:{CARD['checkpoint_sha256']}")
    assert BACKBONE.weights_identity(None) == rm.weights_id
    tower = rm.query_model(COMPOSED)
    assert [n for n, _ in tower.named_params()] == [n for n, _ in clip.layernorm_params(COMPOSED)]
    assert not any(p.requires_grad for p in rm.combine.parameters())
    h, w = rm.input_size
    torch.manual_seed(0)
    images = torch.randn(2, 3, h, w)
    tokens = rm.tokenize(["make the red square blue", "remove the green star"])
    batch = pack_composed(images, tokens)
    with torch.no_grad():
        want = rm.combine(rm.encode_images(images), rm.encode_texts(tokens))
        assert torch.allclose(tower.encode(batch), want, atol=1e-6)
        assert torch.allclose(tower.source_encoder()(batch), want, atol=1e-6)
        assert not torch.allclose(clip.encode(COMPOSED, batch), want, atol=1e-3)
    loss = tower.encode(batch).sum()
    grads = torch.autograd.grad(loss, tower.params(), allow_unused=True)
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(grads) // 2


def test_random_weights_and_missing_checkpoint():
    assert BACKBONE.missing("random") is None
    assert BACKBONE.weights_identity("random", seed=3) == "random-seed3"
    assert "not found" in BACKBONE.missing("/nonexistent/combiner.pt")
    rm = BACKBONE.load("random", "cpu", seed=1)
    assert isinstance(rm.combine, Combiner) and rm.weights_id == "random-seed1"


def test_training_split_shares_no_scene_with_the_test_split():
    from bench.data.synth.composed import CirConfig, sample_cir, scene_keys
    from bench.studies.mini.combiner import CombinerTrainConfig, training_items

    test = scene_keys(sample_cir(CirConfig()))
    train = training_items(CombinerTrainConfig(n_queries=300))
    assert len(train) == 300 and not scene_keys(train) & test
    # the exclusion leaves the test split itself unchanged
    assert scene_keys(sample_cir(CirConfig(), exclude=frozenset())) == test


def test_source_and_tent_on_mini_cir_c_with_the_combiner(tmp_path):
    from bench.engine.store import ResultStore

    with torch_threads(1):
        code, out, err = cli("run", "--method", "source,tent", "--suite", "mini-cir-c",
                             "--model", "mini-cir-combiner", "--shift", "clean,contrast",
                             "--limit", "48", "--out", tmp_path, "--workers", "1")
    assert code == 0, err
    rows = ResultStore(tmp_path).read().set_index(["method", "shift"])
    assert len(rows) == 4 and (rows.status == "ok").all()
    assert (rows.model == "mini-cir-combiner").all() and (rows.n_queries == 48).all()
    assert rows.r50.notna().all()
    assert rows.loc[("tent", "contrast"), "map"] != rows.loc[("source", "contrast"), "map"]
