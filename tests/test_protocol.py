"""The online loop: what adapts (query-side LayerNorms only), scoring, caching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines.tent import Tent
from bench.engine.cache import Cache
from bench.engine.inputs import QuerySet
from bench.engine.loop import run_cell
from bench.models.openclip import load_model
from bench.suites.streams import Segment, plan_stream


@pytest.fixture(scope="module")
def model():
    return load_model("mini-clip", "random", seed=0)


def _image_queries(model, n=96, seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 255, size=(n, 64, 64, 3), dtype=np.uint8)
    return QuerySet(raw=raw, relevant=[np.array([i % 40]) for i in range(n)],
                    usable=np.ones(n, dtype=bool), to_model=model.image_tensor)


def _gallery(model, n=40):
    tokens = model.tokenize([f"caption number {i}" for i in range(n)])
    with torch.no_grad():
        return model.encode_texts(tokens)


@pytest.mark.parametrize("direction", ["i2t", "t2i"])
def test_only_query_side_layernorms_change(model, direction):
    model.restore_source()
    before = {k: v.clone() for k, v in model.model.state_dict().items()}
    if direction == "i2t":
        queries, gallery = _image_queries(model), _gallery(model)
    else:
        tokens = model.tokenize([f"a query text {i}" for i in range(96)])
        queries = QuerySet(raw=tokens, relevant=[np.array([i % 40]) for i in range(96)],
                           usable=np.ones(96, dtype=bool))
        with torch.no_grad():
            gallery = model.encode_images(model.image_tensor(_image_queries(model, 40).raw))
    plan = plan_stream(96, [Segment("clean", 0)], "single", seed=0)
    method = Tent(Tent.Config(lr=1e-2))
    run_cell(method, model, direction, "captions", gallery, plan, queries, steps=3,
             batch_size=64, seed=0)
    after = model.model.state_dict()
    trainable = {f"{'visual' if direction == 'i2t' else 'transformer'}.{name}"
                 for name, _ in model.layernorm_params(direction)}
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and changed <= trainable
    assert "ln_final.weight" not in changed
    gallery_tower = "transformer." if direction == "i2t" else "visual."
    assert not any(k.startswith(gallery_tower) for k in changed)  # gallery tower bit-identical
    model.restore_source()
    assert all(torch.equal(before[k], v) for k, v in model.model.state_dict().items())


def test_scored_rows_are_the_last_step_of_each_batch(model):
    """With steps=1 the rows come before any update; the stream's order is the randperm."""
    model.restore_source()
    queries, gallery = _image_queries(model), _gallery(model)
    plan = plan_stream(96, [Segment("clean", 0)], "single", seed=0)
    seen = []

    class Spy(Tent):
        def adapt(self, batch):
            seen.append(batch.clone())
            return super().adapt(batch)

    run_cell(Spy(), model, "i2t", "captions", gallery, plan, queries, steps=1, batch_size=64,
             seed=0)
    assert [len(b) for b in seen] == [64, 32]
    expected = model.image_tensor(queries.raw[plan.order[:64]])
    assert torch.equal(seen[0], expected)


def test_gallery_cache_key_and_hits(tmp_path):
    cache = Cache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return torch.ones(3)

    parts = {"model": "m", "weights": "w1", "dataset": "d", "direction": "i2t"}
    cache.tensor("gallery", parts, compute)
    cache.tensor("gallery", parts, compute)
    assert len(calls) == 1 and cache.hits == 1
    cache.tensor("gallery", parts | {"weights": "w2"}, compute)
    assert len(calls) == 2
    assert not Cache(tmp_path, enabled=False).hits
