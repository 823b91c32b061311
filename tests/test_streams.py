"""Query streams: the seeded permutation cut in batches of 64, and diverse segments."""

from __future__ import annotations

import numpy as np
import torch

from bench.streams import Segment, plan_stream


def test_single_stream_is_the_seeded_randperm_in_batches_of_64():
    plan = plan_stream(1000, [Segment("gaussian_noise", 5)], "single", seed=0)
    expected = torch.randperm(1000, generator=torch.Generator().manual_seed(0)).numpy()
    assert np.array_equal(plan.order, expected)
    batches = plan.batches(64)
    assert [len(b) for b in batches] == [64] * 15 + [40]
    assert np.array_equal(np.concatenate(batches), expected)
    other = plan_stream(1000, [Segment("gaussian_noise", 5)], "single", seed=1)
    assert not np.array_equal(other.order, plan.order)


def test_limit_keeps_the_first_queries():
    plan = plan_stream(1000, [Segment("clean", 0)], "single", seed=0, limit=100)
    assert sorted(plan.query_ids[plan.order].tolist()) == list(range(100))


def test_mixed_and_continual_share_disjoint_segments():
    segs = [Segment(s, 5) for s in ("a", "b", "c")]
    mixed = plan_stream(90, segs, "mixed", seed=3)
    cont = plan_stream(90, segs, "continual", seed=3)
    assert np.array_equal(mixed.query_ids, cont.query_ids)  # same assignment of queries
    assert sorted(mixed.query_ids.tolist()) == list(range(90))  # disjoint, complete
    assert np.bincount(mixed.segment).tolist() == [30, 30, 30]
    # continual: segment after segment
    assert cont.segment[cont.order].tolist() == [0] * 30 + [1] * 30 + [2] * 30
    # mixed: batches mix segments
    first = mixed.segment[mixed.order[:30]]
    assert len(set(first.tolist())) == 3
