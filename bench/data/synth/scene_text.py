"""Captions for mini-scenes: paraphrases that name every object's attributes and place.

Each template is a small function; ``scene_captions`` picks ``n`` different ones
and fills them with random synonyms, word orders and articles. The mini CLIP reads
32 tokens, so a caption longer than ``MAX_WORDS`` is rewritten leaving out some
detail (the background texture, the sizes or the patterns: a random choice per
caption, so that the five captions of a busy scene together still say everything).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.data.synth.scene_spec import SceneObject, SceneSpec

MAX_WORDS = 25
COLOUR_WORDS = {"gray": ("gray", "grey"), "purple": ("purple", "violet")}
SHAPE_WORDS = {
    "circle": ("circle", "disc"), "square": ("square",), "triangle": ("triangle",),
    "star": ("star", "five-pointed star"), "ring": ("ring", "hoop"),
    "cross": ("cross", "plus sign"), "hexagon": ("hexagon",), "heart": ("heart", "heart shape"),
    "diamond": ("diamond", "rhombus"), "pentagon": ("pentagon",),
}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "medium": ("medium", "medium-sized"),
              "large": ("large", "big")}
PATTERN_ADJ = {"plain": ("plain", "solid"), "striped": ("striped", "stripy"),
               "dotted": ("dotted", "spotted", "polka-dot"),
               "checkered": ("checkered", "checked", "chequered")}
PATTERN_WITH = {"striped": ("with stripes",), "dotted": ("with dots", "with polka dots"),
                "checkered": ("with a checkerboard pattern", "with checks")}
TEXTURE_WORDS = {"plain": ("plain",), "gradient": ("gradient", "fading", "shaded"),
                 "cloudy": ("cloudy", "mottled", "marbled"),
                 "wooden": ("wooden", "wood-grain", "wood-textured"),
                 "tiled": ("tiled", "grid-patterned")}
POSITIONS = {
    (0, 0): ("in the top left corner", "at the top left", "in the upper left"),
    (1, 0): ("at the top", "near the top edge", "in the top middle"),
    (2, 0): ("in the top right corner", "at the top right", "in the upper right"),
    (0, 1): ("on the left", "at the left side", "in the middle left"),
    (1, 1): ("in the centre", "in the middle", "at the center"),
    (2, 1): ("on the right", "at the right side", "in the middle right"),
    (0, 2): ("in the bottom left corner", "at the bottom left", "in the lower left"),
    (1, 2): ("at the bottom", "near the bottom edge", "in the bottom middle"),
    (2, 2): ("in the bottom right corner", "at the bottom right", "in the lower right"),
}
SHORT_POSITIONS = {
    (0, 0): ("at top left",), (1, 0): ("at the top",), (2, 0): ("at top right",),
    (0, 1): ("on the left",), (1, 1): ("in the centre", "in the middle"), (2, 1): ("on the right",),
    (0, 2): ("at bottom left",), (1, 2): ("at the bottom",), (2, 2): ("at bottom right",),
}
PICTURE = ("An image of", "A picture of", "A photo of", "A rendering of", "A drawing of")
COUNT = {1: ("One shape", "A single shape", "One object"), 2: ("Two shapes", "Two objects"),
         3: ("Three shapes", "Three objects")}


@dataclass
class _Say:
    """Word choices for one caption; ``drop`` names details left out to keep it short."""

    rng: random.Random  # Python's generator: ~10x cheaper per draw than numpy's
    drop: frozenset[str] = field(default_factory=frozenset)  # texture, sizes, patterns, long

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[self.rng.randrange(len(options))]

    def obj(self, o: SceneObject, article: str = "a") -> str:
        size = "" if "sizes" in self.drop else self.pick(SIZE_WORDS[o.size])
        colour = self.pick(COLOUR_WORDS.get(o.colour, (o.colour,)))
        shape = self.pick(SHAPE_WORDS[o.shape])
        r = self.rng.random()
        if o.pattern == "plain" or "patterns" in self.drop:
            plain = o.pattern == "plain" and r < 0.2 and not self.drop
            words = [size, colour, self.pick(PATTERN_ADJ["plain"]) if plain else "", shape]
        elif r < 0.2 and "long" not in self.drop:
            words = [size, colour, shape, self.pick(PATTERN_WITH[o.pattern])]
        elif r < 0.45:
            words = [size, self.pick(PATTERN_ADJ[o.pattern]), colour, shape]
        else:
            words = [size, colour, self.pick(PATTERN_ADJ[o.pattern]), shape]
        phrase = " ".join(w for w in words if w)
        if article == "a":
            article = "an" if phrase[0] in "aeiou" else "a"
        return f"{article} {phrase}"

    def pos(self, o: SceneObject) -> str:
        return self.pick((SHORT_POSITIONS if "long" in self.drop else POSITIONS)[o.cell])

    def rel(self, a: SceneObject, b: SceneObject) -> str:
        dx, dy = a.cell[0] - b.cell[0], a.cell[1] - b.cell[1]
        horiz = () if dx == 0 else (("to the left of", "left of") if dx < 0
                                    else ("to the right of", "right of"))
        vert = () if dy == 0 else (("above",) if dy < 0 else ("below", "under"))
        if horiz and vert:
            return f"{self.pick(vert)} and {self.pick(horiz)}"
        if horiz and abs(dx) == 1 and self.rng.random() < 0.25:
            return self.pick(("next to", "beside")) + " and " + self.pick(horiz)
        return self.pick(horiz or vert)

    def bg(self, spec: SceneSpec, article: str = "a") -> str:
        colour = self.pick(COLOUR_WORDS.get(spec.background, (spec.background,)))
        quiet = "texture" in self.drop or (spec.texture == "plain" and self.rng.random() < 0.5)
        texture = "" if quiet else self.pick(TEXTURE_WORDS[spec.texture])
        noun = self.pick(("background", "backdrop"))
        phrase = " ".join(w for w in (colour, texture, noun) if w)
        if article == "a":
            article = "an" if phrase[0] in "aeiou" else "a"
        return f"{article} {phrase}".strip()

    def placed(self, objs: tuple[SceneObject, ...], article: str = "a") -> str:
        """Objects with absolute positions: 'a red circle on the left and a ...'."""
        return _join([f"{self.obj(o, article)} {self.pos(o)}" for o in objs])

    def related(self, objs: tuple[SceneObject, ...], article: str = "a") -> str:
        """Objects by relations: 'a red circle to the left of a blue square, and a ...'."""
        if len(objs) == 1:
            return self.placed(objs, article)
        a, b = objs[0], objs[1]
        text = f"{self.obj(a, article)} {self.rel(a, b)} {self.obj(b, article)}"
        if len(objs) == 3:
            text += f", and {self.obj(objs[2], article)} {self.pos(objs[2])}"
        return text


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _t_placed_on(s: _Say, spec: SceneSpec) -> str:
    return f"{_cap(s.placed(spec.objects))} on {s.bg(spec)}."


def _t_related_on(s: _Say, spec: SceneSpec) -> str:
    return f"{_cap(s.related(spec.objects))}, on {s.bg(spec)}."


def _t_bg_with(s: _Say, spec: SceneSpec) -> str:
    return f"{_cap(s.bg(spec))} with {s.placed(spec.objects)}."


def _t_count(s: _Say, spec: SceneSpec) -> str:
    return f"{s.pick(COUNT[len(spec.objects)])} on {s.bg(spec)}: {s.placed(spec.objects)}."


def _t_there(s: _Say, spec: SceneSpec) -> str:
    return f"There is {s.related(spec.objects)} against {s.bg(spec)}."


def _t_position_first(s: _Say, spec: SceneSpec) -> str:
    parts = [f"{s.pos(o)} is {s.obj(o)}" for o in spec.objects]
    where = "all on" if len(parts) > 1 else "on"
    return f"{_cap(_join(parts))}, {where} {s.bg(spec)}."


def _t_definite(s: _Say, spec: SceneSpec) -> str:
    if len(spec.objects) == 1:
        o = spec.objects[0]
        return f"{_cap(s.obj(o, 'the'))} sits {s.pos(o)} of {s.bg(spec, 'the')}."
    a, b = spec.objects[0], spec.objects[1]
    text = f"{_cap(s.obj(a, 'the'))} is {s.rel(a, b)} {s.obj(b, 'the')}"
    if len(spec.objects) == 3:
        c = spec.objects[2]
        text += f", and {s.obj(c, 'the')} is {s.pos(c)}"
    return f"{text}, over {s.bg(spec)}."


def _t_picture(s: _Say, spec: SceneSpec) -> str:
    return f"{s.pick(PICTURE)} {s.placed(spec.objects)} against {s.bg(spec)}."


def _t_behind(s: _Say, spec: SceneSpec) -> str:
    pronoun = "it" if len(spec.objects) == 1 else "them"
    return f"{_cap(s.related(spec.objects))} with {s.bg(spec)} behind {pronoun}."


def _t_reversed(s: _Say, spec: SceneSpec) -> str:
    # Reversed order: the same scene described starting from the last object.
    return f"{_cap(s.placed(spec.objects[::-1]))}, shown on {s.bg(spec)}."


TEMPLATES: tuple[Callable[[_Say, SceneSpec], str], ...] = (
    _t_placed_on, _t_related_on, _t_bg_with, _t_count, _t_there, _t_position_first,
    _t_definite, _t_picture, _t_behind, _t_reversed,
)
# Wordy templates that cannot say three objects in MAX_WORDS words.
_TWO_AT_MOST = frozenset({_t_count, _t_position_first, _t_picture})


def templates_for(n_objects: int) -> list[Callable[[_Say, SceneSpec], str]]:
    """The templates that can describe a scene of ``n_objects`` objects."""
    return [t for t in TEMPLATES if n_objects <= 2 or t not in _TWO_AT_MOST]


# What to leave out when a caption is too long, cheapest first; within a tier the
# order is shuffled per caption. "long" also means short position phrases.
_TIERS: tuple[tuple[frozenset[str], ...], ...] = (
    (frozenset(),),
    (frozenset({"long"}), frozenset({"texture"})),
    (frozenset({"long", "sizes"}), frozenset({"long", "patterns"}),
     frozenset({"long", "texture", "sizes"})),
    (frozenset({"long", "texture", "patterns"}), frozenset({"long", "sizes", "patterns"})),
    (frozenset({"long", "texture", "sizes", "patterns"}),),
)


def scene_captions(spec: SceneSpec, rng: np.random.Generator, n: int = 5,
                   avoid: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``n`` different paraphrases of ``spec``, each from its own template.

    Captions in ``avoid`` (already used by other images) are re-drawn; fewer than
    ``n`` come back only when the templates run out, which the caller treats as a
    reason to re-draw the scene.
    """
    py = random.Random(int(rng.integers(2**63)))
    templates = templates_for(len(spec.objects))
    py.shuffle(templates)
    out: list[str] = []
    for template in templates:
        caption = _fit(template, spec, py, avoid, out)
        if caption:
            out.append(caption)
            if len(out) == n:
                break
    return out


def _fit(template: Callable[[_Say, SceneSpec], str], spec: SceneSpec, py: random.Random,
         avoid: set[str] | frozenset[str], out: list[str]) -> str | None:
    for tier in _TIERS:
        for drop in py.sample(tier, len(tier)):
            for _ in range(2):  # two synonym draws before leaving out more
                text = template(_Say(py, drop), spec)
                if len(text.split()) <= MAX_WORDS and text not in avoid and text not in out:
                    return text
    return None
