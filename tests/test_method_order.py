"""Tables and figures order methods by the rank their class declares (no list of names)."""

from __future__ import annotations

import pytest

from bench.api import TTAMethod
from bench.api.registry import METHODS
from bench.report import order as ordering
from bench.report import plots

BUILTIN = ["source", "tent", "eata", "sar", "read", "deyo", "tcr", "rest"]


@pytest.fixture
def plugins():
    """A ranked plugin (15: between tent and eata) and an unranked one (default 1000)."""

    class Ranked(TTAMethod):
        name = "mid-plug"
        rank = 15

    class Unranked(TTAMethod):
        name = "b-plug"

    ordering.load_builtins()
    for cls in (Ranked, Unranked):  # as `--plugin` registers them (attributed to the plugin)
        METHODS.add(cls.name, cls, origin="plugin test_method_order")
    yield
    for name in ("mid-plug", "b-plug"):
        del METHODS._items[name], METHODS._origin[name]


def test_builtin_methods_keep_the_papers_order():
    assert sorted(reversed(BUILTIN), key=ordering.method_key) == BUILTIN
    assert ordering.ranked_methods() == tuple(BUILTIN)
    assert [METHODS.get(m).rank for m in BUILTIN] == sorted(METHODS.get(m).rank for m in BUILTIN)


def test_declared_rank_places_a_plugin_and_the_rest_follow_alphabetically(plugins):
    names = ["z-gone", "b-plug", "rest", "mid-plug", "eata", "a-gone", "tent", "source"]
    # a-gone / z-gone: rows of plugins not loaded now; b-plug: registered, no rank
    assert sorted(names, key=ordering.method_key) == [
        "source", "tent", "mid-plug", "eata", "rest", "a-gone", "b-plug", "z-gone"]
    assert ordering.ranked_methods() == tuple(BUILTIN)  # figures: bench's own keep their place


def test_figure_styles_bench_methods_fixed_plugins_after(plugins):
    style = plots.method_style
    assert [style(m)["color"] for m in BUILTIN] == list(plots.COLORS[:8])
    # plugins after bench's 8, alphabetically among themselves, whatever their rank
    others = ["b-plug", "mid-plug"]
    assert style("b-plug", others)["marker"] == plots.MARKERS[8]
    assert style("mid-plug", others)["marker"] == plots.MARKERS[9]
