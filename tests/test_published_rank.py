"""Kendall's tau of a measured baseline ranking vs the published BLIP COCO-C one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers_outcomes import PLANTED, flip, write_store

from bench.api.errors import DataError
from bench.api.registry import SUITES, load_builtins
from bench.engine.store import ResultStore, read_results
from bench.report.published_rank import compare, markdown, paired_places, suite_levels, versions
from bench.suites.embedded import IMAGE_SHIFTS

load_builtins()
ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = {"source": 45.0, "tent": 43.0, "eata": 49.3, "sar": 46.0, "read": 46.9, "deyo": 48.2}


LEVEL = suite_levels("mini-coco-c", "i2t")  # the level each image shift runs at by default
VERSION = SUITES.get("mini-coco-c").version


def rows(avg: dict[str, float], seeds=(0,), drop: tuple[str, str] | None = None) -> pd.DataFrame:
    out = []
    for method, value in avg.items():
        for k, shift in enumerate(IMAGE_SHIFTS):
            if drop == (method, shift):
                continue
            for seed in seeds:  # shift k: value + (k - 7.5) averages back to value
                out.append({"suite": "mini-coco-c", "suite_version": VERSION, "direction": "i2t",
                            "stream": "single", "status": "ok", "shift": shift,
                            "severity": LEVEL[shift], "method": method, "seed": seed,
                            "r1": value + (k - 7.5) + (seed - 0.5 * max(seeds))})
    other = LEVEL[out[0]["shift"]] % 5 + 1
    out.append({**out[0], "severity": other, "r1": 0.0})  # not the suite's level: ignored
    out.append({**out[0], "suite_version": "0", "r1": 0.0})  # another version: ignored
    out.append({**out[0], "method": "tcr", "r1": 99.0})  # not a published baseline
    return pd.DataFrame(out)


def test_same_order_gives_tau_one_and_the_measured_means():
    cmp = compare(rows({m: v - 10 for m, v in PUBLISHED.items()}, seeds=(0, 1)))
    assert cmp.tau == pytest.approx(1.0) and cmp.n_shifts == 16
    by = cmp.table.set_index("method")
    assert by.loc["eata", "measured"] == pytest.approx(39.3)
    assert by.loc["eata", "published rank"] == 1 and by.loc["tent", "published rank"] == 6
    assert "Kendall's tau-b = 1.000" in markdown(cmp)
    words = "maximum severity" if LEVEL["fog"] == 5 else f"severity {LEVEL['fog']}"
    assert f"(mean R@1 over 16 shifts at {words})" in markdown(cmp)


def test_reversed_order_gives_minus_one_and_incomplete_methods_are_left_out():
    reversed_ = {m: 100 - v for m, v in PUBLISHED.items()}
    assert compare(rows(reversed_)).tau == pytest.approx(-1.0)
    cmp = compare(rows(reversed_, drop=("sar", "fog")))
    assert "sar" not in set(cmp.table.method) and len(cmp.table) == 5
    # one swap among 6: (15 - 2 * 1) / 15 concordant minus discordant pairs
    swapped = dict(PUBLISHED, read=PUBLISHED["sar"], sar=PUBLISHED["read"])
    assert compare(rows(swapped)).tau == pytest.approx(13 / 15)
    # among the 5 adapting baselines the same swap is one discordant pair of 10; every one
    # of them below source keeps their own order (tau 1) while the full order flips
    assert compare(rows(swapped)).tau_adapting == pytest.approx(8 / 10)
    below = compare(rows(dict({m: v - 10 for m, v in PUBLISHED.items()}, source=60.0)))
    assert below.tau_adapting == pytest.approx(1.0) and below.tau < 1
    assert "= 1.000 (p = 0.017, 5 methods) among the adapting baselines" in markdown(below)


def test_each_version_of_the_suite_is_compared_on_its_own_rows():
    current = rows({m: v - 10 for m, v in PUBLISHED.items()}).query("suite_version != '0'")
    earlier = rows({m: 100 - v for m, v in PUBLISHED.items()}).query("r1 != 0")
    earlier = earlier.assign(suite_version="0", severity=5)  # its highest level held: 5
    both = pd.concat([current, earlier], ignore_index=True)
    assert versions(both, "mini-coco-c") == [VERSION, "0"]
    assert compare(both).tau == pytest.approx(1.0)
    old = compare(both, version="0")
    assert old.tau == pytest.approx(-1.0) and old.version == "0"
    assert "`mini-coco-c` v0 i2t (mean R@1 over 16 shifts at maximum severity)" in markdown(old)


def test_too_few_methods_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="need at least 2"):
        compare(rows({"source": 40.0}))
    store = ResultStore(tmp_path)
    store.write({"cell_id": "x", "status": "ok", "suite": "smoke", "method": "source",
                 "r1": 1.0})
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "rank_vs_published.py"),
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "need at least 2" in run.stderr


def test_paired_places_tie_what_the_sign_test_cannot_separate(tmp_path):
    store = write_store(tmp_path, seeds=(0,),  # tent = sar (+4 points), eata = source
                        suite_version=SUITES.get("mini-c").version)
    places = paired_places(read_results(tmp_path), store.read_outcomes(), "mini-c", "i2t",
                           ["source", "tent", "eata", "sar"])
    assert places == {"tent": "1=", "sar": "1=", "source": "3=", "eata": "3="}


def test_places_give_a_second_tau_that_counts_noise_level_gaps_as_ties(tmp_path):
    methods = {"source": PLANTED["source"], "tent": PLANTED["tent"],
               "sar": lambda h, rng: flip(h, rng, 55, 20),  # +3.5: not separable from tent
               "eata": lambda h, rng: flip(h, rng, 2, 0)}  # +0.2: not separable from source
    store = write_store(tmp_path, methods=methods, seeds=(0,), shifts=IMAGE_SHIFTS,
                        severities=(LEVEL["fog"],), suite="mini-coco-c", suite_version=VERSION)
    cmp = compare(read_results(tmp_path), outcomes=store.read_outcomes())
    by = cmp.table.set_index("method")
    assert list(by.loc[["tent", "sar", "eata", "source"], "measured rank"]) == [1, 2, 3, 4]
    assert dict(by["place"]) == {"eata": "3=", "sar": "1=", "source": "3=", "tent": "1="}
    # published: eata 49.3 > sar 46.0 > source 45.0 > tent 43.0. Averages: 2 concordant,
    # 4 discordant pairs of 6 -> -1/3; places: 1 concordant, 3 discordant, 2 tied in the
    # measured places -> (1 - 3) / sqrt((6 - 2) * 6)
    assert cmp.tau == pytest.approx(-1 / 3)
    assert cmp.tau_places == pytest.approx(-2 / 24 ** 0.5)
    text = markdown(cmp)
    assert "measured place (paired)" in text and f"tau-b = {-2 / 24 ** 0.5:.3f}" in text
    assert "place" not in compare(read_results(tmp_path)).table  # no outcomes: no places
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "rank_vs_published.py"),
                          str(tmp_path), "--direction", "i2t"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "R@1 along the stream" in run.stdout and "| source |" in run.stdout.split("stream")[-1]


def test_sign_agreement_compares_each_baselines_delta_vs_source():
    from bench.report.published_rank import sign_agreement

    same = sign_agreement(compare(rows({m: v - 10 for m, v in PUBLISHED.items()})))
    assert list(same["method"]) == ["eata", "deyo", "read", "sar", "tent"]
    assert same["agree"].all()
    assert same.set_index("method").loc["eata", "measured delta"] == pytest.approx(4.3)
    # eata below source where the table has it above; tent exactly at source (published -2.0)
    flipped = dict(PUBLISHED, eata=44.0, tent=45.0)
    signs = sign_agreement(compare(rows(flipped))).set_index("method")["agree"]
    assert not signs["eata"] and not signs["tent"] and signs["deyo"]
    text = markdown(compare(rows(flipped)))
    assert "| eata | -1.0 | +4.3 | no |" in text and "Sign agreement: 3 of 5 baselines" in text


def _readme_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "tools/update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_prediction_gives_the_current_verdict_then_the_earlier_one(tmp_path, monkeypatch):
    import bench.engine.store as store

    tool = _readme_tool()
    (tmp_path / "coco" / "cells").mkdir(parents=True)
    monkeypatch.setattr(tool, "RESULTS", tmp_path)
    current = rows({m: v - 10 for m, v in PUBLISHED.items()}).query("suite_version != '0'")
    earlier = rows(dict(PUBLISHED, eata=44.0)).query("r1 != 0").assign(suite_version="0",
                                                                        severity=5)
    both = pd.concat([current, earlier], ignore_index=True).assign(model="m")
    monkeypatch.setattr(store, "read_results", lambda path: both)
    text = tool.prediction_block()
    now, before = text.split(" The earlier ")
    assert now.startswith(f"On `mini-coco-c` v{VERSION}, the COCO-sized miniature (model `m`")
    assert "tau-b 1.00" in now and "published sign for 5 of 5 on image shifts" in now
    assert "text shifts' baselines are not all run yet" in now  # no t2i rows
    assert before.startswith("`mini-coco-c` v0 (model `m`, image shifts at maximum severity)")
    assert text.endswith("Full tables: [RANK.md](results/embedded/RANK.md).")
    assert "4 of 5 (not: eata -1.0 against +4.3)" in before
    # only source run on the current version: its source row, then the earlier verdict
    monkeypatch.setattr(store, "read_results",
                        lambda path: both[(both.suite_version == "0") | (both.method == "source")])
    partial = tool.prediction_block()
    assert "rerun only in part so far (every image shift: source)" in partial
    assert " The earlier `mini-coco-c` v0" in partial
