"""The embedded suites at the real benchmarks' stream lengths: mini-c's text cells on every
caption, the COCO-sized suites (opt-in), diverse segments of >= 5 batches, and shifted
queries corrupted once per split and reused for its parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bench.engine.inputs as queries
from bench.api.registry import SUITES, load_builtins
from bench.engine.cache import Cache
from bench.engine.cell_run import Resources, segment_minimum
from bench.engine.planning import plan_run
from bench.engine.settings import RunSettings
from bench.suites.embedded import DIVERSE_SEGMENT_BATCHES, IMAGE_SHIFTS, OFFLINE_TEXT_SHIFTS

load_builtins()


def _specs(suite: str):
    return SUITES.get(suite).cells()


@pytest.mark.parametrize(("suite", "dataset", "version"),
                         [("mini-c", "mini-scenes", "4"), ("mini-coco-c", "mini-scenes-5k", "2")])
def test_c_suites_query_with_every_caption(suite, dataset, version):
    specs = _specs(suite)
    assert SUITES.get(suite).version == version
    assert {s.dataset for s in specs} == {dataset}  # no first-caption subset any more
    assert [s.shift for s in specs if s.direction == "i2t"] == list(IMAGE_SHIFTS)
    assert [s.shift for s in specs if s.direction == "t2i"] == ["clean", *OFFLINE_TEXT_SHIFTS]


@pytest.mark.parametrize(("suite", "dataset"), [("mini-diverse", "mini-scenes"),
                                                ("mini-coco-diverse", "mini-scenes-5k")])
def test_diverse_suites_ask_for_five_batches_per_segment(suite, dataset):
    specs = _specs(suite)
    assert {s.dataset for s in specs} == {dataset}
    assert {(s.direction, s.stream) for s in specs} == {
        ("i2t", "mixed"), ("i2t", "continual"), ("i2t", "mixed-severity"),
        ("t2i", "mixed"), ("t2i", "continual")}
    assert all(s.min_segment_batches == DIVERSE_SEGMENT_BATCHES == 5 and s.retention
               for s in specs)


def test_all_leaves_the_coco_sized_suites_out_and_names_bring_them_in():
    opts = RunSettings.of(methods=["source"], suites=["all"], log=lambda msg: None)
    suites = {c.suite for c in plan_run(opts)}
    assert {"smoke", "mini-c", "mini-diverse"} <= suites
    assert not suites & {"mini-coco-c", "mini-coco-diverse"}
    assert not SUITES.get("mini-coco-c").in_all and SUITES.get("mini-c").in_all
    named = plan_run(RunSettings.of(methods=["source"], suites=["mini-coco-c", "mini-coco-diverse"]))
    assert len(named) == 27 + 5


def test_segment_minimum_and_cell_ids():
    cells = plan_run(RunSettings.of(methods=["source"], suites=["mini-diverse", "smoke"],
                                batch_size=64))
    diverse = [c for c in cells if c.suite == "mini-diverse"]
    assert {segment_minimum(c) for c in diverse} == {320}
    assert "min_segment_batches" in diverse[0].describe()["spec"]
    smoke = next(c for c in cells if c.suite == "smoke")
    assert segment_minimum(smoke) == 0
    assert "min_segment_batches" not in smoke.describe()["spec"]  # older ids unchanged
    limited = plan_run(RunSettings.of(methods=["source"], suites=["mini-diverse"], limit=100))
    assert {segment_minimum(c) for c in limited} == {0}  # --limit: a quick look


def test_parts_of_a_split_reuse_its_corrupted_queries(tmp_path, monkeypatch):
    opts = RunSettings.of(methods=["source"], suites=["smoke"], pretrained="random", workers=1,
                      quiet=True, cache=Cache(tmp_path), log=lambda msg: None)
    cell = plan_run(opts)[0]
    res = Resources(opts.runtime, torch.device("cpu"))
    ds, rm = res.dataset(cell).subset_images(np.arange(12)), res.model(cell)
    build = queries.InputOptions(cache=Cache(tmp_path), workers=1, quiet=True)
    whole, bad = queries.resized_images(ds, np.arange(12), "contrast", 5, rm, build)
    captions = queries.shifted_captions(ds, np.arange(ds.n_captions), "cr", 7, build)

    def no_corruption(*args, **kwargs):
        raise AssertionError("corrupted again")

    monkeypatch.setattr(queries, "pmap", no_corruption)
    part = np.array([7, 2, 11])
    images, part_bad = queries.resized_images(ds, part, "contrast", 5, rm, build)
    assert np.array_equal(images, whole[part]) and np.array_equal(part_bad, bad[part])
    ids = np.array([40, 3, 17])
    assert queries.shifted_captions(ds, ids, "cr", 7, build) == [captions[i] for i in ids]
    with pytest.raises(AssertionError, match="corrupted again"):  # another severity: computed
        queries.resized_images(ds, part, "contrast", 4, rm, build)
