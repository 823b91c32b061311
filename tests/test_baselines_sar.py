"""SAR: two forwards per step, the scored forward, the reset to the source."""

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
    method, model, ctx = build("sar", lr=0.0, weight_decay=0.0)
    ctx.steps = 1
    before = [p.detach().clone() for p in model.params()]
    method.adapt(image_batch())
    # lr 0: the SAM perturbation must be undone exactly (up to float rounding)
    for a, p in zip(before, model.params(), strict=True):
        torch.testing.assert_close(a, p)
    assert not torch.allclose(model.outputs[0], model.outputs[1])


def test_reset_when_the_moving_average_is_below_the_constant():
    method, model, ctx = build("sar", reset_constant=1e9)  # any EMA is below: forced reset
    initial = [p.detach().clone() for p in model.params()]
    old_optimizer = method.optimizer
    method.adapt(image_batch())
    assert method.state["resets"] == ctx.steps  # checked after every step
    for a, p in zip(initial, model.params(), strict=True):
        assert torch.equal(a, p)
    assert method.optimizer is not old_optimizer and len(method.optimizer.state) == 0
    assert method.ema is not None  # the original keeps the EMA over a reset


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
