"""`run --quiet` reaches the embedded data's one-time generation: no progress bar."""

from __future__ import annotations

import pytest

import bench.data.synth as synth
from bench.api.registry import SUITES, load_builtins
from bench.suites.base import SuiteContext


@pytest.mark.parametrize("suite", ["mini-c", "mini-pedes"])
@pytest.mark.parametrize("quiet", [True, False])
def test_embedded_loaders_show_progress_unless_quiet(monkeypatch, suite, quiet):
    load_builtins()
    seen = []

    def fake(*args, progress=True, **kwargs):
        seen.append(progress)
        raise RuntimeError("stop here")

    monkeypatch.setattr(synth, "load_mini_scenes", fake)
    monkeypatch.setattr(synth, "load_mini_pedes", fake)
    s = SUITES.get(suite)
    with pytest.raises(RuntimeError, match="stop here"):
        s.load(next(iter(s.loaders)), SuiteContext(quiet=quiet))
    assert seen == [not quiet]
