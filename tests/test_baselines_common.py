"""A tiny fake query tower for the baseline tests, and the checks every baseline must pass.

The other ``test_baselines_*`` files import `FakeQueryModel`, `make_ctx`, `image_batch` and
`token_batch` from here.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.api.contract import AdaptContext, Diverged, QueryModel
from bench.api.gradient import GradientTTA
from bench.api.registry import METHODS, load_builtins
from bench.engine.method_configs import make_config

load_builtins()

BASELINES = ("eata", "sar", "read", "deyo", "tcr")
SOT, EOT = 49406, 49407


class FakeTower(nn.Module):
    """Images (B,3,H,W): 4x4 average pool -> linear; tokens (B,L): embedding x position, mean
    over non-padding -> LayerNorm (the only trainable part) -> linear -> L2-normalise."""

    def __init__(self, dim: int = 8, width: int = 16, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.image_in = nn.Linear(48, width)
        self.token_in = nn.Embedding(97, width)
        self.position = nn.Parameter(torch.randn(77, width))
        self.ln = nn.LayerNorm(width)
        self.out = nn.Linear(width, dim)
        for p in self.parameters():
            p.requires_grad_(False)
        for p in self.ln.parameters():
            p.requires_grad_(True)
        with torch.no_grad():  # not the identity, so that both weight and bias matter
            self.ln.weight.add_(0.1 * torch.randn(width))
            self.ln.bias.add_(0.1 * torch.randn(width))

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.is_floating_point():
            h = self.image_in(F.adaptive_avg_pool2d(batch, 4).flatten(1))
        else:
            mask = (batch != 0).unsqueeze(-1).float()
            e = self.token_in(batch % 97) * self.position[: batch.shape[1]]  # order matters
            h = (e * mask).sum(1) / mask.sum(1).clamp(min=1)
        return F.normalize(self.out(self.ln(h)), dim=1)


class FakeQueryModel(QueryModel):
    """The `QueryModel` protocol around `FakeTower`; records every encode output."""

    def __init__(self, direction: str = "i2t", seed: int = 0, tower: nn.Module | None = None):
        self.direction = direction
        self.tower = tower if tower is not None else FakeTower(seed=seed)
        self.outputs: list[torch.Tensor] = []

    @property
    def encode_calls(self) -> int:
        return len(self.outputs)

    def encode(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.tower(batch)
        self.outputs.append(out.detach().clone())
        return out

    def named_params(self) -> list[tuple[str, nn.Parameter]]:
        return [(f"ln.{n}", p) for n, p in self.tower.ln.named_parameters()]

    def params(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_params()]

    def source_encoder(self):
        frozen = FakeTower()
        frozen.load_state_dict(self.tower.state_dict())
        return torch.no_grad()(frozen)


def make_ctx(direction: str = "i2t", n_gallery: int = 40, dim: int = 8, seed: int = 1,
             temperature: float = 0.1, steps: int = 3, clean_queries=None) -> AdaptContext:
    g = torch.Generator().manual_seed(seed)
    gallery = F.normalize(torch.randn(n_gallery, dim, generator=g), dim=1)
    return AdaptContext(gallery=gallery, direction=direction, temperature=temperature,
                        steps=steps, clean_queries=clean_queries)


def image_batch(b: int = 16, size: int = 16, seed: int = 2) -> torch.Tensor:
    return torch.randn(b, 3, size, size, generator=torch.Generator().manual_seed(seed))


def token_batch(b: int = 16, length: int = 12, seed: int = 3) -> torch.Tensor:
    """SOT, 3..9 content ids, EOT, zero padding."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(b, length, dtype=torch.long)
    for i in range(b):
        n = int(torch.randint(3, length - 2, (1,), generator=g))
        out[i, 0] = SOT
        out[i, 1:n + 1] = torch.randint(1, 49000, (n,), generator=g)
        out[i, n + 1] = EOT
    return out


def build(name: str, direction: str = "i2t", **overrides):
    torch.manual_seed(0)
    method = METHODS.get(name)(make_config(name, overrides))
    model = FakeQueryModel(direction)
    ctx = make_ctx(direction)
    method.setup(model, ctx)
    return method, model, ctx


def batch_for(direction: str) -> torch.Tensor:
    return image_batch() if direction == "i2t" else token_batch()


@pytest.mark.parametrize("name", BASELINES)
def test_config_is_a_gradient_config_and_overridable(name):
    cls = METHODS.get(name).Config
    assert issubclass(cls, GradientTTA.Config) and dataclasses.is_dataclass(cls)
    cfg = make_config(name, {"lr": 1e-3})
    assert cfg.lr == 1e-3 and cfg.weight_decay == 1e-4


@pytest.mark.parametrize("direction", ["i2t", "t2i"])
@pytest.mark.parametrize("name", BASELINES)
def test_adapt_moves_only_layernorms(name, direction):
    method, model, ctx = build(name, direction)
    ln_before = [p.detach().clone() for p in model.params()]
    other_before = {n: p.detach().clone() for n, p in model.tower.named_parameters()
                    if not n.startswith("ln.")}
    batch = batch_for(direction)
    out = method.adapt(batch)
    assert out.rows.shape == (batch.shape[0], ctx.gallery.shape[0])
    assert not out.rows.requires_grad
    assert any(not torch.equal(a, p) for a, p in zip(ln_before, model.params(), strict=True))
    for n, p in model.tower.named_parameters():
        if not n.startswith("ln."):
            assert torch.equal(p, other_before[n]), n


@pytest.mark.parametrize("name", BASELINES)
def test_nan_raises_diverged(name):
    method, model, _ = build(name)
    with torch.no_grad():
        model.tower.ln.weight[0] = float("nan")
    with pytest.raises(Diverged):
        method.adapt(image_batch())


@pytest.mark.parametrize("name", BASELINES)
def test_rows_are_the_last_steps_forward(name):
    if name == "sar":
        pytest.skip("SAR scores the first of its two forwards (test_baselines_sar.py)")
    method, model, ctx = build(name)
    out = method.adapt(image_batch())
    # the last protocol-step forward is the last encode with a full batch (DeYO's x' views
    # only hold the entropy-filtered rows and run after it)
    full = [o for o in model.outputs if o.shape[0] == out.rows.shape[0]]
    assert len(full) == ctx.steps
    torch.testing.assert_close(out.rows, full[-1] @ ctx.gallery.T)
