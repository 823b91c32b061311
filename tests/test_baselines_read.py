"""READ: the objective against a hand computation."""

from __future__ import annotations

import math

import pytest
import torch
from test_baselines_common import build

from baselines.read import read_loss

LOGITS = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def softmax(row: list[float]) -> list[float]:
    z = sum(math.exp(v) for v in row)
    return [math.exp(v) / z for v in row]


def hand_read(logits: list[list[float]], gamma: float, balance_weight: float) -> float:
    probs = [softmax(r) for r in logits]
    pmax = [max(p) for p in probs]
    loss_ra = sum(p * (1 - math.log(p) + math.log(gamma)) for p in pmax) / len(pmax)
    p_sum = [sum(col) for col in zip(*probs, strict=True)]
    s = softmax(p_sum)
    loss_bal = -sum(v * math.log(v) for v in s)
    return loss_ra - balance_weight * loss_bal


def test_read_loss_matches_hand_computation():
    got = read_loss(torch.tensor(LOGITS)).item()
    assert got == pytest.approx(hand_read(LOGITS, math.exp(-1), 1.0), rel=1e-6)
    # with gamma = e^-1 the robust term is -p_max log p_max (docs/protocol.md's form)
    pmax = [max(softmax(r)) for r in LOGITS]
    ra = sum(-p * math.log(p) for p in pmax) / 2
    bal = hand_read(LOGITS, math.exp(-1), 0.0) - hand_read(LOGITS, math.exp(-1), 1.0)
    assert got == pytest.approx(ra - bal, rel=1e-6)


def test_read_loss_options():
    got = read_loss(torch.tensor(LOGITS), gamma=0.5, balance_weight=0.3).item()
    assert got == pytest.approx(hand_read(LOGITS, 0.5, 0.3), rel=1e-6)


def test_method_uses_the_temperature_scaled_gallery_logits():
    method, model, ctx = build("read")
    q = model.encode(torch.randn(4, 3, 16, 16))
    sims = q @ ctx.gallery.T
    expected = read_loss(sims / ctx.temperature)
    torch.testing.assert_close(method.loss(q, sims, 0, None), expected)
