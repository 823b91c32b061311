"""Query streams: the seeded permutation cut in batches of 64, and diverse segments."""

from __future__ import annotations

import numpy as np
import torch

from bench.suites.streams import Segment, plan_stream


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


def test_short_segments_are_lengthened_to_the_minimum():
    segs = [Segment(s, 5) for s in ("a", "b", "c", "d")]
    cont = plan_stream(100, segs, "continual", seed=1, min_segment=40)  # 4 x 40 > 100 queries
    assert np.bincount(cont.segment).tolist() == [40] * 4
    for k in range(4):
        ids = cont.query_ids[cont.segment == k]
        assert len(set(ids.tolist())) == 40  # no query twice within a segment
    counts = np.bincount(cont.query_ids, minlength=100)
    assert set(counts.tolist()) == {1, 2}  # each query under 1 or 2 of the 4 shifts
    assert cont.segment[cont.order].tolist() == sum(([k] * 40 for k in range(4)), [])
    mixed = plan_stream(100, segs, "mixed", seed=1, min_segment=40)
    assert np.array_equal(mixed.query_ids, cont.query_ids)
    # long enough already: the disjoint cut, exactly as without a minimum
    plain = plan_stream(100, segs, "mixed", seed=1)
    assert np.array_equal(plan_stream(100, segs, "mixed", seed=1, min_segment=25).query_ids,
                          plain.query_ids)
    clean = cont.clean_plan()
    assert sorted(clean.query_ids.tolist()) == list(range(100))
    assert [s.label for s in clean.segments] == ["clean"]
    assert np.array_equal(plain.clean_plan().query_ids, plain.query_ids)  # same order
