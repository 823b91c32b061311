"""One book for shifts: the registry entry gives every reader a shift's modality, order and
maximum severity - a plugin's shift included (bench/shifts.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers_results import make_row

import corruptions
from bench.api import register_shift
from bench.api.registry import SHIFTS
from bench.report import order as ordering
from bench.report.leaderboard import build
from bench.shifts import Shift, book, builtin_shifts, max_level
from bench.suites import embedded, real

PLUG = "plug_blur"


@pytest.fixture
def plugin_shift():
    """A plugin image shift whose maximum severity is 3, registered as a plugin would."""
    register_shift(PLUG)(Shift(name=PLUG, modality="image", levels=(1, 2, 3), max_level=3,
                               apply=lambda image, level, seed: image, group="plugin"))
    yield PLUG
    del SHIFTS._items[PLUG], SHIFTS._origin[PLUG]


def _rows(severities: tuple[int, ...]) -> pd.DataFrame:
    rows, n = [], 0
    for method, base in (("source", 40.0), ("tent", 44.0)):
        n += 1
        rows.append(make_row(n, method=method, r1=base))
        for shift in ("fog", PLUG, "ocr"):
            for sev in severities:
                n += 1
                rows.append(make_row(n, method=method, shift=shift, severity=sev,
                                     r1=base - sev, direction="t2i" if shift == "ocr" else "i2t"))
    return pd.DataFrame(rows)


def _main(df: pd.DataFrame):
    return next(t for t in build(df).tables if t.kind == "main")


def test_plugin_shift_max_severity_3_is_its_table_column(plugin_shift):
    assert max_level(PLUG) == 3
    table = _main(_rows((1, 3)))
    assert PLUG in table.columns and f"{PLUG}@3" not in table.columns
    assert table.cell("tent", PLUG).value == pytest.approx(44.0 - 3)
    # the book's maximum (3) was not run: the highest run (2) stands in, labelled
    short = _main(_rows((1, 2)))
    assert f"{PLUG}@2" in short.columns
    assert any(f"{PLUG}@2: highest severity run" in n for n in short.notes)


def test_without_the_plugin_the_rows_highest_severity_stands_in():
    table = _main(_rows((1, 2)))  # not registered now: the book cannot know its maximum
    assert PLUG in table.columns and table.cell("tent", PLUG).value == pytest.approx(42.0)


def test_plugin_shift_sorts_after_bench_own_of_its_modality(plugin_shift):
    assert book("image")[-1] == PLUG and book("image")[:-1] == tuple(corruptions.IMAGE_SHIFTS)
    names = ["ocr", PLUG, "zzz", "fog", "clean", "gaussian_noise"]
    assert sorted(names, key=ordering.shift_key) == [
        "clean", "gaussian_noise", "fog", PLUG, "ocr", "zzz"]
    i2t = _main(_rows((1, 3)))  # fog's maximum is 5: its column is fog@3
    assert [c for c in i2t.columns if c.split("@")[0] in ("fog", PLUG)] == ["fog@3", PLUG]


def test_bench_suites_read_the_book_and_a_plugin_does_not_change_them(plugin_shift):
    assert builtin_shifts("image") == tuple(corruptions.IMAGE_SHIFTS)
    assert builtin_shifts("text") == tuple(corruptions.TEXT_SHIFTS)
    assert PLUG not in builtin_shifts("image")
    assert embedded.IMAGE_SHIFTS == real.IMAGE_SHIFTS == tuple(corruptions.IMAGE_SHIFTS)
    assert embedded.OFFLINE_TEXT_SHIFTS == tuple(
        s for s in corruptions.TEXT_SHIFTS if SHIFTS.get(s).group in ("char", "word"))
    for name in (*corruptions.IMAGE_SHIFTS, *corruptions.TEXT_SHIFTS):
        entry = SHIFTS.get(name)
        assert entry.max_level == corruptions.spec(name).max_level == max_level(name)
        assert entry.modality == corruptions.spec(name).modality
    assert max_level("clean") == 0 and max_level("image-mix") is None
