"""REST (reconstruction): its terms, its identities with TCR, its queue inputs, no dead switch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_baselines_common import build, image_batch

import methods.rest as rest_module
from baselines.tcr import SourceLikeQueue
from bench.api.contract import Diverged
from bench.api.errors import ConfigError
from bench.api.registry import METHODS
from bench.engine.method_configs import make_config
from bench.studies.inprocess import torch_threads
from methods.rest import QueueInputs, candidate_logits, consistency_loss


def test_registered_and_documented_as_a_reconstruction():
    cls = METHODS.get("rest")
    for text in (cls.note, cls.__doc__, rest_module.__doc__):
        assert "reconstruction" in text.lower() and "2511.14416" in text.replace("\n", " ")
    assert "no official code" in cls.note and "no official code" in cls.__doc__
    cfg = cls.Config()
    assert (cfg.candidates, cfg.decouple, cfg.tau, cfg.lam) == (1, "project", 0.02, 1.0)
    assert cfg.rem and cfg.uniformity and cfg.gap and cfg.consistency
    assert (cfg.w_rem, cfg.w_uni, cfg.w_gap, cfg.w_cons) == (1.0, 1.0, 1.0, 1.0)
    tcr = METHODS.get("tcr").Config()
    assert (cfg.queue_ratio, cfg.queue_capacity, cfg.queue_batches) == (
        tcr.queue_ratio, tcr.queue_capacity, tcr.queue_batches)


@pytest.mark.parametrize("bad", [{"decouple": "sideways"}, {"candidates": 0}])
def test_bad_options_are_config_errors(bad):
    with pytest.raises(ConfigError):
        make_config("rest", bad)


def test_decouple_none_on_the_command_line_is_the_mode_none():
    from bench.engine.method_configs import parse_sets

    overrides = parse_sets(["rest.decouple=none"])["rest"]  # the CLI reads 'none' as None
    assert make_config("rest", overrides).decouple == "none"
    assert make_config("rest", overrides) == make_config("rest", {"decouple": "none"})


def _embeddings(n: int, seed: int, d: int = 8) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def test_candidate_logits_k1_is_tcr_and_k_widens_to_sets():
    q, gallery = _embeddings(6, 0), _embeddings(30, 1)
    sims = q @ gallery.T
    logits, top1 = candidate_logits(q, gallery, sims, 1, 0.02)
    assert torch.equal(top1, gallery[sims.argmax(1)])
    assert torch.equal(logits, q @ top1.T / 0.02)
    wide, top1_k = candidate_logits(q, gallery, sims, 3, 0.02)
    assert wide.shape == (6, 6) and torch.equal(top1_k, top1)
    assert bool((wide >= logits - 1e-4).all())  # each set contains its query's top-1 item
    sets = gallery[sims.topk(3, dim=1).indices]
    expected = torch.logsumexp(torch.einsum("id,jrd->ijr", q, sets) / 0.02, dim=2)
    torch.testing.assert_close(wide, expected)


def test_consistency_is_zero_iff_queries_and_candidates_pick_each_other():
    sym = torch.randn(5, 5)
    sym = sym + sym.T
    assert consistency_loss(sym).item() == pytest.approx(0.0, abs=1e-6)
    a = torch.randn(5, 5)
    assert consistency_loss(a).item() > 0
    assert consistency_loss(a).item() == pytest.approx(consistency_loss(a.T).item(), rel=1e-5)
    log_p, log_c = F.log_softmax(a, 1), F.log_softmax(a.T, 1)
    by_hand = (F.kl_div(log_c, log_p, log_target=True, reduction="batchmean")
               + F.kl_div(log_p, log_c, log_target=True, reduction="batchmean"))
    assert consistency_loss(a).item() == pytest.approx(by_hand.item(), rel=1e-5)


def _run(name: str, batches: int = 4, **overrides):
    method, model, _ = build(name, **overrides)
    outs = [method.adapt(image_batch(seed=s)) for s in range(batches)]
    return outs, [p.detach().clone() for p in model.params()]


@pytest.mark.parametrize("rest_overrides,tcr_overrides", [
    ({"uniformity": False, "gap": False, "consistency": False, "decouple": "none"},
     {"w_uni": 0.0, "w_gap": 0.0}),  # every switch off but rem = TCR's REM-only variant
    ({"consistency": False, "decouple": "none"}, {}),  # = TCR
])
def test_identities_with_tcr_on_a_fake_tower(rest_overrides, tcr_overrides):
    rest_outs, rest_params = _run("rest", **rest_overrides)
    tcr_outs, tcr_params = _run("tcr", **tcr_overrides)
    for r, t in zip(rest_outs, tcr_outs, strict=True):
        assert r.loss == pytest.approx(t.loss, abs=1e-6)
        torch.testing.assert_close(r.rows, t.rows, rtol=0, atol=1e-6)
    for a, b in zip(rest_params, tcr_params, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_queue_inputs_follow_the_queue_entries():
    table = _embeddings(200, 3)  # input id -> embedding, so alignment can be checked
    queue, kept = SourceLikeQueue(capacity=8), QueueInputs()
    for b in range(12):
        ids = torch.arange(b * 16, (b + 1) * 16)
        q = table[ids]
        g = F.normalize(q + 0.3 * _embeddings(16, 100 + b), dim=1)
        was_open, before = queue.open, queue.queries
        queue.update(q, g)
        if was_open:
            kept.realign(queue, before, q, ids)
        assert len(kept.inputs) == len(queue) <= 8  # bounded by the queue's capacity
        assert torch.equal(table[kept.inputs], queue.queries)
    assert 1 <= kept.version <= queue.max_batches  # bumped only when the entries changed


def test_queue_inputs_unchanged_when_the_queue_keeps_its_entries():
    table = _embeddings(8, 4)
    queue, kept = SourceLikeQueue(), QueueInputs()
    queue.queries, queue.indicator = table[:3].clone(), torch.zeros(3)  # 3 entries
    kept.realign(queue, None, table[:3], torch.arange(3))
    assert kept.version == 1 and kept.inputs.tolist() == [0, 1, 2]
    # the next batch enters nothing: the entries stay the old ones, in order
    kept.realign(queue, table[:3].clone(), table[3:6], torch.arange(3, 6))
    assert kept.version == 1 and kept.inputs.tolist() == [0, 1, 2]
    queue.queries = torch.cat([table[1:3], table[4:5]])  # one old entry replaced by a new one
    kept.realign(queue, table[:3].clone(), table[3:6], torch.arange(3, 6))
    assert kept.version == 2 and kept.inputs.tolist() == [1, 2, 4]


@pytest.mark.parametrize("batch,varied,every", [
    (16, False, 1), (16, True, 1), (32, True, 1), (16, False, 3)])
def test_source_embeddings_encode_new_entries_as_the_whole_queue_would(batch, varied, every):
    """A fake text tower whose every row carries what a real one's rounding can depend on:
    the batch's cut (its longest caption) and whether the batch is small. Encoding only the
    new entries (4 per batch of 16, 9 per batch of 32) must give, after every batch, exactly
    the whole queue's encoding; with captions of one length the cut never changes; with
    ``every=3`` the queue changes three times between two encodings."""
    n = 30 * batch
    lengths = 1 + (7 * torch.arange(n)) % 23 if varied else torch.full((n,), 9)
    tokens = (torch.arange(24)[None] < lengths[:, None]) * (torch.arange(n)[:, None] + 1)
    seen = []

    def tower(x):
        seen.append(len(x))
        cut = float((x != 0).sum(dim=1).max())
        small = float(len(x) < rest_module.ENCODE_ROWS)
        return torch.stack([x[:, 0].float(), torch.full((len(x),), cut),
                            torch.full((len(x),), small)], dim=1)

    table = _embeddings(n, 5)
    queue, kept = SourceLikeQueue(capacity=48, max_batches=30), QueueInputs()
    whole = encoded = 0
    for b in range(30):
        ids = torch.arange(b * batch, (b + 1) * batch)
        g = F.normalize(table[ids] + 0.3 * _embeddings(batch, 200 + b), dim=1)
        before = queue.queries
        queue.update(table[ids], g)
        kept.realign(queue, before, table[ids], tokens[ids])
        if b % every:
            continue
        seen.clear()
        got = kept.encode_source(tower)
        assert torch.equal(got, tower(kept.inputs)), b
        encoded, whole = encoded + sum(seen[:-1]), whole + len(kept.inputs)
    assert kept.version >= 10 and encoded < whole / 2 * every  # fewer rows than re-encoding the queue


def test_keep_inputs_are_source_like_queries_and_bounded():
    method, _, _ = build("rest", queue_capacity=6)
    method.adapt(image_batch(seed=0))
    # the first batch's entries were encoded by the source weights: re-encoding the kept inputs
    # with a source copy (a fresh build has the same initial weights) gives the entries back
    source = build("rest")[1].source_encoder()
    torch.testing.assert_close(source(method.kept.inputs), method.queue.queries)
    for seed in range(1, 8):
        method.adapt(image_batch(seed=seed))
        assert len(method.kept.inputs) == len(method.queue) <= 6
    assert method.keep_loss().item() > 0  # the adapted tower has drifted from the source


def test_keep_gradient_is_zero_without_queue_inputs():
    tiny = image_batch(b=3)  # int(0.3 * 3) = 0 pairs: the queue stays empty
    on, model_on, _ = build("rest")
    off, model_off, _ = build("rest", decouple="none")
    on.adapt(tiny)
    off.adapt(tiny)
    assert on.kept.inputs is None and on.keep_loss() is None
    for a, b in zip(model_on.params(), model_off.params(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


@pytest.mark.parametrize("decouple", ["none", "project"])
def test_nan_raises_diverged(decouple):
    method, model, _ = build("rest", decouple=decouple)
    with torch.no_grad():
        model.tower.ln.weight[0] = float("nan")
    with pytest.raises(Diverged):
        method.adapt(image_batch())


# ---- real cells: mini-clip (random weights) on smoke data ---------------------------------

def _smoke_cell(shift: str, direction: str):
    """(model, kind, gallery, plan, queries) of a 64-query smoke cell."""
    from bench.engine.cell_run import Resources
    from bench.engine.planning import plan_run
    from bench.engine.settings import RunSettings
    from bench.suites.streams import plan_stream

    opts = RunSettings.of(methods=["tcr"], suites=["smoke"], pretrained="random", limit=64,
                      workers=1, quiet=True, log=lambda msg: None)
    cell = next(c for c in plan_run(opts)
                if c.spec.shift == shift and c.spec.direction == direction)
    res = Resources(opts.runtime, torch.device("cpu"))
    rm, ds = res.model(cell), res.dataset(cell)
    n = ds.n_images if direction == "i2t" else ds.n_captions
    plan = plan_stream(n, cell.spec.stream_segments(), "single", 0, 64)
    return rm, ds.kind, res.gallery(cell), plan, res.queries(cell, plan)


@pytest.fixture(scope="module")
def smoke_cell():
    with torch_threads(1):  # the machine is shared: one thread is the fastest here
        yield _smoke_cell("contrast", "i2t")


@pytest.fixture(scope="module")
def smoke_text_cell():
    """A caption cell (t2i clean): there the text tower cuts each batch to its longest caption,
    and encoding a subset of the queue alone would round some rows differently."""
    with torch_threads(1):
        yield _smoke_cell("clean", "t2i")


def run_recorded(smoke_cell, name: str, overrides: dict, batch_size: int = 32):
    """Run one cell with `run_cell`; returns its outcome and every batch's scored rows."""
    from bench.engine.loop import run_cell

    rm, kind, gallery, plan, queries = smoke_cell
    method = METHODS.get(name)(make_config(name, overrides))
    rows, adapt = [], method.adapt

    def recording(batch):
        out = adapt(batch)
        rows.append(out.rows.clone())
        return out

    method.adapt = recording
    out = run_cell(method, rm, "i2t", kind, gallery, plan, queries, steps=3,
                   batch_size=batch_size, seed=0)
    return out, rows


def test_rows_identity_with_tcr_on_a_real_cell(smoke_cell):
    tcr, tcr_rows = run_recorded(smoke_cell, "tcr", {})
    rest, rest_rows = run_recorded(smoke_cell, "rest", {"consistency": False, "decouple": "none"})
    assert len(tcr_rows) == len(rest_rows) == 2
    for a, b in zip(tcr_rows, rest_rows, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    for key, value in tcr.metrics.items():
        assert rest.metrics[key] == pytest.approx(value, abs=1e-6), key


SWITCHES = [{"rem": False}, {"uniformity": False}, {"gap": False}, {"consistency": False},
            {"decouple": "none"}, {"decouple": "pcgrad"}, {"candidates": 3}, {"lam": 0.0}]


def test_no_dead_switch_on_a_real_cell(smoke_cell):
    _, full = run_recorded(smoke_cell, "rest", {}, batch_size=64)
    for switch in SWITCHES:
        _, rows = run_recorded(smoke_cell, "rest", switch, batch_size=64)
        diff = max(float((a - b).abs().max()) for a, b in zip(full, rows, strict=True))
        # CPU runs are deterministic, so a dead switch gives a difference of exactly 0;
        # pcgrad differs from project only on conflicting tensors, which can be a tiny change.
        assert diff > 0, f"{switch} does not change the adapted rows"
    assert np.isfinite(float(full[0].sum()))


class _ReencodingREST(rest_module.REST):
    """REST with no reuse of source embeddings at all: the source tower re-encodes every input
    of the queue at every step (before, the whole queue was re-encoded whenever an entry
    changed; now only the new entries are)."""

    def keep_loss(self):
        self._source_version = -1
        self.kept.source = self.kept.missing = None
        return super().keep_loss()


@pytest.mark.parametrize("cell,direction,overrides", [
    ("smoke_cell", "i2t", {}), ("smoke_cell", "i2t", {"queue_capacity": 3}),
    ("smoke_text_cell", "t2i", {})])
def test_cached_source_embeddings_change_no_result_bitwise(cell, direction, overrides, request):
    """Encoding each queue entry once with the source tower leaves every row, loss and state
    identical bit for bit to re-encoding the whole queue at every step (CPU runs are
    deterministic), and encodes fewer rows."""
    from bench.engine.loop import run_cell

    rm, kind, gallery, plan, queries = request.getfixturevalue(cell)
    outs, encoded = [], []
    for cls in (rest_module.REST, _ReencodingREST):
        method = cls(make_config("rest", overrides))
        rows, setup = [], method.setup

        def counting_setup(model, ctx, setup=setup, rows=rows, method=method):
            setup(model, ctx)
            source = method.source
            method.source = lambda x: (rows.append(len(x)), source(x))[1]

        method.setup = counting_setup
        outs.append(run_cell(method, rm, direction, kind, gallery, plan, queries, steps=3,
                             batch_size=8, seed=0))
        encoded.append(rows)
    fast, slow = outs
    assert fast.metrics == slow.metrics and fast.method_state == slow.method_state
    assert fast.trace["loss"].tolist() == slow.trace["loss"].tolist()
    assert fast.trace["terms"].tolist() == slow.trace["terms"].tolist()
    assert fast.trace["r1"].tolist() == slow.trace["r1"].tolist()
    assert len(encoded[1]) == 3 * 8  # 8 batches x 3 steps, the whole queue each time
    assert sum(encoded[0]) < sum(encoded[1]) / 3  # fewer rows than once per batch
    assert fast.method_state["decoupled_steps"] == 24


class _KeepFirstREST(rest_module.REST):
    """REST with the keep loss's forward before the batch's backward (the other order,
    which holds both graphs at once)."""

    def update(self, loss, batch):
        from bench.api.gradient import check_finite, flat_grads

        keep = self.keep_loss()
        if keep is not None:
            self.record_terms(keep=self.config.lam * keep)
        value = check_finite(loss if keep is None else loss + self.config.lam * keep)
        self.decoupled_step(flat_grads(loss, self.model.params()), keep)
        return value


@pytest.mark.parametrize("mode", ["project", "pcgrad"])
def test_backward_before_the_keep_forward_changes_no_result_bitwise(smoke_cell, mode):
    from bench.engine.loop import run_cell

    rm, kind, gallery, plan, queries = smoke_cell
    outs = [run_cell(cls(make_config("rest", {"decouple": mode})), rm, "i2t", kind, gallery,
                     plan, queries, steps=3, batch_size=8, seed=0)
            for cls in (rest_module.REST, _KeepFirstREST)]
    new, old = outs
    assert new.metrics == old.metrics and new.method_state == old.method_state
    assert new.trace["loss"].tolist() == old.trace["loss"].tolist()
    assert new.trace["terms"].tolist() == old.trace["terms"].tolist()
    assert new.method_state["conflicting_tensors"] > 0  # the surgery did act
