"""Metrics: hand-worked examples and a brute-force reference on random matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.engine.metrics import RankAccumulator, brute_force_metrics, relevant_positions


def test_hand_worked_example():
    # gallery of 5; query 0 relevant {1, 3}; query 1 relevant {4}
    rows = torch.tensor([[0.9, 0.8, 0.1, 0.7, 0.0],
                         [0.5, 0.4, 0.3, 0.2, 0.6]])
    rel = [np.array([1, 3]), np.array([4])]
    pos = relevant_positions(rows, rel)
    assert pos[0].tolist() == [2, 3]  # item 1 is 2nd (after item 0), item 3 is 3rd
    assert pos[1].tolist() == [1]
    acc = RankAccumulator()
    assert acc.add(rows, rel) == 50.0
    m = acc.summary()
    assert m["r1"] == 50.0 and m["r5"] == 100.0 and m["r10"] == 100.0
    # AP: q0 = (1/2 + 2/3) / 2, q1 = 1; INP: q0 = 2/3, q1 = 1
    assert m["map"] == pytest.approx(100 * ((0.5 + 2 / 3) / 2 + 1) / 2)
    assert m["minp"] == pytest.approx(100 * (2 / 3 + 1) / 2)


def test_tie_rule_is_optimistic_and_order_free():
    # the relevant item ties with two others: rank counts only strictly higher items
    rows = torch.tensor([[0.5, 0.5, 0.5, 0.1]])
    for rel in ([np.array([0])], [np.array([1])], [np.array([2])]):
        assert relevant_positions(rows, rel)[0].tolist() == [1]
    # two tied relevant items take positions 1 and 2 whatever their indices
    assert relevant_positions(rows, [np.array([2, 0])])[0].tolist() == [1, 2]


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_random_matrices_with_ties(seed):
    rng = np.random.default_rng(seed)
    n_q, n_g = 70, 300
    scores = np.round(rng.normal(size=(n_q, n_g)), 1).astype(np.float32)  # many ties
    relevant = [rng.choice(n_g, size=rng.integers(1, 8), replace=False) for _ in range(n_q)]
    acc = RankAccumulator()
    for start in range(0, n_q, 16):  # batches, as the stream goes
        acc.add(torch.from_numpy(scores[start:start + 16]), relevant[start:start + 16])
    got, want = acc.summary(), brute_force_metrics(scores, relevant)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-9), key


def test_segment_mask_and_empty_relevance():
    acc = RankAccumulator()
    acc.add(torch.eye(4), [np.array([i]) for i in range(4)])
    assert acc.summary(np.array([True, False, True, False]))["r1"] == 100.0
    with pytest.raises(ValueError):
        acc.add(torch.eye(2), [np.array([], dtype=np.int64), np.array([1])])


def test_accelerator_path_counts_as_the_numpy_path():
    # the torch path (used for rows on a GPU) run on CPU rows gives the same positions
    from bench.engine.metrics import _positions_torch

    rng = np.random.default_rng(5)
    rows = torch.from_numpy(np.round(rng.normal(size=(20, 50)), 1).astype(np.float32))
    rel = [rng.choice(50, size=rng.integers(1, 6), replace=False) for _ in range(20)]
    sizes = [len(r) for r in rel]
    want = relevant_positions(rows, rel)
    got = _positions_torch(rows, rel, sizes, max(sizes))
    assert all(a.tolist() == b.tolist() for a, b in zip(got, want, strict=True))


def test_add_accumulates_per_query_ranks_ap_and_inp():
    rows = torch.tensor([[0.9, 0.8, 0.1, 0.7, 0.0],
                         [0.5, 0.4, 0.3, 0.2, 0.6],
                         [0.5, 0.4, 0.3, 0.2, 0.6]])
    acc = RankAccumulator()
    acc.add(rows, [np.array([1, 3]), np.array([4]), np.array([1])])
    assert acc.best == [2, 1, 3]
    assert acc.ap == [(1 / 2 + 2 / 3) / 2, 1.0, 1 / 3]
    assert acc.inp == [2 / 3, 1.0, 1 / 3]
