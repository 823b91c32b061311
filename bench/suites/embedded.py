"""Facts of the embedded suites (generated data and the shipped mini CLIPs, offline).

The suites themselves are files (bench/suites/builtin/smoke.toml, mini-*.toml), their
datasets the ``mini-scenes`` and ``mini-pedes`` formats of bench/suites/formats.py. Here:
the shift sets and sizes those files are written with, and the loaders tests reuse.
"""

from __future__ import annotations

from bench.shifts import builtin_shifts
from bench.suites.base import SuiteContext
from bench.suites.formats import FORMATS

# Each suite's version is in its file; results record it, so that rows of another model or
# shift strength (docs/embedded-regime.md) never merge with the current ones.
SMOKE_IMAGES = 200  # the smoke suite's gallery: the first 200 test scenes (1,000 captions)
# mini-pedes-c still queries with the first caption of each image ("<dataset>-1cap").
DIVERSE_SEGMENT_BATCHES = 5  # a continual stream stays >= 5 batches on each shift

# bench's own shifts from the shift book (bench/shifts.py), in the protocol's order.
IMAGE_SHIFTS = builtin_shifts("image")
# Text shifts that need no downloaded model (char and word level); sentence-level ones
# need seq2seq models and belong to the real suites only.
OFFLINE_TEXT_SHIFTS = builtin_shifts("text", groups=("char", "word"))


def _scenes_smoke(ctx: SuiteContext):
    """The smoke suite's dataset: the first SMOKE_IMAGES mini-scenes test images."""
    return FORMATS["mini-scenes"].load("mini-scenes-smoke",
                                       {"split": "test", "images": SMOKE_IMAGES}, ctx)
