"""Text shifts: one entry point over the char, word and sentence groups."""

from __future__ import annotations

from collections.abc import Callable

from . import text_char, text_sentence, text_word
from .errors import ShiftUnavailable, UnknownShift
from .seeding import derive_seed
from .table import TEXT_SHIFTS, check_level, group_of

RATE_PER_LEVEL = 0.05
SIMILARITY_THRESHOLD = 0.9
MAX_TRIES = 100
# Beam-search back-translation returns the same sentence for every seed: re-drawing it would
# repeat the same two translations 100 times for the same result, so it is drawn once.
_SEED_FREE = frozenset({"backtrans"})

Similarity = Callable[[str, str], float]


def rate_of(level: int) -> float:
    """Word rate of a char/word level: ``0.05 * level`` as MM_Robustness computed it.

    Deliberately not rounded: nlpaug takes ``ceil(rate * tokens)`` words, and
    0.05 * 3 = 0.15000000000000002 gives ceil(3.0000000000000004) = 4 on a 20-token caption
    where a rounded 0.15 would give 3. Keeping the same float keeps the same counts.
    """
    return RATE_PER_LEVEL * level


def _draw(name: str, group: str, text: str, level: int, seed: int) -> str:
    if group == "char":
        return text_char.apply_char(name, text, rate_of(level), seed)
    if group == "word":
        return text_word.apply_word(name, text, rate_of(level), seed)
    return text_sentence.apply_sentence(name, text, seed)


def _check_available(name: str, group: str) -> None:
    module = {"char": text_char, "word": text_word, "sentence": text_sentence}[group]
    ok, reason = module.available(name)
    if not ok:
        raise ShiftUnavailable(f"{name}: {reason}")


def apply_text(
    name: str, text: str, level: int, seed: int, similarity: Similarity | None = None
) -> str:
    """Shift caption ``text`` with ``name`` at ``level``, reproducibly from ``seed``.

    With ``similarity`` (an SBERT-style score of (original, shifted)), word and sentence
    outputs are re-drawn with seeds derived from ``seed`` until the score reaches 0.9, at
    most 100 draws; if none does, the best-scoring draw is returned. Char shifts are never
    filtered (the protocol filters word and sentence shifts only), and the deterministic
    back-translation is drawn once (every re-draw would be the same sentence).
    """
    if name not in TEXT_SHIFTS:
        raise UnknownShift(name, TEXT_SHIFTS)
    level = check_level(name, level)
    _modality, group = group_of(name)
    _check_available(name, group)
    if similarity is None or group == "char" or name in _SEED_FREE:
        return _draw(name, group, text, level, derive_seed(seed, 0))
    best, best_score = text, float("-inf")
    for attempt in range(MAX_TRIES):
        out = _draw(name, group, text, level, derive_seed(seed, attempt))
        score = float(similarity(text, out))
        if score >= SIMILARITY_THRESHOLD:
            return out
        if score > best_score:
            best, best_score = out, score
    return best
