"""The protocol's facts, in one place (docs/protocol.md sections 2, 3 and 6).

Every default that decides what a cell measures is read from here: the CLI
(`run --batch-size/--steps`), the run settings (`bench.engine.settings`), the methods'
`AdaptContext.steps` and `GradientTTA.Config.lr`, the stream loop's temperature and
the metrics' tie rule. Change a fact here and every reader follows; `Protocol`'s
fields are hashed into cell ids (`bench.engine.cells.Cell.describe`), so its
field names, order and defaults must not change without a migration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Protocol:
    """Settings of the online loop shared by all cells of a run (docs/protocol.md s. 2)."""

    batch_size: int = 64
    steps: int = 3
    limit: int | None = None  # first N queries only (quick looks)
    corruption_seed: int = 0  # base of the per-(sample, shift, severity) corruption seeds


PROTOCOL = Protocol()

# The learning rate of gradient methods (AdamW on the query tower's LayerNorms, s. 2).
# A backbone's query tower may declare its own (`default_lr`, e.g. BLIP t2i 3e-5):
# `bench.api.gradient.effective_lr` uses it where a method keeps this default.
DEFAULT_LR = 3e-4

# Whole-gallery softmax temperature per kind of data (docs/protocol.md section 6):
# COCO / Flickr captions, Fashion-Gen, person ReID; composed queries (FashionIQ, CIRR, the
# embedded mini-cir): CLIP's own learned logit scale, 100 (the zero-shot backbone's).
TEMPERATURE: dict[str, float] = {"captions": 0.01, "fashion": 0.001, "reid": 0.0001,
                                 "composed": 0.01}

# How ranks treat equal scores (docs/protocol.md section 3); implemented by
# bench.engine.metrics and recorded in every result row's protocol.
TIE_RULE = "optimistic: rank = 1 + #gallery items scoring strictly higher"

__all__ = ["Protocol", "PROTOCOL", "DEFAULT_LR", "TEMPERATURE", "TIE_RULE"]
