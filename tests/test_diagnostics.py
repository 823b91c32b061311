"""The common-space diagnostics pinned on hand-computed tensors and against TCR's formulas
(its official ``evaluation.py`` / ``losses.compute_modality_gap``, transcribed step by step
below), the conflict angle, and the row columns with diagnostics on and off."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from bench.api.gradient import KeepProbe, angle_degrees
from bench.engine.diagnostics import (
    ROW_COLUMNS,
    GallerySummary,
    consistency,
    consistent,
    intermodal_similarity,
    modality_gap,
    uniformity,
)
from bench.report.tables import DIAGNOSTIC_METRICS
from bench.studies.inprocess import plan_in_process, torch_threads

Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])


def test_uniformity_by_hand():
    square = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    assert uniformity(square) == pytest.approx(1.0)  # centroid 0: every point at distance 1
    assert uniformity(torch.tensor([[2.0, 0.0], [5.0, 0.0]])) == pytest.approx(0.0)
    # centroid (.5, .5): both points at sqrt(.5); rows are normalised first
    assert uniformity(torch.tensor([[3.0, 0.0], [0.0, 0.5]])) == pytest.approx(math.sqrt(0.5))


def test_gap_and_intermodal_similarity_by_hand():
    g = torch.tensor([[-2.0, 0.0]])
    assert modality_gap(Q, g) == pytest.approx(math.sqrt(1.5**2 + 0.5**2))  # (.5,.5) - (-1,0)
    g2 = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # the four pairs: 1, .6, 0, .8
    assert intermodal_similarity(Q, g2) == pytest.approx((1 + 0.6 + 0 + 0.8) / 4)


def test_consistency_by_hand():
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    both_to_g0 = torch.tensor([[1.0, 0.0], [0.8, 0.6]])
    # both pick g0; g0's nearest query is the first: only query 0 comes back to itself
    assert consistent(both_to_g0, g).tolist() == [True, False]
    assert consistent(Q, g).tolist() == [True, True]
    assert consistency(torch.cat([both_to_g0, Q]), g, [2, 2]) == pytest.approx(0.75)
    # one batch of four: queries 0-2 pick g0, whose nearest query is query 0 (the tie with
    # query 2 goes to the first index); query 3 picks g1 and is g1's nearest: 2 of 4
    assert consistency(torch.cat([both_to_g0, Q]), g, [4]) == pytest.approx(0.5)


def _tcr_reference(image_embeds: torch.Tensor, text_embeds: torch.Tensor) -> dict[str, float]:
    """TCR's official evaluation, step by step (images = queries, texts = gallery)."""
    image_embeds = F.normalize(image_embeds)
    text_embeds = F.normalize(text_embeds)
    gap = torch.norm(F.normalize(image_embeds).mean(dim=0) - F.normalize(text_embeds).mean(dim=0),
                     p=2)
    image_intra = torch.norm(image_embeds - image_embeds.mean(0), dim=1).mean()
    text_intra = torch.norm(text_embeds - text_embeds.mean(0), dim=1).mean()
    inter = (image_embeds @ text_embeds.t()).mean()
    return {"gap": float(gap), "uniformity_q": float(image_intra),
            "uniformity_g": float(text_intra), "intermodal_sim": float(inter)}


def test_measures_match_tcr_formulas_on_random_tensors():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(37, 16, generator=gen).double() + 0.3
    g = torch.randn(53, 16, generator=gen).double() - 0.2
    ref = _tcr_reference(q, g)
    assert uniformity(q) == pytest.approx(ref["uniformity_q"], abs=1e-12)
    assert uniformity(g) == pytest.approx(ref["uniformity_g"], abs=1e-12)
    assert modality_gap(q, g) == pytest.approx(ref["gap"], abs=1e-12)
    assert intermodal_similarity(q, g) == pytest.approx(ref["intermodal_sim"], abs=1e-12)
    summary = GallerySummary.of(F.normalize(g).float())
    measured = summary.measures(F.normalize(q).float(), [16, 16, 5])
    assert summary.uniformity == pytest.approx(ref["uniformity_g"], abs=1e-6)
    for name in ("uniformity_q", "gap", "intermodal_sim"):
        assert measured[name] == pytest.approx(ref[name], abs=1e-6)


def test_conflict_angle_by_hand():
    a = [torch.tensor([1.0, 0.0]), torch.tensor([0.0])]
    b = [torch.tensor([-1.0, 1.0]), torch.tensor([0.0])]
    assert angle_degrees(a, b) == pytest.approx(135.0)
    assert angle_degrees(a, a) == pytest.approx(0.0, abs=1e-6)
    assert math.isnan(angle_degrees(a, [torch.zeros(2), torch.zeros(1)]))


class _Tower:
    """A linear query tower: encode(x) = normalize(x @ W)."""

    def __init__(self):
        self.w = torch.nn.Parameter(torch.eye(3))

    def encode(self, x):
        return F.normalize(x @ self.w, dim=1)

    def params(self):
        return [self.w]


def test_keep_probe_is_zero_at_source_and_grows_after_a_change():
    tower = _Tower()
    gallery = F.normalize(torch.randn(10, 3, generator=torch.Generator().manual_seed(1)), dim=1)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    probe = KeepProbe.at_source(tower, gallery, x)
    assert float(probe.loss(tower).detach()) == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        tower.w.add_(0.3 * torch.randn(3, 3, generator=torch.Generator().manual_seed(3)))
    assert float(probe.loss(tower).detach()) > 1e-3


def test_report_lists_every_row_column():
    assert tuple(DIAGNOSTIC_METRICS) == tuple(ROW_COLUMNS)


@pytest.fixture(scope="module")
def smoke_rows():
    """One smoke cell of tcr (contrast, i2t, first 96 queries) with diagnostics on and off,
    and with --trace-grads."""
    from bench.api.registry import load_builtins
    from bench.engine.cell_run import execute_cell

    load_builtins()
    with torch_threads(1):
        run = plan_in_process(["tcr"], "smoke", 96, {"shifts": ["contrast"], "workers": 1,
                                                      "pretrained": "random"})
        cell = run.cells[0]
        rows = {}
        for name, changes in (("on", {}), ("off", {"diagnostics": False}),
                              ("grads", {"trace_grads": True})):
            rows[name] = execute_cell(dataclasses.replace(cell, **changes), run.res,
                                      run.run_id, progress=False)
    return rows


RESULT_KEYS = ("r1", "r5", "r10", "r_mean", "map", "minp", "retention_r1", "n_queries",
               "method_state", "status")


def test_rows_identical_with_diagnostics_on_and_off(smoke_rows):
    on, off = smoke_rows["on"].row, smoke_rows["off"].row
    assert on["status"] == "ok"
    for key in RESULT_KEYS:
        assert on.get(key) == off.get(key) or (on[key] != on[key] and off[key] != off[key]), key
    for a, b in (("on", "off"), ("on", "grads")):
        ta, tb = smoke_rows[a].trace, smoke_rows[b].trace
        assert ta[["r1", "loss"]].equals(tb[["r1", "loss"]])
        assert smoke_rows[a].outcomes.equals(smoke_rows[b].outcomes)
    assert all(k not in off for k in ROW_COLUMNS)
    assert 0.0 < on["uniformity_q_after"] < 2.0 and 0.0 < on["gap_before"] < 2.0
    assert 0.0 <= on["consistency_before"] <= 1.0
    assert smoke_rows["on"].trace["gap"].notna().all()


def test_source_cells_serve_as_the_source_passes_exactly(tmp_path, monkeypatch):
    """The source method's scored embeddings are the source passes, bit for bit: its own
    before measures are its after ones, its cells on the clean and the shifted queries leave
    both passes for the cells after them (no encoding at all), and a tcr cell measures
    exactly what it measures alone, where it encodes both passes itself."""
    import bench.engine.cell_run as cell_run
    from bench.api.registry import load_builtins
    from bench.engine.cache import Cache

    load_builtins()
    passes = []
    encode = cell_run.source_embeddings
    monkeypatch.setattr(cell_run, "source_embeddings",
                        lambda *a: passes.append(1) or encode(*a))

    def cells(folder: str) -> tuple[dict, object]:
        run = plan_in_process(["source", "tcr"], "smoke", 96,
                              {"shifts": ["clean", "contrast"], "directions": "i2t",
                               "workers": 1, "pretrained": "random",
                               "cache": Cache(tmp_path / folder)})
        return {(c.method, c.spec.shift): c for c in run.cells}, run

    columns = [c for c in ROW_COLUMNS if c.endswith(("_before", "uniformity_g"))]
    with torch_threads(1):
        alone, run = cells("alone")
        lone = cell_run.execute_cell(alone["tcr", "contrast"], run.res, run.run_id, False).row
        assert len(passes) == 2  # the shifted queries and their clean versions
        passes.clear()
        shared, run = cells("shared")
        rows = {k: cell_run.execute_cell(shared[k], run.res, run.run_id, False).row
                for k in (("source", "clean"), ("source", "contrast"), ("tcr", "contrast"))}
    assert passes == []
    for m in ("uniformity_q", "gap", "intermodal_sim", "consistency"):
        assert rows["source", "contrast"][f"{m}_before"] == rows["source", "contrast"][f"{m}_after"]
    assert {c: rows["tcr", "contrast"][c] for c in columns} == {c: lone[c] for c in columns}


def test_trace_grads_records_one_angle_per_step(smoke_rows):
    trace = smoke_rows["grads"].trace
    angles = [a for v in trace["grad_angles"].dropna() for a in json.loads(v)]
    assert len(angles) == 3 * len(trace)  # tcr updates at every step
    assert angles[0] is None  # the keeping gradient is zero at the source weights
    assert all(0.0 <= a <= 180.0 for a in angles[1:] if a is not None)
    assert smoke_rows["grads"].row["grad_angle"] == pytest.approx(
        sum(a for a in angles if a is not None) / sum(a is not None for a in angles))


def test_old_rows_read_with_the_diagnostics_empty(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.engine.store import RESULT_SCHEMA, ResultStore

    old = pa.schema([f for f in RESULT_SCHEMA if f.name not in ROW_COLUMNS])
    (tmp_path / "cells").mkdir()
    record = {f.name: None for f in old} | {"cell_id": "a", "status": "ok", "r1": 50.0}
    pq.write_table(pa.Table.from_pylist([record], schema=old), tmp_path / "cells" / "a.parquet")
    rows = ResultStore(tmp_path).read()
    assert rows["r1"].tolist() == [50.0]
    assert rows[list(ROW_COLUMNS)].isna().all().all()


def _rows() -> pd.DataFrame:
    base = {"suite": "coco-c", "dataset": "coco", "direction": "i2t", "severity": 5,
            "stream": "single", "seed": 0, "status": "ok", "model": "blip-base-coco",
            "pretrained": "shipped", "r1": 40.0}
    lines = []
    for method, shift, before, after, clean in (
            ("source", "clean", 0.70, 0.70, 0.70), ("source", "fog", 0.60, 0.60, 0.70),
            ("source", "snow", 0.50, 0.50, 0.70), ("tcr", "fog", 0.60, 0.65, 0.70),
            ("tcr", "snow", 0.50, 0.58, 0.70)):
        line = base | {"method": method, "shift": shift, "cell_id": f"{method}-{shift}"}
        for m in ("uniformity_q", "gap", "intermodal_sim", "consistency"):
            line |= {f"{m}_before": before, f"{m}_after": after, f"{m}_clean_before": clean}
        lines.append(line)
    return pd.DataFrame(lines)


def test_diagnose_tables_and_figure(tmp_path):
    from bench.report.reported_diagnostics import figure_values
    from bench.studies.diagnose import figure, method_table, source_table

    rows = _rows()
    traces = pd.DataFrame({"cell_id": ["tcr-fog", "tcr-snow"],
                           "grad_angles": ['[null, 100.0]', '[80.0, 120.0]']})
    source = source_table(rows)
    assert source["queries"].tolist() == ["in-domain (clean)", "shifted"]
    assert source["gap"].tolist() == pytest.approx([0.70, 0.55])  # shifted: fog and snow
    methods = method_table(rows, traces).set_index("method")
    assert methods.loc["tcr", "Δ gap"] == pytest.approx((0.05 + 0.08) / 2)
    assert methods.loc["source", "Δ gap"] == pytest.approx(0.0)
    assert methods.loc["tcr", "angle mean"] == pytest.approx(100.0)
    assert methods.loc["tcr", "angles > 90"] == pytest.approx(2 / 3)
    published = figure_values("coco-c", [("blip-base-coco", "shipped")])
    assert published is not None and published.shifted["gap"] == pytest.approx(0.69)
    assert figure_values("coco-c", [("mini-clip", "shipped")]) is None
    assert figure_values("smoke", [("blip-base-coco", "shipped")]) is None
    path = tmp_path / "d.png"
    figure(source, method_table(rows, traces), published).savefig(path)
    assert path.stat().st_size > 10_000


def _adapted(name: str, trace: bool, batches: int = 3):
    """A gradient method on the fake tower for a few batches (clean queries provided)."""
    from test_baselines_common import FakeQueryModel, image_batch, make_ctx

    from bench.api.registry import METHODS, load_builtins
    from bench.engine.method_configs import make_config

    load_builtins()
    torch.manual_seed(0)
    method = METHODS.get(name)(make_config(name, {}))
    method.trace_grads = trace
    model = FakeQueryModel("i2t")
    method.setup(model, make_ctx("i2t", clean_queries=lambda n: image_batch(b=n, seed=9)))
    rows, angles = [], []
    for s in range(batches):
        method.clear_terms()
        rows.append(method.adapt(image_batch(seed=s)).rows)
        angles.append(list(method.grad_angles))
    return rows, [p.detach().clone() for p in model.params()], angles


@pytest.mark.parametrize("name", ["tent", "eata", "sar", "deyo", "tcr", "rest"])
def test_traced_angles_change_no_update(name):
    rows, params, _ = _adapted(name, trace=False)
    rows_t, params_t, angles = _adapted(name, trace=True)
    for a, b in zip(rows + params, rows_t + params_t, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    flat = [a for batch in angles for a in batch]
    assert flat and math.isnan(flat[0]) or name == "rest"  # the source step: undefined
    assert all(0.0 <= a <= 180.0 for a in flat if not math.isnan(a))
    assert any(not math.isnan(a) for a in flat) or name in ("eata", "deyo", "sar")


def test_rest_traces_its_own_keep_gradient(monkeypatch):
    """With decoupling on, REST's angle is the one between the g_adapt and g_keep its step
    uses (recorded in `decoupled_step`), never the clean-query probe's."""
    from bench.api.gradient import GradientTTA

    seen = []
    monkeypatch.setattr(GradientTTA, "trace_conflict", lambda self, loss: seen.append(1))
    _, _, angles = _adapted("rest", trace=True, batches=4)
    assert not seen  # REST overrides the probe's path
    assert sum(len(a) for a in angles) > 0
