"""Caption normalisation applied to every caption before encoding (docs/protocol.md s. 4)."""

from __future__ import annotations

import re

_STRIP = re.compile(r"[.!\"()*#:;~]")
_SPACES = re.compile(r"\s+")
MAX_WORDS = 30


def normalize_caption(text: str, max_words: int = MAX_WORDS) -> str:
    """Lower-case, strip . ! " ( ) * # : ; ~, collapse spaces, keep at most 30 words."""
    text = _STRIP.sub(" ", text.lower())
    words = _SPACES.sub(" ", text).strip().split(" ")
    return " ".join(words[:max_words])
