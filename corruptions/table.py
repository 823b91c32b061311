"""The shift table: names, groups and the severity levels each group accepts."""

from __future__ import annotations

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


def group_of(name: str) -> tuple[str, str]:
    """(modality, group) of a shift name; UnknownShift if there is none."""
    for group, names in _IMAGE_GROUPS.items():
        if name in names:
            return "image", group
    for group, names in _TEXT_GROUPS.items():
        if name in names:
            return "text", group
    raise UnknownShift(name, ALL_SHIFTS)


def levels_of(name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(levels the shift accepts, levels the published tables report); UnknownShift if none."""
    modality, group = group_of(name)
    return _LEVELS["image" if modality == "image" else group]


def check_level(name: str, level: int) -> int:
    """``level`` as an int if the shift accepts it, else ValueError."""
    levels = levels_of(name)[0]
    if isinstance(level, bool) or int(level) != level or int(level) not in levels:
        raise ValueError(f"{name}: level must be one of {levels}, got {level!r}")
    return int(level)
