"""EATA: which queries the two filters keep, the weights, the moving average, the Fisher term."""

from __future__ import annotations

import math

import pytest
import torch
from test_baselines_common import build, image_batch, make_ctx

from baselines.eata import EATA, eata_select

# Rows: confident on class 0 (gap 10), on 3 (gap 9), uniform, on 0 (gap 8), on 4 (gap 7),
# near-uniform. Entropy grows as the gap shrinks.
LOGITS = torch.tensor([
    [10.0, 0, 0, 0, 0],
    [0, 0, 0, 9.0, 0],
    [0, 0, 0, 0, 0],
    [8.0, 0, 0, 0, 0],
    [0, 0, 0, 0, 7.0],
    [0.1, 0, 0.2, 0, 0],
])
EMA_ON_CLASS_0 = torch.tensor([0.96, 0.01, 0.01, 0.01, 0.01])


def entropy_of(row: list[float]) -> float:
    z = sum(math.exp(v) for v in row)
    return -sum(math.exp(v) / z * (v - math.log(z)) for v in row)


def test_lnc_mode_drops_uncertain_and_redundant():
    kept, threshold, reliable = eata_select(LOGITS, "lnC", 0.4, EMA_ON_CLASS_0, 0.05)
    assert threshold.item() == pytest.approx(0.4 * math.log(5))
    assert reliable.tolist() == [True, True, False, True, True, False]  # 2 and 5: high entropy
    assert kept.tolist() == [False, True, False, False, True, False]  # 0 and 3: like the EMA


def test_fraction_mode_keeps_the_lowest_share_then_drops_redundant():
    kept, threshold, reliable = eata_select(LOGITS, "fraction", 0.5, EMA_ON_CLASS_0, 0.05)
    assert reliable.tolist() == [True, True, False, True, False, False]  # 3 lowest of 6
    assert threshold.item() == pytest.approx(entropy_of(LOGITS[3].tolist()), rel=1e-5)
    assert kept.tolist() == [False, True, False, False, False, False]


def test_no_redundancy_filter_before_an_average_exists():
    kept, _, reliable = eata_select(LOGITS, "lnC", 0.4, None, 0.05)
    assert torch.equal(kept, reliable)


def test_loss_weights_and_moving_average():
    method, _, ctx = build("eata", margin_mode="lnC", e_margin=0.4)
    method.ema_probs = EMA_ON_CLASS_0.clone()
    sims = LOGITS * method.temperature  # so that sims / T are exactly LOGITS
    loss = method.loss(None, sims, 0, None)
    margin = 0.4 * math.log(5)
    hs = [entropy_of(LOGITS[i].tolist()) for i in (1, 4)]
    expected = sum(h / math.exp(h - margin) for h in hs) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    new_mean = LOGITS[[1, 4]].softmax(dim=1).mean(0)
    torch.testing.assert_close(method.ema_probs, 0.9 * EMA_ON_CLASS_0 + 0.1 * new_mean)
    assert method.state["n_reliable"] == 4 and method.state["n_kept"] == 2


def test_first_average_is_the_reliable_mean_and_no_update_without_kept_rows():
    method, _, _ = build("eata", margin_mode="lnC", e_margin=0.4)
    method.loss(None, LOGITS * method.temperature, 0, None)
    torch.testing.assert_close(method.ema_probs, LOGITS[[0, 1, 3, 4]].softmax(dim=1).mean(0))
    uniform = torch.zeros(3, 5)
    before = method.ema_probs.clone()
    assert method.loss(None, uniform, 0, None) is None  # nothing reliable: no step
    torch.testing.assert_close(method.ema_probs, before)


def test_fisher_requested_without_clean_queries_is_recorded():
    with pytest.warns(UserWarning, match="no clean queries"):
        method, _, _ = build("eata", fisher_size=8)
    assert method.fishers is None and method.state["fisher"].startswith("not used")
    method.adapt(image_batch())


def test_fisher_term_is_zero_at_the_source_and_grows_after_adapting():
    from test_baselines_common import FakeQueryModel

    torch.manual_seed(0)
    clean = image_batch(b=20, seed=9)
    method = EATA(EATA.Config(fisher_size=20, fisher_batch_size=8))
    model = FakeQueryModel()
    method.setup(model, make_ctx(clean_queries=lambda n: clean[:n]))
    assert method.state["fisher"].startswith("used")
    assert all((f >= 0).all() and f.sum() > 0 for f, _ in method.fishers)
    assert method.ewc_loss().item() == 0.0
    method.adapt(image_batch())
    assert method.ewc_loss().item() > 0.0
