"""The mini models' training recipes have one source, and it is the shipped checkpoints' own."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import bench
from bench.cli import main
from bench.studies.mini import combiner as mini_combiner
from bench.studies.mini import train as mini_train

ASSETS = Path(bench.__file__).parent / "assets" / "models"


@pytest.mark.parametrize("model", ["mini-clip", "mini-clip-2", "mini-reid"])
def test_recipe_is_the_config_the_shipped_checkpoint_was_trained_with(model):
    card = json.loads((ASSETS / f"{model}.card.json").read_text())
    assert dataclasses.asdict(mini_train.RECIPES[model]) == card["config"]


def test_combiner_recipe_is_the_shipped_combiners_config():
    card = json.loads((ASSETS / "mini-cir-combiner.card.json").read_text())
    assert dataclasses.asdict(mini_combiner.CombinerTrainConfig()) == card["config"]


def test_train_command_trains_the_combiner_from_its_recipe(monkeypatch, tmp_path):
    seen = []

    def fake_train(cfg, out, quiet=False):
        seen.append((cfg, out))
        return {"test_metrics": {}, "checkpoint_mb": 0.0}

    monkeypatch.setattr(mini_combiner, "train", fake_train)
    out = tmp_path / "c.pt"
    assert main(["mini", "train", "--model", "mini-cir-combiner", "--out", str(out),
                 "--steps", "5", "--quiet"]) == 0
    assert seen == [(dataclasses.replace(mini_combiner.CombinerTrainConfig(), steps=5), out)]


def test_train_command_starts_from_the_recipe(monkeypatch, tmp_path, capsys):
    seen = []

    def fake_train(cfg, out, quiet=False, **kw):
        seen.append(cfg)
        return {"test_metrics": {}, "checkpoint_mb": 0.0}

    monkeypatch.setattr(mini_train, "train", fake_train)
    out = tmp_path / "m.pt"
    assert main(["mini", "train", "--model", "mini-reid", "--out", str(out), "--quiet"]) == 0
    assert main(["mini", "train", "--out", str(out), "--steps", "7", "--seed", "3"]) == 0
    assert seen[0] == mini_train.RECIPES["mini-reid"]
    assert seen[1] == dataclasses.replace(mini_train.RECIPES["mini-clip"], steps=7, seed=3)
    assert main(["mini", "train", "--out", str(out), "--steps", "0"]) == 2
    assert "argument --steps: must be at least 1, got 0" in capsys.readouterr().err
    assert len(seen) == 2


@pytest.fixture(scope="module")
def tiny_scenes(tmp_path_factory):
    from bench.data.synth import ScenesConfig, load_mini_scenes

    cfg = ScenesConfig(n_train=24, n_val=8, n_test=12)
    root = tmp_path_factory.mktemp("scenes")
    return {s: load_mini_scenes(s, root, cfg, progress=False) for s in ("train", "test")}


class Killed(Exception):
    """Stands in for a kill between two training steps."""


REAL_LR = mini_train._cosine_lr


def _tiny_train(monkeypatch, tiny_scenes, out, cfg, stop_at=None):
    monkeypatch.setattr(mini_train, "training_data", lambda model, split: tiny_scenes[split])

    def lr(step, c):
        if stop_at is not None and step == stop_at:
            raise Killed
        return REAL_LR(step, c)

    monkeypatch.setattr(mini_train, "_cosine_lr", lr)
    return mini_train.train(cfg, out, quiet=True, workers=1, save_every=2)


def test_an_interrupted_training_resumes_to_the_uninterrupted_checkpoint(
        monkeypatch, tmp_path, tiny_scenes):
    import torch

    torch.set_num_threads(1)
    cfg = dataclasses.replace(mini_train.RECIPES["mini-clip"], steps=5, batch_size=8, warmup=1,
                              logit_scale=100.0)
    whole = tmp_path / "whole.pt"
    _tiny_train(monkeypatch, tiny_scenes, whole, cfg)
    cut = tmp_path / "cut.pt"
    with pytest.raises(Killed):
        _tiny_train(monkeypatch, tiny_scenes, cut, cfg, stop_at=3)
    state = mini_train._state_path(cut)
    assert state.is_file() and not cut.exists()
    other = dataclasses.replace(cfg, lr=5e-4)  # another recipe's state is not resumed
    assert mini_train._load_state(state, other) is None
    card = _tiny_train(monkeypatch, tiny_scenes, cut, cfg)
    assert card["resumed_at_step"] == 2 and not state.exists()
    a = torch.load(whole, weights_only=True)
    b = torch.load(cut, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert float(a["logit_scale"].float().exp()) == pytest.approx(100.0, rel=1e-3)


def test_training_can_start_from_a_checkpoint(monkeypatch, tmp_path, tiny_scenes):
    import torch

    torch.set_num_threads(1)
    first = tmp_path / "first.pt"
    cfg = dataclasses.replace(mini_train.RECIPES["mini-clip"], steps=2, batch_size=8, warmup=1)
    _tiny_train(monkeypatch, tiny_scenes, first, cfg)
    more = dataclasses.replace(cfg, init=str(first), lr=1e-12)  # nearly no change from `first`
    card = _tiny_train(monkeypatch, tiny_scenes, tmp_path / "more.pt", more)
    assert card["init_sha256"] == json.loads(first.with_suffix(".card.json").read_text())[
        "checkpoint_sha256"]
    a = torch.load(first, weights_only=True)
    b = torch.load(tmp_path / "more.pt", weights_only=True)
    assert max(float((a[k].float() - b[k].float()).abs().max()) for k in a) < 1e-2
