"""Character-level text shifts: nlpaug's OcrAug and RandomCharAug at word rate 0.05 * level.

MM_Robustness (text_perturbation/perturb_coco_json_v3.py) builds them as
``nac.OcrAug(aug_word_p=rate)`` and ``nac.RandomCharAug(action, aug_word_p=rate)`` with
no other argument, so nlpaug's defaults hold: at most 10 words per caption
(``aug_word_max``), at least 1, ``ceil(rate * tokens)`` otherwise; RandomCharAug skips
tokens under 4 characters (``min_char``); 30 % of a chosen word's characters change
(``aug_char_p``). A ``None`` result (nothing to change) keeps the caption, as there.
"""

from __future__ import annotations

import functools
from typing import Any

from .seeding import python_and_numpy_seed

_ACTIONS = {"ci": "insert", "cr": "substitute", "cs": "swap", "cd": "delete"}
CHAR_SHIFTS = ("ocr", *_ACTIONS)


def available(name: str) -> tuple[bool, str]:
    try:
        import nlpaug.augmenter.char  # noqa: F401
    except Exception as exc:
        return False, f"nlpaug cannot be imported: {type(exc).__name__}: {exc}"
    return True, ""


@functools.cache
def augmenter(name: str, rate: float) -> Any:
    """The nlpaug augmenter for a char shift (cached: building OcrAug reads its JSON table)."""
    import nlpaug.augmenter.char as nac

    if name == "ocr":
        return nac.OcrAug(aug_word_p=rate)
    return nac.RandomCharAug(action=_ACTIONS[name], aug_word_p=rate)


def apply_char(name: str, text: str, rate: float, seed: int) -> str:
    """One draw of a char shift. nlpaug samples from ``random`` and ``np.random``; both are
    seeded for the call and restored afterwards (not thread-safe, like nlpaug itself)."""
    aug = augmenter(name, rate)
    with python_and_numpy_seed(seed):
        out = aug.augment(text)
    if isinstance(out, list):  # nlpaug >= 1.1.11 returns a list for a str input
        out = out[0] if out else None
    return text if out is None else out
