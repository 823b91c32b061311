"""SAR: two forwards per step, the scored forward, the reset to the source, the EMA; for TCR's
port (the default variant) and the original."""

from __future__ import annotations

import pytest
import torch
from test_baselines_common import build, image_batch


def test_two_forwards_per_step_and_rows_of_the_first_forward_of_the_last_step():
    method, model, ctx = build("sar")
    out = method.adapt(image_batch())
    assert model.encode_calls == 2 * ctx.steps
    first_of_last = model.outputs[2 * (ctx.steps - 1)]
    second_of_last = model.outputs[2 * ctx.steps - 1]
    torch.testing.assert_close(out.rows, first_of_last @ ctx.gallery.T)
    assert not torch.allclose(out.rows, second_of_last @ ctx.gallery.T)  # SAM moved the weights
    assert method.ema is not None and method.state["resets"] == 0


def test_second_forward_is_at_the_perturbed_weights_and_the_step_restores_them():
    method, model, ctx = build("sar", weight_decay=0.0)
    for group in method.optimizer.param_groups:
        group["lr"] = 0.0  # (--set refuses lr 0)
    ctx.steps = 1
    before = [p.detach().clone() for p in model.params()]
    method.adapt(image_batch())
    # lr 0: the SAM perturbation must be undone exactly (up to float rounding)
    for a, p in zip(before, model.params(), strict=True):
        torch.testing.assert_close(a, p)
    assert not torch.allclose(model.outputs[0], model.outputs[1])


@pytest.mark.parametrize("variant", ["tcr", "original"])
def test_reset_when_the_moving_average_is_below_the_constant(variant):
    method, model, ctx = build("sar", variant=variant, reset_constant=1e9)  # forced resets
    initial = [p.detach().clone() for p in model.params()]
    old_optimizer = method.optimizer
    method.adapt(image_batch())
    assert method.state["resets"] == ctx.steps  # checked after every step
    for a, p in zip(initial, model.params(), strict=True):
        assert torch.equal(a, p)
    assert method.ema is not None  # both codes keep the EMA over a reset
    if variant == "original":  # the paper: a fresh optimizer
        assert method.optimizer is not old_optimizer and len(method.optimizer.state) == 0
        return
    # TCR's port: the inner AdamW's moments and step count survive every reset
    assert method.optimizer is old_optimizer
    for p in model.params():
        state = method.optimizer.state[p]
        assert int(state["step"]) == ctx.steps and state["exp_avg"].abs().sum() > 0


def test_reset_can_clear_the_moving_average():
    method, _, _ = build("sar", reset_constant=1e9, clear_ema_on_reset=True)
    method.adapt(image_batch())
    assert method.ema is None


def test_no_reset_above_the_constant():
    method, model, _ = build("sar", reset_constant=0.0)
    initial = [p.detach().clone() for p in model.params()]
    method.adapt(image_batch())
    assert method.state["resets"] == 0
    assert any(not torch.equal(a, p) for a, p in zip(initial, model.params(), strict=True))
    assert len(method.optimizer.state) > 0


def test_moving_average_of_the_second_loss():
    method, _, ctx = build("sar", reset_constant=0.0)
    ctx.steps = 1
    method.ema = 5.0
    out = method.adapt(image_batch())
    assert out.loss > 0
    assert method.ema == pytest.approx(0.9 * 5.0 + 0.1 * out.loss)


def test_port_step_after_a_reset_uses_the_carried_moments():
    """After a reset the port's next AdamW step starts from the kept moments: with lr set so
    the step is visible, the two variants move the source weights differently."""
    moved = {}
    for variant in ("tcr", "original"):
        method, model, ctx = build("sar", variant=variant, reset_constant=1e9)
        ctx.steps = 1
        method.adapt(image_batch())  # step 1, then reset
        method.config.reset_constant = 0.0  # no reset after the next step
        method.adapt(image_batch(seed=5))
        moved[variant] = [p.detach().clone() for p in model.params()]
        if variant == "tcr":
            assert all(int(method.optimizer.state[p]["step"]) == 2 for p in model.params())
        else:
            assert all(int(method.optimizer.state[p]["step"]) == 1 for p in model.params())
    assert any(not torch.allclose(a, b) for a, b in zip(*moved.values(), strict=True))


@pytest.mark.parametrize(("variant", "expected"), [("tcr", 0.9 * 5.0), ("original", 5.0)])
def test_empty_second_filter_and_the_moving_average(variant, expected):
    """The port's empty second filter gives the constant loss 0.0, which enters the EMA;
    the original's NaN mean does not."""
    method, _, _ = build("sar", variant=variant)
    method.ema = 5.0
    method.update_ema(0.0, empty=True)
    assert method.ema == pytest.approx(expected)
    assert method.state["empty_second_filter"] == 1
    method.update_ema(1.0, empty=False)
    assert method.ema == pytest.approx(0.9 * expected + 0.1)


def test_port_first_loss_on_an_empty_second_filter_triggers_a_reset():
    method, _, _ = build("sar")
    method.update_ema(0.0, empty=True)  # no EMA yet: the port starts it at 0 < 0.2
    assert method.ema == 0.0 and method.ema < method.config.reset_constant


def test_filter_boundaries():
    """First filter: <= the k-th smallest (ties kept), k = int(0.4 B); second: strict <."""
    from bench.api.gradient import entropy_threshold, reliable_mask

    ent = torch.tensor([0.2, 0.1, 0.1, 0.3, 0.4])
    threshold = entropy_threshold(ent, "fraction", 0.4, 5)
    assert threshold.item() == pytest.approx(0.1)
    assert reliable_mask(ent, threshold, "fraction").tolist() == [False, True, True, False, False]
    ent2 = torch.tensor([0.05, 0.1, 0.09, 0.0, 0.0])
    kept2 = reliable_mask(ent, threshold, "fraction") & (ent2 < threshold)
    assert kept2.tolist() == [False, False, True, False, False]


def test_variant_config():
    from bench.api.errors import ConfigError
    from bench.engine.method_configs import make_config

    assert make_config("sar").margin_mode == "fraction"
    assert make_config("sar", {"variant": "original"}).margin_mode == "lnC"
    with pytest.raises(ConfigError):
        make_config("sar", {"margin_mode": "lnC"})


@pytest.mark.parametrize("variant", ["tcr", "original"])
def test_adapt_with_an_empty_second_filter(variant):
    method, model, ctx = build("sar", variant=variant)
    calls = []
    first = method._entropies

    def entropies(sims):  # every second forward: all entropies above the threshold
        ent = first(sims)
        calls.append(1)
        return ent if len(calls) % 2 else ent + 100.0

    method._entropies = entropies
    out = method.adapt(image_batch())
    assert out.loss == 0.0 and method.state["empty_second_filter"] == ctx.steps
    if variant == "tcr":
        assert method.ema == 0.0 and method.state["resets"] == ctx.steps
    else:
        assert method.ema is None and method.state["resets"] == 0
