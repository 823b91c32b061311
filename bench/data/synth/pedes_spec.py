"""What a mini-pedes shot is: a ``Person`` (an identity, what captions describe) and a
``PedesShot`` (one image of them), sampled in ``pedes``, drawn in ``pedes_figure`` and
described in ``pedes_text``."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Person:
    """An identity: everything a caption may say about the person's appearance."""

    gender: str
    skin: str
    hair_colour: str
    hair_length: str
    hat: str
    hat_colour: str
    upper: str
    upper_colour: str
    upper_pattern: str
    lower: str
    lower_colour: str
    shoes: str
    bag: str
    bag_colour: str
    build: float  # body width factor, not described

    def key(self) -> tuple:
        """The described attributes: two persons with equal keys read the same."""
        d = asdict(self)
        d.pop("build")
        d.pop("skin")
        return tuple(d.values())


@dataclass(frozen=True)
class PedesShot:
    """One image of a person."""

    person: Person
    style: str
    view: str
    pose: str
    facing: int  # +1 looks right, -1 left (side view)
    arms: str  # "down" | "swing" | "bent"
    seed: int  # background, light, framing

    def to_dict(self) -> dict:
        return asdict(self)
