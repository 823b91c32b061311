"""Tables and figures order methods by the rank their class declares (no list of names)."""

from __future__ import annotations

import pytest

from bench.api import TTAMethod, register_method
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
    for cls in (Ranked, Unranked):
        register_method(cls.name)(cls)
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
    assert ordering.ranked_methods() == ("source", "tent", "mid-plug", *BUILTIN[2:])


def test_figure_styles_follow_the_rank(plugins):
    style = plots.method_style
    assert style("mid-plug")["color"] == plots.COLORS[2]  # its rank puts it third
    assert style("eata")["color"] == plots.COLORS[3]
    # unranked ones after the 9 ranked, alphabetically among themselves
    assert style("c-plug", ["b-plug", "c-plug"])["marker"] == plots.MARKERS[10]
    assert style("b-plug", ["b-plug", "c-plug"])["marker"] == plots.MARKERS[9]
