"""`bench ablate`: the variant list, the table, and a tiny resumable run through the CLI."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from helpers_run import cli

from bench.api.errors import ConfigError
from bench.api.registry import load_builtins
from bench.engine.store import ResultStore
from bench.studies.ablation import markdown, table_rows, variants
from bench.studies.inprocess import torch_threads

load_builtins()

PLUGIN = textwrap.dedent('''
    """One small cell of smoke data (t2i, clean), for the ablate command's test."""
    from bench.api.registry import SUITES
    from bench.suites.base import CellSpec, Suite
    from bench.suites.embedded import _scenes_smoke

    SUITES.add("ablate-tiny", Suite(
        name="ablate-tiny", version="1", description="one smoke cell",
        loaders={"mini-scenes-smoke": _scenes_smoke},
        make_cells=lambda sev: [CellSpec("mini-scenes-smoke", "t2i", "clean", 0)],
        default_model="mini-clip", default_pretrained=None, embedded=True))
''')


def test_variants_of_rest_remove_each_component_in_turn():
    got = variants("rest")
    assert [v.name for v in got] == ["full", "-rem", "-uniformity", "-gap", "-consistency",
                                     "-keep", "-decouple"]  # candidates is already 1: no variant
    assert [v.label for v in got] == [
        "rest", "rest[rem=False]", "rest[uniformity=False]", "rest[gap=False]",
        "rest[consistency=False]", "rest[lam=0.0]", "rest[decouple=none]"]
    wide = variants("rest", {"candidates": 3})
    assert wide[0].label == "rest[candidates=3]"
    assert wide[-1].name == "-candidates" and wide[-1].label == "rest"
    assert "rest[candidates=3,gap=False]" in [v.label for v in wide]
    assert "-rem" not in [v.name for v in variants("rest", {"rem": False})]


def test_methods_without_components_cannot_be_ablated():
    with pytest.raises(ConfigError):
        variants("tcr")


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    path = tmp_path_factory.mktemp("ablate-plugin") / "ablate_tiny_suite.py"
    path.write_text(PLUGIN)
    with torch_threads(1):  # the machine is shared: one thread is the fastest here
        yield path


def ablate(out, plugin, *extra):
    return cli("ablate", "--method", "rest", "--suite", "ablate-tiny", "--plugin", plugin,
               "--pretrained", "random", "--limit", "32", "--batch-size", "16", "--steps", "2",
               "--workers", "1", "--out", out, "--quiet", *extra)


def test_ablate_runs_cells_prints_the_table_and_resumes(tmp_path, plugin):
    code, out, err = ablate(tmp_path, plugin)
    assert code == 0, err
    rows = ResultStore(tmp_path).read()
    assert sorted(rows["method"]) == sorted(v.label for v in variants("rest"))
    assert set(rows["status"]) == {"ok"}
    assert "done: 7 cells planned, 0 already stored, 7 ok" in out
    assert "### Ablation of rest on ablate-tiny v1 (1 cells per variant, seed 0, first 32 queries" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| variant | method | t2i clean | mean R@1 |")
    assert [line.split(" | ")[0] for line in table[1:]] == [
        "| full", "| -rem", "| -uniformity", "| -gap", "| -consistency", "| -keep",
        "| -decouple"]
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").iterdir()}
    code, again, err = ablate(tmp_path, plugin)
    assert code == 0, err
    assert "done: 7 cells planned, 7 already stored;" in again  # no cell ran again
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").iterdir()}
    assert [line for line in again.splitlines() if line.startswith("| ")] == table


def test_ablate_rejects_several_methods_and_foreign_overrides(tmp_path):
    code, _, err = cli("ablate", "--method", "rest,tcr", "--suite", "smoke", "--out", tmp_path)
    assert code == 2 and "exactly one --method" in err
    code, _, err = cli("ablate", "--method", "rest", "--suite", "smoke", "--set", "tcr.tau=0.1",
                       "--out", tmp_path)
    assert code == 2 and "tcr" in err


def test_table_marks_missing_and_failed_cells():
    from bench.engine.planning import plan_run
    from bench.engine.settings import RunSettings

    opts = RunSettings.of(methods=["rest"], suites=["smoke"], pretrained="random", limit=8)
    cells = plan_run(opts)[:2]
    rows = pd.DataFrame([{"cell_id": cells[0].cell_id, "status": "ok", "r1": 40.0,
                          "retention_r1": 55.0},
                         {"cell_id": cells[1].cell_id, "status": "diverged", "r1": None,
                          "retention_r1": None}])
    table = table_rows({"full": cells, "-rem": cells[:1]}, rows)
    text = markdown(table, "t")
    assert "| full | rest | 40.0 | diverged | 40.0 (1/2) | +0.0 | 55.0 |" in text
    assert "| -rem | rest | 40.0 |" in text
