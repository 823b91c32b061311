"""Embedded suites: generated data and the shipped mini CLIPs, offline (docs/benchmark.md, Suites)."""

from __future__ import annotations

from bench.api.registry import SUITES
from bench.shifts import builtin_shifts
from bench.suites.base import (
    CellSpec,
    Suite,
    clean_cells,
    diverse_cells,
    shift_cells,
)

# Suite versions (results record them): 2 = text-shift cells on the first caption of each
# image; mini-c and mini-diverse 3 = text cells on every caption (5,000, as Flickr-C) and
# diverse segments of at least DIVERSE_SEGMENT_BATCHES batches.
VERSION = "2"
LONG_STREAMS_VERSION = "3"
COCO_VERSION = "1"
SMOKE_IMAGES = 200  # the smoke suite's gallery: the first 200 test scenes (1,000 captions)
# mini-pedes-c still queries with the first caption of each image ("<dataset>-1cap").
DIVERSE_SEGMENT_BATCHES = 5  # a continual stream stays >= 5 batches on each shift

# bench's own shifts from the shift book (bench/shifts.py), in the protocol's order.
IMAGE_SHIFTS = builtin_shifts("image")
# Text shifts that need no downloaded model (char and word level); sentence-level ones
# need seq2seq models and belong to the real suites only.
OFFLINE_TEXT_SHIFTS = builtin_shifts("text", groups=("char", "word"))


def _scenes(ctx):
    from bench.data.synth import load_mini_scenes
    return load_mini_scenes(split="test", progress=not ctx.quiet)


def _scenes_5k(ctx):
    from bench.data.synth import load_mini_scenes
    return load_mini_scenes(split="test5k", progress=not ctx.quiet)


def _scenes_smoke(ctx):
    import numpy as np
    return _scenes(ctx).subset_images(np.arange(SMOKE_IMAGES))


def _pedes(style: str, first_captions: int | None = None):
    def load(ctx):
        from bench.data.synth import load_mini_pedes
        ds = load_mini_pedes(style=style, split="test", progress=not ctx.quiet)
        return ds if first_captions is None else ds.first_captions(first_captions)
    return load


def _embedded(name: str, description: str, loaders, make_cells, model: str,
              version: str = VERSION, in_all: bool = True) -> Suite:
    suite = Suite(name=name, version=version, description=description, loaders=loaders,
                  make_cells=make_cells, default_model=model, default_pretrained=None,
                  embedded=True, in_all=in_all)
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

def _c_cells(dataset: str):
    """16 image shifts (i2t) and the offline text shifts (t2i, every caption) of a split."""
    return lambda sev: (shift_cells(dataset, "i2t", IMAGE_SHIFTS, sev)
                        + [CellSpec(dataset, "t2i", "clean", 0)]  # the text cells' reference
                        + shift_cells(dataset, "t2i", OFFLINE_TEXT_SHIFTS, sev))


def _diverse_cells(dataset: str):
    return lambda sev: (
        diverse_cells(dataset, "i2t", "image-mix", IMAGE_SHIFTS, severity_shift="gaussian_noise",
                      min_segment_batches=DIVERSE_SEGMENT_BATCHES)
        + diverse_cells(dataset, "t2i", "text-mix", OFFLINE_TEXT_SHIFTS,
                        min_segment_batches=DIVERSE_SEGMENT_BATCHES))


_embedded(
    "mini-c", "mini-scenes (1K images, 5K captions, Flickr-sized): 16 image corruptions (i2t) and "
    "the offline text corruptions (t2i, every caption)",
    {"mini-scenes": _scenes}, _c_cells("mini-scenes"), "mini-clip",
    version=LONG_STREAMS_VERSION)

_embedded(
    "mini-coco-c", "mini-scenes-5k (5K images, 25K captions, COCO-sized): 16 image corruptions "
    "(i2t) and the offline text corruptions (t2i, every caption)",
    {"mini-scenes-5k": _scenes_5k}, _c_cells("mini-scenes-5k"), "mini-clip",
    version=COCO_VERSION, in_all=False)

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
    "mini-diverse", "mini-scenes diverse shift: mixed, continual and mixed-severity streams "
    f"(>= {DIVERSE_SEGMENT_BATCHES} batches per segment), with retention on clean queries",
    {"mini-scenes": _scenes}, _diverse_cells("mini-scenes"), "mini-clip",
    version=LONG_STREAMS_VERSION)

_embedded(
    "mini-coco-diverse", "mini-scenes-5k diverse shift: mixed, continual and mixed-severity "
    f"streams (>= {DIVERSE_SEGMENT_BATCHES} batches per segment), with retention on clean "
    "queries",
    {"mini-scenes-5k": _scenes_5k}, _diverse_cells("mini-scenes-5k"), "mini-clip",
    version=COCO_VERSION, in_all=False)
