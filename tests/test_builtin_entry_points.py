"""bench's own methods register through the ``bench.methods`` entry points, like a plugin's;
each declares its display rank."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import bench.api.registry as registry
from bench.api import TTAMethod
from bench.api.errors import BenchError
from bench.api.registry import (
    METHODS,
    builtin_method_targets,
    load_builtins,
    method_rank,
)

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
ROOT = Path(__file__).resolve().parent.parent
RANKS = {"source": 0, "tent": 10, "eata": 20, "sar": 30, "read": 40, "deyo": 50, "tcr": 60,
         "rest": 70}


def pyproject_table() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)["project"]["entry-points"]["bench.methods"]


def test_every_entry_point_names_the_class_registered_under_that_name():
    table = pyproject_table()
    assert set(table) == set(RANKS)
    load_builtins()
    for name, target in table.items():
        cls = importlib.metadata.EntryPoint(name, target, "bench.methods").load()
        assert isinstance(cls, type) and issubclass(cls, TTAMethod), target
        assert cls.name == name and METHODS.get(name) is cls
        assert METHODS.origin(name) == "bench"


def test_ranks_are_declared_by_each_class_and_read_by_the_registry():
    load_builtins()
    assert {name: METHODS.get(name).rank for name in RANKS} == RANKS
    assert {name: method_rank(name) for name in RANKS} == RANKS
    assert TTAMethod.rank == 1000 and method_rank("not-a-method") == 1000


def test_builtin_methods_carry_no_decorator_and_core_names_no_method_package():
    for path in [*ROOT.glob("baselines/*.py"), *ROOT.glob("methods/*.py")]:
        assert "register_method" not in path.read_text(), path
    assert not {"baselines", "methods"} & set(registry._BUILTIN_MODULES)


class _Dist:
    def __init__(self, eps):
        self.entry_points = eps


def test_an_installed_distribution_is_read_first(monkeypatch):
    eps = [importlib.metadata.EntryPoint("tent", "baselines.tent:Tent", "bench.methods"),
           importlib.metadata.EntryPoint("x", "y:z", "bench.suites")]
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: _Dist(eps))
    assert builtin_method_targets() == {"tent": "baselines.tent:Tent"}


def test_a_source_checkout_not_installed_reads_pyproject(monkeypatch, tmp_path):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    assert builtin_method_targets() == pyproject_table()
    # installed before the table existed: no bench.methods entry points -> pyproject too
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: _Dist([]))
    assert builtin_method_targets() == pyproject_table()
    # neither: one clear error
    monkeypatch.setattr(registry, "_PYPROJECT", tmp_path / "pyproject.toml")
    with pytest.raises(BenchError, match="pip install -e"):
        builtin_method_targets()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(BenchError, match="pip install -e"):
        builtin_method_targets()
