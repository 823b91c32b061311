"""DeYO: the two shuffles, PLPD, the filter and the weights."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from test_baselines_common import EOT, SOT, FakeQueryModel, build, image_batch, token_batch

from baselines.deyo import DeYO, deyo_weights, patch_shuffle, plpd, token_shuffle
from bench.api import AdaptContext


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


def test_plpd_filter_keeps_only_rows_whose_prediction_breaks():
    # Gallery = basis vectors; every query is confident (cos 1 with its item, T = 0.1).
    # The "shuffled" view keeps rows 0 and 2 unchanged (PLPD 0: dropped) and moves rows 1
    # and 3 to another item (PLPD ~ 1: kept).
    x = torch.eye(4)
    x_prime = torch.stack([x[0], x[2], x[2], x[0]])
    method = DeYO(DeYO.Config(filter_ent=False, margin_mode="lnC", margin_e0=0.4))
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


def test_entropy_filter_fraction_runs_the_view_on_half_the_batch():
    method, model, _ = build("deyo")
    method.adapt(image_batch(b=16))
    views = [o for o in model.outputs if o.shape[0] != 16]
    assert views and all(v.shape[0] == 8 for v in views)


def test_runs_are_reproducible():
    def run() -> list[torch.Tensor]:
        method, model, _ = build("deyo", "t2i")  # seeds torch before setup, as the runner
        method.adapt(token_batch())
        return [p.detach().clone() for p in model.params()]

    for a, b in zip(run(), run(), strict=True):
        assert torch.equal(a, b)
