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

VERSION = "2"  # 2: text-shift cells on the first caption of each image
SMOKE_IMAGES = 200  # the smoke suite's gallery: the first 200 test scenes (1,000 captions)
# Text-shift cells query with the first caption of each image ("<dataset>-1cap"): the same
# gallery, so R@K reads the same, from a 1,000-query stream (as Flickr-C i2t) instead of
# 5,000; this keeps `--suite all` within minutes on 2 cores. mini-clean keeps all 5K.

IMAGE_SHIFTS = tuple(corruptions.IMAGE_SHIFTS)
# Text shifts that need no downloaded model (char and word level); sentence-level ones
# need seq2seq models and belong to the real suites only.
OFFLINE_TEXT_SHIFTS = tuple(s for s in corruptions.TEXT_SHIFTS
                            if corruptions.spec(s).group in ("char", "word"))


def _scenes(ctx):
    from bench.data.synth import load_mini_scenes
    return load_mini_scenes(split="test")


def _scenes_1cap(ctx):
    return _scenes(ctx).first_captions(1)


def _scenes_smoke(ctx):
    import numpy as np
    return _scenes(ctx).subset_images(np.arange(SMOKE_IMAGES))


def _pedes(style: str, first_captions: int | None = None):
    def load(ctx):
        from bench.data.synth import load_mini_pedes
        ds = load_mini_pedes(style=style, split="test")
        return ds if first_captions is None else ds.first_captions(first_captions)
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
                 CellSpec("mini-scenes-smoke", "i2t", "contrast", 5),
                 CellSpec("mini-scenes-smoke", "t2i", "clean", 0),
                 CellSpec("mini-scenes-smoke", "t2i", "cr", 7)],
    "mini-clip")

_embedded(
    "mini-clean", "mini-scenes test (1K images, 5K captions), no shift, both directions",
    {"mini-scenes": _scenes}, lambda sev: clean_cells("mini-scenes"), "mini-clip")

_embedded(
    "mini-c", "mini-scenes: 16 image corruptions (i2t, 1K images) and the offline text corruptions "
    "(t2i, first caption of each image: 1K)",
    {"mini-scenes": _scenes, "mini-scenes-1cap": _scenes_1cap},
    lambda sev: (shift_cells("mini-scenes", "i2t", IMAGE_SHIFTS, sev)
                 + [CellSpec("mini-scenes-1cap", "t2i", "clean", 0)]  # the text cells' reference
                 + shift_cells("mini-scenes-1cap", "t2i", OFFLINE_TEXT_SHIFTS, sev)),
    "mini-clip")

_embedded(
    "mini-pedes", "synthetic pedestrians, t2i: style A (reference) and style B (query-gallery shift)",
    {"mini-pedes-a": _pedes("a"), "mini-pedes-b": _pedes("b")},
    lambda sev: [CellSpec("mini-pedes-a", "t2i", "clean", 0),
                 CellSpec("mini-pedes-b", "t2i", "clean", 0)],
    "mini-reid")

_embedded(
    "mini-pedes-c", "synthetic pedestrians style A, t2i, offline text corruptions (first caption "
    "of each image)",
    {"mini-pedes-a-1cap": _pedes("a", first_captions=1)},
    lambda sev: ([CellSpec("mini-pedes-a-1cap", "t2i", "clean", 0)]
                 + shift_cells("mini-pedes-a-1cap", "t2i", OFFLINE_TEXT_SHIFTS, sev)),
    "mini-reid")

_embedded(
    "mini-diverse", "mini-scenes diverse shift: mixed, continual and mixed-severity streams, "
    "with retention on clean queries",
    {"mini-scenes": _scenes, "mini-scenes-1cap": _scenes_1cap},
    lambda sev: (diverse_cells("mini-scenes", "i2t", "image-mix", IMAGE_SHIFTS,
                               severity_shift="gaussian_noise")
                 + diverse_cells("mini-scenes-1cap", "t2i", "text-mix", OFFLINE_TEXT_SHIFTS)),
    "mini-clip")
