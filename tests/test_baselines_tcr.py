"""TCR: the source-like queue, and REM / UNI / EMG on a tiny hand-computed input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from test_baselines_common import build, image_batch

from baselines.tcr import (
    SourceLikeQueue,
    gap_loss,
    modality_gap,
    nearest_candidates,
    pair_indicator,
    rem_loss,
    uniformity_loss,
)

Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
G = torch.tensor([[1.0, 0.0], [0.6, 0.8]])


def binary_entropy_of_gap(d: float) -> float:
    """Entropy of softmax([a, a - d]) for d >= 0."""
    p = 1 / (1 + math.exp(-d))
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def random_pairs(b: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, 8, generator=g), dim=1)
    return q, F.normalize(q + 0.5 * torch.randn(b, 8, generator=g), dim=1)


def test_uniformity_and_gap_by_hand():
    # mean q = (.5, .5): each query at distance sqrt(.5) from it
    assert uniformity_loss(Q, t=0.1).item() == pytest.approx(math.exp(-0.1 * math.sqrt(0.5)))
    # mean q - mean g = (.5 - .8, .5 - .4) = (-.3, .1)
    assert modality_gap(Q, G).item() == pytest.approx(math.sqrt(0.1), rel=1e-6)
    assert gap_loss(Q, G, 0.1).item() == pytest.approx((math.sqrt(0.1) - 0.1) ** 2, rel=1e-6)


def test_rem_by_hand():
    logits = (Q @ G.T).double()  # rows [1, .6] and [0, .8] (float64: 1 - h/E cancels)
    h1, h2 = binary_entropy_of_gap(0.4), binary_entropy_of_gap(0.8)
    assert h2 < 0.65 < h1
    # bound .65: only row 2 counts, weight 1 - h2 / (.65 + 1e-3)
    expected = (1 - h2 / 0.651) * h2
    assert rem_loss(logits, 0.65).item() == pytest.approx(expected, rel=1e-6)
    # bound above both: mean of the two weighted entropies
    both = ((1 - h1 / 1.001) * h1 + (1 - h2 / 1.001) * h2) / 2
    assert rem_loss(logits, 1.0).item() == pytest.approx(both, rel=1e-6)


def test_rem_weight_is_detached_and_empty_set_is_zero_not_nan():
    q = Q.clone().requires_grad_(True)
    loss = rem_loss(q @ G.T, 0.1)  # both entropies exceed the bound
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(q.grad).all() and (q.grad == 0).all()
    # with the weight detached, d(w h)/dh = w (not w - h / (E + eps))
    logits = (Q @ G.T)[1:].clone().requires_grad_(True)
    rem_loss(logits, 0.65).backward()
    h = -(logits.softmax(1) * logits.log_softmax(1)).sum()
    (dh,) = torch.autograd.grad(h, logits)
    w = 1 - h.item() / 0.651
    torch.testing.assert_close(logits.grad, w * dh)


def test_candidates_are_top1_with_duplicates():
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    q = F.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.2], [0.1, 1.0]]), dim=1)
    torch.testing.assert_close(nearest_candidates(q, gallery), gallery[[0, 0, 1]])


def test_indicator_by_hand():
    # centres: q (.5, .5), g (.8, .4)
    ind = pair_indicator(Q, G)
    gap2 = math.dist((0, 1), (0.6, 0.8))
    expected = [2 * 0 - math.sqrt(0.5) - math.dist((1, 0), (0.8, 0.4)),
                2 * gap2 - math.sqrt(0.5) - math.dist((0.6, 0.8), (0.8, 0.4))]
    torch.testing.assert_close(ind, torch.tensor(expected))


def test_queue_pushes_the_smallest_indicators_with_their_candidate_entropy():
    queue = SourceLikeQueue(capacity=5, ratio=0.3, tau=0.02)
    q1, g1 = random_pairs(10, 0)
    queue.update(q1, g1)
    assert len(queue) == 3  # int(.3 * 10)
    ind1 = pair_indicator(q1, g1)
    top = torch.argsort(ind1)[:3]
    torch.testing.assert_close(queue.indicator, ind1[top])
    ent = -((q1 @ g1.T / 0.02).softmax(1) * (q1 @ g1.T / 0.02).log_softmax(1)).sum(1)
    torch.testing.assert_close(queue.entropies, ent[top])
    q2, g2 = random_pairs(10, 1)
    queue.update(q2, g2)
    pushed = torch.cat([ind1[top], pair_indicator(q2, g2).sort().values[:3]])
    torch.testing.assert_close(queue.indicator.sort().values, pushed.sort().values[:5])
    assert queue.entropy_bound() == queue.entropies.max()
    torch.testing.assert_close(queue.delta(), modality_gap(queue.queries, queue.candidates))


def test_queue_holds_at_most_capacity_and_closes_after_ten_batches():
    queue = SourceLikeQueue()
    for k in range(10):
        queue.update(*random_pairs(64, k))
        assert len(queue) == min(64, 19 * (k + 1))
    frozen = queue.indicator.clone()
    queue.update(*random_pairs(64, 99))
    assert queue.batches_seen == 11 and not queue.open
    assert torch.equal(queue.indicator, frozen)


def test_queue_updates_only_at_step_zero():
    method, model, ctx = build("tcr")
    q = model.encode(image_batch())
    sims = q @ ctx.gallery.T
    method.loss(q, sims, 1, None)
    assert method.queue.batches_seen == 0 and len(method.queue) == 0
    method.loss(q, sims, 0, None)
    assert method.queue.batches_seen == 1 and len(method.queue) == int(0.3 * 16)
    method.adapt(image_batch(seed=5))  # three steps: one more queue update
    assert method.queue.batches_seen == 2 and len(method.queue) == 2 * int(0.3 * 16)


def test_loss_is_rem_plus_uni_plus_gap():
    method, model, ctx = build("tcr")
    q = model.encode(image_batch())
    sims = q @ ctx.gallery.T
    loss = method.loss(q, sims, 0, None)
    g = nearest_candidates(q, ctx.gallery)
    expected = (rem_loss(q @ g.T / 0.02, method.queue.entropy_bound())
                + uniformity_loss(q, 0.1) + gap_loss(q, g, method.queue.delta()))
    torch.testing.assert_close(loss, expected)
    assert set(method.terms) == {"rem", "uni", "gap"}


def test_tiny_first_batch_without_queue_entries_is_finite():
    method, _, _ = build("tcr")
    out = method.adapt(image_batch(b=3))  # int(.3 * 3) = 0: nothing pushed yet
    assert len(method.queue) == 0 and math.isfinite(out.loss)
