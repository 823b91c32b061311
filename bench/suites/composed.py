"""Composed image retrieval suites (docs/composed.md): a query is a reference image and a
modification text (direction ``ti2i``), the gallery is images encoded once by the frozen
source image tower; the query shifts are image shifts on the reference, text shifts on
the modification, and pairs of both (bench.shifts.pair_shift).

* ``mini-cir-c`` (embedded): mini-cir, composed queries generated from mini-scenes, with
  the shipped mini CLIP's zero-shot composition; runs offline.
* ``fashioniq-c``, ``cirr-c`` (real): FashionIQ (dress, shirt, toptee) and CIRR validation
  in their official layouts under ``--data-root`` (bench/data/composed.py), with CLIP
  ViT-B/16 (openai) by default.
"""

from __future__ import annotations

from pathlib import Path

from bench.api.contract import COMPOSED
from bench.api.registry import SUITES
from bench.shifts import builtin_shifts, pair_shift
from bench.suites.base import CellSpec, Suite, SuiteContext, shift_cells

MINI_VERSION = "1"  # bump with mini-cir's GENERATOR_VERSION (bench/data/synth/composed.py)
REAL_VERSION = "1"
KIND = "composed"

# One image shift per corruption family (noise, blur, weather, digital) and offline text
# shifts at character and word level: a small suite, each cell a 600-query stream.
MINI_IMAGE_SHIFTS = ("gaussian_noise", "defocus_blur", "fog", "contrast")
MINI_TEXT_SHIFTS = ("ocr", "cr", "rd")
MINI_PAIRS = (("gaussian_noise", "cr"), ("contrast", "rd"))
# The real suites: every image shift, every offline text shift, and the same pairs.
REAL_IMAGE_SHIFTS = builtin_shifts("image")
REAL_TEXT_SHIFTS = builtin_shifts("text", groups=("char", "word"))


def composed_cells(dataset: str, image_shifts, text_shifts, pairs, severities) -> list[CellSpec]:
    """Clean, each image shift (reference), each text shift (modification), each pair."""
    names = [pair_shift(i, t) for i, t in pairs]
    return ([CellSpec(dataset, COMPOSED, "clean", 0)]
            + shift_cells(dataset, COMPOSED, image_shifts, severities)
            + shift_cells(dataset, COMPOSED, text_shifts, severities)
            + shift_cells(dataset, COMPOSED, names, severities))


def _mini_cir(ctx: SuiteContext):
    from bench.data.synth import load_mini_cir
    return load_mini_cir(progress=not ctx.quiet)


SUITES.add("mini-cir-c", Suite(
    name="mini-cir-c", version=MINI_VERSION,
    description="mini-cir: 600 composed queries (reference scene + modification text) over "
                "2,400 generated scenes (reference, target and 2 hard distractors each, the "
                "reference no candidate): clean, 4 image shifts on the reference, 3 text shifts "
                "on the modification, 2 pairs of both; mini CLIP image + text composition",
    loaders={"mini-cir": _mini_cir},
    make_cells=lambda sev: composed_cells("mini-cir", MINI_IMAGE_SHIFTS, MINI_TEXT_SHIFTS,
                                          MINI_PAIRS, sev),
    default_model="mini-clip", default_pretrained=None, embedded=True,
    dataset_kinds={"mini-cir": KIND}, in_all=False))  # opt-in: its own store (make composed)


def _fashioniq(category: str):
    def load(ctx: SuiteContext):
        from bench.data.composed import load_fashioniq
        return load_fashioniq(Path(ctx.data_root), category)
    return load


def _fashioniq_missing(ctx: SuiteContext) -> str | None:
    from bench.data.composed import FASHIONIQ_CATEGORIES, FASHIONIQ_LAYOUT, fashioniq_missing
    if ctx.data_root is None:
        return f"needs --data-root DIR holding {FASHIONIQ_LAYOUT}"
    reasons = [r for c in FASHIONIQ_CATEGORIES if (r := fashioniq_missing(Path(ctx.data_root), c))]
    return reasons[0] if reasons else None


def _cirr_missing(ctx: SuiteContext) -> str | None:
    from bench.data.composed import CIRR_LAYOUT, cirr_missing
    if ctx.data_root is None:
        return f"needs --data-root DIR holding {CIRR_LAYOUT}"
    return cirr_missing(Path(ctx.data_root))


def _cirr(ctx: SuiteContext):
    from bench.data.composed import load_cirr
    return load_cirr(Path(ctx.data_root))


_CATEGORIES = ("dress", "shirt", "toptee")
SUITES.add("fashioniq-c", Suite(
    name="fashioniq-c", version=REAL_VERSION,
    description="FashionIQ validation (dress, shirt, toptee; R@10 and R@50 per category): "
                "16 image shifts on the reference, offline text shifts on the modification, "
                "2 pairs; CLIP image + text composition",
    loaders={f"fashioniq-{c}": _fashioniq(c) for c in _CATEGORIES},
    make_cells=lambda sev: [cell for c in _CATEGORIES for cell in composed_cells(
        f"fashioniq-{c}", REAL_IMAGE_SHIFTS, REAL_TEXT_SHIFTS, MINI_PAIRS, sev)],
    requires=_fashioniq_missing,
    dataset_kinds={f"fashioniq-{c}": KIND for c in _CATEGORIES}))

SUITES.add("cirr-c", Suite(
    name="cirr-c", version=REAL_VERSION,
    description="CIRR validation (reference removed from candidates; Recall@1/5/10/50 and "
                "Recall_subset@1/2/3): 16 image shifts on the reference, offline text shifts "
                "on the modification, 2 pairs; CLIP image + text composition",
    loaders={"cirr": _cirr},
    make_cells=lambda sev: composed_cells("cirr", REAL_IMAGE_SHIFTS, REAL_TEXT_SHIFTS,
                                          MINI_PAIRS, sev),
    requires=_cirr_missing, dataset_kinds={"cirr": KIND}))
