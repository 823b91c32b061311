"""One home for each protocol fact (bench/api/protocol.py): every default reads it."""

from __future__ import annotations

import dataclasses
import json

import torch

import bench.api
from bench.api import protocol as proto
from bench.api.contract import AdaptContext
from bench.api.gradient import GradientTTA, effective_lr
from bench.cli import build_parser
from bench.engine import cells, loop, metrics
from bench.engine.settings import RunSettings, Selection


def _run_defaults():
    return build_parser().parse_args(["run", "--method", "source", "--suite", "smoke"])


def test_the_protocol_values_and_field_order_hashed_into_cell_ids():
    # Cell ids hash asdict(Protocol): names, order and defaults are part of every stored id.
    assert list(dataclasses.asdict(proto.PROTOCOL).items()) == [
        ("batch_size", 64), ("steps", 3), ("limit", None), ("corruption_seed", 0)]
    assert proto.DEFAULT_LR == 3e-4
    assert proto.TEMPERATURE == {"captions": 0.01, "fashion": 0.001, "reid": 0.0001,
                                 "composed": 0.01}
    # the exact text Cell.describe() puts in every id's blob
    assert json.dumps(dataclasses.asdict(proto.PROTOCOL), sort_keys=True) == (
        '{"batch_size": 64, "corruption_seed": 0, "limit": null, "steps": 3}')


def test_every_default_is_the_protocols():
    args = _run_defaults()
    assert (args.batch_size, args.steps, args.corruption_seed) == (
        proto.PROTOCOL.batch_size, proto.PROTOCOL.steps, proto.PROTOCOL.corruption_seed)
    protocol = RunSettings(Selection(methods=["source"], suites=["smoke"])).protocol
    assert (protocol.batch_size, protocol.steps, protocol.corruption_seed, protocol.limit) == (
        proto.PROTOCOL.batch_size, proto.PROTOCOL.steps, proto.PROTOCOL.corruption_seed,
        proto.PROTOCOL.limit)
    ctx = AdaptContext(gallery=torch.eye(2), direction="i2t", temperature=0.5)
    assert ctx.steps == proto.PROTOCOL.steps
    assert GradientTTA.Config().lr == proto.DEFAULT_LR


def test_one_object_per_fact_everywhere():
    """The readers hold the protocol module's objects, not copies of their values."""
    assert cells.Protocol is proto.Protocol
    assert loop.TEMPERATURE is proto.TEMPERATURE
    assert metrics.TIE_RULE is proto.TIE_RULE
    for name in ("PROTOCOL", "DEFAULT_LR", "TEMPERATURE", "TIE_RULE", "Protocol"):
        assert getattr(bench.api, name) is getattr(proto, name)
        assert name in bench.api.__all__


def test_the_record_names_the_protocols_tie_rule_and_temperature():
    shared = loop.shared_protocol_record(proto.Protocol(batch_size=64, steps=3))
    rec = json.loads(loop.protocol_record(shared, proto.TEMPERATURE["reid"], 0))
    assert rec["tie_rule"] == proto.TIE_RULE and rec["temperature"] == 0.0001


def test_the_loop_uses_the_dataset_kinds_temperature(monkeypatch):
    """run_cell hands a method the protocol's temperature of the dataset's kind."""
    seen = {}

    class Stop(Exception):
        pass

    class Probe:
        def setup(self, model, ctx):
            seen["ctx"] = ctx
            raise Stop

    class FakeModel:
        device = torch.device("cpu")

        def restore_source(self):
            pass

        def query_model(self, direction):
            return None

    plan = type("Plan", (), {"order": [0, 1]})()
    for kind, temperature in proto.TEMPERATURE.items():
        try:
            loop.run_cell(Probe(), FakeModel(), "t2i", kind, torch.eye(2), plan, None,
                          steps=2, batch_size=2, seed=0)
        except Stop:
            pass
        assert seen["ctx"].temperature == temperature and seen["ctx"].steps == 2


def test_a_changed_lr_is_used_as_given_and_the_default_defers_to_the_tower():
    tower = type("Tower", (), {"default_lr": 3e-5})()
    assert effective_lr(proto.DEFAULT_LR, tower) == 3e-5
    assert effective_lr(1e-3, tower) == 1e-3
    no_rate = type("Tower", (), {"default_lr": None})()  # QueryModel's default: none of its own
    assert effective_lr(proto.DEFAULT_LR, no_rate) == proto.DEFAULT_LR
