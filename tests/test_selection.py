"""Running part of a sweep (--shift, --direction) and building the clean queries lazily."""

from __future__ import annotations

import pytest
from helpers_run import cli, smoke_run

from bench.api.errors import ConfigError
from bench.engine.planning import plan_run
from bench.engine.settings import RunSettings
from bench.engine.store import ResultStore


def _plan(**kw):
    from bench.api.registry import load_builtins

    load_builtins()
    return plan_run(RunSettings.of(methods=["source", "tent"], suites=["smoke"], pretrained="random",
                               log=lambda m: None, **kw))


def test_filters_keep_the_cell_ids():
    full = {c.cell_id: c for c in _plan()}
    some = _plan(shifts=["contrast", "cr"])
    assert {c.spec.shift for c in some} == {"contrast", "cr"} and len(some) == 4
    assert all(c.cell_id in full for c in some)
    t2i = _plan(directions="t2i", shifts=["clean", "cr"])
    assert {(c.spec.direction, c.spec.shift) for c in t2i} == {("t2i", "clean"), ("t2i", "cr")}
    assert all(c.cell_id in full for c in t2i)
    with pytest.raises(ConfigError, match="fog"):
        _plan(shifts=["fog"])


def test_run_and_build_accept_the_filters(tmp_path):
    code, out, err = smoke_run(tmp_path / "r", "--shift", "cr", "--direction", "t2i",
                               methods="source", limit=16)
    assert code == 0 and "1 ok" in out, err
    assert ResultStore(tmp_path / "r").read()["shift"].tolist() == ["cr"]
    code, _, err = cli("build", "--suite", "smoke", "--shift", "fog")
    assert code == 2 and "no cell matches" in err


def test_clean_queries_are_built_only_when_read(monkeypatch, tmp_path):
    from bench.engine.cell_run import Resources

    built = []
    original = Resources.queries

    def recording(self, cell, plan, clean=False):
        built.append((cell.spec.shift, cell.method, clean))
        return original(self, cell, plan, clean)

    monkeypatch.setattr(Resources, "queries", recording)
    code, _, err = smoke_run(tmp_path / "a", "--shift", "cr", "--no-diagnostics",
                             methods="source,eata", limit=16)
    assert code == 0, err
    assert all(not clean for _, _, clean in built)  # no method read a clean query
    code, _, err = smoke_run(tmp_path / "d", "--shift", "cr", methods="source", limit=16)
    assert code == 0, err
    assert built[-1] == ("cr", "source", True)  # the diagnostics' in-domain measures read them
    code, _, err = smoke_run(tmp_path / "a", "--shift", "cr", "--set", "eata.fisher_size=8",
                             methods="eata", limit=16)
    assert code == 0, err
    assert built[-1] == ("cr", "eata", True)  # EATA's Fisher estimate reads them
    code, _, err = smoke_run(tmp_path / "b", "--shift", "cr", "--retention", methods="source",
                             limit=16)
    assert code == 0, err
    assert built[-1] == ("cr", "source", True)  # retention reads them
