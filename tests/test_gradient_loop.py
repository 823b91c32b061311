"""The protocol's step loop (`GradientTTA.adapt`) and its `update` hook."""

from __future__ import annotations

import torch
from test_baselines_common import FakeQueryModel, image_batch, make_ctx

from bench.api import GradientTTA, entropy
from bench.api.registry import METHODS, load_builtins

load_builtins()
Tent = METHODS.get("tent")


class RecordingTent(Tent):
    """Tent with only `update` overridden: records each call, then does the default step."""

    def setup(self, model, ctx) -> None:
        super().setup(model, ctx)
        self.calls: list[tuple[torch.Tensor, torch.Tensor, int]] = []

    def update(self, loss: torch.Tensor, batch: torch.Tensor) -> float:
        self.calls.append((loss.detach().clone(), batch, self.model.encode_calls))
        return super().update(loss, batch) + 1000.0  # the loop must return what update returns


def test_update_is_called_once_per_step_with_that_steps_loss():
    method = RecordingTent()
    model, ctx = FakeQueryModel(), make_ctx(steps=3)
    method.setup(model, ctx)
    batch = image_batch()
    out = method.adapt(batch)
    assert len(method.calls) == ctx.steps and model.encode_calls == ctx.steps
    for step, (loss, seen, encodes) in enumerate(method.calls):
        assert seen is batch and encodes == step + 1  # called after that step's forward
        # Tent's loss, by hand, on the forward of that step
        sims = model.outputs[step] @ ctx.gallery.T
        expected = entropy(sims / ctx.temperature).mean()
        torch.testing.assert_close(loss, expected)
    assert out.loss == float(method.calls[-1][0]) + 1000.0
    torch.testing.assert_close(out.rows, model.outputs[-1] @ ctx.gallery.T)
    # the weights moved between steps (the default update stepped), so the losses differ
    assert not torch.equal(method.calls[0][0], method.calls[1][0])


def test_default_update_is_one_adamw_step_and_overriding_it_changes_only_the_step():
    """Same model, same batch: Tent with the default update and with an update that steps
    twice see the same first loss and diverge after."""

    class TwiceTent(Tent):
        def update(self, loss, batch):
            value = super().update(loss, batch)
            self.optimizer.step()  # a second step with the same gradients
            return value

    losses = []
    for cls in (Tent, RecordingTent, TwiceTent):
        method = cls()
        model, ctx = FakeQueryModel(), make_ctx(steps=2)
        method.setup(model, ctx)
        method.adapt(image_batch())
        losses.append([entropy(o @ ctx.gallery.T / ctx.temperature).mean() for o in model.outputs])
    plain, recorded, twice = losses
    assert all(torch.equal(a, b) for a, b in zip(plain, recorded, strict=True))
    assert torch.equal(plain[0], twice[0]) and not torch.equal(plain[1], twice[1])


def test_a_step_whose_loss_is_none_calls_no_update():
    class EveryOther(GradientTTA):
        name = "every-other"

        def loss(self, q, sims, step, batch):
            return None if step % 2 else entropy(sims / self.temperature).mean()

        def update(self, loss, batch):
            self.seen = getattr(self, "seen", 0) + 1
            return super().update(loss, batch)

    method = EveryOther()
    method.setup(FakeQueryModel(), make_ctx(steps=3))
    out = method.adapt(image_batch())
    assert method.seen == 2 and out.loss == out.loss  # steps 0 and 2; a number, not NaN
