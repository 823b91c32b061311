"""DeYO: the two shuffles, PLPD, the filters and the weights, for TCR's port (the default
variant) and the original."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from test_baselines_common import EOT, SOT, FakeQueryModel, build, image_batch, token_batch

from baselines.deyo import (
    DeYO,
    deyo_weights,
    patch_shuffle,
    plpd,
    port_entropy_mask,
    port_theta,
    port_weights,
    token_shuffle,
)
from bench.api.contract import AdaptContext


def patches(img: torch.Tensor, n: int) -> list[tuple[float, ...]]:
    c, h, w = img.shape
    ph, pw = h // n, w // n
    return [tuple(img[:, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw].flatten().tolist())
            for i in range(n) for j in range(n)]


def test_patch_shuffle_permutes_the_4x4_patches():
    x = image_batch(b=3, size=16)
    out = patch_shuffle(x, 4, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    moved = 0
    for a, b in zip(x, out, strict=True):
        pa, pb = patches(a, 4), patches(b, 4)
        assert sorted(pa) == sorted(pb)  # the same 16 patches, each intact
        moved += sum(u != v for u, v in zip(pa, pb, strict=True))
    assert moved > 0


def test_patch_shuffle_resizes_when_the_side_is_not_a_multiple():
    x = image_batch(b=2, size=18)
    out = patch_shuffle(x, 4, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_patch_shuffle_is_reproducible_from_the_generator():
    x = image_batch(b=2)
    a = patch_shuffle(x, 4, torch.Generator().manual_seed(5))
    b = patch_shuffle(x, 4, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_token_shuffle_keeps_sot_eot_and_padding():
    tokens = token_batch(b=8, length=12)
    out = token_shuffle(tokens, torch.Generator().manual_seed(0))
    changed = 0
    for a, b in zip(tokens, out, strict=True):
        end = int((a == EOT).nonzero())
        assert b[0] == SOT and b[end] == EOT
        assert torch.equal(a[end:], b[end:])  # EOT and zero padding in place
        assert sorted(a[1:end].tolist()) == sorted(b[1:end].tolist())
        changed += int(not torch.equal(a, b))
    assert changed > 0


def test_plpd_and_weights():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    prime = torch.tensor([[0.1, 0.8, 0.1], [0.2, 0.5, 0.3]])
    torch.testing.assert_close(plpd(probs, prime), torch.tensor([0.6, 0.1]))
    ent, pl = torch.tensor([0.3, 0.5]), torch.tensor([0.6, 0.25])
    w = deyo_weights(ent, pl, 0.4, True, True)
    expected = [math.exp(-(0.3 - 0.4)) + math.exp(0.6), math.exp(-(0.5 - 0.4)) + math.exp(0.25)]
    torch.testing.assert_close(w, torch.tensor(expected))
    torch.testing.assert_close(deyo_weights(ent, pl, 0.4, False, True), pl.exp())
    torch.testing.assert_close(deyo_weights(ent, pl, 0.4, False, False), torch.ones(2))


class Lookup(nn.Module):
    """Encodes a (B, 4) float batch x as normalize(x * w + b) with a LayerNorm's affine
    parameters (the identity at init), so outputs are known and there is something to adapt."""

    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x * self.ln.weight + self.ln.bias, dim=1)


def test_original_plpd_filter_keeps_only_rows_whose_prediction_breaks():
    # Gallery = basis vectors; every query is confident (cos 1 with its item, T = 0.1).
    # The "shuffled" view keeps rows 0 and 2 unchanged (PLPD 0: dropped) and moves rows 1
    # and 3 to another item (PLPD ~ 1: kept).
    x = torch.eye(4)
    x_prime = torch.stack([x[0], x[2], x[2], x[0]])
    method = DeYO(DeYO.Config(variant="original", filter_ent=False, margin_e0=0.4))
    model = FakeQueryModel(tower=Lookup())
    ctx = AdaptContext(gallery=torch.eye(4), direction="i2t", temperature=0.1)
    method.setup(model, ctx)
    method.shuffled = lambda batch: x_prime[[int(b.argmax()) for b in batch]]
    q = model.encode(x)
    sims = q @ ctx.gallery.T
    loss = method.loss(q, sims, 0, x)
    assert method.state["n_kept"] == 2
    logp = (sims.detach().double() / 0.1).log_softmax(dim=1)  # hand values in float64
    probs = logp.exp()
    pl = probs.diagonal() - (x_prime.double() / 0.1).softmax(dim=1).diagonal()
    ent = -(probs * logp).sum(dim=1)
    e0 = 0.4 * math.log(4)
    keep = [1, 3]
    expected = sum(ent[i] * (math.exp(-(ent[i] - e0)) + math.exp(pl[i])) for i in keep) / 2
    assert pl[0] == 0 and pl[2] == 0 and (pl[keep] > 0.2).all()
    assert loss.item() == pytest.approx(float(expected), rel=1e-4)


@pytest.mark.parametrize(("overrides", "rows"), [
    ({}, 7),  # the port: strictly below the 8th smallest entropy
    ({"variant": "original", "margin_mode": "fraction"}, 8),  # <= the 8th smallest
])
def test_entropy_filter_fraction_runs_the_view_on_half_the_batch(overrides, rows):
    method, model, _ = build("deyo", **overrides)
    method.adapt(image_batch(b=16))
    views = [o for o in model.outputs if o.shape[0] != 16]
    assert views and all(v.shape[0] == rows for v in views)


def test_runs_are_reproducible():
    def run() -> list[torch.Tensor]:
        method, model, _ = build("deyo", "t2i")  # seeds torch before setup, as the runner
        method.adapt(token_batch())
        return [p.detach().clone() for p in model.params()]

    for a, b in zip(run(), run(), strict=True):
        assert torch.equal(a, b)


# ---- TCR's port (the default variant) -------------------------------------------------------

def test_port_entropy_filter_is_strict_below_the_kth_smallest():
    ent = torch.tensor([0.5, 0.1, 0.3, 0.2, 0.6, 0.4])
    assert port_entropy_mask(ent, 0.5).tolist() == [False, True, False, True, False, False]
    assert port_entropy_mask(torch.tensor([0.1, 0.1, 0.2, 0.3]), 0.5).sum() == 0  # ties: none
    assert port_entropy_mask(torch.tensor([0.1]), 0.5).sum() == 0  # k = 0: none


def test_port_theta_and_weights():
    ent = torch.tensor([0.3, 0.5, 0.9])
    assert port_theta(ent, 0.4).item() == pytest.approx(0.3)  # k = int(1.2) = 1
    assert port_theta(ent[:2], 0.4).item() == math.inf  # k = int(0.8) = 0
    pl = torch.tensor([0.6, 0.0, 0.25])
    w = port_weights(ent, pl, 0.3, True, True)
    expected = [1 / (math.exp(h - 0.3) + 0.1) + math.exp(p) + 0.1
                for h, p in zip([0.3, 0.5, 0.9], [0.6, 0.0, 0.25], strict=True)]
    torch.testing.assert_close(w, torch.tensor(expected))
    torch.testing.assert_close(port_weights(ent, pl, math.inf, True, False),
                               torch.full((3,), 10.0))
    torch.testing.assert_close(port_weights(ent, pl, 0.3, False, True), pl.exp() + 0.1)
    torch.testing.assert_close(port_weights(ent, pl, 0.3, False, False), torch.ones(3))



def test_port_theta_carries_the_gradient_into_the_entropy_weight():
    # The port takes theta from topk over entropies that still carry the graph: only the
    # H inside exp(H - theta) is detached. h = (0.3, 0.5, 0.9), k = int(0.4 * 3) = 1, so
    # theta = h0 and d loss / d h0 gains (1/3) sum_i h_i e_i / (e_i + 0.1)^2, e_i = exp(h_i - h0).
    hs, pls = [0.3, 0.5, 0.9], [0.6, 0.0, 0.25]
    h = torch.tensor(hs, dtype=torch.float64, requires_grad=True)
    pl = torch.tensor(pls, dtype=torch.float64)
    theta = port_theta(h, 0.4)
    loss = (h * port_weights(h, pl, theta, True, True)).mean()
    loss.backward()
    e = [math.exp(x - 0.3) for x in hs]
    w = [1 / (ei + 0.1) + math.exp(p) + 0.1 for ei, p in zip(e, pls, strict=True)]
    through_theta = sum(x * ei / (ei + 0.1) ** 2 for x, ei in zip(hs, e, strict=True)) / 3
    expected = [w[0] / 3 + through_theta, w[1] / 3, w[2] / 3]
    assert loss.item() == pytest.approx(sum(x * wi for x, wi in zip(hs, w, strict=True)) / 3)
    assert h.grad.tolist() == pytest.approx(expected, rel=1e-12)
    assert through_theta == pytest.approx(0.3471858, rel=1e-6)  # the part a detached theta drops

def test_port_i2t_plpd_threshold_zero_and_weights():
    # Same set-up as the original's test: PLPD = 0 for rows 0 and 2 (not > 0.0: dropped).
    x = torch.eye(4)
    x_prime = torch.stack([x[0], x[2], x[2], x[0]])
    method = DeYO(DeYO.Config(filter_ent=False))
    model = FakeQueryModel(tower=Lookup())
    ctx = AdaptContext(gallery=torch.eye(4), direction="i2t", temperature=0.1)
    method.setup(model, ctx)
    assert method.plpd_threshold == 0.0
    method.shuffled = lambda batch: x_prime[[int(b.argmax()) for b in batch]]
    q = model.encode(x)
    sims = q @ ctx.gallery.T
    loss = method.loss(q, sims, 0, x)
    assert method.state["n_kept"] == 2
    logp = (sims.detach().double() / 0.1).log_softmax(dim=1)
    probs = logp.exp()
    pl = probs.diagonal() - (x_prime.double() / 0.1).softmax(dim=1).diagonal()
    ent = -(probs * logp).sum(dim=1)
    # two kept rows: k = int(0.4 * 2) = 0, theta = inf, entropy weight 1 / 0.1 = 10
    expected = sum(ent[i] * (10 + math.exp(pl[i]) + 0.1) for i in (1, 3)) / 2
    assert loss.item() == pytest.approx(float(expected), rel=1e-4)


def test_port_t2i_uses_the_unchanged_caption_plpd_zero():
    method, model, ctx = build("deyo", "t2i")
    assert method.plpd_threshold == -1.0
    tokens = token_batch(b=10)
    q = model.encode(tokens)
    sims = q @ ctx.gallery.T
    loss = method.loss(q, sims, 0, tokens)
    assert model.encode_calls == 1  # no x' forward: x' = x gives the same probabilities
    logp = (sims.detach().double() / ctx.temperature).log_softmax(dim=1)
    ent = -(logp.exp() * logp).sum(dim=1)
    kept = ent < ent.kthvalue(5).values  # int(0.5 * 10) = 5: strictly below the 5th smallest
    assert method.state["n_entropy_kept"] == method.state["n_kept"] == 4 == int(kept.sum())
    h = ent[kept]
    theta = h.kthvalue(1).values  # int(0.4 * 4) = 1
    expected = (h * (1 / (torch.exp(h - theta) + 0.1) + math.exp(0.0) + 0.1)).mean()
    assert loss.item() == pytest.approx(float(expected), rel=1e-4)


def test_original_t2i_shuffles_the_tokens_and_filters_plpd():
    method, model, ctx = build("deyo", "t2i", variant="original", margin_mode="fraction")
    assert method.plpd_threshold == 0.2
    tokens = token_batch(b=10)
    q = model.encode(tokens)
    method.loss(q, q @ ctx.gallery.T, 0, tokens)
    assert model.encode_calls == 2 and model.outputs[1].shape[0] == 5  # the shuffled view


def test_variant_config():
    from bench.api.errors import ConfigError
    from bench.engine.method_configs import make_config

    assert make_config("deyo").margin_mode == "fraction"
    assert make_config("deyo", {"variant": "original"}).margin_mode == "lnC"
    assert make_config("deyo", {"plpd_threshold": 0.3}).plpd_threshold == 0.3
    assert make_config("deyo", {"plpd_threshold": -1.0}).plpd_threshold == -1.0
    with pytest.raises(ConfigError):
        make_config("deyo", {"plpd_threshold": 1.5})
    with pytest.raises(ConfigError):
        make_config("deyo", {"margin_mode": "lnC"})


def port_reference_loss(logits: torch.Tensor, theta_graph: bool = True) -> torch.Tensor:
    """TCR's port's t2i step written out line by line (deyo_margin 0.5, margin 0.4; x' is the
    unchanged caption, so PLPD = 0 and the PLPD filter, > -1, keeps every row);
    ``theta_graph=False`` detaches theta, for contrast."""
    entropys = -(logits.softmax(1) * logits.log_softmax(1)).sum(1)
    k = int(len(entropys) * 0.5)
    entropys = entropys[torch.where(entropys < torch.topk(entropys, k, largest=False)[0][-1])]
    pl = torch.zeros_like(entropys)
    k = int(len(entropys) * 0.4)
    threshold = torch.topk(entropys, k, largest=False)[0][-1]  # keeps the graph
    threshold = threshold if theta_graph else threshold.detach()
    coeff = (1 / (torch.exp(entropys.clone().detach() - threshold) + 0.1)
             + (1 / torch.exp(-1.0 * pl) + 0.1))
    return entropys.mul(coeff).mean(0)


def test_port_t2i_gradient_matches_the_port_line_by_line():
    method, model, ctx = build("deyo", "t2i")
    tokens = token_batch(b=20)
    params = model.params()
    q = model.encode(tokens)
    ours = method.loss(q, q @ ctx.gallery.T, 0, tokens)
    grads = torch.autograd.grad(ours, params)
    q = model.encode(tokens)
    theirs = port_reference_loss(q @ ctx.gallery.T / ctx.temperature)
    assert method.state["n_kept"] == 9  # strictly below the 10th smallest; theta: 3rd smallest
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    for g, r in zip(grads, torch.autograd.grad(theirs, params), strict=True):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-6)
    # theta's share of the gradient is far above that tolerance on this batch
    q = model.encode(tokens)
    no_theta = port_reference_loss(q @ ctx.gallery.T / ctx.temperature, theta_graph=False)
    gap = max((g - r).abs().max().item()
              for g, r in zip(grads, torch.autograd.grad(no_theta, params), strict=True))
    assert gap > 1e-3


def test_theta_graph_false_detaches_theta_and_is_recorded_in_the_cell_id():
    from bench.api.errors import ConfigError
    from bench.engine.method_configs import make_config

    method, model, ctx = build("deyo", "t2i", theta_graph=False)
    tokens = token_batch(b=20)
    params = model.params()
    q = model.encode(tokens)
    grads = torch.autograd.grad(method.loss(q, q @ ctx.gallery.T, 0, tokens), params)
    q = model.encode(tokens)
    no_theta = port_reference_loss(q @ ctx.gallery.T / ctx.temperature, theta_graph=False)
    for g, r in zip(grads, torch.autograd.grad(no_theta, params), strict=True):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-6)
    assert make_config("deyo").theta_graph is True
    assert dataclasses.asdict(make_config("deyo", {"theta_graph": False}))["theta_graph"] is False
    with pytest.raises(ConfigError):
        make_config("deyo", {"variant": "original", "theta_graph": False})
