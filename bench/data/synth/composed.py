"""mini-cir: composed queries on mini-scenes (a reference scene and a modification text).

The generator knows every object and attribute, so a modification ("make the red square
blue", "remove the green star", "add a small pink ring at the top") has exactly one
target: the reference scene with that change, rendered again (new lighting, texture
phase and shading: the target is another picture of the changed scene, not a pixel
edit). The gallery holds every query's reference, its target and ``distractors`` hard
negatives: the same reference changed in the same way to another value (the square
turned green instead of blue), so that the text must be read to rank the target first.
No two gallery images show the same described scene (`SceneSpec.key`), so each query's
target is unique; the reference is taken out of its query's candidates, as CIRR does.

The split is a pure function of `CirConfig`: the same config writes the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.data.synth import draw
from bench.data.synth.scene_spec import SceneObject, SceneSpec
from bench.data.synth.scene_text import COLOUR_WORDS, SHAPE_WORDS, SHORT_POSITIONS
from bench.data.synth.scenes import (
    BACKGROUNDS,
    CELL_CENTRES,
    MIN_CONTRAST,
    OBJECT_COLOURS,
    PATTERNS,
    SHAPES,
    SIZES,
    _well_separated,
    sample_scene,
)

# Bump on any change to sampling, modifications, texts or rendering: it names the folder.
GENERATOR_VERSION = "mini-cir-v1"
KINDS = ("colour", "shape", "pattern", "background", "add", "remove")


@dataclass(frozen=True)
class CirConfig:
    """Sizes and seed of mini-cir; non-default values get their own folder."""

    n_queries: int = 600
    distractors: int = 2  # hard negatives per query: the same change to another value
    image_size: int = 224
    seed: int = 0


@dataclass(frozen=True)
class Modification:
    """One change of a scene: what it is, its text, and the scene it makes."""

    kind: str
    text: str
    target: SceneSpec


def _word(rng: np.random.Generator, name: str, table: dict) -> str:
    options = table.get(name, (name,))
    return str(options[int(rng.integers(len(options)))])


def _contrasting(colour: str, background: str) -> bool:
    return (colour != background and draw.colour_distance(
        draw.rgb(colour), draw.rgb(BACKGROUNDS[background])) >= MIN_CONTRAST)


def _named(spec: SceneSpec) -> list[int]:
    """Objects that "the <colour> <shape>" names unambiguously in `spec`."""
    pairs = [(o.colour, o.shape) for o in spec.objects]
    return [k for k, p in enumerate(pairs) if pairs.count(p) == 1]


def _with_object(spec: SceneSpec, k: int, obj: SceneObject | None) -> SceneSpec:
    objects = list(spec.objects)
    if obj is None:
        del objects[k]
    else:
        objects[k] = obj
    return replace(spec, objects=tuple(objects))


def _phrase(rng: np.random.Generator, o: SceneObject) -> str:
    return f"the {_word(rng, o.colour, COLOUR_WORDS)} {_word(rng, o.shape, SHAPE_WORDS)}"


def modifications(spec: SceneSpec, kind: str, rng: np.random.Generator) -> list[Modification]:
    """Every change of `kind` to `spec`, one per new value, in a random order (the first
    is the query's, the next ones its distractors); [] when `kind` does not apply."""
    named = _named(spec)
    out: list[Modification] = []
    if kind in ("colour", "shape", "pattern", "remove") and not named:
        return []
    k = int(rng.choice(named)) if named else 0
    o = spec.objects[k] if spec.objects else None
    if kind == "colour":
        for c in rng.permutation(OBJECT_COLOURS):
            c = str(c)
            if c != o.colour and _contrasting(c, spec.background):
                text = f"make {_phrase(rng, o)} {_word(rng, c, COLOUR_WORDS)}"
                out.append(Modification(kind, text, _with_object(spec, k, replace(o, colour=c))))
    elif kind == "shape":
        for s in rng.permutation(SHAPES):
            s = str(s)
            if s != o.shape:
                text = f"turn {_phrase(rng, o)} into a {_word(rng, s, SHAPE_WORDS)}"
                out.append(Modification(kind, text, _with_object(spec, k, replace(o, shape=s))))
    elif kind == "pattern":
        for p in rng.permutation(PATTERNS):
            p = str(p)
            if p != o.pattern:
                text = f"make {_phrase(rng, o)} {p}"
                out.append(Modification(kind, text, _with_object(spec, k, replace(o, pattern=p))))
    elif kind == "background":
        for b in rng.permutation(list(BACKGROUNDS)):
            b = str(b)
            if b != spec.background and all(_contrasting(x.colour, b) for x in spec.objects):
                text = f"change the background to {_word(rng, b, COLOUR_WORDS)}"
                out.append(Modification(kind, text, replace(spec, background=b)))
    elif kind == "remove":
        if len(spec.objects) >= 2:  # one removal only: its distractors remove another object
            for j in [k, *(j for j in named if j != k)]:
                text = f"remove {_phrase(rng, spec.objects[j])}"
                out.append(Modification(kind, text, _with_object(spec, j, None)))
    elif kind == "add":
        out = _additions(spec, rng)
    return out


def _additions(spec: SceneSpec, rng: np.random.Generator) -> list[Modification]:
    """A new object in a free cell; the distractors add another colour there."""
    if len(spec.objects) >= 3:
        return []
    used = {o.cell for o in spec.objects}
    free = [c for c in range(9) if (c % 3, c // 3) not in used]
    cell = int(rng.choice(free))
    col, row = cell % 3, cell // 3
    size = str(rng.choice(list(SIZES)))
    r = SIZES[size]
    x = float(np.clip(CELL_CENTRES[col], r + 0.02, 0.98 - r))
    y = float(np.clip(CELL_CENTRES[row], r + 0.02, 0.98 - r))
    shape = str(rng.choice(SHAPES))
    out = []
    for c in rng.permutation(OBJECT_COLOURS):
        c = str(c)
        if not _contrasting(c, spec.background):
            continue
        new = SceneObject(shape=shape, colour=c, size=size, pattern="plain", cell=(col, row),
                          x=x, y=y, rot=0.0)
        objects = (*spec.objects, new)
        if not _well_separated(objects):
            return []
        position = SHORT_POSITIONS[(col, row)][0]
        text = (f"add a {size} {_word(rng, c, COLOUR_WORDS)} {_word(rng, shape, SHAPE_WORDS)} "
                f"{position}")
        out.append(Modification("add", text, replace(spec, objects=objects)))
    return out


@dataclass(frozen=True)
class CirItem:
    """One composed query: reference, its modification, and its distractors' scenes."""

    reference: SceneSpec
    kind: str
    text: str
    target: SceneSpec
    distractors: tuple[SceneSpec, ...]


def _rerendered(spec: SceneSpec, rng: np.random.Generator) -> SceneSpec:
    """The same described scene under new lighting, texture phase and shading."""
    return replace(spec, seed=int(rng.integers(2**31)))


def sample_cir(cfg: CirConfig, exclude: frozenset = frozenset()) -> list[CirItem]:
    """The queries of mini-cir: a pure function of `cfg` (and `exclude`). A query is re-drawn
    when any of its scenes repeats a described scene already in the gallery or in `exclude`
    (`scene_keys` of another split: a training split shares no scene with the test one)."""
    rng = np.random.default_rng([cfg.seed, 43])
    taken: set[tuple] = set(exclude)
    items: list[CirItem] = []
    while len(items) < cfg.n_queries:
        ref = sample_scene(rng)
        kind = KINDS[len(items) % len(KINDS)]  # the kinds in equal shares
        mods = modifications(ref, kind, rng)
        if len(mods) < 1 + cfg.distractors:
            continue
        chosen = mods[:1 + cfg.distractors]
        keys = [ref.key(), *(m.target.key() for m in chosen)]
        if len(set(keys)) != len(keys) or taken & set(keys):
            continue
        taken.update(keys)
        target = _rerendered(chosen[0].target, rng)
        distractors = tuple(_rerendered(m.target, rng) for m in chosen[1:])
        items.append(CirItem(ref, kind, chosen[0].text, target, distractors))
    return items


def scene_keys(items: list[CirItem]) -> frozenset:
    """The described scenes (`SceneSpec.key`) of every reference, target and distractor."""
    return frozenset(spec.key() for it in items
                     for spec in (it.reference, it.target, *it.distractors))


def gallery_of(items: list[CirItem]) -> tuple[list[SceneSpec], list[int], list[int]]:
    """(gallery scenes, reference index per query, target index per query): per query its
    reference, target and distractors, in that order."""
    scenes: list[SceneSpec] = []
    refs, targets = [], []
    for it in items:
        refs.append(len(scenes))
        scenes.append(it.reference)
        targets.append(len(scenes))
        scenes.append(it.target)
        scenes.extend(it.distractors)
    return scenes, refs, targets


IMAGE_DIR = "dev"  # CIRR keeps its validation images in dev/


def image_name(index: int) -> str:
    return f"mini-cir-{index:05d}"


def build_cir(cfg: CirConfig, out: Path, show: bool = True) -> list[dict]:
    """Render the gallery into `out` (the split's image folder) and return CIRR's records
    (``cap.rc2.<split>.json``): the subset (``img_set``) of a query is its reference,
    target and distractors."""
    from bench.data.synth._store import progress
    from bench.data.synth.scenes import render_scene

    items = sample_cir(cfg)
    scenes, refs, targets = gallery_of(items)
    for k, spec in progress(list(enumerate(scenes)), len(scenes), "mini-cir images", show):
        draw.save_image(render_scene(spec, cfg.image_size), out / f"{image_name(k)}.png")
    per_query = 2 + cfg.distractors
    return [{"pairid": q, "reference": image_name(r), "target_hard": image_name(t),
             "target_soft": {image_name(t): 1.0}, "caption": it.text,
             "img_set": {"id": q, "members": [image_name(r + j) for j in range(per_query)]},
             "bench_kind": it.kind}
            for q, (it, r, t) in enumerate(zip(items, refs, targets, strict=True))]


def cir_split_map(records: list[dict]) -> dict[str, str]:
    """CIRR's ``split.rc2.<split>.json``: every gallery image name -> its relative path."""
    names = sorted({m for rec in records for m in rec["img_set"]["members"]})
    return {n: f"./{IMAGE_DIR}/{n}.png" for n in names}
