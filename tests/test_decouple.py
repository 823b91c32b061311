"""`bench.api.gradient.decouple` on constructed gradients, and REST's use of it in its step."""

from __future__ import annotations

import pytest
import torch
from test_baselines_common import build, image_batch

import methods.rest as rest_module
from bench.api.gradient import decouple


def dot(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.sum(a * b))


def test_conflicting_gradients_are_projected():
    g_adapt, g_keep = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.0, 1.0, 1.0])
    assert dot(g_adapt, g_keep) < 0
    (main,), (keep,) = decouple([g_adapt], [g_keep], "project")
    assert dot(main, g_keep) == pytest.approx(0.0, abs=1e-6)  # orthogonal to g_keep
    assert torch.equal(keep, g_keep)
    # the removed part is along g_keep only: main = g_adapt - c * g_keep
    c = dot(g_adapt, g_keep) / dot(g_keep, g_keep)
    torch.testing.assert_close(main, g_adapt - c * g_keep)
    # a step along -(main + lam g_keep) improves the keep objective to first order exactly as
    # much as the keep gradient alone; the raw g_adapt would have cancelled part of it
    # (first-order decrease of the keep loss for a step -eta * g: eta * g_keep . g)
    lam = 1.0
    alone = lam * dot(g_keep, g_keep)
    assert dot(g_keep, main + lam * g_keep) == pytest.approx(alone, rel=1e-6)
    assert dot(g_keep, g_adapt + lam * g_keep) < alone


@pytest.mark.parametrize("g_keep", [torch.tensor([1.0, 1.0, 0.0]),  # aligned (dot > 0)
                                    torch.tensor([0.0, 0.0, 3.0])])  # orthogonal (dot = 0)
@pytest.mark.parametrize("mode", ["project", "pcgrad"])
def test_aligned_or_orthogonal_gradients_are_unchanged(g_keep, mode):
    g_adapt = torch.tensor([1.0, 2.0, 0.0])
    (main,), (keep,) = decouple([g_adapt], [g_keep], mode)
    assert torch.equal(main, g_adapt) and torch.equal(keep, g_keep)


def test_pcgrad_projects_both_ways_from_the_original_gradients():
    g_adapt, g_keep = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    (main,), (keep,) = decouple([g_adapt], [g_keep], "pcgrad")
    assert dot(main, g_keep) == pytest.approx(0.0, abs=1e-6)
    assert dot(keep, g_adapt) == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(main, torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(keep, torch.tensor([0.0, 1.0]))


def test_none_leaves_both_unchanged():
    g_adapt, g_keep = [torch.tensor([1.0, 0.0])], [torch.tensor([-1.0, 0.0])]
    main, keep = decouple(g_adapt, g_keep, "none")
    assert torch.equal(main[0], g_adapt[0]) and torch.equal(keep[0], g_keep[0])


def test_projection_is_per_parameter_tensor():
    g_adapt = [torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])]
    g_keep = [torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 0.0])]  # conflicts, agrees
    main, _ = decouple(g_adapt, g_keep, "project")
    torch.testing.assert_close(main[0], torch.zeros(2))
    assert torch.equal(main[1], g_adapt[1])


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError):
        decouple([torch.ones(1)], [torch.ones(1)], "sideways")


@pytest.mark.parametrize("mode,lam", [("project", 1.0), ("pcgrad", 2.0)])
def test_rest_steps_with_decoupled_adapt_plus_lambda_keep(monkeypatch, mode, lam):
    calls = []

    def spy(g_main, g_keep, m, **kw):
        out = decouple(g_main, g_keep, m, **kw)
        calls.append((m, [g.clone() for g in g_keep], out))
        return out

    monkeypatch.setattr(rest_module, "decouple", spy)
    method, model, _ = build("rest", decouple=mode, lam=lam)
    for seed in range(3):
        method.adapt(image_batch(seed=seed))
    assert len(calls) == 3 * method.ctx.steps and {c[0] for c in calls} == {mode}
    assert any(float(g.abs().sum()) > 0 for g in calls[-1][1])  # the keep gradient is live
    main, keep = calls[-1][2]
    for p, a, b in zip(model.params(), main, keep, strict=True):
        torch.testing.assert_close(p.grad, a + lam * b)  # what the last optimizer step used
    assert method.state["decoupled_steps"] == len(calls)


def _branchy_project_out(g: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """The projection written with a Python branch on the dot (the reference the device-side decision must equal)."""
    dot = torch.sum(g * direction)
    if dot >= 0:
        return g
    return g - dot / (direction.pow(2).sum() + 1e-20) * direction


@pytest.mark.parametrize("mode", ["project", "pcgrad"])
def test_surgery_equals_the_branch_bit_for_bit(mode):
    gen = torch.Generator().manual_seed(0)
    g_main = [torch.randn(n, generator=gen) for n in (3, 64, 512, 7)]
    g_keep = [torch.randn(n, generator=gen) for n in (3, 64, 512, 7)]
    g_keep[1] = g_main[1].clone()  # one tensor aligned, the rest of random sign
    signs = [float(torch.sum(a * b)) < 0 for a, b in zip(g_main, g_keep, strict=True)]
    assert any(signs) and not all(signs)
    main, keep = decouple(g_main, g_keep, mode)
    for a, b, m, k in zip(g_main, g_keep, main, keep, strict=True):
        assert torch.equal(m, _branchy_project_out(a, b))
        assert torch.equal(k, _branchy_project_out(b, a) if mode == "pcgrad" else b)


def test_surgery_never_reads_a_value_back_to_python(monkeypatch):
    """On a GPU each read of a tensor's value (``if``, int(), .item()) waits for the device;
    the surgery decides on the device, so none is made (the branchy version fails this)."""
    g_main = [torch.tensor([1.0, -2.0]), torch.tensor([1.0, 1.0])]
    g_keep = [torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])]

    def read(*_args, **_kwargs):
        raise AssertionError("a tensor value was read back to Python")

    for name in ("__bool__", "__int__", "__float__", "item"):
        monkeypatch.setattr(torch.Tensor, name, read)
    with pytest.raises(AssertionError):
        _branchy_project_out(g_main[0], g_keep[0])
    for mode in ("project", "pcgrad"):
        decouple(g_main, g_keep, mode)
