"""EATA: which queries the two filters keep, the weights, the moving average, the Fisher term,
for TCR's port (the default variant) and the original."""

from __future__ import annotations

import math

import pytest
import torch
from test_baselines_common import build, image_batch, make_ctx

from baselines.eata import EATA, eata_select, eata_weights
from bench.api.errors import ConfigError
from bench.engine.method_configs import config_label, make_config

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
    method, _, ctx = build("eata", variant="original", e_margin=0.4)
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
    method, _, _ = build("eata", variant="original", e_margin=0.4)
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


# ---- the variants: TCR's port (default) and the original ------------------------------------

def test_variant_defaults_and_recorded_config():
    assert make_config("eata").variant == "tcr" and make_config("eata").margin_mode == "fraction"
    original = make_config("eata", {"variant": "original"})
    assert original.margin_mode == "lnC"
    assert EATA.config_dict(original)["variant"] == "original"  # what a result row records
    assert config_label("eata", original) == "eata[margin_mode=lnC,variant=original]"
    assert make_config("eata", {"variant": "original", "margin_mode": "fraction"}).e_margin == 0.4
    with pytest.raises(ConfigError, match="no margin_mode=lnC"):
        make_config("eata", {"margin_mode": "lnC"})
    with pytest.raises(ConfigError, match="variant must be one of"):
        make_config("eata", {"variant": "paper"})


def test_fraction_filter_keeps_ties_at_the_boundary():
    # rows 1 and 2 tie at the k-th smallest entropy (k = int(0.4 * 5) = 2): both are kept (<=)
    logits = torch.tensor([[9.0, 0, 0], [5.0, 0, 0], [0, 5.0, 0], [1.0, 0, 0], [0, 0, 0]])
    kept, threshold, reliable = eata_select(logits, "fraction", 0.4, None, 0.05)
    assert threshold.item() == pytest.approx(entropy_of([5.0, 0, 0]), rel=1e-6)
    assert reliable.tolist() == [True, True, True, False, False]
    assert torch.equal(kept, reliable)


def test_weights_hand_values():
    ent = torch.tensor([0.1, 0.4, 1.0])
    torch.testing.assert_close(eata_weights(ent, 0.4),
                               torch.tensor([math.exp(0.3), 1.0, math.exp(-0.6)]))


def test_port_weights_offset_is_the_fraction_itself():
    """TCR's port: k = int(0.4 * 6) = 2 rows pass the entropy filter (0 and 1), the EMA drops
    row 0 (on class 0 like the average) and row 1 is weighted 1/exp(H - 0.40)."""
    method, _, _ = build("eata")
    method.ema_probs = EMA_ON_CLASS_0.clone()
    loss = method.loss(None, LOGITS * method.temperature, 0, None)
    h1 = entropy_of(LOGITS[1].tolist())
    assert loss.item() == pytest.approx(h1 / math.exp(h1 - 0.4), rel=1e-5)
    assert method.state["n_reliable"] == 2 and method.state["n_kept"] == 1


def test_original_fraction_weights_offset_is_the_threshold_entropy():
    method, _, _ = build("eata", variant="original", margin_mode="fraction")
    method.ema_probs = EMA_ON_CLASS_0.clone()
    loss = method.loss(None, LOGITS * method.temperature, 0, None)
    h1 = entropy_of(LOGITS[1].tolist())  # the 2nd smallest entropy: the threshold itself
    assert loss.item() == pytest.approx(h1, rel=1e-5)


def _adamw_zero_grad_step(p, m, v, step, lr, wd, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.AdamW's update of `p` for a zero gradient, written out."""
    p = p * (1 - lr * wd)
    m, v = betas[0] * m, betas[1] * v
    m_hat, v_hat = m / (1 - betas[0] ** step), v / (1 - betas[1] ** step)
    return p - lr * m_hat / (v_hat.sqrt() + eps)


@pytest.mark.parametrize("variant", ["tcr", "original"])
def test_empty_filter_step(variant):
    """d_margin 0 makes every row redundant once an average exists: the 2nd update keeps
    nothing. The port still steps AdamW (zero gradients: momentum and weight decay move the
    weights); the original takes no step."""
    extra = {"margin_mode": "fraction"} if variant == "original" else {}
    method, model, ctx = build("eata", variant=variant, d_margin=0.0, **extra)
    ctx.steps = 1
    batch = image_batch()
    method.adapt(batch)  # no average yet: the reliable rows are kept, a normal step
    params = model.params()
    before = [p.detach().clone() for p in params]
    moments = [(method.optimizer.state[p]["exp_avg"].clone(),
                method.optimizer.state[p]["exp_avg_sq"].clone()) for p in params]
    out = method.adapt(batch)
    if variant == "original":
        assert math.isnan(out.loss) and method.state["empty_steps"] == 0
        for a, p in zip(before, params, strict=True):
            assert torch.equal(a, p)
        assert all(int(method.optimizer.state[p]["step"]) == 1 for p in params)
        return
    assert out.loss == 0.0 and method.state["empty_steps"] == 1
    for a, (m, v), p in zip(before, moments, params, strict=True):
        expected = _adamw_zero_grad_step(a, m, v, 2, lr=3e-4, wd=1e-4)
        torch.testing.assert_close(p.detach(), expected, rtol=1e-6, atol=1e-8)
        assert not torch.equal(a, p)
