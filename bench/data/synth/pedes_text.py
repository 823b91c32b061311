"""Descriptions of mini-pedes shots, worded differently for each style.

Style ``"a"`` reads like CUHK-PEDES (short, head to toe: "A woman with long black
hair wears a red striped jacket, blue jeans and white shoes. She carries a black
backpack."). Style ``"b"`` reads like ICFG-PEDES: longer, other sentence orders
and other nouns ("pants" for trousers, "top" for t-shirt, "rucksack" ...). The
colour words are shared, so a model trained on one style can still read the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.data.synth.pedes_spec import PedesShot

V = dict[str, tuple[str, ...]]
NOUNS: dict[str, V] = {
    "a": {
        "man": ("man", "young man", "guy", "male"), "woman": ("woman", "young woman", "lady"),
        "t-shirt": ("t-shirt", "short sleeved t-shirt"), "shirt": ("shirt", "long sleeved shirt"),
        "jacket": ("jacket",), "coat": ("coat", "long coat"), "sweater": ("sweater",),
        "trousers": ("trousers",), "jeans": ("jeans",), "shorts": ("shorts",), "skirt": ("skirt",),
        "striped": ("striped",), "checked": ("plaid", "checked"), "logo": ("with a logo",),
        "shoes": ("shoes",), "backpack": ("backpack",), "handbag": ("handbag",),
        "shoulder bag": ("shoulder bag",), "cap": ("cap",), "beanie": ("beanie", "knit hat"),
        "hat": ("hat",), "walking": ("walking",), "standing": ("standing",),
        "front": ("facing the camera",), "back": ("with the back to the camera",),
        "side": ("seen from the side",),
    },
    "b": {
        "man": ("gentleman", "male pedestrian", "man"),
        "woman": ("lady", "female pedestrian", "woman"),
        "t-shirt": ("top", "short-sleeved top", "tee"), "shirt": ("button-up shirt", "dress shirt"),
        "jacket": ("zip jacket", "windbreaker"), "coat": ("overcoat", "winter coat"),
        "sweater": ("pullover", "jumper", "knit sweater"),
        "trousers": ("pants", "slacks"), "jeans": ("denim pants", "jeans"),
        "shorts": ("short pants", "shorts"), "skirt": ("skirt", "knee-length skirt"),
        "striped": ("horizontally striped", "stripy"), "checked": ("checkered", "plaid"),
        "logo": ("with a star print on the chest", "with a printed star"),
        "shoes": ("sneakers", "footwear"), "backpack": ("rucksack", "backpack"),
        "handbag": ("purse", "hand bag"), "shoulder bag": ("crossbody bag", "messenger bag"),
        "cap": ("baseball cap", "peaked cap"), "beanie": ("woolly hat", "beanie"),
        "hat": ("wide-brimmed hat", "sun hat"), "walking": ("walking forward", "strolling along"),
        "standing": ("standing still", "standing in place"),
        "front": ("looking toward the camera", "facing forward"),
        "back": ("turned away from the camera", "photographed from behind"),
        "side": ("in profile", "shown from the side"),
    },
}
# Style b also uses style a's everyday nouns part of the time (ICFG-PEDES annotators
# say "t-shirt" too): the shift is in wording and sentence form, not a new vocabulary.
for _key, _words in NOUNS["a"].items():
    NOUNS["b"][_key] = tuple(dict.fromkeys(NOUNS["b"][_key] + _words))
COLOUR_WORDS = {"gray": ("gray", "grey"), "blonde": ("blonde", "blond")}
PLURAL = ("trousers", "jeans", "shorts", "pants", "slacks", "denim pants", "short pants")


@dataclass
class _Say:
    shot: PedesShot
    rng: np.random.Generator

    def pick(self, options: tuple[str, ...]) -> str:
        return str(options[int(self.rng.integers(len(options)))])

    def word(self, key: str) -> str:
        return self.pick(NOUNS[self.shot.style][key])

    def colour(self, name: str) -> str:
        return self.pick(COLOUR_WORDS.get(name, (name,)))

    @property
    def p(self):
        return self.shot.person

    def he(self) -> str:
        return "he" if self.p.gender == "man" else "she"

    def his(self) -> str:
        return "his" if self.p.gender == "man" else "her"

    def who(self) -> str:
        return self.word(self.p.gender)

    def hair(self) -> str:
        return f"{self.p.hair_length} {self.colour(self.p.hair_colour)} hair"

    def upper(self) -> str:
        """'a red striped jacket' / 'a red jacket with a logo'."""
        pat, noun = self.p.upper_pattern, self.word(self.p.upper)
        col = self.colour(self.p.upper_colour)
        if pat == "plain":
            return _a(f"{col} {noun}")
        if pat == "logo":
            return _a(f"{col} {noun} {self.word('logo')}")
        return _a(f"{col} {self.word(pat)} {noun}")

    def lower(self) -> str:
        noun = self.word(self.p.lower)
        text = f"{self.colour(self.p.lower_colour)} {noun}"
        return text if noun in PLURAL else _a(text)

    def shoes(self) -> str:
        return f"{self.colour(self.p.shoes)} {self.word('shoes')}"

    def hat(self) -> str:
        if self.p.hat == "none":
            return ""
        return _a(f"{self.colour(self.p.hat_colour)} {self.word(self.p.hat)}")

    def bag(self) -> str:
        if self.p.bag == "none":
            return ""
        return _a(f"{self.colour(self.p.bag_colour)} {self.word(self.p.bag)}")

    def doing(self) -> str:
        return f"{self.word(self.shot.pose)}, {self.word(self.shot.view)}"


def _a(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _bag_a(s: _Say) -> str:
    if not s.bag():
        return ""
    where = {"backpack": f"on {s.his()} back", "handbag": f"in {s.his()} hand",
             "shoulder bag": f"over {s.his()} shoulder"}[s.p.bag]
    he = _cap(s.he())
    return s.pick((f" {he} carries {s.bag()}.", f" {he} has {s.bag()} {where}."))


def _hat_a(s: _Say) -> str:
    return f" and wears {s.hat()}" if s.hat() else ""


def _a1(s: _Say) -> str:
    return (f"{_cap(_a(s.who()))} with {s.hair()} wears {s.upper()}, {s.lower()} and {s.shoes()}."
            f"{_bag_a(s)}")


def _a2(s: _Say) -> str:
    return (f"The {s.who()} is wearing {s.upper()} and {s.lower()} with {s.shoes()}. "
            f"{_cap(s.he())} has {s.hair()}{_hat_a(s)}.{_bag_a(s)}")


def _a3(s: _Say) -> str:
    return (f"This {s.who()} has {s.hair()} and is wearing {s.upper()}, a pair of {s.lower()} "
            f"and {s.shoes()}.{_bag_a(s)}")


def _a4(s: _Say) -> str:
    hat = f" {_cap(s.he())} wears {s.hat()}." if s.hat() else ""
    return (f"{_cap(_a(s.word(s.shot.pose)))} {s.who()} in {s.upper()} and {s.lower()}. "
            f"{_cap(s.he())} has {s.hair()} and {s.shoes()}.{hat}{_bag_a(s)}")


def _a5(s: _Say) -> str:
    return (f"{_cap(_a(s.who()))} {s.doing()}. {_cap(s.he())} wears {s.upper()}, {s.lower()} "
            f"and {s.shoes()}, and has {s.hair()}{_hat_a(s)}.{_bag_a(s)}")


def _bag_b(s: _Say) -> str:
    if not s.bag():
        return s.pick(("", "", f" {_cap(s.he())} carries no bag."))
    held = {"backpack": f"{_cap(s.bag())} is strapped to {s.his()} back.",
            "handbag": f"{_cap(s.he())} is holding {s.bag()}.",
            "shoulder bag": f"{_cap(s.bag())} hangs across {s.his()} body."}[s.p.bag]
    return " " + s.pick((held, f"{_cap(s.he())} has brought {s.bag()} along."))


def _hat_b(s: _Say) -> str:
    return f", and on {s.his()} head is {s.hat()}" if s.hat() else ""


def _b1(s: _Say) -> str:
    tail = s.pick(("", f" {_cap(s.he())} is {s.doing()}."))
    return (f"The {s.who()} has {s.hair()}{_hat_b(s)}. {_cap(s.he())} is dressed in {s.upper()} "
            f"with {s.lower()} and {s.shoes()}.{_bag_b(s)}{tail}")


def _b2(s: _Say) -> str:
    return (f"This {s.who()} is {s.word(s.shot.pose)}. {_cap(s.his())} hair is {s.p.hair_length} "
            f"and {s.colour(s.p.hair_colour)}{_hat_b(s)}. {_cap(s.he())} has on {s.lower()} and "
            f"{s.upper()}, along with {s.shoes()}.{_bag_b(s)}")


def _b3(s: _Say) -> str:
    return (f"A {s.who()} wearing {s.shoes()}, {s.lower()} and {s.upper()}. "
            f"{_cap(s.he())} has {s.hair()}{_hat_b(s)}.{_bag_b(s)}")


def _b4(s: _Say) -> str:
    shoes = s.pick(("sneakers are", "shoes are"))
    return (f"In this picture {_a(s.who())} is {s.word(s.shot.pose)}, {s.word(s.shot.view)}. "
            f"{_cap(s.he())} wears {s.upper()} and {s.lower()}; {s.his()} {shoes} "
            f"{s.colour(s.p.shoes)} and {s.his()} hair is {s.p.hair_length} and "
            f"{s.colour(s.p.hair_colour)}{_hat_b(s)}.{_bag_b(s)}")


def _b5(s: _Say) -> str:
    return (f"{_cap(_a(s.who()))} with {s.hair()} is {s.doing()}{_hat_b(s)}. The outfit is "
            f"{s.upper()} over {s.lower()}, finished with {s.shoes()}.{_bag_b(s)}")


TEMPLATES: dict[str, tuple[Callable[[_Say], str], ...]] = {
    "a": (_a1, _a2, _a3, _a4, _a5),
    # Four of style a's sentence forms recur in style b, worded with style b's nouns.
    "b": (_b1, _b2, _b3, _b4, _b5, _a1, _a2, _a3, _a5),
}


def pedes_captions(shot: PedesShot, rng: np.random.Generator, n: int = 2,
                   avoid: set[str] | frozenset[str] = frozenset(), tries: int = 12) -> list[str]:
    """Up to ``n`` different descriptions of ``shot`` in its style's wording.

    Descriptions in ``avoid`` (used by other images) are re-drawn up to ``tries`` times;
    after that a repeat is accepted, since two shots of one person may read the same.
    """
    templates = TEMPLATES[shot.style]
    out: list[str] = []
    for _ in range(n):
        text = ""
        for _ in range(tries):
            text = templates[int(rng.integers(len(templates)))](_Say(shot, rng))
            if text not in avoid and text not in out:
                break
        if text not in out:
            out.append(text)
    return out
