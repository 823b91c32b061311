"""The plugin contract is declared in bench/api: every optional hook of a method has its
default on `TTAMethod` and the engine calls it without probing; backbones and suites are
protocols bench's own implementations satisfy; the reusable pieces of the step loop live in
bench/api/blocks.py and stay importable from bench/api/gradient.py."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from bench.api import Backbone, RetrievalTowers, SuiteDefinition, TTAMethod, blocks, gradient
from bench.api.contract import StepOutput
from bench.api.registry import MODELS, SUITES, load_builtins
from bench.engine.planning import weights_identity

load_builtins()
ENGINE = Path(__file__).resolve().parents[1] / "bench" / "engine"


def test_the_engine_probes_no_method_or_model_for_hooks():
    probes = []
    for path in sorted(ENGINE.glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\b(hasattr|getattr)\((method|model|rm|MODELS\.get)", line):
                probes.append(f"{path.name}:{n}: {line.strip()}")
    assert probes == []


class Plain(TTAMethod):
    """A method with none of the optional hooks: returns the gallery similarities."""

    def adapt(self, batch: torch.Tensor) -> StepOutput:
        return StepOutput(rows=batch @ self.ctx.gallery.T)


def test_optional_hooks_have_their_defaults_on_the_base_class():
    method = Plain()
    method.clear_terms()
    assert method.terms == {} and dict(method.term_grads) == {}
    assert method.state is None and method.trace_grads is False
    method.trace_grads = True  # the runner's switch: an instance attribute, the class keeps False
    assert Plain.trace_grads is False and TTAMethod.trace_grads is False


def test_a_method_without_hooks_runs_the_stream_loop():
    import numpy as np

    from bench.engine.inputs import QuerySet
    from bench.engine.loop import run_stream
    from bench.suites.streams import Segment, plan_stream

    gallery = torch.eye(4)
    queries = QuerySet(raw=torch.eye(4), relevant=[np.array([i]) for i in range(4)],
                       usable=np.ones(4, dtype=bool))
    method = Plain()
    method.setup(None, type("Ctx", (), {"gallery": gallery})())
    plan = plan_stream(4, [Segment("clean", 0)], "single", seed=0)
    acc, trace, _, _ = run_stream(method, plan, queries, batch_size=2)
    assert acc.summary()["r1"] == 100.0
    assert trace["terms"].isna().all() and trace["term_grads"].isna().all()
    assert trace["grad_angles"].isna().all()


def test_bench_own_backbones_and_suites_satisfy_the_protocols():
    assert isinstance(MODELS.get("mini-clip"), Backbone)
    assert isinstance(MODELS.get("blip-base"), Backbone)
    assert all(isinstance(SUITES.get(name), SuiteDefinition) for name in SUITES.names())
    rm = MODELS.get("mini-clip").load("random", "cpu")
    assert isinstance(rm, RetrievalTowers)


class DuckBackbone:
    """A plugin backbone that subclasses nothing of bench: it declares every member of the
    protocol, the two with defaults included."""

    name = "duck"
    description = "a backbone written against the protocol only"
    found_label = "duck weights found"
    input_size = None  # the architecture's own

    def missing(self, pretrained=None):
        return None

    def load(self, pretrained, device, seed=0, prep=None, activation=None):
        raise NotImplementedError

    def weights_identity(self, pretrained, seed=0, memo=True):
        return f"duck:{pretrained}:{seed}"


def test_a_protocol_backbone_names_its_weights_in_cell_ids(monkeypatch):
    monkeypatch.setitem(MODELS._items, "duck", DuckBackbone())
    assert isinstance(MODELS.get("duck"), Backbone)
    assert weights_identity("duck", "w1", 3) == "duck:w1:3"
    assert weights_identity("mini-clip", "random", 2) == "random-seed2"
    assert weights_identity("ViT-B-16", "openai", 0) == "tag:ViT-B-16:openai"


def test_a_backbone_subclass_inherits_the_defaults_the_engine_reads():
    class Minimal(Backbone):
        name = "minimal"
        description = "declares only what has no default"

        def missing(self, pretrained=None):
            return None

        def load(self, pretrained, device, seed=0, prep=None, activation=None):
            raise NotImplementedError

        def weights_identity(self, pretrained, seed=0, memo=True):
            return "minimal"

    backbone = Minimal()
    assert isinstance(backbone, Backbone)
    assert backbone.input_size is None and backbone.found_label == "weights shipped"
    assert MODELS.get("blip-base").input_size == (384, 384)
    assert MODELS.get("mini-clip").input_size is None


def test_reusable_pieces_live_beside_the_loop_and_keep_their_old_import_path():
    for name in ("sam_perturb", "sam_restore", "decouple", "flat_grads", "tensor_dots",
                 "set_grads", "check_entropies", "entropy_threshold", "reliable_mask",
                 "masked_mean", "check_finite", "MARGIN_MODES"):
        assert getattr(gradient, name) is getattr(blocks, name)
        assert getattr(blocks, name) is not None
    assert blocks.masked_mean(torch.tensor([1.0, 3.0, 5.0]),
                              torch.tensor([True, False, True])).item() == 3.0
