"""Query shifts for COCO-C / Flickr-C style benchmarks: 16 image and 15 text corruptions.

Pure functions of (shift, input, severity, seed); nothing here knows about ``bench``.

    >>> from corruptions import apply_image, apply_text, seed_for, spec
    >>> seed = seed_for("coco:391895", "fog", 5)
    >>> shifted = apply_image("fog", image, 5, seed)      # HxWx3 uint8
    >>> apply_text("cr", "a man riding a horse", 7, seed)  # doctest: +SKIP
"""

from __future__ import annotations

from .errors import ShiftUnavailable, UnknownShift
from .image import apply_image
from .registry import ShiftSpec, spec
from .seeding import seed_for
from .table import IMAGE_SHIFTS, TEXT_SHIFTS
from .text import apply_text

__all__ = [
    "IMAGE_SHIFTS",
    "TEXT_SHIFTS",
    "ShiftSpec",
    "ShiftUnavailable",
    "UnknownShift",
    "apply_image",
    "apply_text",
    "seed_for",
    "spec",
]
