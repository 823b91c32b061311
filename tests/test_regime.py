"""`regime`: the per-step measures on hand-made tensors, and a probed smoke cell whose numbers
are counted by hand from the source model and whose results equal an unprobed run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers_run import cli

from bench.studies.regime import softmax_entropy, top1_correct, trusted_rows


def test_top1_correct_counts_argmax_among_relevant():
    sims = torch.tensor([[0.9, 0.1, 0.2], [0.1, 0.3, 0.8], [0.5, 0.7, 0.1]])
    correct = top1_correct(sims, [np.array([0]), np.array([1]), np.array([1, 2])])
    assert correct.tolist() == [True, False, True]
    assert correct.mean() == pytest.approx(2 / 3)


def test_softmax_entropy_uniform_is_ln_c_and_one_hot_is_zero():
    ent = softmax_entropy(torch.tensor([[0.3, 0.3, 0.3, 0.3], [1.0, 0.0, 0.0, 0.0]]), 0.01)
    assert ent[0].item() == pytest.approx(math.log(4))
    assert ent[1].item() == pytest.approx(0.0, abs=1e-30)
    # two classes at logits 0 and ln 3 (p = 1/4, 3/4): H = -(1/4 ln 1/4 + 3/4 ln 3/4)
    h = softmax_entropy(torch.tensor([[0.0, math.log(3) / 100]]), 0.01)
    assert h.item() == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))


def test_trusted_rows_are_the_rows_a_masked_loss_reaches():
    q = torch.randn(4, 3, requires_grad=True)
    sims = q @ torch.randn(5, 3).T
    logp = torch.log_softmax(sims, dim=1)
    ent = -(logp.exp() * logp).sum(dim=1)
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0])
    loss = (ent * mask).sum() / mask.sum()
    assert trusted_rows(loss, q).tolist() == [True, False, True, False]
    assert q.grad is None  # nothing written: the method's own update is unchanged
    assert trusted_rows(None, q).tolist() == [False] * 4


@pytest.fixture(scope="module")
def smoke_run():
    from bench.api.registry import load_builtins
    from bench.studies.inprocess import plan_in_process

    load_builtins()
    return plan_in_process(["tent", "eata"], "smoke", 128,
                           {"device": "cpu", "shifts": ["contrast"], "directions": "i2t"})


def test_probed_cell_counts_by_hand_and_leaves_results_unchanged(smoke_run):
    from bench.engine.cell_run import cell_plan
    from bench.studies.inprocess import execute_ok
    from bench.studies.regime import probe_cell

    run = smoke_run
    for cell in run.cells:
        steps, metrics = probe_cell(cell, run.res)
        assert len(steps) == 6 and steps["n"].tolist() == [64] * 6  # 2 batches x 3 steps
        assert steps["batch"].tolist() == [0, 0, 0, 1, 1, 1]
        assert steps["p1_all"].between(0, 1).all()
        assert steps["p1_kept"].dropna().between(0, 1).all()  # NaN: no row kept
        assert (steps["n_kept"] <= steps["n"]).all()
        assert steps["ln_c"].iloc[0] == pytest.approx(math.log(1000))
        assert (steps["update_rel"] > 0).all() and (steps["update_rel"] < 0.1).all()
        # the same cell unprobed: identical R@1 (the probe reads, never changes)
        assert metrics["r1"] == execute_ok(cell, run.res, run.run_id).row["r1"]
        # step 0 sees the source model: its precision, counted by hand
        rm, ds = run.res.model(cell), run.res.dataset(cell)
        plan = cell_plan(cell, ds)
        queries = run.res.queries(cell, plan)
        rm.restore_source()
        positions = plan.batches(64)[0]
        positions = positions[queries.usable[positions]]
        with torch.no_grad():
            sims = rm.encode("i2t", queries.batch(positions)).float() @ run.res.gallery(cell).T
        top = sims.argmax(dim=1).numpy()
        hand = np.mean([t in set(queries.relevant[p].tolist())
                        for t, p in zip(top, positions, strict=True)])
        assert steps["p1_all"].iloc[0] == pytest.approx(hand)
        if cell.method == "tent":
            assert (steps["n_kept"] == steps["n"]).all()  # Tent trusts every row
        else:  # EATA's kept rows: 40% of the batch before its redundancy filter
            assert (steps["n_kept"] == steps["n_kept_state"]).all()
            assert (steps["n_kept"] <= int(0.4 * 64)).all() and steps["n_kept"].sum() > 0


def test_regime_command_prints_the_table():
    # --other-temperature at the protocol's own (0.01): the calibration rows must agree
    code, out, _ = cli("regime", "--suite", "smoke", "--method", "tent", "--direction", "t2i",
                       "--shift", "cr", "--limit", "64", "--device", "cpu",
                       "--other-temperature", "0.01")
    assert code == 0
    assert "| t2i | cr | tent |" in out and "1 thread(s)" in out
    own = [ln for ln in out.splitlines() if ln.startswith("| t2i | cr | tent | the method's")]
    other = [ln for ln in out.splitlines() if ln.startswith("| t2i | cr | tent | 0.01 |")]
    assert len(own) == len(other) == 1
    assert own[0].split("|")[5:] == other[0].split("|")[5:]


def test_regime_refuses_source():
    code, _, err = cli("regime", "--suite", "smoke", "--method", "source")
    assert code == 2 and "source has none" in err
