"""A run's settings by role (bench/engine/settings.py): the flags land in the part they
belong to, a dask worker gets the runtime only, and each row's protocol record shares one
part per protocol."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from bench.api.protocol import PROTOCOL, Protocol
from bench.cli import build_parser
from bench.commands.run import options_from_args
from bench.engine import loop
from bench.engine.cache import Cache
from bench.engine.settings import RunSettings, Runtime, Selection, silent


def test_the_run_flags_land_in_their_parts(tmp_path):
    args = build_parser().parse_args([
        "run", "--method", "tent", "--suite", "smoke", "--seed", "0,1", "--limit", "8",
        "--steps", "2", "--shift", "contrast", "--retention", "--out", str(tmp_path),
        "--workers", "1", "--threads", "2", "--no-cache", "--quiet"])
    opts = options_from_args(args)
    assert isinstance(opts.selection, Selection) and isinstance(opts.runtime, Runtime)
    sel, protocol, runtime = opts.selection, opts.protocol, opts.runtime
    assert (sel.methods, sel.suites, sel.seeds, sel.shifts, sel.retention) == (
        ["tent"], ["smoke"], [0, 1], ["contrast"], True)
    assert protocol == Protocol(batch_size=PROTOCOL.batch_size, steps=2, limit=8,
                                corruption_seed=PROTOCOL.corruption_seed)
    assert (runtime.out, runtime.workers, runtime.threads, runtime.cache.enabled) == (
        tmp_path.resolve(), 1, 2, False)
    assert runtime.quiet and runtime.log is silent


def test_of_hands_each_field_to_its_part_and_refuses_unknown_ones():
    opts = RunSettings.of(methods=["source"], suites=["smoke"], limit=8, workers=3,
                          pretrained="random")
    assert opts.selection.pretrained == "random" and opts.protocol.limit == 8
    assert opts.runtime.workers == 3
    assert opts.select(methods=["tent"]).selection.methods == ["tent"]
    assert opts.run_with(out=Path("x")).runtime.out == Path("x")
    assert opts.selection.methods == ["source"]  # the changes made copies
    with pytest.raises(TypeError, match="unknown run settings: colour"):
        RunSettings.of(methods=[], suites=[], colour="red")


def test_a_worker_runtime_has_absolute_paths_and_survives_pickling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("suite.toml").write_text("")
    runtime = Runtime(out=Path("out"), data_root=Path("data"), cache=Cache("cache"),
                      plugins=["suite.toml", "some.module"], log=print, workers=4)
    worker = runtime.for_worker()
    assert worker.out == tmp_path / "out" and worker.data_root == tmp_path / "data"
    assert worker.cache.root == tmp_path / "cache" and worker.cache.enabled
    assert worker.plugins == [str(tmp_path / "suite.toml"), "some.module"]
    assert (worker.workers, worker.quiet, worker.log) == (1, True, silent)
    # each dask task brings its own copy: equal, so the worker keeps its resources
    assert pickle.loads(pickle.dumps(worker)) == worker
    assert worker != Runtime(out=tmp_path / "elsewhere").for_worker()


def test_the_protocol_record_shares_one_part_per_protocol():
    shared = loop.shared_protocol_record(Protocol(batch_size=64, steps=3))
    assert shared is loop.shared_protocol_record(Protocol(batch_size=64, steps=3))
    # the exact text of a committed row of results/embedded (a person-search cell)
    assert loop.protocol_record(shared, 0.0001, 0) == (
        '{"batch_size": 64, "corruption_seed": 0, "limit": null, "optimizer": "per method '
        'config", "queries_left_out": 0, "steps": 3, "temperature": 0.0001, "tie_rule": '
        '"optimistic: rank = 1 + #gallery items scoring strictly higher"}')
    record = json.loads(loop.protocol_record(shared, 0.01, 0, images_skipped=5))
    assert record["images_skipped"] == 5
    assert "images_skipped" not in json.loads(loop.protocol_record(shared, 0.01, 0))
