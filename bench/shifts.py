"""Query shifts as the harness sees them: a registry entry per shift.

bench's own shifts are the `corruptions` package's 16 image and 15 text
corruptions; plugins may register more with `register_shift`. ``clean`` is the
identity (severity 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import corruptions
from bench.api.registry import SHIFTS

CLEAN = "clean"


def _always() -> tuple[bool, str]:
    return True, ""


@dataclass(frozen=True)
class Shift:
    """A query shift: ``apply(item, level, seed)`` on one image (HxWx3 uint8) or caption."""

    name: str
    modality: str  # "image" | "text" | "any" (clean)
    levels: tuple[int, ...]
    max_level: int
    apply: Callable[[Any, int, int], Any]
    group: str = ""
    needs: str = ""
    version: str = "1"  # bump when outputs change, so caches are not reused
    available: Callable[[], tuple[bool, str]] = field(default=_always)
    # A seed per (sample, shift, level): the benchmark is identical however it is built.
    seed_for: Callable[[Any, str, int, int], int] = field(default=corruptions.seed_for)

    def is_available(self) -> tuple[bool, str]:
        return self.available()


SHIFTS.add(CLEAN, Shift(name=CLEAN, modality="any", levels=(0,), max_level=0,
                        apply=lambda item, level, seed: item, group="none", needs="nothing"))


def _register_corruptions() -> None:
    for name in (*corruptions.IMAGE_SHIFTS, *corruptions.TEXT_SHIFTS):
        spec = corruptions.spec(name)
        apply = corruptions.apply_image if spec.modality == "image" else corruptions.apply_text

        def fn(item, level, seed, _name=name, _apply=apply):
            return _apply(_name, item, level, seed)

        SHIFTS.add(name, Shift(
            name=name, modality=spec.modality, levels=tuple(spec.levels),
            max_level=spec.max_level, apply=fn, group=spec.group, needs=spec.needs,
            version=f"corruptions-{getattr(corruptions, '__version__', '1')}",
            available=spec.available))


_register_corruptions()


def get_shift(name: str) -> Shift:
    return SHIFTS.get(name)
