"""The shift table: names, groups, severity levels and what each shift needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .errors import UnknownShift

IMAGE_SHIFTS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog",
    "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip

TEXT_SHIFTS: tuple[str, ...] = (
    "ocr", "ci", "cr", "cs", "cd",
    "sr", "ri", "rs", "rd", "ip",
    "formal", "casual", "passive", "active", "backtrans",
)  # fmt: skip

ALL_SHIFTS: tuple[str, ...] = IMAGE_SHIFTS + TEXT_SHIFTS

_IMAGE_GROUPS = {
    "noise": IMAGE_SHIFTS[0:4],
    "blur": IMAGE_SHIFTS[4:8],
    "weather": IMAGE_SHIFTS[8:11],
    "digital": IMAGE_SHIFTS[11:16],
}
_TEXT_GROUPS = {"char": TEXT_SHIFTS[0:5], "word": TEXT_SHIFTS[5:10], "sentence": TEXT_SHIFTS[10:]}

# Levels each group accepts, and the ones the published tables report.
_LEVELS = {
    "image": ((1, 2, 3, 4, 5), (5,)),
    "char": ((1, 2, 3, 4, 5, 6, 7), (7,)),
    "word": ((1, 2, 3, 4, 5, 6, 7), (6, 7)),
    "sentence": ((1,), (1,)),
}


@dataclasses.dataclass(frozen=True)
class ShiftSpec:
    """What a shift is and what it needs; ``available()`` checks the needs on this machine."""

    name: str
    modality: str  # 'image' | 'text'
    group: str  # noise/blur/weather/digital | char/word/sentence
    levels: tuple[int, ...]
    table_levels: tuple[int, ...]
    needs: str
    _check: Callable[[str], tuple[bool, str]] = dataclasses.field(repr=False, compare=False)

    @property
    def max_level(self) -> int:
        return max(self.levels)

    def available(self) -> tuple[bool, str]:
        """(True, '') when the shift can run here, else (False, reason)."""
        return self._check(self.name)


def group_of(name: str) -> tuple[str, str]:
    """(modality, group) of a shift name; UnknownShift if there is none."""
    for group, names in _IMAGE_GROUPS.items():
        if name in names:
            return "image", group
    for group, names in _TEXT_GROUPS.items():
        if name in names:
            return "text", group
    raise UnknownShift(name, ALL_SHIFTS)


def _needs_and_check(modality: str, group: str, name: str) -> tuple[str, Callable]:
    # Imported here: each module is cheap to import, but only this function needs all three.
    from . import image, text_char, text_sentence, text_word

    if modality == "image":
        return image.needs(name), image.available
    if group == "char":
        return "nlpaug", text_char.available
    if group == "word":
        return text_word.needs(name), text_word.available
    return text_sentence.needs(name), text_sentence.available


def spec(name: str) -> ShiftSpec:
    """The :class:`ShiftSpec` of a shift; raises :class:`UnknownShift` for an unknown name."""
    modality, group = group_of(name)
    levels, table_levels = _LEVELS["image" if modality == "image" else group]
    needs, check = _needs_and_check(modality, group, name)
    return ShiftSpec(name, modality, group, levels, table_levels, needs, check)


def check_level(name: str, level: int) -> int:
    """``level`` as an int if the shift accepts it, else ValueError."""
    modality, group = group_of(name)
    levels = _LEVELS["image" if modality == "image" else group][0]
    if isinstance(level, bool) or int(level) != level or int(level) not in levels:
        raise ValueError(f"{name}: level must be one of {levels}, got {level!r}")
    return int(level)
