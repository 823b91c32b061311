"""Caption normalisation (BLIP's ``pre_caption``): kept here under its older name.

The caption rules and where each applies live in bench/preprocess.py.
"""

from __future__ import annotations

from bench.preprocess import PRE_CAPTION_WORDS as MAX_WORDS
from bench.preprocess import pre_caption as normalize_caption

__all__ = ["MAX_WORDS", "normalize_caption"]
