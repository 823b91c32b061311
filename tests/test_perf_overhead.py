"""`perf overhead`: the bare Tent loop's R@1 rule and update on hand-made tensors, and the
command end to end on smoke cells (bench's Tent and the bare loop must score alike)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_run import cli

from bench.studies import overhead
from bench.studies.overhead import CellOverhead, bare_tent, overhead_table


class _Tower(torch.nn.Module):
    """A query tower whose embedding of input i is ``scale * emb[i]`` (one parameter)."""

    def __init__(self, emb: torch.Tensor):
        super().__init__()
        self.emb = emb
        self.scale = torch.nn.Parameter(torch.ones(()))

    def params(self) -> list[torch.nn.Parameter]:
        return [self.scale]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.emb[x]


def _positions(positions: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(positions)


def test_bare_tent_counts_hits_with_optimistic_ties():
    gallery = torch.eye(3)
    # scores = the embeddings: a tie of the relevant item with another at the top is a hit
    emb = torch.tensor([[1.0, 1.0, 0.0],    # relevant 1, tied with 0 at the top: hit
                        [0.0, 1.0, 2.0],    # relevant 1, below item 2: miss
                        [0.0, 0.0, 3.0]])   # relevant 0 and 2, item 2 first: hit
    relevant = [np.array([1]), np.array([1]), np.array([0, 2])]
    tower = _Tower(emb)
    hits = bare_tent(tower, gallery, [np.array([0, 1]), np.array([2])], _positions, relevant,
                     steps=1, lr=0.0, weight_decay=0.0, temperature=0.01)
    assert hits == 2
    assert float(tower.scale.detach()) == 1.0  # lr 0: nothing moved


def test_bare_tent_steps_on_the_mean_entropy():
    # two queries, two gallery items; entropy at temperature 1 falls as the scale grows
    # (the rows get sharper), so one AdamW step of lr 0.1 raises the scale by about 0.1
    tower = _Tower(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    bare_tent(tower, torch.eye(2), [np.array([0, 1])], _positions,
              [np.array([0]), np.array([1])], steps=1, lr=0.1, weight_decay=0.0,
              temperature=1.0)
    assert float(tower.scale.detach()) == pytest.approx(1.1, abs=1e-6)


def test_overhead_table_ratios_are_per_round():
    a = CellOverhead("cell a", 100, [2.0, 3.0, 2.2], [2.0, 2.5, 2.0], 40, 40)
    b = CellOverhead("cell b", 50, [1.0, 1.0, 1.0], [1.0, 0.5, 1.0], 10, 10)
    assert a.ratios == [1.0, 1.2, 1.1] and a.same_r1
    lines = overhead_table([a, b]).splitlines()
    assert lines[1].split()[2:] == ["100", "2.20", "2.00", "1.100x", "[1.000-1.200]",
                                    "40.00", "40.00"]
    # all cells: rounds summed (3/3, 4/3, 3.2/3), then the median and range of the ratios
    assert lines[3].split()[5:] == ["150", "3.20", "3.00", "1.067x", "[1.000-1.333]"]


def test_perf_overhead_compares_bench_and_the_bare_loop():
    threads = torch.get_num_threads()
    code, out, err = cli("perf", "overhead", "--suite", "smoke", "--limit", "32", "--repeat",
                         "2", "--shift", "clean,contrast", "--direction", "i2t")
    assert code == 0, err
    assert "cells: smoke, shift clean,contrast, i2t, limit 32" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("smoke ")]
    assert len(rows) == 2
    for row in rows:
        queries, bench_s, bare_s, ratio, _range, r1_bench, r1_bare = row[-7:]
        assert queries == "32" and float(bench_s) > 0 and float(bare_s) > 0
        assert r1_bench == r1_bare  # bench's Tent and metrics and the bare loop agree
        assert ratio.endswith("x")
    assert err.count("] smoke mini-scenes-smoke i2t") == 2  # a progress line per cell
    assert torch.get_num_threads() == threads  # --threads 1 while timing, then as it was


def test_perf_overhead_exits_3_when_the_two_sides_differ(monkeypatch):
    monkeypatch.setattr(overhead, "bare_tent", lambda *a, **k: -1)
    code, out, err = cli("perf", "overhead", "--suite", "smoke", "--limit", "8", "--repeat",
                         "1", "--shift", "clean", "--direction", "t2i")
    assert code == 3
    assert err.splitlines()[-1] == ("error: R@1 of bench and of the bare loop differ on "
                                    "smoke mini-scenes-smoke t2i clean tent seed=0")
    code, _, err = cli("perf", "overhead", "--repeat", "0")
    assert code == 2 and "argument --repeat: must be at least 1, got 0" in err
