"""`leaderboard`, `plot` and `compare` take `--plugin` as `run` does: a plugin file's shift
gets its maximum severity (3) as its table column."""

from __future__ import annotations

import pytest
from helpers_results import make_row
from helpers_run import cli

from bench.api.registry import SHIFTS
from bench.engine.store import ResultStore

PLUG = "plug_haze"
PLUGIN = f'''
from bench.api import register_shift
from bench.shifts import Shift

register_shift("{PLUG}")(Shift(name="{PLUG}", modality="image", levels=(1, 2, 3), max_level=3,
                               apply=lambda image, level, seed: image, group="plugin"))
'''


@pytest.fixture
def results(tmp_path):
    store = ResultStore(tmp_path / "results")
    n = 0
    for method, base in (("source", 40.0), ("tent", 44.0)):
        for shift in ("fog", PLUG):
            for sev in (1, 2):  # the plugin's maximum (3) was not run
                n += 1
                store.write(make_row(n, method=method, shift=shift, severity=sev,
                                     r1=base - sev), None)
    plugin = tmp_path / "haze_plugin.py"
    plugin.write_text(PLUGIN)
    yield tmp_path / "results", plugin
    SHIFTS._items.pop(PLUG, None)  # the plugin registered itself in this process: undo it
    SHIFTS._origin.pop(PLUG, None)


def test_leaderboard_reads_the_plugin_shifts_maximum(results):
    folder, plugin = results
    code, out, _ = cli("leaderboard", folder)
    assert code == 0 and f"| {PLUG} |" in out and f"{PLUG}@2" not in out  # unknown: 2 stands in
    code, out, _ = cli("leaderboard", folder, "--plugin", plugin)
    assert code == 0 and f"{PLUG}@2" in out and "highest severity run" in out


def test_plot_and_compare_take_plugins(results, tmp_path):
    folder, plugin = results
    code, out, _ = cli("plot", folder, "--plugin", plugin, "--format", "png",
                       "--out", tmp_path / "figs")
    assert code == 0 and list((tmp_path / "figs").glob("*.png"))
    code, out, _ = cli("compare", folder, "--method", "tent", "--plugin", plugin)
    assert code == 0 and f"{PLUG}@2" in out
    code, _, err = cli("compare", folder, "--method", "tent", "--plugin",
                       tmp_path / "missing.py")
    assert code == 2 and "missing.py" in err
