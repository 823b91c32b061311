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


@pytest.mark.parametrize("model", ["mini-clip", "mini-reid"])
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

    def fake_train(cfg, out, quiet=False):
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
