"""Suites as data: TOML suite files (bench/suites/files.py), bench's own included, the
remote-sensing suites on fixtures in their released layouts, and a suite defined only by a
file, run end to end."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_remote_sensing import LAYOUTS, remote_sensing
from helpers_run import cli

from bench.api.errors import ConfigError, DataError
from bench.api.registry import SUITES, load_builtins
from bench.data.layouts import load_layout
from bench.engine.planning import plan_run
from bench.engine.settings import RunSettings
from bench.suites.base import SuiteContext
from bench.suites.files import BUILTIN, builtin_suite_files, read_suite_file, suite_from_table

load_builtins()

EMBEDDED = ["smoke", "mini-clean", "mini-c", "mini-coco-c", "mini-pedes", "mini-pedes-c",
            "mini-diverse", "mini-coco-diverse"]
METHODS = ["source", "tent", "eata", "sar", "read", "deyo", "tcr", "rest"]
# sha256 of the sorted cell ids of EMBEDDED x METHODS (less deyo) x seeds 0,1,2 at each
# suite's default levels, as the current suite files plan them: a change to a suite file
# that changes its cells changes these (and must come with a new suite version, so that old
# and new rows never merge). DeYO's are pinned apart: its config records the theta rule
# (theta_graph), so its cells have their own ids.
EMBEDDED_IDS_SHA256 = "090c8bc1898c1cca6c1c8a300631d95a301febd2a77c46d8c26366ee62d98799"
DEYO_IDS_SHA256 = "d2a9d8b61b918f106e7e8aa7be76d4560eff23c49d804eb94f15c18c92bb2a1d"
# The same for the composed suite mini-cir-c x METHODS x seeds 0,1,2: the ids of the committed
# composed store (results/embedded/composed), as its Python suite definition planned them.
COMPOSED_IDS_SHA256 = "1c3a4704848954643741df78b8e6f61575a83425845a03fb868aa2b02d1ad1b5"


@pytest.mark.parametrize("methods, n, sha256", [
    ([m for m in METHODS if m != "deyo"], 1743, EMBEDDED_IDS_SHA256),
    (["deyo"], 249, DEYO_IDS_SHA256)])
def test_embedded_suite_files_plan_the_committed_cell_ids(methods, n, sha256):
    cells = plan_run(RunSettings.of(methods=methods, suites=EMBEDDED, seeds=[0, 1, 2],
                                log=lambda msg: None))
    ids = sorted(c.cell_id for c in cells)
    assert len(ids) == n
    assert hashlib.sha256("\n".join(ids).encode()).hexdigest() == sha256


def test_the_composed_suite_file_plans_the_committed_cell_ids():
    cells = plan_run(RunSettings.of(methods=METHODS, suites=["mini-cir-c"], seeds=[0, 1, 2],
                                    log=lambda msg: None))
    ids = sorted(c.cell_id for c in cells)
    assert len(ids) == 240
    assert hashlib.sha256("\n".join(ids).encode()).hexdigest() == COMPOSED_IDS_SHA256


def test_composed_cells_name_pairs_of_an_image_and_a_text_shift():
    table = {"name": "t", "version": 1, "model": "mini-clip",
             "datasets": {"d": {"format": "mini-cir", "kind": "composed"}},
             "cells": [{"dataset": "d", "direction": "ti2i", "shifts": ["clean", "fog+cr"]}]}
    suite = suite_from_table(table, "test")
    assert [(c.direction, c.shift, c.severity) for c in suite.cells()] == [
        ("ti2i", "clean", 0), ("ti2i", "fog+cr", 1)]
    assert suite.dataset_kind("d") == "composed"
    table["cells"][0]["shifts"] = ["cr+fog"]
    with pytest.raises(ConfigError, match="an image shift and a text shift"):
        suite_from_table(table, "test")


def test_every_builtin_file_is_in_the_index_once():
    listed = [p.name for p in builtin_suite_files()]
    on_disk = sorted(p.name for p in BUILTIN.glob("*.toml") if p.name != "index.toml")
    assert sorted(listed) == on_disk and len(set(listed)) == len(listed)
    assert SUITES.names()[:3] == ["smoke", "mini-clean", "mini-c"]


def test_cell_groups_expand_direction_then_shift_then_severity():
    suite = suite_from_table({
        "name": "t", "version": 1, "model": "mini-clip",
        "datasets": {"d": {"format": "mini-scenes"}},
        "cells": [{"dataset": "d", "directions": ["t2i", "i2t"], "shifts": ["clean", "cr"]},
                  {"dataset": "d", "direction": "i2t", "shifts": ["fog"], "severity": 2},
                  {"dataset": "d", "direction": "t2i", "mix": "m", "shifts": ["cr", "ocr"],
                   "streams": ["mixed"], "min_segment_batches": 3}]}, "test")
    got = [(c.direction, c.shift, c.severity, c.stream) for c in suite.cells([3, 5])]
    assert got == [("t2i", "clean", 0, "single"), ("t2i", "cr", 3, "single"),
                   ("t2i", "cr", 5, "single"), ("i2t", "clean", 0, "single"),
                   ("i2t", "cr", 3, "single"), ("i2t", "cr", 5, "single"),
                   ("i2t", "fog", 2, "single"), ("t2i", "m", 7, "mixed")]
    mix = suite.cells()[-1]
    assert [s.label for s in mix.segments] == ["cr@7", "ocr@7"] and mix.retention
    assert mix.min_segment_batches == 3
    assert suite.embedded and suite.version == "1" and suite.default_pretrained is None


def test_a_default_severity_sets_the_level_a_run_without_severities_gets():
    table = {"name": "t", "version": 1, "model": "mini-clip",
             "datasets": {"d": {"format": "mini-scenes"}},
             "cells": [{"dataset": "d", "direction": "i2t", "shifts": ["clean", "fog"],
                        "default_severity": 2},
                       {"dataset": "d", "direction": "t2i", "shifts": ["cr"],
                        "default_severity": 6}]}
    suite = suite_from_table(table, "test")
    assert [(c.shift, c.severity) for c in suite.cells()] == [
        ("clean", 0), ("fog", 2), ("cr", 6)]
    assert [(c.shift, c.severity) for c in suite.cells([1, 7])] == [
        ("clean", 0), ("fog", 1), ("cr", 1), ("cr", 7)]  # chosen severities still sweep
    assert len(suite.cells("all")) == 1 + 5 + 7
    table["cells"][1]["default_severity"] = 7
    table["cells"][1]["shifts"] = ["cr", "fog"]
    with pytest.raises(ConfigError, match="default_severity 7 is not a level of fog"):
        suite_from_table(table, "test")


@pytest.mark.parametrize("table, message", [
    ({"cells": []}, "missing 'name'"),
    ({"name": "t", "version": "1", "model": "m", "datasets": {"d": {"format": "nope"}},
      "cells": [{"dataset": "d", "shifts": ["clean"]}]}, "unknown dataset format 'nope'"),
    ({"name": "t", "version": "1", "model": "m", "colour": 1,
      "datasets": {"d": {"format": "mini-scenes"}}, "cells": [{"dataset": "d"}]},
     "unknown key 'colour'"),
    ({"name": "t", "version": "1", "model": "m",
      "datasets": {"d": {"format": "layout", "layout": "coco"}},
      "cells": [{"dataset": "d", "shifts": ["clean"]}]}, "missing 'kind'"),
    ({"name": "t", "version": "1", "model": "m", "datasets": {"d": {"format": "mini-scenes"}},
      "cells": [{"dataset": "e", "shifts": ["clean"]}]}, "dataset 'e' is not in [datasets]"),
    ({"name": "t", "version": "1", "model": "m", "datasets": {"d": {"format": "mini-scenes"}},
      "cells": [{"dataset": "d", "shifts": ["clean"], "streams": ["mixed"]}]}, "need 'mix'"),
    ({"name": "t", "version": "1", "model": "m", "datasets": {"d": {"format": "mini-scenes"}},
      "cells": [{"dataset": "d", "shifts": ["fog"], "severity": 2, "default_severity": 3}]},
     "or 'default_severity', not both"),
    ({"name": "t", "version": "1", "model": "m", "datasets": {"d": {"format": "mini-scenes"}},
      "cells": [{"dataset": "d", "shifts": ["fog"], "mix": "m", "default_severity": 3}]},
     "a 'mix' group's level is 'severity'"),
])
def test_malformed_suite_files_name_the_problem(table, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        suite_from_table(table, "bad.toml")


@pytest.mark.parametrize("key", list(LAYOUTS))
def test_remote_sensing_loader_reads_the_test_split(tmp_path, key):
    names = remote_sensing(tmp_path, key, n_test=5, captions=5)
    ds = load_layout(key, tmp_path)
    assert ds.n_images == 5 and len(ds.captions) == 25
    assert [Path(p).name for p in ds.image_paths] == names
    folder = tmp_path / LAYOUTS[key][1]
    assert all(Path(p).parent == folder for p in ds.image_paths)
    assert list(ds.caption_image[:6]) == [0, 0, 0, 0, 0, 1]
    assert ds.meta["split"] == "test" and ds.meta["format"] == "karpathy"


def test_remote_sensing_loader_refuses_paths_outside_the_data_root(tmp_path):
    remote_sensing(tmp_path, "rsicd", n_test=2)
    anno = tmp_path / LAYOUTS["rsicd"][0]
    data = json.loads(anno.read_text())
    data["images"][-1]["filename"] = "../../../etc/passwd"
    anno.write_text(json.dumps(data))
    with pytest.raises(DataError, match="leads outside the image folder"):
        load_layout("rsicd", tmp_path)


def test_remote_sensing_suites_say_what_they_need():
    for name, key in (("rsicd-c", "rsicd"), ("rsitmd-c", "rsitmd"), ("ucm-c", "ucm-captions")):
        suite = SUITES.get(name)
        assert not suite.embedded and suite.dataset_kinds == {key: "captions"}
        assert LAYOUTS[key][0] in suite.missing(SuiteContext())
        cells = suite.cells()
        assert {c.direction for c in cells if c.shift == "contrast"} == {"i2t"}
        assert {c.direction for c in cells if c.shift == "cr"} == {"t2i"}
        assert len(cells) == 31
    code, out, _ = cli("list", "suites")
    assert code == 0 and "data: ucm-captions: UCM_captions/dataset.json" in out


def _rows(out: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted((out / "cells").glob("*.parquet"))])


def test_run_rsicd_c_on_a_fixture_end_to_end(tmp_path):
    remote_sensing(tmp_path / "data", "rsicd", n_test=6)
    code, out, err = cli("run", "--method", "source", "--suite", "rsicd-c", "--model",
                         "mini-clip", "--data-root", tmp_path / "data", "--limit", "4",
                         "--shift", "contrast,cr", "--threads", "1", "--workers", "1",
                         "--quiet", "--out", tmp_path / "out")
    assert code == 0, err
    rows = _rows(tmp_path / "out")
    assert sorted(zip(rows["direction"], rows["shift"], rows["severity"], strict=True)) == [
        ("i2t", "contrast", 5), ("t2i", "cr", 7)]
    assert set(rows["suite"]) == {"rsicd-c"} and set(rows["dataset"]) == {"rsicd"}
    assert set(rows["n_queries"]) == {4}
    assert all(0.0 <= r <= 100.0 for r in rows["r1"])


AERIAL = """\
name = "my-aerial"
version = "1"
description = "aerial captions in a Karpathy-style file, clean and one corruption each way"
model = "mini-clip"

[datasets.aerial]
format = "karpathy"
annotation = "RSICD/dataset_rsicd.json"
images = "{images}"
kind = "captions"

[[cells]]
dataset = "aerial"
directions = ["i2t", "t2i"]
shifts = ["clean"]

[[cells]]
dataset = "aerial"
direction = "i2t"
shifts = ["gaussian_noise"]
severity = 3
"""


def test_a_suite_defined_only_by_a_file_runs_end_to_end(tmp_path):
    remote_sensing(tmp_path / "data", "rsicd", n_test=6)
    suite_file = tmp_path / "my_suite.toml"
    suite_file.write_text(AERIAL.format(images="RSICD/RSICD_images"))
    code, out, err = cli("run", "--method", "source", "--suite", "my-aerial", "--suite-file",
                         suite_file, "--data-root", tmp_path / "data", "--limit", "4",
                         "--threads", "1", "--workers", "1", "--quiet",
                         "--out", tmp_path / "out")
    assert code == 0, err
    rows = _rows(tmp_path / "out")
    assert sorted(zip(rows["direction"], rows["shift"], rows["severity"], strict=True)) == [
        ("i2t", "clean", 0), ("i2t", "gaussian_noise", 3), ("t2i", "clean", 0)]
    assert set(rows["suite"]) == {"my-aerial"} and set(rows["n_queries"]) == {4}
    code, out, _ = cli("list", "suites", "--suite-file", suite_file)
    assert code == 0 and "my-aerial" in out and "data: RSICD/dataset_rsicd.json" in out


def test_a_suite_file_path_outside_the_data_root_is_refused(tmp_path):
    remote_sensing(tmp_path / "data", "rsicd", n_test=2)
    suite_file = tmp_path / "escape.toml"
    suite_file.write_text(AERIAL.format(images="../elsewhere").replace("my-aerial", "escape"))
    code, _, err = cli("run", "--method", "source", "--suite", "escape", "--suite-file",
                       suite_file, "--data-root", tmp_path / "data", "--limit", "4",
                       "--workers", "1", "--quiet", "--out", tmp_path / "out")
    assert code == 2 and "leads outside --data-root" in err and len(err.strip().splitlines()) <= 2


def test_a_bad_suite_file_is_one_line_and_exit_2(tmp_path):
    suite_file = tmp_path / "bad.toml"
    suite_file.write_text('name = "x"\nversion = \n')
    code, _, err = cli("list", "suites", "--suite-file", suite_file)
    assert code == 2 and "is not valid TOML" in err


def test_an_entry_point_can_name_a_suite_file_in_a_package():
    ep = importlib.metadata.EntryPoint("smoke", "bench.suites:builtin/smoke.toml",
                                       SUITES.group)
    suite = SUITES._load_file_entry_point(ep)
    assert suite.name == "smoke" and suite is not SUITES.get("smoke")
    assert [c.shift for c in suite.cells()] == [c.shift for c in SUITES.get("smoke").cells()]


def test_read_suite_file_reads_bench_own():
    suite = read_suite_file(BUILTIN / "mini-pedes-c.toml")
    assert suite.default_model == "mini-reid" and suite.embedded
    assert len(suite.cells()) == 1 + 10
