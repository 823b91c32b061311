"""What a mini-scene is: the objects and background that captions describe and the
renderer draws (sampled in ``scenes``, described in ``scene_text``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    size: str
    pattern: str
    cell: tuple[int, int]  # (column, row) in the 3x3 grid, (0, 0) = top left
    x: float  # centre, as a fraction of the image side
    y: float
    rot: float  # radians; small, so that a square never reads as a diamond


@dataclass(frozen=True)
class SceneSpec:
    objects: tuple[SceneObject, ...]
    background: str
    texture: str
    seed: int  # drives texture phases, lighting and shading; not described by captions

    def key(self) -> tuple:
        """The described attribute combination: two specs with equal keys read the same."""
        objs = sorted((o.shape, o.colour, o.size, o.pattern, o.cell) for o in self.objects)
        return (self.background, self.texture, tuple(objs))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SceneSpec:
        objs = tuple(SceneObject(**{**o, "cell": tuple(o["cell"])}) for o in d["objects"])
        return cls(objects=objs, background=d["background"], texture=d["texture"],
                   seed=int(d["seed"]))
