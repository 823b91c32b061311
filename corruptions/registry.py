"""Shift specs: what each shift is (from the table in `table`) and what it needs to run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from . import image, text_char, text_sentence, text_word
from .table import group_of, levels_of


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


def _needs_and_check(modality: str, group: str, name: str) -> tuple[str, Callable]:
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
    levels, table_levels = levels_of(name)
    needs, check = _needs_and_check(modality, group, name)
    return ShiftSpec(name, modality, group, levels, table_levels, needs, check)
