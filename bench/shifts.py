"""Query shifts as the harness sees them: a registry entry per shift, the one book.

bench's own shifts are the `corruptions` package's 16 image and 15 text
corruptions; plugins may register more with `register_shift` (a `Shift`). ``clean`` is
the identity (severity 0). Every reader of a shift's facts - its modality, its place in
the tables' order, its severities and maximum - reads the registry entry (`SHIFTS`),
never the `corruptions` package: the tables, the suites and the runner treat a
plugin's shift exactly as bench's own.

Order: the order of registration, which is docs/protocol.md section 4's for bench's own
shifts (`book`); a plugin's shifts follow bench's of the same modality.
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
    # a pair shift (modality "composed"): ((image shift, level), (text shift, level))
    parts: tuple[tuple[str, int], ...] = ()

    def is_available(self) -> tuple[bool, str]:
        return self.available()


SHIFTS.add(CLEAN, Shift(name=CLEAN, modality="any", levels=(0,), max_level=0,
                        apply=lambda item, level, seed: item, group="none", needs="nothing"))


# bench's own entries (the same objects as in SHIFTS), in registration order: the embedded and
# real suites' fixed shift lists, which no plugin may change (cell ids hash them).
_OWN: dict[str, Shift] = {}


def _register_corruptions() -> None:
    for name in (*corruptions.IMAGE_SHIFTS, *corruptions.TEXT_SHIFTS):
        spec = corruptions.spec(name)
        apply = corruptions.apply_image if spec.modality == "image" else corruptions.apply_text

        def fn(item, level, seed, _name=name, _apply=apply):
            return _apply(_name, item, level, seed)

        _OWN[name] = Shift(
            name=name, modality=spec.modality, levels=tuple(spec.levels),
            max_level=spec.max_level, apply=fn, group=spec.group, needs=spec.needs,
            version=f"corruptions-{getattr(corruptions, '__version__', '1')}",
            available=spec.available)
        SHIFTS.add(name, _OWN[name])


_register_corruptions()


def get_shift(name: str) -> Shift:
    return SHIFTS.get(name)


def builtin_shifts(modality: str, groups: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """bench's own shifts of `modality` ("image" | "text"), in the protocol's order; only
    those of `groups` when given (e.g. ("char", "word"): the text shifts needing no model)."""
    return tuple(name for name, s in _OWN.items()
                 if s.modality == modality and (groups is None or s.group in groups))


def book(modality: str) -> tuple[str, ...]:
    """Every registered shift of `modality` (plugins' included), in the book's order."""
    return tuple(name for name, s in SHIFTS.items() if s.modality == modality)


def max_level(name: str) -> int | None:
    """A registered shift's maximum severity (the tables' column); None if not registered."""
    return int(SHIFTS.get(name).max_level) if name in SHIFTS else None


PAIR = "+"  # "<image shift>+<text shift>": both parts of a composed query shifted at once


def pair_shift(image: str, text: str) -> str:
    """Register (once) and name the pair shift of composed queries: `image` on the reference
    image and `text` on the modification text, each at its maximum severity. Its one level, 1,
    is that pair of maxima; each part keeps its own seeds (and cache entries)."""
    name = f"{image}{PAIR}{text}"
    if name in SHIFTS:
        return name
    i, t = SHIFTS.get(image), SHIFTS.get(text)
    if i.modality != "image" or t.modality != "text":
        raise ValueError(f"a pair shift is an image shift and a text shift, not {name}")

    def available() -> tuple[bool, str]:
        for part in (i, t):
            ok, why = part.is_available()
            if not ok:
                return ok, why
        return True, ""

    def apply(item, level, seed):
        image_in, text_in = item
        return (i.apply(image_in, i.max_level, seed), t.apply(text_in, t.max_level, seed))

    SHIFTS.add(name, Shift(name=name, modality="composed", levels=(1,), max_level=1,
                           apply=apply, group="pair", needs=" and ".join(
                               x for x in (i.needs, t.needs) if x) or "nothing",
                           version=f"{i.version}|{t.version}", available=available,
                           parts=((image, i.max_level), (text, t.max_level))))
    return name


def composed_parts(name: str, level: int) -> tuple[tuple[str, int], tuple[str, int]]:
    """((image shift, level), (text shift, level)) a shift applies to a composed query: an
    image shift to the reference, a text shift to the modification, a pair shift to both."""
    shift = SHIFTS.get(name)
    clean = (CLEAN, 0)
    if shift.modality == "image":
        return (name, level), clean
    if shift.modality == "text":
        return clean, (name, level)
    if shift.parts:
        return shift.parts[0], shift.parts[1]
    return clean, clean
