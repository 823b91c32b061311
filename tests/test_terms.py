"""Loss terms in the trace: `GradientTTA.record_terms`, their gradient norms, and the
guarantee that tracing them changes no result."""

from __future__ import annotations

import json
import math

import pytest
import torch
from helpers_run import smoke_run
from test_baselines_common import build, image_batch, token_batch

from bench.api.gradient import grad_norm
from bench.engine.store import ResultStore, trace_terms

TERMS = {"tcr": {"rem", "uni", "gap"}, "rest": {"rem", "uni", "gap", "cons", "keep"},
         "eata": {"entropy"}, "sar": {"entropy", "sam_entropy"},
         "deyo": {"entropy_weighted", "plpd_weighted"}}


def test_grad_norm_by_hand():
    p = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    q = torch.nn.Parameter(torch.tensor([1.0]))
    value = 0.5 * (p ** 2).sum()  # gradient p = (3, 4): norm 5; q is not reached
    assert grad_norm(value, [p, q]) == pytest.approx(5.0)
    assert p.grad is None  # nothing written to .grad
    value.backward()  # the graph is still there
    assert torch.equal(p.grad, torch.tensor([3.0, 4.0]))
    assert grad_norm(torch.tensor(2.0), [p]) == 0.0  # no graph: 0
    both = (p * torch.tensor([1.0, 0.0])).sum() + 2 * q.sum()  # gradients (1, 0) and (2)
    assert grad_norm(both, [p, q]) == pytest.approx(math.sqrt(5.0))


def test_record_terms_starts_a_new_step_when_a_name_repeats():
    method, model, _ = build("tent")
    w = model.params()[0]
    method.trace_grads = True
    method.record_terms(a=w.sum(), b=None)  # None: absent
    method.record_terms(c=2 * w.sum())  # another part of the same step
    assert set(method.terms) == {"a", "c"} and set(method.term_grads) == {"a", "c"}
    n = w.numel()
    assert method.term_grads["a"] == pytest.approx(math.sqrt(n))
    assert method.term_grads["c"] == pytest.approx(2 * math.sqrt(n))
    method.record_terms(a=3 * w.sum())  # a again: the next step
    assert method.terms == {"a": pytest.approx(3 * float(w.detach().sum()))}
    method.clear_terms()
    assert method.terms == {} and method.term_grads == {}


def _adapt_three_batches(name: str, trace: bool, direction: str):
    method, model, _ = build(name, direction)
    method.trace_grads = trace
    outs, terms = [], []
    for seed in (2, 3, 4):
        batch = image_batch(seed=seed) if direction == "i2t" else token_batch(seed=seed)
        method.clear_terms()
        outs.append(method.adapt(batch))
        terms.append((dict(method.terms), dict(method.term_grads)))
    return outs, [p.detach().clone() for p in model.params()], terms


@pytest.mark.parametrize("direction", ["i2t", "t2i"])
@pytest.mark.parametrize("name", sorted(TERMS))
def test_tracing_gradients_changes_nothing(name, direction):
    plain, params, terms = _adapt_three_batches(name, False, direction)
    traced, params_traced, terms_traced = _adapt_three_batches(name, True, direction)
    for a, b in zip(plain, traced, strict=True):
        assert torch.equal(a.rows, b.rows)
        assert a.loss == b.loss or (math.isnan(a.loss) and math.isnan(b.loss))
    for a, b in zip(params, params_traced, strict=True):
        assert torch.equal(a, b)
    for (values, grads), (values_t, grads_t) in zip(terms, terms_traced, strict=True):
        assert values == values_t and grads == {}
        assert set(grads_t) == set(values_t) <= TERMS[name]
        assert all(g >= 0 and math.isfinite(g) for g in grads_t.values())


@pytest.mark.parametrize("name", sorted(TERMS))
def test_terms_add_up_to_the_loss(name):
    outs, _, terms = _adapt_three_batches(name, False, "i2t")
    values = terms[-1][0]
    if name == "deyo" and not values:
        pytest.skip("no query passed DeYO's filters on this batch")
    assert values, "the method named no term"
    if name == "sar":  # the step's loss is the second (SAM) pass
        assert values["sam_entropy"] == pytest.approx(outs[-1].loss, rel=1e-6)
    else:
        assert sum(values.values()) == pytest.approx(outs[-1].loss, rel=1e-5, abs=1e-7)


def test_run_trace_grads_keeps_every_result(tmp_path):
    """The CLI with and without --trace-grads: same rows, same term values; only the traced
    run has gradient norms."""
    for name, extra in (("plain", ()), ("traced", ("--trace-grads",))):
        code, _, err = smoke_run(tmp_path / name, "--quiet", *extra, methods="tcr,rest",
                                 limit=48)
        assert code == 0, err
    plain, traced = (ResultStore(tmp_path / n) for n in ("plain", "traced"))
    cols = ["cell_id", "r1", "r5", "r10", "map"]
    a = plain.read()[cols].sort_values("cell_id").reset_index(drop=True)
    b = traced.read()[cols].sort_values("cell_id").reset_index(drop=True)
    assert len(a) == 8 and a.equals(b)
    ta = plain.read_traces().sort_values(["cell_id", "batch"]).reset_index(drop=True)
    tb = traced.read_traces().sort_values(["cell_id", "batch"]).reset_index(drop=True)
    assert ta[["cell_id", "r1", "loss", "terms"]].equals(tb[["cell_id", "r1", "loss", "terms"]])
    assert ta["term_grads"].isna().all() and tb["term_grads"].notna().all()
    wide = trace_terms(tb)
    assert {"term:rem", "grad:rem", "term:cons", "grad:cons"} <= set(wide.columns)
    assert set(json.loads(tb["terms"].iloc[0])) == set(json.loads(tb["term_grads"].iloc[0]))
