"""Embedded suites: generated data and the shipped mini CLIPs, offline (README, "Suites")."""

from __future__ import annotations

import corruptions
from bench.registry import SUITES
from bench.suites.base import (
    CellSpec,
    Suite,
    clean_cells,
    diverse_cells,
    shift_cells,
)

VERSION = "1"
SMOKE_IMAGES = 200  # the smoke suite's gallery: the first 200 test scenes (1,000 captions)

IMAGE_SHIFTS = tuple(corruptions.IMAGE_SHIFTS)
# Text shifts that need no downloaded model (char and word level); sentence-level ones
# need seq2seq models and belong to the real suites only.
OFFLINE_TEXT_SHIFTS = tuple(s for s in corruptions.TEXT_SHIFTS
                            if corruptions.spec(s).group in ("char", "word"))


def _scenes(ctx):
    from bench.data.synth import load_mini_scenes
    return load_mini_scenes(split="test")


def _scenes_smoke(ctx):
    import numpy as np
    return _scenes(ctx).subset_images(np.arange(SMOKE_IMAGES))


def _pedes(style: str):
    def load(ctx):
        from bench.data.synth import load_mini_pedes
        return load_mini_pedes(style=style, split="test")
    return load


def _embedded(name: str, description: str, loaders, make_cells, model: str) -> Suite:
    suite = Suite(name=name, version=VERSION, description=description, loaders=loaders,
                  make_cells=make_cells, default_model=model, default_pretrained=None,
                  embedded=True)
    SUITES.add(name, suite)
    return suite


_embedded(
    "smoke", "a few small cells in well under a minute: CI and first contact",
    {"mini-scenes-smoke": _scenes_smoke},
    lambda sev: [CellSpec("mini-scenes-smoke", "i2t", "clean", 0),
                 CellSpec("mini-scenes-smoke", "i2t", "gaussian_noise", 5),
                 CellSpec("mini-scenes-smoke", "t2i", "clean", 0),
                 CellSpec("mini-scenes-smoke", "t2i", "cr", 7)],
    "mini-clip")

_embedded(
    "mini-clean", "mini-scenes test (1K images, 5K captions), no shift, both directions",
    {"mini-scenes": _scenes}, lambda sev: clean_cells("mini-scenes"), "mini-clip")

_embedded(
    "mini-c", "mini-scenes: 16 image corruptions (i2t) and the offline text corruptions (t2i)",
    {"mini-scenes": _scenes},
    lambda sev: (shift_cells("mini-scenes", "i2t", IMAGE_SHIFTS, sev)
                 + shift_cells("mini-scenes", "t2i", OFFLINE_TEXT_SHIFTS, sev)),
    "mini-clip")

_embedded(
    "mini-pedes", "synthetic pedestrians, t2i: style A (reference) and style B (query-gallery shift)",
    {"mini-pedes-a": _pedes("a"), "mini-pedes-b": _pedes("b")},
    lambda sev: [CellSpec("mini-pedes-a", "t2i", "clean", 0),
                 CellSpec("mini-pedes-b", "t2i", "clean", 0)],
    "mini-reid")

_embedded(
    "mini-pedes-c", "synthetic pedestrians style A, t2i, offline text corruptions",
    {"mini-pedes-a": _pedes("a")},
    lambda sev: shift_cells("mini-pedes-a", "t2i", OFFLINE_TEXT_SHIFTS, sev),
    "mini-reid")

_embedded(
    "mini-diverse", "mini-scenes diverse shift: mixed, continual and mixed-severity streams, "
    "with retention on clean queries",
    {"mini-scenes": _scenes},
    lambda sev: (diverse_cells("mini-scenes", "i2t", "image-mix", IMAGE_SHIFTS,
                               severity_shift="gaussian_noise")
                 + diverse_cells("mini-scenes", "t2i", "text-mix", OFFLINE_TEXT_SHIFTS)),
    "mini-clip")
