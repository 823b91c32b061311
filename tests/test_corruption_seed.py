"""The corruption seed reaches the query builder, its cache key and the cell id."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_run import cli

from bench.api.registry import load_builtins
from bench.engine.cache import Cache
from bench.engine.cell_run import Resources
from bench.engine.planning import plan_run
from bench.engine.settings import RunSettings
from bench.suites.streams import plan_stream

load_builtins()

SHIFTS = {("i2t", "gaussian_noise"), ("t2i", "cr")}


def _cells(seed: int, cache: Cache):
    opts = RunSettings.of(methods=["source"], suites=["mini-c"], pretrained="random", limit=8,
                      corruption_seed=seed, workers=1, quiet=True, cache=cache,
                      log=lambda msg: None)
    cells = [c for c in plan_run(opts) if (c.spec.direction, c.spec.shift) in SHIFTS]
    assert len(cells) == 2
    return opts, cells


def _queries(seed: int, cache: Cache) -> tuple[dict, dict]:
    """{direction: raw query inputs} and {direction: cell id} for corruption seed `seed`."""
    opts, cells = _cells(seed, cache)
    res = Resources(opts.runtime, torch.device("cpu"))
    raw, ids = {}, {}
    for cell in cells:
        ds = res.dataset(cell)
        s = cell.spec
        n = ds.n_images if s.direction == "i2t" else ds.n_captions
        plan = plan_stream(n, s.stream_segments(), s.stream, cell.seed, cell.protocol.limit)
        q = res.queries(cell, plan).raw
        raw[s.direction] = np.asarray(q).copy()
        ids[s.direction] = cell.cell_id
    return raw, ids


def test_seeds_give_different_queries_and_cell_ids_same_seed_bitwise_same(tmp_path):
    cache = Cache(tmp_path / "cache")
    raw0, ids0 = _queries(0, cache)
    raw1, ids1 = _queries(1, cache)  # the same cache: seed 0's entries must not be served
    again, ids0b = _queries(0, cache)  # from the cache
    fresh, _ = _queries(0, Cache(enabled=False))  # recomputed
    for d in ("i2t", "t2i"):
        assert ids0[d] != ids1[d]
        assert ids0[d] == ids0b[d]
        assert raw0[d].shape == raw1[d].shape
        assert not np.array_equal(raw0[d], raw1[d]), d
        assert np.array_equal(raw0[d], again[d]) and np.array_equal(raw0[d], fresh[d]), d


def test_cell_ids_of_seed_0_are_the_old_ones():
    """Seed 0 is the default: cell ids made before the seed was wired through still match."""
    _, cells = _cells(0, Cache(enabled=False))
    assert all(c.describe()["protocol"]["corruption_seed"] == 0 for c in cells)


@pytest.mark.parametrize("extra", [("--corruption-seed", "-1"),
                                   ("--corruption-seed", "2", "--queries", "released")])
def test_bad_corruption_seed_is_a_user_error(tmp_path, extra):
    code, _, err = cli("run", "--method", "source", "--out", tmp_path, "--suite", "smoke", *extra)
    assert code == 2 and "--corruption-seed" in err
    assert not any(tmp_path.iterdir())
